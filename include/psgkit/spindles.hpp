// Sleep spindles: detection on one EEG channel (µV), per-event measures, multi-channel agreement,
// slow-oscillation–spindle coupling, and by-event scoring against expert marks (DREAMS).
//
// Detector: the three criteria of YASA's spindles_detect (Vallat & Walker 2021, eLife; YASA 0.7), with
// the relative-power threshold relative to the recording as A7's (Lacourse et al. 2019), computed as
// follows (every number below is a SpindleCriteria or SpindleThresholds field):
//  0. Signals above processing_fs_hz (100 Hz) are resampled to it (Resampler, preprocess.hpp); slower
//     ones are used as they are. All times are seconds from the first sample of the input.
//  1. Broadband signal: Butterworth band-pass broad_low_hz–broad_high_hz (4.5–30 Hz, order 2, zero
//     phase; the high edge is lowered to 0.45 × the processing rate when that is below 30 Hz, e.g.
//     22.5 Hz for a 50-Hz signal). YASA uses 1–30 Hz; 4.5–30 Hz is the broadband of A7, which keeps
//     the delta of N3 from diluting the relative sigma power (notes/spindles.md). Sigma signal:
//     Butterworth band-pass sigma_low_hz–sigma_high_hz (11.25–15.75 Hz, order 4, zero phase; these
//     are the −6 dB points of YASA's 12–15 Hz FIR with 1.5-Hz transition bands). Both are filtered
//     in SIMD lanes (IirFilter::filtfilt_inplace_in_lanes: equal to sosfiltfilt to double rounding).
//  2. The signals are cut into blocks of step_s (0.1 s, rounded to whole samples). Each criterion is
//     a window of an odd number of blocks centred on a block, evaluated at the block centres and
//     linearly interpolated to every sample (as YASA's moving_transform with interp=True):
//       relative sigma power = Σ sigma² / Σ broad² over rel_pow_window_s (2 s → 21 blocks, 2.1 s).
//         YASA takes the ratio of the 12–15 Hz to the 1–30 Hz STFT bins of 2-s windows every 0.2 s;
//         by Parseval the time-domain ratio of the two filtered signals measures the same thing
//         without 144 000 FFTs per 8-h night. Its threshold is the larger of rel_pow (YASA's absolute
//         fraction; 0 = off) and mean + rel_z × SD of the relative power over the searched block
//         centres (A7 z-scores its relative power per recording the same way).
//       moving correlation = Pearson r of sigma and broad over window_s (0.3 s → 3 blocks); threshold corr.
//       moving RMS = RMS of sigma over window_s; its threshold is mean + rms_z × SD of the moving
//         RMS over the searched block centres, capped at rms_cap_uv (10 µV, YASA's guard against
//         artefacts). Means and SDs of both z thresholds after trimming z_trim = 10 % at each end
//         (YASA's trimbothstd).
//  3. Per sample, the number of criteria at or above threshold; samples outside the searched stages
//     count 0. This count is smoothed with a 0.1-s moving average (numpy.convolve(..., "same"));
//     spindle samples are those where the average exceeds 2 (all three criteria, widened by the
//     smoothing).
//  4. Spindle samples closer than min_distance_s are joined; runs lasting strictly between
//     min_duration_s and max_duration_s (0.5–2 s; duration = (last − first sample) / fs) are spindles.
// Shipped thresholds (rel_z 1.0, corr 0.45, rms_z 3.0, min_distance_s 0.7; rel_pow off) are the best
// pooled F1 against DREAMS expert 1 over default_threshold_grid() (in-sample 0.678); chosen on four
// excerpts and scored on the fifth they reach pooled F1 0.622 (README, notes/spindles.md). YASA's own
// defaults are rel_pow 0.2, corr 0.65, rms_z 1.5, min_distance 0.5 s, no rel_z.
//
// Per-event measures (at the processing rate):
//   peak_s        the sample of largest |sigma| (the spindle's sigma peak).
//   amplitude_uv  peak-to-peak of the linearly detrended broadband signal over the event (YASA).
//   rms_uv        RMS of that detrended broadband signal (YASA).
//   frequency_hz  from the sigma signal's zero crossings (linearly interpolated times) between the
//                 event's first and last sample with |sigma| >= half its peak:
//                 (crossings − 1) / (2 · (last − first crossing)); exact for a sinusoid. YASA takes the
//                 median Hilbert instantaneous frequency, which needs a whole-night FFT.
//   oscillations  local maxima of the sigma signal above zero within the event (cycles).
//   symmetry      (peak_s − start_s) / duration_s, 0..1 (YASA).
//   stage         hypnogram stage at the event's start (YASA); empty without a hypnogram.
//
// Errors are psgkit::Error: NaN/inf samples, bands at or above the Nyquist frequency, a signal
// shorter than one window of the relative power.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "psgkit/hypnogram.hpp"

