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
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "psgkit/hypnogram.hpp"
#include "psgkit/paired_stats.hpp"
#include "psgkit/plots.hpp"
#include "psgkit/sleep_stats.hpp"
#include "psgkit/spectral.hpp"
#include "psgkit/staging.hpp"

namespace psgkit {

class Recording;

struct NightInput {
  std::filesystem::path path;  // EDF/BDF recording, hypnogram file, or per-night record (night_record.hpp)
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
  // Automatic staging of a recording only: distance of its features from the training nights'
  // (domain.hpp); when above the threshold a "WARNING: ..." note is added as well.
  std::optional<DomainCheck> domain;
  std::string model;                   // staging model ("a".."e", or the model file); empty when the hypnogram was given
  std::vector<std::string> staging_channels;  // EEG (then EOG) labels the staging used
  std::string swa_channel;             // label of the slow-wave channel; empty without a recording
  std::vector<std::string> warnings;   // what psgkit cannot vouch for (e.g. a record of another version)

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

// The manifest's design, chosen by its columns (subject, path[, hypnogram] plus):
//  - paired: `session` — every later session against the first (before/after in one group);
//  - parallel: `session` (two: before/after, baseline/follow-up) and `arm` (two labels) — randomised
//    parallel groups, each arm's change compared between arms;
//  - crossover: `period` (1, 2) and `condition` (two labels) — two-period AB/BA crossover; with a
//    `session` column too (two sessions, the first the baseline), each period has a baseline night and
//    a treatment night, and each period's value is treatment − baseline.
enum class StudyDesign { paired, parallel, crossover };
std::string_view to_string(StudyDesign design);  // "paired", "parallel", "crossover"

struct ManifestEntry {
  std::string subject, session;
  std::string arm;        // `arm` column (parallel design); empty when absent
  std::string period;     // `period` column (crossover), as written; validated by run_cohort
  std::string condition;  // `condition` column (crossover)
  std::filesystem::path path;                      // resolved against the manifest's folder
  std::optional<std::filesystem::path> hypnogram;  // optional `hypnogram` column, resolved likewise
  // Optional `age` (years) and `sex` (F or M) columns: the subject's demographics at this night, given
  // to automatic staging (StagingOptions::age_years / sex; only models that take them use them). An
  // empty cell means unknown.
  std::optional<double> age_years;
  std::optional<char> sex;
  size_t line = 0;                                 // line in the manifest (header = 1)
};

// CSV with columns subject,path[,hypnogram][,age][,sex] and the design columns above; relative paths are
// taken from the manifest's folder. Throws psgkit::Error for a missing column, an empty cell (except in
// hypnogram, age and sex), an age that is not a number of years in 0–130, a sex other than F/M, or design
// columns that fit no design (`arm` without `session`, `period` without `condition`, ...). Repeated
// rows are left to run_cohort, which reports them and leaves the subject out.
std::vector<ManifestEntry> read_manifest(const std::filesystem::path& path);

// The design of a manifest's entries (all entries come from one manifest, so the columns agree).
StudyDesign design_of(const std::vector<ManifestEntry>& entries);

// Session order: "before" then "after" when those are the sessions; otherwise the order in which
// sessions first appear in the manifest. The first is the baseline every other is compared with.
std::vector<std::string> session_order(const std::vector<ManifestEntry>& entries);

struct CohortNight;

struct CohortOptions {
  NightAnalysisOptions night;
  int jobs = 1;  // nights analysed in parallel (each night on one thread)
  // Called after each night (analysed or failed), from the thread that analysed it, one call at a time.
  std::function<void(const CohortNight& night)> on_night_done;
  // The reference (control) label of a parallel design's arms / a crossover's conditions. Empty: a
  // label spelt "placebo" or "control" (any case) if exactly one is, else run_cohort throws asking
  // for it. The other label is the treated one.
  std::string reference_arm, reference_condition;
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

// Parallel design, one measure: ParallelComparison of the arms (x = treated) and Holm over measures
// on the ANCOVA p.
struct ArmValue {
  std::string subject;
  bool treated = false;
  double before = 0, after = 0;  // NaN when undefined for the night
};
struct ParallelMeasure {
  std::string name, unit;
  bool deep_sleep = false;
  ParallelComparison stats;
  double p_holm = 0;  // Holm over every measure with a finite ANCOVA p
  std::vector<ArmValue> values;  // per subject, manifest order
};

// Crossover design, one measure: CrossoverComparison (A = treated) and Holm over measures on the
// period-adjusted effect's p. With a baseline night per period, every value is the period's change
// from its baseline night.
struct CrossoverMeasure {
  std::string name, unit;
  bool deep_sleep = false;
  CrossoverComparison stats;
  double p_holm = 0;
  std::vector<PairedValue> values;  // per subject: before = reference night, after = treated night
};

struct CohortNight {
  std::string subject, session;  // crossover: the condition (or "condition/session"), period in `period`
  std::string period;
  std::filesystem::path path;
  std::optional<NightAnalysis> analysis;  // empty when it failed
  std::string error;                      // why it failed
};

struct CohortResult {
  StudyDesign design = StudyDesign::paired;
  std::string reference, treated;      // arm (parallel) or condition (crossover) labels
  std::string crossover_baseline;      // crossover with a baseline night per period: its session label
  // Per subject (same order as `subjects`): the arm (parallel), the sequence "AB" or "BA" (crossover;
  // A = treated first), empty when the subject was left out or the design is paired.
  std::vector<std::string> groups;
  std::vector<std::string> sessions;   // baseline first
  std::vector<std::string> subjects;   // manifest order
  std::vector<CohortNight> nights;     // manifest order
  std::vector<std::string> excluded;   // "subject: reason" for subjects left out of a comparison
  std::vector<CohortComparison> comparisons;  // paired: one per session after the baseline
  std::vector<ParallelMeasure> parallel;      // parallel design: the nights' measure order
  std::vector<CrossoverMeasure> crossover;    // crossover design: the nights' measure order
  bool all_ok() const;                 // no night failed and no subject was left out
};

// Analyses every night (in parallel with options.jobs threads), then by design: paired — each later
// session against the baseline over the subjects that have both; parallel — compare_parallel per
// measure over the subjects with both sessions; crossover — compare_crossover over the subjects with
// both periods. A failing night is reported, never fatal. Subjects left out, each listed in `excluded`
// with the manifest line: a repeated row (subject + session, or subject + period), a subject in both
// arms, one condition in both periods or two in one period, a period other than 1 or 2, a row whose
// arm/condition is not one of the two, a missing night (baseline, follow-up or period). Throws
// psgkit::Error when the design is undecidable: fewer than two arm/condition labels, more than two
// without two clearly most frequent, no reference label, or a parallel design (or a crossover with
// baselines) without exactly two sessions.
CohortResult run_cohort(const std::vector<ManifestEntry>& entries, const CohortOptions& options = {});

}  // namespace psgkit
