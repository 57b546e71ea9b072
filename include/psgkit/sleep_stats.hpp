// Sleep statistics from a hypnogram (expert or automatic): YASA-compatible macro-architecture,
// fragmentation, NREM/REM cycles, N3 per third of the night and N3 uncertainty from stage
// probabilities.
//
// Units: durations and latencies in minutes, percentages in %, counts as plain numbers, SFI per hour.
// Undefined values are NaN (each definition below says when).
//
// YASA equivalence (yasa.sleep_statistics, YASA 0.7; identical definitions in 0.5-0.8): the keys
// TIB, SPT, WASO, TST, N1, N2, N3, REM, NREM, SOL, Lat_N1, Lat_N2, Lat_N3, Lat_REM, %N1, %N2, %N3,
// %REM, %NREM, SE, SME agree with YASA called on the same (lights-cropped) hypnogram with UNS as
// YASA's -1/-2 codes. YASA 0.7 raises on a hypnogram without sleep; for that case we follow the
// YASA 0.8 function (SPT = TST = 0, SE = 0, WASO/SOL/latencies/percentages/SME = NaN).
// SOL_5min and SFI follow yasa.Hypnogram.sleep_statistics (0.8).
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "psgkit/hypnogram.hpp"

namespace psgkit {

// Which epochs of a hypnogram lie between lights off and lights on.
// An epoch is kept when its midpoint lies in [lights_off_s, lights_on_s): a lights event inside an
// epoch keeps that epoch if at least half of it is in bed. Times are seconds from the recording start.
struct EpochWindow {
  size_t first_epoch = 0;  // index into the input hypnogram
  size_t n_epochs = 0;
};

// Options for sleep_statistics(). Explicit times win over Hypnogram::events; events are matched
// case-insensitively: "lights off" / "lights out" (the first one) and "lights on" (the first one
// after lights off). Without either, the whole hypnogram is time in bed.
struct SleepStatsOptions {
  std::optional<double> lights_off_s;  // seconds from the recording start
  std::optional<double> lights_on_s;   // seconds from the recording start
  bool lights_from_events = true;      // use "Lights off"/"Lights on" events when no explicit time

  // SOL_persistent: latency to the first run of at least this many minutes of consecutive sleep.
  double persistent_sleep_min = 10.0;
  // Awakenings: wake bouts of at least this many minutes are counted in `awakenings_2min`.
  double long_awakening_min = 2.0;
  // NREM/REM cycles (Feinberg & Floyd 1979, adapted; see find_sleep_cycles).
  double cycle_min_nrem_min = 15.0;    // minimum NREM (N1+N2+N3) time before a REM period
  double cycle_min_rem_min = 5.0;      // minimum REM time of every REM period but the first
  double cycle_rem_merge_gap_min = 15.0;  // REM runs closer than this form one REM period
  // Variance inflation L of the expected-N3 interval (see N3_expected_lo95): 1 treats epochs as
  // independent; the staging models carry a value calibrated in cross-validation
  // (StagingModel::n3_variance_inflation), which stage/stats/compare pass here.
  double n3_variance_inflation = 1.0;
};

// Expected minutes of a stage and its 95 % interval from per-epoch probabilities p_i of that stage:
// expected = m·Σp_i; sd = m·sqrt(L·Σp_i(1 − p_i)) (Poisson-binomial variance times the inflation L,
// which absorbs the autocorrelation of neighbouring epochs and the classifier's own error);
// lo/hi = expected ∓ 1.959964·sd clipped to [0, max_min]. m = epoch_s / 60.
struct ExpectedMinutes {
  double expected_min = 0, lo95_min = 0, hi95_min = 0;
};
ExpectedMinutes expected_stage_minutes(const std::vector<double>& p, double epoch_s, double variance_inflation,
                                       double max_min);

// Fraction of nights whose truth lies in [lo, hi] (inclusive); NaN for no nights. Throws psgkit::Error
// when the three vectors differ in length.
double interval_coverage(const std::vector<double>& truth, const std::vector<double>& lo, const std::vector<double>& hi);

// The variance inflation L that makes the 95 % interval of expected_stage_minutes cover a fraction
// `target` of nights: the `target` quantile (linear interpolation) of (error_i / (1.959964·m·sqrt(V_i)))²
// over nights with V_i = Σp(1 − p) > 0 (error_i = expected − truth minutes). At least 1. NaN if
// no night qualifies.
double fit_variance_inflation(const std::vector<double>& error_min, const std::vector<double>& bernoulli_variance,
                              double epoch_s, double target = 0.95);

// One NREM/REM cycle as epoch ranges (half-open [begin, end)), indices into the INPUT hypnogram
// (before lights cropping), so signal code can compute e.g. SWA per cycle directly.
struct SleepCycle {
  size_t nrem_begin = 0;  // first NREM epoch of the cycle
  size_t rem_begin = 0;   // first REM epoch of the REM period (== rem_end when the cycle has no REM)
  size_t rem_end = 0;     // one past the last REM epoch of the REM period; end of the cycle
  bool has_rem = true;    // false only for a final cycle of NREM without a REM period
  double nrem_min = 0;    // N1+N2+N3 minutes in [nrem_begin, rem_begin)
  double rem_min = 0;     // REM minutes in [rem_begin, rem_end)
};

// Transition counts between consecutive epochs: row = from, column = to, order W, N1, N2, N3, REM.
using TransitionMatrix = std::array<std::array<int, kNumSleepStages>, kNumSleepStages>;

struct SleepStatistic {
  std::string name;
  double value = 0;
  std::string_view unit;  // "min", "%", "count", "/h"
};

struct SleepStatistics {
  // In a fixed documented order (see sleep_statistics()); printing keeps this order.
  std::vector<SleepStatistic> values;
  TransitionMatrix transitions{};
  std::vector<SleepCycle> cycles;
  EpochWindow window;  // the time-in-bed epochs of the input hypnogram
  double epoch_s = 30.0;

