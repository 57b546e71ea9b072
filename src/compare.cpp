#include "psgkit/compare.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <thread>

#include "psgkit/deep_sleep.hpp"
#include "psgkit/error.hpp"
#include "psgkit/io.hpp"
#include "psgkit/paired_stats.hpp"
#include "psgkit/preprocess.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/spectral.hpp"

namespace psgkit {
namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Statistics that lead the report, in this order; the rest follow in sleep_statistics() order.
const std::vector<std::string>& leading_statistics() {
  static const std::vector<std::string> names = {"N3", "%N3", "Lat_N3", "N3_expected", "N3_expected_lo95",
                                                 "N3_expected_hi95"};
  return names;
}

void append_statistic(NightAnalysis& night, const SleepStatistic& statistic, bool deep_sleep) {
  night.measures.push_back({statistic.name, statistic.value, std::string(statistic.unit), deep_sleep});
}

// Slow-wave measures of one EEG channel over the night's hypnogram (deep_sleep.hpp), and its
// spectrogram for the report.
void append_signal_measures(NightAnalysis& night, const Recording& recording, int channel) {
  const SignalInfo& info = recording.signals()[static_cast<size_t>(channel)];
  std::vector<float> eeg_uv = recording.read(channel);
  double fs_hz = info.fs_hz;
  const double samples_per_epoch = night.hypnogram.epoch_s * fs_hz;
  if (std::fabs(samples_per_epoch - std::round(samples_per_epoch)) > 1e-9) {
    // Epochs must hold whole samples; 100 Hz does for any whole-second epoch.
    eeg_uv = resample(eeg_uv, fs_hz, 100.0);
    night.notes.push_back(info.label + " resampled from " + format_double(fs_hz) + " Hz to 100 Hz");
    fs_hz = 100.0;
  }
  std::vector<std::pair<size_t, size_t>> cycles;
  for (const auto& c : night.statistics.cycles) cycles.emplace_back(c.nrem_begin, c.rem_end);
  const DeepSleepResult deep = analyze_deep_sleep(eeg_uv, fs_hz, night.hypnogram, cycles);
  const double epoch_min = night.hypnogram.epoch_s / 60.0;
  size_t flagged = 0;
  for (const uint8_t f : deep.artefact_flags) flagged += f != kArtefactNone;
  const std::vector<NightMeasure> measures = {
      {"SWA_N2N3", deep.mean_swa_n2n3_uv2, "uV^2", true},
      {"SWA_cycle1", deep.swa_first_cycle_uv2, "uV^2", true},
      {"SWA_decay_rate", deep.swa_decay_rate_per_h, "/h", true},
      {"SWA_first_last_ratio", deep.swa_first_last_ratio, "", true},
      {"delta_sleep_ratio", deep.delta_sleep_ratio, "", true},
      {"SWO20_min", static_cast<double>(deep.n_epochs_occupancy_20pct) * epoch_min, "min", true},
      {"SW_density", deep.slow_wave_density_per_min, "/min", true},
      {"SW_amplitude", deep.slow_wave_mean_ptp_uv, "uV", true},
      {"SW_up_slope", deep.slow_wave_mean_up_slope_uv_per_s, "uV/s", true},
      {"clean_N2N3_min", deep.clean_n2n3_min, "min", true},
      {"artefact_epochs", static_cast<double>(flagged), "count", false},
  };
  night.measures.insert(night.measures.end(), measures.begin(), measures.end());
  night.notes.push_back("slow-wave measures from " + info.label);
  for (const auto& w : deep.warnings) night.notes.push_back(info.label + ": " + w);
  WelchOptions welch;
  welch.fs_hz = fs_hz;
  welch.nperseg = static_cast<int>(std::lround(4.0 * fs_hz));
  night.spectrogram = spectrogram(std::span<const float>(eeg_uv), welch, night.hypnogram.epoch_s, night.hypnogram.start_s);
}

// Central derivations carry slow waves best (AASM recommends F4/C4 for N3 scoring).
int pick_swa_channel(const Recording& recording, const std::vector<std::string>& staged_eeg) {
  for (size_t i = 0; i < recording.signals().size(); ++i) {
    std::string label = recording.signals()[i].label;
    std::transform(label.begin(), label.end(), label.begin(), [](unsigned char c) { return std::toupper(c); });
    if (recording.signals()[i].unit == "uV" &&
        (label.find("C3") != std::string::npos || label.find("C4") != std::string::npos ||
         label.find("CZ") != std::string::npos))
      return static_cast<int>(i);
  }
  if (staged_eeg.empty())
    throw Error(recording.path().string(), "swa channel", "no EEG channel found for the slow-wave measures");
  return recording.require_signal(staged_eeg.front());
}

}  // namespace

double NightAnalysis::value(const std::string& name) const {
  for (const auto& m : measures)
    if (m.name == name) return m.value;
  return kNaN;
}

