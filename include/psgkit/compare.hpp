// Before/after comparison of deep sleep, for one person (compare_nights) and a group (run_cohort).
//
// Data flow per night: a recording (EDF/BDF) or a hypnogram file -> hypnogram (the expert one when
// given, else automatic staging, staging.hpp) -> sleep statistics (sleep_stats.hpp) -> for
// recordings, signal measures of deep sleep and spindles on one EEG channel (deep_sleep.hpp,
// spindles.hpp) -> a flat list of
// named measures in report order (deep-sleep measures first).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "psgkit/hypnogram.hpp"
#include "psgkit/plots.hpp"
#include "psgkit/sleep_stats.hpp"
#include "psgkit/spectral.hpp"
#include "psgkit/staging.hpp"

namespace psgkit {

class Recording;

struct NightInput {
  std::filesystem::path path;                       // EDF/BDF recording, or a hypnogram file
  std::optional<std::filesystem::path> hypnogram;   // expert scoring of the recording (optional)
};

struct NightAnalysisOptions {
  RecordingStagingOptions staging;  // channel choice and model for automatic staging
  // EEG channel for the slow-wave measures; empty: the first central derivation (label containing
  // C3, C4 or Cz), else the first EEG channel the staging used.
  std::string swa_channel;
  SleepStatsOptions stats;
};

struct NightMeasure {
  std::string name;
  double value = 0;  // NaN when undefined for this night
  std::string unit;  // "min", "%", "uV^2", "/min", "uV", "uV/s", "count", "/h", "Hz", "deg", "" (ratio)
  bool deep_sleep = false;  // one of the deep-sleep measures that lead the report
};

struct NightAnalysis {
  std::filesystem::path path;
  bool is_recording = false;          // false: a hypnogram file alone
  bool staged_automatically = false;  // true: the hypnogram comes from psgkit's staging
  Hypnogram hypnogram;
  SleepStatistics statistics;
  std::vector<NightMeasure> measures;  // report order, see analyse_night
  std::optional<Spectrogram> spectrogram;  // of the slow-wave channel, recordings only
  std::vector<std::string> notes;      // what was done: channels, model, epochs excluded

  // The measure's value; NaN if absent.
  double value(const std::string& name) const;
};

// True when the file starts like an EDF ("0       ") or BDF ("\xFF" "BIOSEMI") header.
bool is_recording_file(const std::filesystem::path& path);

// The EEG channel of the slow-wave (and spindle) measures: the first µV signal whose label contains
// C3, C4 or Cz, else the first of `staged_eeg`. Throws psgkit::Error when there is none.
int deep_sleep_channel(const Recording& recording, const std::vector<std::string>& staged_eeg);

// Analyses one night. Measure order: N3, %N3, Lat_N3, N3_expected (+ 95 % bounds, automatic
// staging only), the signal measures of deep_sleep.hpp and spindles.hpp (recordings only), N3 per
// third of the SPT,
// then every other statistic of sleep_statistics() in its order. Throws psgkit::Error.
NightAnalysis analyse_night(const NightInput& input, const NightAnalysisOptions& options = {});

struct MeasureChange {
  std::string name, unit;
  double before = 0, after = 0;
  double difference = 0;   // after - before
  double percent_change = 0;  // 100 * (after - before) / |before|; NaN when before is 0 or NaN
  bool deep_sleep = false;
};

// Every measure of `before` that `after` also has, in `before`'s order.
std::vector<MeasureChange> compare_nights(const NightAnalysis& before, const NightAnalysis& after);

// ---- Cohorts ----

struct ManifestEntry {
  std::string subject, session;
  std::filesystem::path path;                      // resolved against the manifest's folder
  std::optional<std::filesystem::path> hypnogram;  // optional `hypnogram` column, resolved likewise
  size_t line = 0;                                 // line in the manifest (header = 1)
};

// CSV with columns subject,session,path[,hypnogram]; relative paths are taken from the manifest's
// folder. Throws psgkit::Error for a missing column, an empty cell, or a repeated subject+session.
std::vector<ManifestEntry> read_manifest(const std::filesystem::path& path);

// Session order: "before" then "after" when those are the sessions; otherwise the order in which
// sessions first appear in the manifest. The first is the baseline every other is compared with.
std::vector<std::string> session_order(const std::vector<ManifestEntry>& entries);

struct CohortOptions {
  NightAnalysisOptions night;
  int jobs = 1;  // nights analysed in parallel (each night on one thread)
};

struct CohortMeasure {
  std::string name, unit;
  bool deep_sleep = false;
  size_t n = 0;  // subjects with finite values at both time points
  double mean_before = 0, mean_after = 0, mean_diff = 0, sd_diff = 0;
  double ttest_p = 0, wilcoxon_p = 0, hedges_g = 0, ci95_low = 0, ci95_high = 0;
  double p_holm = 0;  // Holm over every measure of this comparison with a finite p (t-test)
  std::vector<PairedValue> values;  // per subject, for the paired plot
};

// One later session against the baseline. Statistics (paired_stats.hpp): paired t-test,
// Wilcoxon signed-rank (scipy defaults), Hedges' g (paired), bootstrap 95 % CI of the mean
// difference (10 000 resamples, fixed seed), Holm correction of the t-test p-values.
struct CohortComparison {
  std::string baseline, session;
  std::vector<CohortMeasure> measures;  // the nights' measure order
};

struct CohortNight {
  std::string subject, session;
  std::filesystem::path path;
  std::optional<NightAnalysis> analysis;  // empty when it failed
  std::string error;                      // why it failed
};

struct CohortResult {
  std::vector<std::string> sessions;   // baseline first
  std::vector<std::string> subjects;   // manifest order
  std::vector<CohortNight> nights;     // manifest order
  std::vector<std::string> excluded;   // "subject: reason" for subjects left out of a comparison
  std::vector<CohortComparison> comparisons;  // one per session after the baseline
  bool all_ok() const;                 // no night failed and no subject was left out
};

// Analyses every night (in parallel with options.jobs threads) and compares each later session with
// the baseline over the subjects that have both. A failing night is reported, never fatal.
CohortResult run_cohort(const std::vector<ManifestEntry>& entries, const CohortOptions& options = {});

}  // namespace psgkit