namespace psgkit {

class Recording;

// The thresholds chosen on the DREAMS excerpts (default_threshold_grid, validate_dreams).
struct SpindleThresholds {
  double rel_pow = 0;        // relative sigma power at least this fraction (YASA's criterion, its 0.2); 0 = off
  double rel_z = 1.0;        // relative sigma power at least mean + rel_z × trimmed SD of the recording's
  double corr = 0.45;        // moving correlation sigma vs broadband
  double rms_z = 3.0;        // moving RMS: mean + rms_z × trimmed SD
  double min_distance_s = 0.7;  // spindle samples closer than this are joined into one event
};

struct SpindleCriteria {
  SpindleThresholds thresholds;
  double processing_fs_hz = 100;
  double broad_low_hz = 4.5, broad_high_hz = 30;
  double sigma_low_hz = 11.25, sigma_high_hz = 15.75;
  double step_s = 0.1, window_s = 0.3, rel_pow_window_s = 2.0;
  double z_trim = 0.10, rms_cap_uv = 10.0;
  double smooth_s = 0.1;
  double min_duration_s = 0.5, max_duration_s = 2.0;
};

struct Spindle {
  std::string channel;
  double start_s = 0, end_s = 0, duration_s = 0, peak_s = 0;
  double amplitude_uv = 0, rms_uv = 0, frequency_hz = 0;
  int oscillations = 0;
  double symmetry = 0;
  std::optional<Stage> stage;
};

// Where to search: the whole signal (no hypnogram), or the epochs of `hypnogram` whose stage is in
// `stages` (the hypnogram starts start_s after the first sample; epoch bounds are rounded to the
// nearest sample). Epochs beyond the signal's end are not searched.
struct SpindleSearch {
  const Hypnogram* hypnogram = nullptr;
  std::vector<Stage> stages = {Stage::N2, Stage::N3};
};

// The filtered signals and criteria of one channel, computed once; detect() then applies thresholds
// (cheap), so threshold choice can sweep a grid without refiltering.
class SpindleDetector {
 public:
  SpindleDetector(std::span<const float> eeg_uv, double fs_hz, const SpindleSearch& search = {},
                  const SpindleCriteria& criteria = {}, std::string channel = {});
  ~SpindleDetector();
  SpindleDetector(SpindleDetector&&) noexcept;
  SpindleDetector& operator=(SpindleDetector&&) noexcept;