bool is_recording_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string(), "", "cannot open file");
  char head[8] = {};
  in.read(head, sizeof head);
  if (in.gcount() < 8) return false;
  return std::string_view(head, 8) == "0       " || std::string_view(head, 8) == "\xFF" "BIOSEMI";
}

NightAnalysis analyse_night(const NightInput& input, const NightAnalysisOptions& options) {
  NightAnalysis night;
  night.path = input.path;
  std::optional<Recording> recording;
  std::vector<std::string> staged_eeg;
  if (is_recording_file(input.path)) {
    recording.emplace(Recording::open(input.path));
    // An annotation-only EDF+ file is a hypnogram.
    if (recording->signals().empty()) recording.reset();
  }
  night.is_recording = recording.has_value();

  if (input.hypnogram) {
    night.hypnogram = read_hypnogram(*input.hypnogram);
    night.notes.push_back("hypnogram: " + input.hypnogram->string());
  } else if (recording) {
    RecordingStaging staging = stage_recording(*recording, options.staging);
    night.hypnogram = staging.epochs.to_hypnogram();
    night.staged_automatically = true;
    staged_eeg = staging.eeg_channels;
    std::string channels;
    for (const auto& c : staging.eeg_channels) channels += (channels.empty() ? "" : ", ") + c;
    if (!staging.eog_channel.empty()) channels += ", EOG " + staging.eog_channel;
    const std::string model = staging.model_file.empty() ? std::string(to_string(staging.model)) : staging.model_file.string();
    night.notes.push_back("staged automatically with model " + model + " from " + channels);
  } else {
    night.hypnogram = read_hypnogram(input.path);
    night.staged_automatically = !night.hypnogram.probabilities.empty();
  }
  night.statistics = sleep_statistics(night.hypnogram, options.stats);

  // Expected N3 exists only for hypnograms with stage probabilities.
  std::set<std::string> done;
  if (night.hypnogram.probabilities.empty()) done = {"N3_expected", "N3_expected_lo95", "N3_expected_hi95"};
  for (const auto& name : leading_statistics())
    if (const auto* s = night.statistics.find(name); s && !done.count(name)) append_statistic(night, *s, true);
  if (recording) {
    const int channel = options.swa_channel.empty() ? pick_swa_channel(*recording, staged_eeg)
                                                    : recording->require_signal(options.swa_channel);
    append_signal_measures(night, *recording, channel);
  }
  for (const char* name : {"N3_third1", "N3_third2", "N3_third3"})
    if (const auto* s = night.statistics.find(name)) append_statistic(night, *s, true);
  for (const auto& m : night.measures) done.insert(m.name);
  for (const auto& s : night.statistics.values)
    if (!done.count(s.name)) append_statistic(night, s, false);
  return night;
}

std::vector<MeasureChange> compare_nights(const NightAnalysis& before, const NightAnalysis& after) {
  std::vector<MeasureChange> changes;
  for (const auto& m : before.measures) {
    const auto it = std::find_if(after.measures.begin(), after.measures.end(),
                                 [&](const NightMeasure& a) { return a.name == m.name; });
    if (it == after.measures.end()) continue;
    MeasureChange c{m.name, m.unit, m.value, it->value, it->value - m.value, kNaN, m.deep_sleep};
    if (std::isfinite(m.value) && m.value != 0) c.percent_change = 100.0 * c.difference / std::fabs(m.value);
    changes.push_back(std::move(c));
  }
  return changes;
}

std::vector<ManifestEntry> read_manifest(const fs::path& path) {
  const CsvTable csv = read_csv(path);
  const int subject_col = csv.require_column("subject");
  const int session_col = csv.require_column("session");
  const int path_col = csv.require_column("path");
  const int hypnogram_col = csv.column("hypnogram");
  const fs::path folder = path.parent_path();
  auto resolve = [&](const std::string& p) { return fs::path(p).is_absolute() ? fs::path(p) : folder / p; };
  std::vector<ManifestEntry> entries;
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t r = 0; r < csv.rows.size(); ++r) {
    const auto& row = csv.rows[r];
    const size_t line = r + 2;
    for (const int col : {subject_col, session_col, path_col})
      if (row[static_cast<size_t>(col)].empty())
        throw Error(path.string(), "line " + std::to_string(line) + ", column " + csv.header[static_cast<size_t>(col)],
                    "empty cell");
    ManifestEntry e;
    e.subject = row[static_cast<size_t>(subject_col)];
    e.session = row[static_cast<size_t>(session_col)];
    e.path = resolve(row[static_cast<size_t>(path_col)]);
    if (hypnogram_col >= 0 && !row[static_cast<size_t>(hypnogram_col)].empty())
      e.hypnogram = resolve(row[static_cast<size_t>(hypnogram_col)]);
    e.line = line;
    if (!seen.insert({e.subject, e.session}).second)
      throw Error(path.string(), "line " + std::to_string(line),
                  "subject " + e.subject + " has session " + e.session + " twice");
    entries.push_back(std::move(e));
  }
  if (entries.empty()) throw Error(path.string(), "", "the manifest lists no recordings");
  return entries;
}

