// `psgkit spindles`: sleep spindle events and their summary, scoring against expert marks, and the
// DREAMS validation table.
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "psgkit/compare.hpp"
#include "psgkit/error.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/spindles.hpp"
#include "psgkit/staging.hpp"

namespace {

struct SpindleArgs {
  std::string input, hypnogram, output, evaluate, dreams;
  std::vector<std::string> channels, stages;
  bool auto_stage = false, json = false;
  size_t min_channels = 1;
  double min_iou = 0.2;
  std::optional<double> scored_s;
  std::optional<double> rel_pow, rel_z, corr, rms_z, min_distance_s;
};

nlohmann::ordered_json number(double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr); }

std::string stage_text(const psgkit::Spindle& sp) { return sp.stage ? std::string(psgkit::to_string(*sp.stage)) : ""; }

std::string events_csv(const std::vector<psgkit::Spindle>& events) {
  std::string out = "channel,start_s,end_s,duration_s,peak_s,amplitude_uv,rms_uv,frequency_hz,oscillations,symmetry,stage\n";
  for (const auto& sp : events)
    out += fmt::format("{},{:.3f},{:.3f},{:.3f},{:.3f},{:.2f},{:.2f},{:.2f},{},{:.3f},{}\n", sp.channel, sp.start_s,
                       sp.end_s, sp.duration_s, sp.peak_s, sp.amplitude_uv, sp.rms_uv, sp.frequency_hz,
                       sp.oscillations, sp.symmetry, stage_text(sp));
  return out;
}

std::string summary_table(const std::vector<psgkit::SpindleSummary>& rows) {
  std::string out = fmt::format("{:<12}{:<6}{:>7}{:>9}{:>12}{:>12}{:>13}{:>15}\n", "channel", "stage", "count", "minutes",
                                "density/min", "duration_s", "frequency_hz", "amplitude_uv");
  for (const auto& r : rows)
    out += fmt::format("{:<12}{:<6}{:>7}{:>9.1f}{:>12.2f}{:>12.2f}{:>13.2f}{:>15.1f}\n", r.channel, r.stage, r.count,
                       r.minutes, r.density_per_min, r.mean_duration_s, r.mean_frequency_hz, r.mean_amplitude_uv);
  return out;
}

std::string score_line(const std::string& label, const psgkit::EventCounts& c) {
  return fmt::format("{:<28}{:>9}{:>10}{:>9}{:>11.3f}{:>8.3f}{:>7.3f}\n", label, c.detected, c.reference, c.matched,
                     c.precision(), c.recall(), c.f1());
}

std::string dreams_table(const psgkit::DreamsValidation& v, const psgkit::SpindleThresholds& defaults) {
  std::string out = fmt::format("{:<28}{:>9}{:>10}{:>9}{:>11}{:>8}{:>7}\n", "comparison", "detected", "reference",
                                "matched", "precision", "recall", "F1");
  const auto t = [](const psgkit::SpindleThresholds& x) {
    return fmt::format("rel_pow {:.2f}, rel_z {:.1f}, corr {:.2f}, rms_z {:.2f}, min_distance {:.1f} s", x.rel_pow, x.rel_z,
                       x.corr, x.rms_z, x.min_distance_s);
  };
  out += "\nshipped thresholds (" + t(defaults) + ") vs expert 1\n";
  for (const auto& e : v.excerpts) out += score_line(e.excerpt, e.defaults_vs_expert1);
  out += score_line("pooled", v.pooled_defaults);
  out += "\nleave-one-excerpt-out thresholds (rel_z/corr/rms_z/min_distance) vs expert 1\n";
  for (const auto& e : v.excerpts) {
    const auto& x = e.loo_thresholds;
    out += score_line(e.excerpt + fmt::format(" ({:.1f}/{:.2f}/{:.2f}/{:.1f})", x.rel_z, x.corr, x.rms_z, x.min_distance_s),
                      e.loo_vs_expert1);
  }
  out += score_line("pooled", v.pooled_loo);
  out += "\nleave-one-excerpt-out thresholds vs expert 2\n";
  for (const auto& e : v.excerpts)
    if (e.loo_vs_expert2) out += score_line(e.excerpt, *e.loo_vs_expert2);
  out += score_line("pooled", v.pooled_loo_vs_expert2);
  out += "\nexpert 2 vs expert 1\n";
  for (const auto& e : v.excerpts)
    if (e.expert2_vs_expert1) out += score_line(e.excerpt, *e.expert2_vs_expert1);
  out += score_line("pooled", v.pooled_expert2_vs_expert1);
  out += "\nbest on all excerpts (in-sample): " + t(v.best_all) + "\n";
  out += score_line("pooled", v.pooled_best_all);
  return out;
}

