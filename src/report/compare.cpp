#include "psgkit/compare.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <numbers>
#include <set>
#include <thread>
#include <tuple>

#include "buffers_internal.hpp"
#include "psgkit/deep_sleep.hpp"
#include "psgkit/error.hpp"
#include "psgkit/io.hpp"
#include "psgkit/night_record.hpp"
#include "psgkit/paired_stats.hpp"
#include "psgkit/preprocess.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/spectral.hpp"
#include "psgkit/spindles.hpp"

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

// Spindles in N2 and N3 and their coupling to the slow oscillation (spindles.hpp).
// A channel spindles cannot be measured on (sampled below 32 Hz) leaves them NaN with a note instead
// of failing the night's other measures.
void append_spindle_measures(NightAnalysis& night, std::span<const float> eeg_uv, double fs_hz) {
  NightSpindles sp{kNaN, kNaN, kNaN, kNaN, {0, kNaN, kNaN}, 0};
  try {
    sp = night_spindles(eeg_uv, fs_hz, night.hypnogram);
  } catch (const Error& e) {
    night.notes.push_back(std::string("spindle measures not computed: ") + e.what());
  }
  const std::vector<NightMeasure> measures = {
      {"SP_density_N2", sp.density_n2_per_min, "/min", true},
      {"SP_density_N2N3", sp.density_n2n3_per_min, "/min", true},
      {"SP_frequency", sp.mean_frequency_hz, "Hz", true},
      {"SP_amplitude", sp.mean_amplitude_uv, "uV", true},
      {"SO_SP_phase", sp.coupling.mean_phase_rad * 180.0 / std::numbers::pi, "deg", true},
      {"SO_SP_coupling", sp.coupling.vector_length, "", true},
  };
  night.measures.insert(night.measures.end(), measures.begin(), measures.end());
}

// The rate every per-night signal measure works at: the staging rate. The measures' bands (SWA
// 0.5-4.5 Hz, slow waves < 2 Hz, spindles 11-16 Hz, artefact checks to 45 Hz) lie far below its
// 50-Hz Nyquist, kept whole by the resampler (flat to 40 Hz).
constexpr double kWorkingRateHz = 100.0;

