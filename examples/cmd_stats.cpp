// `psgkit stats FILE`: sleep statistics of a hypnogram as an aligned table, or the per-night record (JSON).
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli.hpp"
#include "psgkit/compare.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/night_record.hpp"
#include "psgkit/sleep_stats.hpp"

namespace {

struct StatsArgs {
  std::string input, hypnogram, output, model, sex;
  bool json = false;
  std::optional<double> lights_off_s, lights_on_s, age_years;
};

std::string stage_name(size_t index) { return std::string(psgkit::to_string(static_cast<psgkit::Stage>(index))); }

std::string to_table(const psgkit::SleepStatistics& stats, const psgkit::Hypnogram& hypnogram,
                     const std::vector<psgkit::NightMeasure>& signal_measures) {
  std::string text = fmt::format("time in bed: {} s to {} s of the recording ({} epochs of {} s)\n\n",
                                 hypnogram.onset_s(stats.window.first_epoch),
                                 hypnogram.onset_s(stats.window.first_epoch + stats.window.n_epochs),
                                 stats.window.n_epochs, stats.epoch_s);
  const auto row = [&](const std::string& name, double v, std::string_view unit) {
    const std::string value = std::isnan(v)       ? "NaN"
                              : unit == "count"   ? fmt::format("{:.0f}", v)
                                                  : fmt::format("{:.2f}", v);
    text += unit == "count" ? fmt::format("{:<18}{:>10}\n", name, value)
                            : fmt::format("{:<18}{:>10}  {}\n", name, value, unit);
  };
  for (const auto& s : stats.values) row(s.name, s.value, s.unit);
  if (!signal_measures.empty()) text += "\nsignal measures\n";
  for (const auto& m : signal_measures) row(m.name, m.value, m.unit);
  text += "\ntransitions (row = from, column = to)\n      ";
  for (size_t to = 0; to < psgkit::kNumSleepStages; ++to) text += fmt::format("{:>6}", stage_name(to));
  text += "\n";
  for (size_t from = 0; from < psgkit::kNumSleepStages; ++from) {
    text += fmt::format("{:<6}", stage_name(from));
    for (size_t to = 0; to < psgkit::kNumSleepStages; ++to) text += fmt::format("{:>6}", stats.transitions[from][to]);
    text += "\n";
  }
  text += fmt::format("\n{:<6}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}\n", "cycle", "begin_s", "rem_s", "end_s",
                      "NREM_min", "REM_min", "has_REM");
  for (size_t i = 0; i < stats.cycles.size(); ++i) {
    const auto& c = stats.cycles[i];
    text += fmt::format("{:<6}{:>10.0f}{:>10.0f}{:>10.0f}{:>10.1f}{:>10.1f}{:>10}\n", i + 1,
                        hypnogram.onset_s(c.nrem_begin), hypnogram.onset_s(c.rem_begin),
                        hypnogram.onset_s(c.rem_end), c.nrem_min, c.rem_min, c.has_rem ? "yes" : "no");
  }
  return text;
}

const psgkit_cli::Register reg([](CLI::App& app) {
  auto args = std::make_shared<StatsArgs>();
  auto* cmd = app.add_subcommand("stats", "Sleep statistics of a hypnogram, or of an EDF staged automatically with its slow-wave measures (YASA-compatible names)");
  cmd->add_option("file", args->input, "recording (EDF/BDF, staged automatically) or hypnogram: EDF+ annotations, interval CSV, staging CSV or DREAMS text")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--hypnogram", args->hypnogram, "expert hypnogram of the recording FILE (instead of automatic staging)")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--json", args->json, "the per-night record as one JSON object (NaN as null), which `cohort` manifests may name");
  cmd->add_option("--lights-off", args->lights_off_s,
                  "lights off, seconds from the recording start (default: \"Lights off\" event, else the start)");
  cmd->add_option("--lights-on", args->lights_on_s,
                  "lights on, seconds from the recording start (default: \"Lights on\" event, else the end)");
  cmd->add_option("-o,--output", args->output, "output file (default: standard output)");
  cmd->add_option("--model", args->model, "staging model file (from `psgkit train --manifest`) for automatic staging");
  cmd->add_option("--age", args->age_years, "subject's age in years (optional input of automatic staging, as in `stage`)");
  cmd->add_option("--sex", args->sex, "subject's sex, F or M (optional input of automatic staging)")->check(CLI::IsMember({"F", "M"}));
  cmd->callback([args] {
    psgkit::NightAnalysisOptions options;
    options.staging.model_file = args->model;
    options.staging.age_years = args->age_years;
    if (!args->sex.empty()) options.staging.sex = args->sex[0];
    options.stats.lights_off_s = args->lights_off_s;
    options.stats.lights_on_s = args->lights_on_s;
    // The input's SHA-256 (≈ 50 ms for an 8-h night) on the second core while the night is analysed.
    auto digest = args->json ? std::async(std::launch::async, psgkit::digest_file, std::filesystem::path(args->input))
                             : std::future<psgkit::FileDigest>();
    psgkit::NightInput input{args->input, std::nullopt};
    std::optional<psgkit::FileDigest> hypnogram_digest;
    if (!args->hypnogram.empty()) {
      input.hypnogram = args->hypnogram;
      if (args->json) hypnogram_digest = psgkit::digest_file(args->hypnogram);
    }
    const psgkit::NightAnalysis night = psgkit::analyse_night(input, options);
    for (const auto& note : night.notes) std::cerr << note << '\n';
    for (const auto& warning : night.warnings) std::cerr << "warning: " << warning << '\n';
    if (args->json) {
      psgkit_cli::emit(args->output, psgkit::night_record_json(night, digest.get(), hypnogram_digest));
      return;
    }
    // Measures beyond the hypnogram statistics come from the signal of a recording.
    std::vector<psgkit::NightMeasure> signal_measures;
    for (const auto& m : night.measures)
      if (!night.statistics.find(m.name)) signal_measures.push_back(m);
    psgkit_cli::emit(args->output, to_table(night.statistics, night.hypnogram, signal_measures));
  });
});

}  // namespace