const psgkit_cli::Register reg([](CLI::App& app) {
  auto args = std::make_shared<SpindleArgs>();
  auto* cmd = app.add_subcommand("spindles", "Sleep spindles (YASA's criteria, thresholds chosen on DREAMS): events CSV and a summary per channel and stage");
  cmd->add_option("file", args->input, "recording (EDF/BDF)")->check(CLI::ExistingFile);
  cmd->add_option("--channel", args->channels, "EEG channel(s), comma-separated (default: the slow-wave channel of `psgkit stats`)")
      ->delimiter(',');
  auto* hyp = cmd->add_option("--hypnogram", args->hypnogram, "expert hypnogram: search only its epochs of --stages")
                  ->check(CLI::ExistingFile);
  cmd->add_flag("--auto-stage", args->auto_stage, "stage the recording automatically and search its epochs of --stages")
      ->excludes(hyp);
  cmd->add_option("--stages", args->stages, "stages searched with a hypnogram (default N2,N3)")->delimiter(',');
  cmd->add_option("--min-channels", args->min_channels, "keep events seen on at least this many channels (default 1)");
  cmd->add_option("--rel-pow", args->rel_pow, "relative sigma power at least this fraction (default 0: off; YASA 0.2)");
  cmd->add_option("--rel-z", args->rel_z, "relative sigma power threshold in trimmed SDs above the recording's mean (default: the shipped one)");
  cmd->add_option("--corr", args->corr, "moving correlation threshold");
  cmd->add_option("--rms-z", args->rms_z, "moving RMS threshold in trimmed SDs above the mean");
  cmd->add_option("--min-distance", args->min_distance_s, "join spindle samples closer than this (s)");
  cmd->add_option("--evaluate", args->evaluate, "expert marks (DREAMS format): print precision, recall and F1 of each channel's events")
      ->check(CLI::ExistingFile);
  cmd->add_option("--scored-s", args->scored_s,
                  "the expert marked only the first S seconds: score only events starting before S (default: all; with\n"
                  "--dreams, expert 1's 1000 s; inf: the whole excerpts)");
  cmd->add_option("--min-iou", args->min_iou, "intersection over union for a match (default 0.2)");
  cmd->add_option("--dreams", args->dreams, "DREAMS folder: print the validation table (no FILE)")->check(CLI::ExistingDirectory);
  cmd->add_flag("--json", args->json, "one JSON object with events and summary");
  cmd->add_option("-o,--output", args->output, "events CSV (or JSON) here; the summary then goes to standard output");
  cmd->callback([args] {
    psgkit::SpindleCriteria criteria;
    if (args->rel_pow) criteria.thresholds.rel_pow = *args->rel_pow;
    if (args->rel_z) criteria.thresholds.rel_z = *args->rel_z;
    if (args->min_distance_s) criteria.thresholds.min_distance_s = *args->min_distance_s;
    if (args->corr) criteria.thresholds.corr = *args->corr;
    if (args->rms_z) criteria.thresholds.rms_z = *args->rms_z;
    if (!args->dreams.empty()) {
      const auto v = psgkit::validate_dreams(args->dreams, criteria, psgkit::default_threshold_grid(), args->min_iou,
                                             args->scored_s.value_or(1000.0));
      psgkit_cli::emit(args->output, dreams_table(v, criteria.thresholds));
      return;
    }
    if (args->input.empty()) throw CLI::ValidationError("spindles", "give FILE or --dreams DIR");
    const psgkit::Recording recording = psgkit::Recording::open(args->input);
    std::optional<psgkit::Hypnogram> hypnogram;
    if (!args->hypnogram.empty()) hypnogram = psgkit::read_hypnogram(args->hypnogram);
    if (args->auto_stage) hypnogram = psgkit::stage_recording(recording).epochs.to_hypnogram();
    psgkit::SpindleSearch search;
    search.hypnogram = hypnogram ? &*hypnogram : nullptr;
    if (!args->stages.empty()) {
      search.stages.clear();
      for (const auto& s : args->stages) {
        const auto stage = psgkit::parse_stage(s);
        if (!stage) throw psgkit::Error("", "--stages", "not a sleep stage: " + s);
        search.stages.push_back(*stage);
      }
    }
    std::vector<int> channels;
    for (const auto& label : args->channels) channels.push_back(recording.require_signal(label));
    if (channels.empty()) channels.push_back(psgkit::deep_sleep_channel(recording, {}));
    std::vector<std::vector<psgkit::Spindle>> per_channel;
    std::vector<std::string> labels;
    double duration_s = 0;
    for (const int c : channels) {
      const auto& info = recording.signals()[static_cast<size_t>(c)];
      const std::vector<float> x = recording.read(c);
      per_channel.push_back(psgkit::detect_spindles(x, info.fs_hz, search, criteria, info.label));
      labels.push_back(info.label);
      duration_s = std::max(duration_s, static_cast<double>(x.size()) / info.fs_hz);
    }
    per_channel = psgkit::keep_multichannel(per_channel, args->min_channels);
    std::vector<psgkit::Spindle> events;
    for (const auto& v : per_channel) events.insert(events.end(), v.begin(), v.end());
    const auto summary = psgkit::summarize_spindles(events, labels, search, duration_s);
    std::string report = summary_table(summary);
    if (!args->evaluate.empty()) {
      auto expert = psgkit::read_dreams_events(args->evaluate);
      const auto scored = [&](std::vector<psgkit::TimeInterval> v) {
        if (args->scored_s) std::erase_if(v, [&](const psgkit::TimeInterval& e) { return !(e.start_s < *args->scored_s); });
        return v;
      };
      report += fmt::format("\n{:<28}{:>9}{:>10}{:>9}{:>11}{:>8}{:>7}\n", "channel vs " + args->evaluate, "detected",
                            "reference", "matched", "precision", "recall", "F1");
      for (size_t c = 0; c < labels.size(); ++c)
        report += score_line(labels[c], psgkit::match_events(scored(psgkit::to_intervals(per_channel[c])), scored(expert), args->min_iou));
    }
    std::string text;
    if (args->json) {
      nlohmann::ordered_json out;
      auto list = nlohmann::ordered_json::array();
      for (const auto& sp : events)
        list.push_back({{"channel", sp.channel}, {"start_s", sp.start_s}, {"end_s", sp.end_s},
                        {"duration_s", sp.duration_s}, {"peak_s", sp.peak_s}, {"amplitude_uv", sp.amplitude_uv},
                        {"rms_uv", sp.rms_uv}, {"frequency_hz", number(sp.frequency_hz)},
                        {"oscillations", sp.oscillations}, {"symmetry", sp.symmetry},
                        {"stage", sp.stage ? nlohmann::ordered_json(stage_text(sp)) : nlohmann::ordered_json(nullptr)}});
      out["events"] = list;
      auto rows = nlohmann::ordered_json::array();
      for (const auto& r : summary)
        rows.push_back({{"channel", r.channel}, {"stage", r.stage}, {"count", r.count}, {"minutes", r.minutes},
                        {"density_per_min", number(r.density_per_min)}, {"mean_duration_s", number(r.mean_duration_s)},
                        {"mean_frequency_hz", number(r.mean_frequency_hz)},
                        {"mean_amplitude_uv", number(r.mean_amplitude_uv)}});
      out["summary"] = rows;
      text = out.dump(2) + "\n";
    } else {
      text = events_csv(events);
    }
    psgkit_cli::emit(args->output, text);
    (args->output.empty() || args->output == "-" ? std::cerr : std::cout) << report;
  });
});

}  // namespace