  double processing_fs_hz() const;
  // Minutes searched (samples of the chosen stages).
  double searched_min() const;
  std::vector<Spindle> detect(const SpindleThresholds& thresholds) const;
  std::vector<Spindle> detect() const;  // with criteria.thresholds

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// SpindleDetector(eeg_uv, fs_hz, search, criteria, channel).detect().
std::vector<Spindle> detect_spindles(std::span<const float> eeg_uv, double fs_hz, const SpindleSearch& search = {},
                                     const SpindleCriteria& criteria = {}, const std::string& channel = {});

// Multi-channel agreement: keeps an event when events of at least min_channels − 1 other channels
// overlap it in time. `per_channel[c]` holds channel c's events; the result is in the same layout.
std::vector<std::vector<Spindle>> keep_multichannel(const std::vector<std::vector<Spindle>>& per_channel,
                                                    size_t min_channels);

// ---- Summaries ----

struct SpindleSummary {
  std::string channel;
  std::string stage;         // "N2", "N3"... or "all"
  size_t count = 0;
  double minutes = 0;        // minutes searched in this stage (density denominator)
  double density_per_min = 0;
  double mean_duration_s = 0, mean_frequency_hz = 0, mean_amplitude_uv = 0;  // NaN when count == 0
};

// One row per channel and stage of `search.stages` (minutes of the hypnogram epochs that lie within
// signal_duration_s), plus a row "all" per channel over those stages together; without a hypnogram
// only "all", over signal_duration_s.
std::vector<SpindleSummary> summarize_spindles(const std::vector<Spindle>& events, const std::vector<std::string>& channels,
                                               const SpindleSearch& search, double signal_duration_s);

// ---- Slow-oscillation–spindle coupling ----

struct SpindleCoupling {
  size_t n = 0;                 // spindles used
  double mean_phase_rad = 0;    // circular mean, −π..π; 0 = SO positive peak (up-state), ±π = trough
  double vector_length = 0;     // mean resultant length 0..1 (Staresina et al. 2015; Helfrich et al. 2018)
};

// Phase of the slow oscillation at each time in `times_s`: the signal band-passed so_low_hz–so_high_hz
// (0.5–1.25 Hz, Butterworth order 2, zero phase), its Hilbert transform at that sample from the ideal
// discrete kernel 2/(πk) (odd k) with a Hamming window over ±4 s, phase = atan2(Hilbert, signal)
// (a cosine has phase 0 at its maximum). Times outside the signal give NaN.
inline constexpr double kSlowOscillationLowHz = 0.5, kSlowOscillationHighHz = 1.25;
std::vector<double> slow_oscillation_phase(std::span<const float> eeg_uv, double fs_hz, std::span<const double> times_s,
                                           double so_low_hz = kSlowOscillationLowHz,
                                           double so_high_hz = kSlowOscillationHighHz);
// Circular mean and resultant length of phases (NaN entries skipped; NaN results when none).
SpindleCoupling circular_coupling(std::span<const double> phases_rad);

// ---- The measures of one night (analyse_night) ----

struct NightSpindles {
  double density_n2_per_min = 0, density_n2n3_per_min = 0;
  double mean_frequency_hz = 0, mean_amplitude_uv = 0;  // over N2+N3 spindles
  SpindleCoupling coupling;                             // N2+N3 spindles' sigma peaks
  size_t count_n2n3 = 0;
};

// Spindles in N2 and N3 of `hypnogram` on one channel, with default criteria, and their coupling.
NightSpindles night_spindles(std::span<const float> eeg_uv, double fs_hz, const Hypnogram& hypnogram);

// ---- Scoring against expert marks ----

struct TimeInterval {
  double start_s = 0, end_s = 0;
};

struct EventCounts {
  size_t detected = 0, reference = 0, matched = 0;
  double precision() const;  // matched / detected (NaN when nothing detected)
  double recall() const;     // matched / reference (NaN when no reference)
  double f1() const;         // 2 · matched / (detected + reference) (NaN when both empty)
  EventCounts& operator+=(const EventCounts& other);
};

// By-event matching: a detected event and a reference event match when their intersection over
// union is >= min_iou; pairs are taken one-to-one, greedily by decreasing IoU (ties: earlier
// reference, then earlier detection). `pairs` (optional) receives (detected, reference) indices.
EventCounts match_events(const std::vector<TimeInterval>& detected, const std::vector<TimeInterval>& reference,
                         double min_iou = 0.2, std::vector<std::pair<size_t, size_t>>* pairs = nullptr);

std::vector<TimeInterval> to_intervals(const std::vector<Spindle>& events);

// DREAMS expert file: a "[...]" header line, then "onset duration" in seconds per line.
std::vector<TimeInterval> read_dreams_events(const std::filesystem::path& path);

// Leave-one-out choice: counts[e][g] are excerpt e's counts at grid point g. For each e, the grid
// point with the best pooled F1 over every other excerpt (first on ties). Throws for < 2 excerpts.
std::vector<size_t> leave_one_out_choice(const std::vector<std::vector<EventCounts>>& counts);

// The thresholds swept for the DREAMS validation: min_distance_s {0.3, 0.5, 0.7, 1.0} × rel_z 0–2
// (step 0.5) × corr 0.3–0.8 (step 0.05) × rms_z 1.5–4 (step 0.25), rel_pow 0: 2420 points.
std::vector<SpindleThresholds> default_threshold_grid();

// The DREAMS validation table (README). For every excerptN.edf in `dir` with an expert-1 file:
// detection with the excerpt's expert hypnogram (excerptN.hypnogram.csv), stages N1, N2, N3.
// Expert 1 marked only the first 1000 s of each excerpt (every mark starts before 1000 s; expert 2's
// run to 1800 s), so comparisons with expert 1 count only events starting before expert1_scored_s
// (infinity: the whole excerpt). Comparisons with expert 2 use the whole excerpt.
struct DreamsExcerptScore {
  std::string excerpt;                     // "excerpt1"
  EventCounts defaults_vs_expert1;         // criteria.thresholds
  EventCounts loo_vs_expert1;              // thresholds chosen on the other excerpts
  SpindleThresholds loo_thresholds;
  std::optional<EventCounts> loo_vs_expert2, expert2_vs_expert1;
};
struct DreamsValidation {
  std::vector<DreamsExcerptScore> excerpts;
  EventCounts pooled_defaults, pooled_loo, pooled_loo_vs_expert2, pooled_expert2_vs_expert1;
  SpindleThresholds best_all;              // best pooled F1 over every excerpt (in-sample)
  EventCounts pooled_best_all;
};
DreamsValidation validate_dreams(const std::filesystem::path& dir, const SpindleCriteria& criteria = {},
                                 const std::vector<SpindleThresholds>& grid = default_threshold_grid(),
                                 double min_iou = 0.2, double expert1_scored_s = 1000.0);

}  // namespace psgkit