// Slow-wave measures of one EEG channel over the night's hypnogram (deep_sleep.hpp), and its
// spectrogram for the report, all from the channel at kWorkingRateHz in float. A faster channel is
// read block by block and resampled once as it streams past; its flat and clipping checks see the
// native blocks on the way (resampling turns rails into ripple), so no native-rate night is held.
void append_signal_measures(NightAnalysis& night, const Recording& recording, int channel) {
  const SignalInfo& info = recording.signals()[static_cast<size_t>(channel)];
  const size_t n_in = static_cast<size_t>(info.n_samples);
  const auto whole_epochs = [&](double fs_hz) {
    const double samples_per_epoch = night.hypnogram.epoch_s * fs_hz;
    return std::fabs(samples_per_epoch - std::round(samples_per_epoch)) <= 1e-9;
  };
  double fs_hz = info.fs_hz;
  std::vector<float> eeg_uv;
  std::vector<uint8_t> native_flags;
  if (fs_hz <= kWorkingRateHz && whole_epochs(fs_hz)) {
    eeg_uv = recording.read(channel);
  } else {
    // Epochs must hold whole samples; 100 Hz does for any whole-second epoch.
    const Resampler resampler(info.fs_hz, kWorkingRateHz);
    std::optional<NativeArtefactScan> scan;
    if (whole_epochs(info.fs_hz)) scan.emplace(info.fs_hz, n_in, night.hypnogram);
    detail::resize_night_buffer(eeg_uv, resampler.output_length(n_in));
    std::vector<float> window;
    size_t scanned = 0;  // native samples the scan has seen
    const auto scan_to = [&](size_t end, size_t window_first) {
      if (!scan || end <= scanned) return;
      if (scanned < window_first) {  // not in the window (never with the resampler's overlapping windows)
        std::vector<float> gap(window_first - scanned);
        recording.read(channel, static_cast<int64_t>(scanned), gap);
        scan->add(gap);
        scanned = window_first;
      }
      scan->add(std::span<const float>(window).subspan(scanned - window_first, end - scanned));
      scanned = end;
    };
    constexpr size_t kBlockOutputs = size_t{1} << 16;
    for (size_t first = 0; first < eeg_uv.size(); first += kBlockOutputs) {
      const size_t n_out = std::min(kBlockOutputs, eeg_uv.size() - first);
      const auto [in_begin, in_end] = resampler.input_range(n_in, first, n_out);
      window.resize(in_end - in_begin);
      recording.read(channel, static_cast<int64_t>(in_begin), window);
      scan_to(in_end, in_begin);
      resampler.process_block(std::span<const float>(window), in_begin, n_in, first,
                              std::span<float>(eeg_uv).subspan(first, n_out));
    }
    if (scan) {
      if (scanned < n_in) {
        window.resize(n_in - scanned);
        recording.read(channel, static_cast<int64_t>(scanned), window);
        const size_t window_first = scanned;
        scan_to(n_in, window_first);
      }
      native_flags = scan->flags([&](size_t first_sample, std::span<float> samples) {
        recording.read(channel, static_cast<int64_t>(first_sample), samples);
      });
    }
    night.notes.push_back(info.label + " resampled from " + format_double(fs_hz) + " Hz to " +
                          format_double(kWorkingRateHz) + " Hz for the slow-wave and spindle measures" +
                          (scan ? " (flat and clipping checks at " + format_double(fs_hz) + " Hz)" : ""));
    fs_hz = kWorkingRateHz;
  }
  std::vector<std::pair<size_t, size_t>> cycles;
  for (const auto& c : night.statistics.cycles) cycles.emplace_back(c.nrem_begin, c.rem_end);
  DeepSleepOptions deep_options;
  deep_options.spectrogram = true;  // the report's spectrogram from the SWA's own spectra
  DeepSleepResult deep =
      native_flags.empty()
          ? analyze_deep_sleep(std::span<const float>(eeg_uv), fs_hz, night.hypnogram, cycles, deep_options)
          : analyze_deep_sleep(std::span<const float>(eeg_uv), fs_hz, night.hypnogram, cycles, deep_options, native_flags);
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
  night.swa_channel = info.label;
  append_spindle_measures(night, eeg_uv, fs_hz);
  night.notes.push_back("slow-wave measures from " + info.label);
  for (const auto& w : deep.warnings) night.notes.push_back(info.label + ": " + w);
  night.spectrogram = std::move(deep.spectrogram);
}

}  // namespace