  // Value by name; throws psgkit::Error (field = name) when there is no such statistic.
  double at(std::string_view name) const;
  // nullptr when absent.
  const SleepStatistic* find(std::string_view name) const;
};

// The time-in-bed window. Throws psgkit::Error when lights on is not after lights off or when no
// epoch of the hypnogram lies inside the window.
EpochWindow lights_window(const Hypnogram& hypnogram, const SleepStatsOptions& options = {});

// NREM/REM cycles over epochs [window.first_epoch, window.first_epoch + window.n_epochs) of
// `hypnogram`, after Feinberg & Floyd (1979), adapted:
//  1. REM runs separated by less than cycle_rem_merge_gap_min of non-REM epochs (any stage) form one
//     REM period, spanning from its first to its last REM epoch.
//  2. The first cycle starts at the first NREM epoch (N1, N2 or N3). A cycle's NREM period runs
//     from its start to the next qualifying REM period. A REM period qualifies when the NREM period
//     before it holds at least cycle_min_nrem_min of N1+N2+N3 epochs and, except for the first
//     cycle (whose REM may be of any length), the REM period holds at least cycle_min_rem_min of
//     REM epochs. A REM period that does not qualify stays inside the NREM period.
//  3. A qualifying REM period ends its cycle; the next cycle starts at the next NREM epoch.
//  4. After the last REM period, the remaining NREM up to the last sleep epoch is a final cycle
//     without REM (has_rem = false, rem_begin = rem_end = one past the last sleep epoch) when it
//     holds at least cycle_min_nrem_min of N1+N2+N3 epochs.
// Wake and UNS epochs inside a period belong to it (no wake-based cycle splitting).
std::vector<SleepCycle> find_sleep_cycles(const Hypnogram& hypnogram, EpochWindow window,
                                          const SleepStatsOptions& options = {});

// All statistics of the time in bed (lights window) of `hypnogram`, with m = epoch_s / 60 minutes
// per epoch, epochs 0..n-1 of the window, "sleep" = N1, N2, N3 or REM, UNS neither sleep nor wake,
// f / l = first / last sleep epoch. Order and definitions:
//  TIB      n·m (UNS included).                                                          [YASA]
//  SPT      (l − f + 1)·m; 0 without sleep.                                              [YASA]
//  WASO     W epochs in [f, l] · m; NaN without sleep.                                   [YASA]
//  TST      sleep epochs · m (UNS inside SPT is neither WASO nor TST).                   [YASA]
//  N1, N2, N3, REM   epochs of the stage · m;  NREM = N1 + N2 + N3.                      [YASA]
//  SOL      f·m; NaN without sleep.                                                      [YASA]
//  Lat_N1, Lat_N2, Lat_N3, Lat_REM   (first epoch of the stage)·m, from the start of the window,
//           NaN when the stage is absent.                                                [YASA]
//  %N1, %N2, %N3, %REM, %NREM   100·stage / TST; NaN when TST = 0.                       [YASA]
//  SE       100·TST / TIB.                                                               [YASA]
//  SME      100·TST / SPT; NaN without sleep.                                            [YASA]
//  SOL_5min start of the first run of ≥ ceil(5/m) consecutive sleep epochs ·m; NaN if none. [YASA 0.8]
//  SOL_persistent  as SOL_5min with persistent_sleep_min (10 min).
//  Lat_REM_onset   Lat_REM − SOL (AASM REM latency from sleep onset); NaN without REM.
//  SFI      (i with epoch i sleep and epoch i+1 W) / (TST / 60); NaN without sleep. [YASA 0.8]
//  awakenings       maximal runs of consecutive W epochs inside [f, l] (UNS splits a run); 0 without sleep.
//  awakenings_2min  those runs lasting ≥ long_awakening_min (2 min).
//  stage_shifts     consecutive epoch pairs of different scored stages (UNS pairs skipped), over
//                   the whole window = sum of the off-diagonal of `transitions`.
//  n_cycles         number of cycles (find_sleep_cycles); n_cycles_complete those with REM.
//  N3_third1, N3_third2, N3_third3   N3 minutes in each third of the SPT: the SPT epochs [f, l] as a
//           continuous span of (l − f + 1) epochs cut at exactly 1/3 and 2/3 of its length; an N3
//           epoch that straddles a cut is shared in proportion. Sum = N3. NaN without sleep.
//  N3_expected      Σ p_N3 · m over the window, from Hypnogram::probabilities.
//  N3_expected_lo95, N3_expected_hi95   N3_expected ∓ 1.96·sd, clipped to [0, TIB], with
//           sd = m·sqrt(L·Σ p(1 − p)) (expected_stage_minutes): the Poisson-binomial variance of
//           independent epochs times options.n3_variance_inflation L. L = 1 ignores the strong
//           autocorrelation of neighbouring epochs (too narrow); the models' L is calibrated so
//           that ~95 % of held-out Sleep-EDF nights are covered (data/models/README.md).
//           The three are NaN when the hypnogram has no probabilities.
// `transitions` counts pairs within the window where neither epoch is UNS.
// Throws psgkit::Error for an empty hypnogram, a non-positive epoch_s, probabilities whose count
// differs from the epoch count, or a bad lights window (see lights_window).
SleepStatistics sleep_statistics(const Hypnogram& hypnogram, const SleepStatsOptions& options = {});

}  // namespace psgkit
