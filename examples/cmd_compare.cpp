// `psgkit compare` and `psgkit cohort`: before/after deep-sleep comparison of one person or a group.
#include <future>
#include <iostream>
#include <optional>

#include "cli.hpp"
#include "progress.hpp"
#include "psgkit/compare.hpp"
#include "psgkit/io.hpp"
#include "psgkit/report.hpp"

namespace {

struct NightFlags {
  std::string eeg, swa_channel, model;
};

void add_night_flags(CLI::App* cmd, NightFlags& flags) {
  cmd->add_option("--eeg", flags.eeg, "EEG channel(s) for automatic staging, comma-separated (default: by label)");
  cmd->add_option("--swa-channel", flags.swa_channel,
                  "EEG channel for slow-wave measures (default: first central derivation, else the staging EEG)");
  cmd->add_option("--model", flags.model, "staging model file (from `psgkit train --manifest`) for automatic staging");
}

psgkit::NightAnalysisOptions night_options(const NightFlags& flags) {
  psgkit::NightAnalysisOptions options;
  if (!flags.eeg.empty()) {
    std::string rest = flags.eeg;
    for (size_t pos; (pos = rest.find(',')) != std::string::npos; rest.erase(0, pos + 1))
      options.staging.eeg.push_back(rest.substr(0, pos));
    options.staging.eeg.push_back(rest);
  }
  options.swa_channel = flags.swa_channel;
  options.staging.model_file = flags.model;
  return options;
}

const psgkit_cli::Register compare_command([](CLI::App& app) {
  struct Args {
    std::string before, after, hypnogram_before, hypnogram_after, html, output;
    bool json = false;
    NightFlags night;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "compare", "Compare deep sleep of two nights (EDF staged automatically unless hypnograms are given, or hypnogram files)");
  cmd->add_option("BEFORE", args->before, "Recording (EDF/BDF) or hypnogram of the night before treatment")->required();
  cmd->add_option("AFTER", args->after, "Recording (EDF/BDF) or hypnogram of the night after treatment")->required();
  cmd->add_option("--hypnogram-before", args->hypnogram_before, "Expert hypnogram of BEFORE");
  cmd->add_option("--hypnogram-after", args->hypnogram_after, "Expert hypnogram of AFTER");
  cmd->add_flag("--json", args->json, "Print JSON instead of a table");
  cmd->add_option("--html", args->html, "Write a self-contained HTML report here");
  cmd->add_option("-o,--output", args->output, "Write the table or JSON here instead of stdout");
  add_night_flags(cmd, args->night);
  cmd->callback([args] {
    auto options = night_options(args->night);
    options.staging.threads = 1;  // the two nights already take the two cores
    auto input = [](const std::string& path, const std::string& hypnogram) {
      psgkit::NightInput in{path, std::nullopt};
      if (!hypnogram.empty()) in.hypnogram = hypnogram;
      return in;
    };
    // The two nights on two cores.
    auto before_night = std::async(std::launch::async, [&] {
      return psgkit::analyse_night(input(args->before, args->hypnogram_before), options);
    });
    const auto after = psgkit::analyse_night(input(args->after, args->hypnogram_after), options);
    const auto before = before_night.get();
    const auto changes = psgkit::compare_nights(before, after);
    if (!args->html.empty()) {
      psgkit::write_file_atomic(args->html, psgkit::comparison_html(before, after, changes));
    }
    for (const auto* night : {&before, &after})
      for (const auto& note : night->notes) std::cerr << night->path.filename().string() << ": " << note << '\n';
    for (const auto* night : {&before, &after})
      for (const auto& w : night->warnings) std::cerr << night->path.filename().string() << ": warning: " << w << '\n';
    psgkit_cli::emit(args->output, args->json ? psgkit::comparison_json(before, after, changes)
                                              : psgkit::comparison_text(changes));
  });
});

const psgkit_cli::Register cohort_command([](CLI::App& app) {
  struct Args {
    std::string manifest, html, output, reference_arm, reference_condition;
    bool json = false;
    int jobs = 1;
    NightFlags night;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "cohort", "Group statistics: paired before/after, parallel-group or two-period crossover trial (by the manifest's columns)");
  cmd->add_option("MANIFEST", args->manifest,
                  "CSV with subject,path[,hypnogram] and session (paired), session+arm (parallel groups) or "
                  "period+condition[+session] (crossover)")
      ->required();
  cmd->add_option("--reference-arm", args->reference_arm,
                  "Reference arm of a parallel design (default: the arm named placebo or control)");
  cmd->add_option("--reference-condition", args->reference_condition,
                  "Reference condition of a crossover (default: the condition named placebo or control)");
  cmd->add_flag("--json", args->json, "Print JSON instead of a table");
  cmd->add_option("--html", args->html, "Write a self-contained HTML report here");
  cmd->add_option("-o,--output", args->output, "Write the table or JSON here instead of stdout");
  cmd->add_option("-j,--jobs", args->jobs, "Nights analysed in parallel")->check(CLI::PositiveNumber);
  add_night_flags(cmd, args->night);
  cmd->callback([args] {
    psgkit::CohortOptions options;
    options.night = night_options(args->night);
    options.jobs = args->jobs;
    options.reference_arm = args->reference_arm;
    options.reference_condition = args->reference_condition;
    const auto entries = psgkit::read_manifest(args->manifest);
    std::optional<psgkit_cli::Progress> progress(std::in_place, "cohort", entries.size());
    options.on_night_done = [&](const psgkit::CohortNight& n) { progress->item_done(n.subject + " " + n.session, n.error); };
    const auto result = psgkit::run_cohort(entries, options);
    progress.reset();
    for (const auto& n : result.nights)
      if (n.analysis) {
        if (n.analysis->domain && n.analysis->domain->warning)
          std::cerr << "psgkit: cohort: " << n.subject << " " << n.session << ": WARNING: " << n.analysis->domain->message() << '\n';
        for (const auto& w : n.analysis->warnings) std::cerr << n.subject << " " << n.session << ": warning: " << w << '\n';
      }
    if (!args->html.empty()) {
      psgkit::write_file_atomic(args->html, psgkit::cohort_html(result));
    }
    psgkit_cli::emit(args->output, args->json ? psgkit::cohort_json(result) : psgkit::cohort_text(result));
    std::cerr << "psgkit: cohort: design " << psgkit::to_string(result.design) << '\n';
    if (!result.all_ok()) {
      std::cerr << "psgkit: cohort: " << result.excluded.size() << " subject(s) left out:\n";
      for (const auto& e : result.excluded) std::cerr << "  " << e << '\n';
      throw CLI::RuntimeError(3);
    }
  });
});

}  // namespace