// Central derivations carry slow waves best (AASM recommends F4/C4 for N3 scoring).
int deep_sleep_channel(const Recording& recording, const std::vector<std::string>& staged_eeg) {
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
  if (is_night_record_file(input.path)) {
    if (input.hypnogram)
      throw Error(input.path.string(), "hypnogram", "a per-night record already holds its hypnogram; give none");
    return read_night_record(input.path);
  }
  NightAnalysis night;
  night.path = input.path;
  std::optional<Recording> recording;
  std::vector<std::string> staged_eeg;
  std::optional<double> n3_variance_inflation;  // the staging model's calibrated interval
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
    n3_variance_inflation = staging.n3_variance_inflation;
    night.hypnogram = staging.epochs.to_hypnogram();
    night.staged_automatically = true;
    staged_eeg = staging.eeg_channels;
    night.model = staging.model_file.empty() ? std::string(to_string(staging.model)) : staging.model_file.string();
    night.staging_channels = staging.eeg_channels;
    if (!staging.eog_channel.empty()) night.staging_channels.push_back(staging.eog_channel);
    std::string channels;
    for (const auto& c : staging.eeg_channels) channels += (channels.empty() ? "" : ", ") + c;
    if (!staging.eog_channel.empty()) channels += ", EOG " + staging.eog_channel;
    night.notes.push_back("staged automatically with model " + night.model + " from " + channels);
    if (staging.domain.warning) night.notes.push_back("WARNING: " + staging.domain.message());
    night.domain = std::move(staging.domain);
  } else {
    night.hypnogram = read_hypnogram(input.path);
    night.staged_automatically = !night.hypnogram.probabilities.empty();
    if (night.staged_automatically)
      night.warnings.push_back("N3_expected interval: the staging model of these probabilities is unknown, so the 95 % "
                               "interval assumes independent epochs and is too narrow; analyse the recording itself "
                               "for the model's calibrated interval");
  }
  SleepStatsOptions stats_options = options.stats;
  if (n3_variance_inflation) stats_options.n3_variance_inflation = *n3_variance_inflation;
  night.statistics = sleep_statistics(night.hypnogram, stats_options);

  // Expected N3 exists only for hypnograms with stage probabilities.
  std::set<std::string> done;
  if (night.hypnogram.probabilities.empty()) done = {"N3_expected", "N3_expected_lo95", "N3_expected_hi95"};
  for (const auto& name : leading_statistics())
    if (const auto* s = night.statistics.find(name); s && !done.count(name)) append_statistic(night, *s, true);
  if (recording) {
    const int channel = options.swa_channel.empty() ? deep_sleep_channel(*recording, staged_eeg)
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

std::string_view to_string(StudyDesign design) {
  switch (design) {
    case StudyDesign::parallel: return "parallel";
    case StudyDesign::crossover: return "crossover";
    case StudyDesign::paired: break;
  }
  return "paired";
}

std::vector<ManifestEntry> read_manifest(const fs::path& path) {
  const CsvTable csv = read_csv(path);
  const int subject_col = csv.require_column("subject");
  const int path_col = csv.require_column("path");
  const int hypnogram_col = csv.column("hypnogram");
  const int age_col = csv.column("age");
  const int sex_col = csv.column("sex");
  // Design columns, all parsed here: (column, field); each present column must be filled in every row.
  const std::vector<std::pair<std::string_view, std::string ManifestEntry::*>> design_fields = {
      {"session", &ManifestEntry::session},
      {"arm", &ManifestEntry::arm},
      {"period", &ManifestEntry::period},
      {"condition", &ManifestEntry::condition}};
  std::vector<std::pair<int, std::string ManifestEntry::*>> design_cols;
  for (const auto& [name, field] : design_fields)
    if (const int col = csv.column(name); col >= 0) design_cols.emplace_back(col, field);
  const bool crossover = csv.column("period") >= 0 || csv.column("condition") >= 0;
  if (crossover) {
    csv.require_column("period");
    csv.require_column("condition");
    if (csv.column("arm") >= 0)
      throw Error(path.string(), "arm", "a manifest has either `arm` (parallel groups) or `period` and `condition` "
                                        "(crossover), not both");
  } else {
    csv.require_column("session");
  }
  const fs::path folder = path.parent_path();
  auto resolve = [&](const std::string& p) { return fs::path(p).is_absolute() ? fs::path(p) : folder / p; };
  std::vector<ManifestEntry> entries;
  for (size_t r = 0; r < csv.rows.size(); ++r) {
    const auto& row = csv.rows[r];
    const size_t line = r + 2;
    auto cell = [&](int col) -> const std::string& {
      const std::string& value = row[static_cast<size_t>(col)];
      if (value.empty())
        throw Error(path.string(), "line " + std::to_string(line) + ", column " + csv.header[static_cast<size_t>(col)],
                    "empty cell");
      return value;
    };
    ManifestEntry e;
    e.subject = cell(subject_col);
    e.path = resolve(cell(path_col));
    for (const auto& [col, field] : design_cols) e.*field = cell(col);
    if (hypnogram_col >= 0 && !row[static_cast<size_t>(hypnogram_col)].empty())
      e.hypnogram = resolve(row[static_cast<size_t>(hypnogram_col)]);
    const std::string where = "line " + std::to_string(line) + ", column ";
    if (age_col >= 0 && !row[static_cast<size_t>(age_col)].empty()) {
      const double age = csv.number(r, age_col);  // NA / NaN: unknown, as an empty cell
      if (!std::isnan(age) && !(age >= 0 && age <= 130))
        throw Error(path.string(), where + "age", "'" + row[static_cast<size_t>(age_col)] + "' is not an age in years (0-130)");
      if (!std::isnan(age)) e.age_years = age;
    }
    if (sex_col >= 0 && !row[static_cast<size_t>(sex_col)].empty()) {
      const std::string& text = row[static_cast<size_t>(sex_col)];
      if (text != "F" && text != "M" && text != "f" && text != "m")
        throw Error(path.string(), where + "sex", "'" + text + "' is not F or M");
      e.sex = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
    }
    e.line = line;
    entries.push_back(std::move(e));
  }
  if (entries.empty()) throw Error(path.string(), "", "the manifest lists no recordings");
  return entries;
}

StudyDesign design_of(const std::vector<ManifestEntry>& entries) {
  if (entries.empty()) return StudyDesign::paired;
  if (!entries.front().condition.empty()) return StudyDesign::crossover;
  if (!entries.front().arm.empty()) return StudyDesign::parallel;
  return StudyDesign::paired;
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

using NightsBySubject = std::map<std::string, std::map<std::string, const NightAnalysis*>>;

// The key of an entry's night within its subject: the session, or the period of a crossover
// ("period/session" when the crossover has a baseline night per period).
std::string night_key(const ManifestEntry& e, StudyDesign design) {
  if (design != StudyDesign::crossover) return e.session;
  return e.session.empty() ? e.period : e.period + "/" + e.session;
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// Subjects left out before any statistics, with every reason ("subject: reason", manifest order).
struct LeftOut {
  std::set<std::string> subjects;
  std::vector<std::string> reasons;
  void add(const std::string& subject, const std::string& reason) {
    subjects.insert(subject);
    reasons.push_back(subject + ": " + reason);
  }
};

// The reference and treated labels of the arms (`field` = &ManifestEntry::arm) or conditions: the two
// labels held by the most subjects; rows with any other label leave their subject out.
std::pair<std::string, std::string> reference_and_treated(const std::vector<ManifestEntry>& entries,
                                                          std::string ManifestEntry::*field, const std::string& what,
                                                          const std::string& reference_option, LeftOut& left_out) {
  std::map<std::string, std::set<std::string>> subjects_of;
  std::vector<std::string> labels;  // first-appearance order, so ties in count keep the manifest's order
  for (const auto& e : entries) {
    if (!subjects_of.count(e.*field)) labels.push_back(e.*field);
    subjects_of[e.*field].insert(e.subject);
  }
  std::stable_sort(labels.begin(), labels.end(),
                   [&](const std::string& a, const std::string& b) { return subjects_of[a].size() > subjects_of[b].size(); });
  std::string listed;
  for (const auto& l : labels) listed += (listed.empty() ? "'" : ", '") + l + "'";
  if (labels.size() < 2)
    throw Error("", what, "the manifest names one " + what + " (" + listed + "); this design needs two");
  if (labels.size() > 2 && subjects_of[labels[1]].size() == subjects_of[labels[2]].size())
    throw Error("", what, "cannot tell which two of the " + what + "s " + listed + " are the design's");
  for (const auto& e : entries)
    if (e.*field != labels[0] && e.*field != labels[1])
      left_out.add(e.subject, "line " + std::to_string(e.line) + ": " + what + " '" + e.*field + "' is not one of the two (" +
                                  labels[0] + ", " + labels[1] + ")");
  std::string reference = reference_option;
  if (reference.empty()) {
    std::vector<std::string> named;
    for (size_t i = 0; i < 2; ++i)
      if (lowercase(labels[i]) == "placebo" || lowercase(labels[i]) == "control") named.push_back(labels[i]);
    if (named.size() != 1)
      throw Error("", "--reference-" + what,
                  "name the reference " + what + " (" + labels[0] + " or " + labels[1] + ") with --reference-" + what);
    reference = named.front();
  } else if (reference != labels[0] && reference != labels[1]) {
    throw Error("", "--reference-" + what, "'" + reference + "' is not one of the " + what + "s " + listed);
  }
  return {reference, reference == labels[0] ? labels[1] : labels[0]};
}

// Repeated rows, a subject in both arms, a period other than 1 or 2, one condition in both periods.
void check_rows(const std::vector<ManifestEntry>& entries, StudyDesign design, LeftOut& left_out) {
  std::map<std::pair<std::string, std::string>, size_t> line_of;  // (subject, key) -> first line
  std::map<std::string, const ManifestEntry*> first_row;          // subject -> first row
  // Crossover: (subject, period) -> first row of that period.
  std::map<std::pair<std::string, std::string>, const ManifestEntry*> period_row;
  for (const auto& e : entries) {
    const std::string line = "line " + std::to_string(e.line);
    const std::string key = night_key(e, design);
    const auto [it, inserted] = line_of.insert({{e.subject, key}, e.line});
    if (!inserted)
      left_out.add(e.subject, line + " repeats " + (design == StudyDesign::crossover ? "period " : "session ") + key +
                                  " of line " + std::to_string(it->second));
    if (design == StudyDesign::crossover && e.period != "1" && e.period != "2")
      left_out.add(e.subject, line + ": period '" + e.period + "' is not 1 or 2");
    const auto [first, is_first] = first_row.insert({e.subject, &e});
    if (is_first || !inserted) {
      if (design == StudyDesign::crossover) period_row.insert({{e.subject, e.period}, &e});
      continue;
    }
    const ManifestEntry& f = *first->second;
    if (design == StudyDesign::parallel && e.arm != f.arm)
      left_out.add(e.subject, line + " puts it in arm '" + e.arm + "', line " + std::to_string(f.line) + " in arm '" +
                                  f.arm + "'");
    if (design != StudyDesign::crossover) continue;
    const auto [same, new_period] = period_row.insert({{e.subject, e.period}, &e});
    if (!new_period && same->second->condition != e.condition)
      left_out.add(e.subject, line + " gives period " + e.period + " condition '" + e.condition + "', line " +
                                  std::to_string(same->second->line) + " '" + same->second->condition + "'");
    const auto other = period_row.find({e.subject, e.period == "1" ? "2" : "1"});
    if (new_period && other != period_row.end() && other->second->condition == e.condition)
      left_out.add(e.subject, "lines " + std::to_string(other->second->line) + " and " + std::to_string(e.line) +
                                  ": condition '" + e.condition + "' in both periods");
  }
}

// Every subject's nights by key, first row of each key only, for the subjects not left out.
NightsBySubject nights_by_subject(const CohortResult& result, const std::vector<ManifestEntry>& entries,
                                  const LeftOut& left_out) {
  NightsBySubject by_subject;
  for (size_t i = 0; i < entries.size(); ++i)
    if (result.nights[i].analysis && !left_out.subjects.count(entries[i].subject))
      by_subject[entries[i].subject].insert({night_key(entries[i], result.design), &*result.nights[i].analysis});
  return by_subject;
}

CohortComparison compare_sessions(const CohortResult& result, const NightsBySubject& by_subject,
                                  const std::string& baseline, const std::string& session) {
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

// Holm across measures on each measure's primary p.
template <typename Measure, typename PrimaryP>
void set_holm(std::vector<Measure>& measures, PrimaryP primary_p) {
  std::vector<double> p_values;
  for (const auto& m : measures) p_values.push_back(primary_p(m));
  const std::vector<double> adjusted = holm_bonferroni(p_values);
  for (size_t i = 0; i < adjusted.size(); ++i) measures[i].p_holm = adjusted[i];
}

// The two nights of each analysable subject: (first, second) = (baseline, follow-up) or (period 1,
// period 2), with `treated` telling the arm / whether the sequence is AB. Subjects in manifest order.
struct SubjectNights {
  std::string subject;
  bool treated = false;
  const NightAnalysis* first = nullptr;
  const NightAnalysis* second = nullptr;
  // Crossover with a baseline night per period: each period's value is its change from the baseline.
  const NightAnalysis* first_baseline = nullptr;
  const NightAnalysis* second_baseline = nullptr;

  double first_value(const std::string& name) const { return change(first, first_baseline, name); }
  double second_value(const std::string& name) const { return change(second, second_baseline, name); }
  static double change(const NightAnalysis* night, const NightAnalysis* baseline, const std::string& name) {
    return baseline ? night->value(name) - baseline->value(name) : night->value(name);
  }
};

// One measure's values of the first and second night, split into x (treated arm, or sequence AB) and y.
struct SplitValues {
  std::vector<double> x_first, x_second, y_first, y_second;
};
SplitValues split_values(const std::vector<SubjectNights>& subjects, const std::string& name) {
  SplitValues v;
  for (const auto& s : subjects) {
    (s.treated ? v.x_first : v.y_first).push_back(s.first_value(name));
    (s.treated ? v.x_second : v.y_second).push_back(s.second_value(name));
  }
  return v;
}

void compare_parallel_arms(CohortResult& result, const std::vector<SubjectNights>& subjects) {
  for (const auto& m : subjects.front().first->measures) {
    ParallelMeasure pm{m.name, m.unit, m.deep_sleep, {}, 0, {}};
    for (const auto& s : subjects) pm.values.push_back({s.subject, s.treated, s.first->value(m.name), s.second->value(m.name)});
    const SplitValues v = split_values(subjects, m.name);
    pm.stats = compare_parallel(v.x_first, v.x_second, v.y_first, v.y_second);
    result.parallel.push_back(std::move(pm));
  }
  set_holm(result.parallel, [](const ParallelMeasure& m) { return m.stats.ancova.p_value; });
}

void compare_crossover_periods(CohortResult& result, const std::vector<SubjectNights>& subjects) {
  for (const auto& m : subjects.front().first->measures) {
    CrossoverMeasure cm{m.name, m.unit, m.deep_sleep, {}, 0, {}};
    for (const auto& s : subjects) {
      const double p1 = s.first_value(m.name), p2 = s.second_value(m.name);
      cm.values.push_back({s.subject, s.treated ? p2 : p1, s.treated ? p1 : p2});  // reference, treated night
    }
    const SplitValues v = split_values(subjects, m.name);
    cm.stats = compare_crossover(v.x_first, v.x_second, v.y_first, v.y_second);
    result.crossover.push_back(std::move(cm));
  }
  set_holm(result.crossover, [](const CrossoverMeasure& m) { return m.stats.effect.p_value; });
}

}  // namespace

CohortResult run_cohort(const std::vector<ManifestEntry>& entries, const CohortOptions& options) {
  if (options.jobs < 1) throw Error("", "jobs", "must be at least 1, got " + std::to_string(options.jobs));
  CohortResult result;
  result.design = design_of(entries);
  LeftOut left_out;
  if (result.design == StudyDesign::parallel)
    std::tie(result.reference, result.treated) =
        reference_and_treated(entries, &ManifestEntry::arm, "arm", options.reference_arm, left_out);
  if (result.design == StudyDesign::crossover) {
    std::tie(result.reference, result.treated) =
        reference_and_treated(entries, &ManifestEntry::condition, "condition", options.reference_condition, left_out);
    // A `session` column adds a baseline night (the first session) to each period.
    const std::vector<std::string> sessions = entries.front().session.empty() ? std::vector<std::string>{}
                                                                                : session_order(entries);
    if (!sessions.empty() && sessions.size() != 2)
      throw Error("", "session", "a crossover with a baseline night per period needs two sessions (baseline, treatment); "
                                 "the manifest has " + std::to_string(sessions.size()));
    if (sessions.empty()) {
      result.sessions = {"1", "2"};
    } else {
      result.crossover_baseline = sessions[0];
      for (const char* period : {"1", "2"})
        for (const auto& session : sessions) result.sessions.push_back(period + ("/" + session));
    }
  } else {
    result.sessions = session_order(entries);
  }
  if (result.design == StudyDesign::parallel && result.sessions.size() != 2)
    throw Error("", "session", "a parallel-group design needs two sessions (baseline, follow-up); the manifest has " +
                                   std::to_string(result.sessions.size()));
  check_rows(entries, result.design, left_out);
  for (const auto& e : entries) {
    if (std::find(result.subjects.begin(), result.subjects.end(), e.subject) == result.subjects.end())
      result.subjects.push_back(e.subject);
    const bool crossover = result.design == StudyDesign::crossover;
    const std::string label = !crossover ? e.session : e.session.empty() ? e.condition : e.condition + "/" + e.session;
    result.nights.push_back({e.subject, label, crossover ? e.period : "", e.path, std::nullopt, {}});
  }
  std::atomic<size_t> next{0};
  std::mutex report;
  const size_t n_threads = std::min<size_t>(static_cast<size_t>(options.jobs), entries.size());
  NightAnalysisOptions night_options = options.night;
  if (n_threads > 1) night_options.staging.threads = 1;  // the jobs already take the cores
  auto worker = [&] {
    for (size_t i = next++; i < entries.size(); i = next++) {
      try {
        NightAnalysisOptions this_night = night_options;
        if (entries[i].age_years) this_night.staging.age_years = entries[i].age_years;
        if (entries[i].sex) this_night.staging.sex = entries[i].sex;
        result.nights[i].analysis = analyse_night({entries[i].path, entries[i].hypnogram}, this_night);
      } catch (const std::exception& e) {
        result.nights[i].error = e.what();
      }
      if (options.on_night_done) {
        const std::lock_guard lock(report);
        options.on_night_done(result.nights[i]);
      }
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n_threads; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();

  result.excluded = left_out.reasons;
  const bool crossover = result.design == StudyDesign::crossover;
  for (const auto& subject : result.subjects) {
    if (left_out.subjects.count(subject)) continue;
    std::vector<std::string> missing;
    for (const auto& key : result.sessions) {
      const auto it = std::find_if(entries.begin(), entries.end(), [&](const ManifestEntry& e) {
        return e.subject == subject && night_key(e, result.design) == key;
      });
      const std::string what = crossover ? "period " + key : key + " session";
      if (it == entries.end())
        missing.push_back("no " + what);
      else if (const auto& night = result.nights[static_cast<size_t>(it - entries.begin())]; !night.analysis)
        missing.push_back(what + " failed: " + night.error);
    }
    for (const auto& reason : missing) result.excluded.push_back(subject + ": " + reason);
    // Paired: a subject missing one later session still counts in the others.
    if (!missing.empty() && result.design != StudyDesign::paired) left_out.subjects.insert(subject);
  }
  const NightsBySubject by_subject = nights_by_subject(result, entries, left_out);
  if (result.design == StudyDesign::paired) {
    for (size_t s = 1; s < result.sessions.size(); ++s)
      result.comparisons.push_back(compare_sessions(result, by_subject, result.sessions.front(), result.sessions[s]));
    return result;
  }
  std::vector<SubjectNights> subjects;
  result.groups.assign(result.subjects.size(), "");
  for (size_t i = 0; i < result.subjects.size(); ++i) {
    const auto it = by_subject.find(result.subjects[i]);
    if (it == by_subject.end()) continue;
    const auto row = std::find_if(entries.begin(), entries.end(), [&](const ManifestEntry& e) {
      return e.subject == result.subjects[i] && night_key(e, result.design) == result.sessions.front();
    });
    // Parallel: in the treated arm; crossover: the treated condition in period 1 (sequence AB).
    const bool treated = (crossover ? row->condition : row->arm) == result.treated;
    result.groups[i] = crossover ? (treated ? "AB" : "BA") : row->arm;
    const auto& nights = it->second;
    if (result.crossover_baseline.empty())
      subjects.push_back({result.subjects[i], treated, nights.at(result.sessions[0]), nights.at(result.sessions[1])});
    else  // sessions: 1/baseline, 1/treatment, 2/baseline, 2/treatment
      subjects.push_back({result.subjects[i], treated, nights.at(result.sessions[1]), nights.at(result.sessions[3]),
                          nights.at(result.sessions[0]), nights.at(result.sessions[2])});
  }
  if (subjects.empty()) return result;
  if (crossover)
    compare_crossover_periods(result, subjects);
  else
    compare_parallel_arms(result, subjects);
  return result;
}

}  // namespace psgkit