std::vector<std::string> session_order(const std::vector<ManifestEntry>& entries) {
  std::vector<std::string> order;
  for (const auto& e : entries)
    if (std::find(order.begin(), order.end(), e.session) == order.end()) order.push_back(e.session);
  const std::set<std::string> sessions(order.begin(), order.end());
  if (sessions == std::set<std::string>{"before", "after"}) return {"before", "after"};
  return order;
}

bool CohortResult::all_ok() const {
  return excluded.empty() &&
         std::all_of(nights.begin(), nights.end(), [](const CohortNight& n) { return n.analysis.has_value(); });
}

namespace {

CohortComparison compare_sessions(const CohortResult& result, const std::string& baseline, const std::string& session) {
  std::map<std::string, std::map<std::string, const NightAnalysis*>> by_subject;
  for (const auto& n : result.nights)
    if (n.analysis) by_subject[n.subject][n.session] = &*n.analysis;
  CohortComparison comparison{baseline, session, {}};
  std::vector<std::pair<const NightAnalysis*, const NightAnalysis*>> pairs;
  std::vector<std::string> pair_subjects;
  for (const auto& subject : result.subjects) {
    const auto it = by_subject.find(subject);
    if (it == by_subject.end() || !it->second.count(baseline) || !it->second.count(session)) continue;
    pairs.emplace_back(it->second.at(baseline), it->second.at(session));
    pair_subjects.push_back(subject);
  }
  if (pairs.empty()) return comparison;
  for (const auto& m : pairs.front().first->measures) {
    CohortMeasure cm;
    cm.name = m.name;
    cm.unit = m.unit;
    cm.deep_sleep = m.deep_sleep;
    std::vector<double> before, after;
    for (size_t i = 0; i < pairs.size(); ++i) {
      const double b = pairs[i].first->value(m.name), a = pairs[i].second->value(m.name);
      cm.values.push_back({pair_subjects[i], b, a});
      if (std::isfinite(b) && std::isfinite(a)) {
        before.push_back(b);
        after.push_back(a);
      }
    }
    const PairedComparison paired = compare_paired(before, after);
    cm.n = before.size();
    cm.mean_before = paired.mean_before;
    cm.mean_after = paired.mean_after;
    cm.mean_diff = paired.t_test.mean_diff;
    cm.sd_diff = paired.t_test.sd_diff;
    cm.ttest_p = paired.t_test.p_value;
    cm.wilcoxon_p = paired.wilcoxon.p_value;
    cm.hedges_g = paired.effect.g;
    cm.ci95_low = paired.ci.lower;
    cm.ci95_high = paired.ci.upper;
    comparison.measures.push_back(std::move(cm));
  }
  std::vector<double> p_values;
  for (const auto& cm : comparison.measures) p_values.push_back(cm.ttest_p);
  const std::vector<double> adjusted = holm_bonferroni(p_values);
  for (size_t i = 0; i < adjusted.size(); ++i) comparison.measures[i].p_holm = adjusted[i];
  return comparison;
}

}  // namespace

CohortResult run_cohort(const std::vector<ManifestEntry>& entries, const CohortOptions& options) {
  if (options.jobs < 1) throw Error("", "jobs", "must be at least 1, got " + std::to_string(options.jobs));
  CohortResult result;
  result.sessions = session_order(entries);
  for (const auto& e : entries) {
    if (std::find(result.subjects.begin(), result.subjects.end(), e.subject) == result.subjects.end())
      result.subjects.push_back(e.subject);
    result.nights.push_back({e.subject, e.session, e.path, std::nullopt, {}});
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < entries.size(); i = next++) {
      try {
        result.nights[i].analysis = analyse_night({entries[i].path, entries[i].hypnogram}, options.night);
      } catch (const std::exception& e) {
        result.nights[i].error = e.what();
      }
    }
  };
  std::vector<std::thread> threads;
  const size_t n_threads = std::min<size_t>(static_cast<size_t>(options.jobs), entries.size());
  for (size_t t = 1; t < n_threads; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();

  for (const auto& subject : result.subjects) {
    std::vector<std::string> missing;
    for (const auto& session : result.sessions) {
      const auto it = std::find_if(result.nights.begin(), result.nights.end(), [&](const CohortNight& n) {
        return n.subject == subject && n.session == session;
      });
      if (it == result.nights.end())
        missing.push_back("no " + session + " session");
      else if (!it->analysis)
        missing.push_back(session + " failed: " + it->error);
    }
    for (const auto& reason : missing) result.excluded.push_back(subject + ": " + reason);
  }
  for (size_t s = 1; s < result.sessions.size(); ++s)
    result.comparisons.push_back(compare_sessions(result, result.sessions.front(), result.sessions[s]));
  return result;
}

}  // namespace psgkit
