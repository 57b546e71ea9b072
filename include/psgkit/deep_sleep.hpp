// Deep-sleep measures from one EEG channel (µV) and its hypnogram: artefact flags, slow-wave activity
// (SWA) per epoch / per NREM cycle with its decay and the delta sleep ratio, AASM slow-wave occupancy
// per epoch and slow-wave detection.
//
// The hypnogram is aligned to the signal start (epoch i begins start_s + i·epoch_s seconds after the
// first sample); epoch_s · fs_hz must be a whole number of samples (resample first otherwise).
// Epochs of the hypnogram that the signal does not fully cover get flag kNotCovered and NaN values,
// with a warning. Flagged epochs (any flag) are left out of every spectral and slow-wave measure.
// Undefined summaries (no clean N2+N3 epoch, fewer than two cycles...) are NaN and come with an entry
// in `warnings`; input that makes every measure meaningless throws psgkit::Error: NaN/inf samples, a
// signal shorter than one epoch, a band at or above the Nyquist frequency.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "psgkit/hypnogram.hpp"
#include "psgkit/spectral.hpp"

namespace psgkit {

// Bit flags per epoch.
enum ArtefactFlag : uint8_t {
  kArtefactNone = 0,
  kArtefactFlat = 1,          // SD < flat_sd_uv, or a run >= flat_run_s of samples changing < flat_step_uv
  kArtefactClipped = 2,       // >= clip_fraction of samples in runs of >= 3 at the clipping rails
  kArtefactAmplitude = 4,     // |x| > amplitude_uv after the artefact high-pass
  kArtefactPowerOutlier = 8,  // NREM epoch with |robust z| of log total power > power_robust_z
  kArtefactNotCovered = 16,   // the signal ends before this hypnogram epoch does
};

struct ArtefactOptions {
  double flat_sd_uv = 0.5;
  double flat_run_s = 5.0;
  double flat_step_uv = 0.01;
  // Clipping rails; default: the minimum / maximum of the whole signal. Pass the channel's physical
  // range (SignalInfo::physical_min/max, in µV) when known. Run on the signal before resampling:
  // resampling turns flat rails into ripple.
  std::optional<double> clip_low_uv, clip_high_uv;
  double clip_fraction = 0.01;
  double highpass_hz = 0.3;   // Butterworth order 2, zero phase, before the amplitude and power checks
  double amplitude_uv = 500;
  // Total power = variance of the high-passed epoch (µV²). Robust z = (log P − median) / (1.4826 · MAD)
  // over the N1/N2/N3 epochs not flagged otherwise (the idea of YASA's art_detect, Vallat & Walker
  // 2021, on log power instead of covariance); skipped with a warning for fewer than 10 such epochs.
  double power_robust_z = 4.0;
};

// Slow-wave criteria of YASA's sw_detect defaults (Vallat & Walker 2021), which follow Massimini et
// al. 2004 and Carrier et al. 2011. A candidate is a negative half-wave (downward to upward zero
// crossing of the band-passed signal) followed by a positive half-wave (upward to next downward
// crossing). Amplitudes are magnitudes measured on the band-passed signal.
struct SlowWaveCriteria {
  double low_hz = 0.3, high_hz = 1.5;     // Butterworth band-pass, zero phase
  int filter_order = 3;                   // per edge; effective 2 × after filtfilt
  double neg_min_s = 0.3, neg_max_s = 1.5; // negative half-wave duration
  double pos_min_s = 0.1, pos_max_s = 1.0; // positive half-wave duration
  double neg_min_uv = 40, neg_max_uv = 200; // |negative peak|
  double pos_min_uv = 10, pos_max_uv = 150; // positive peak
  double ptp_min_uv = 75, ptp_max_uv = 350; // positive peak − negative peak
};

struct DeepSleepOptions {
  ArtefactOptions artefacts;
  // SWA: absolute power over [swa_low_hz, swa_high_hz] (bins lo <= f <= hi) from a Welch PSD
  // (Hann windows of welch_window_s, 50 % overlap, constant detrend, density), integrated with the
  // trapezoid rule (exact for a sinusoid on the bin grid inside the band; Simpson's rule is off by
  // ±11 % on such narrow peaks).
  double swa_low_hz = 0.5, swa_high_hz = 4.5;
  double welch_window_s = 4.0;
  // AASM slow-wave occupancy (Berry et al., AASM Manual v2.6): waves delimited by consecutive
  // downward zero crossings of the occupancy band-passed signal (Butterworth order 3, zero phase),
  // lasting 1/high..1/low seconds (0.5–2 s) with peak-to-peak >= occupancy_ptp_uv on that signal.
  double occupancy_low_hz = 0.5, occupancy_high_hz = 2.0;
  double occupancy_ptp_uv = 75;
  SlowWaveCriteria slow_waves;
  // Also fill DeepSleepResult::spectrogram: the Welch PSD (the SWA's estimator) of every whole epoch
  // of the signal, flagged or not; clean epochs' rows are the very spectra their SWA integrates.
  bool spectrogram = false;
};

struct SlowWave {
  size_t epoch = 0;               // hypnogram epoch of the negative peak
  Stage stage = Stage::N2;
  double onset_s = 0;             // downward zero crossing, seconds from the signal start
  double neg_peak_s = 0, mid_crossing_s = 0, pos_peak_s = 0, end_s = 0;
  double neg_peak_uv = 0;         // negative (signed)
  double pos_peak_uv = 0;
  double ptp_uv = 0;
  double duration_s = 0;          // end_s − onset_s
  double up_slope_uv_per_s = 0;   // ptp / (pos_peak_s − neg_peak_s) (Carrier et al. 2011)
  double mid_slope_uv_per_s = 0;  // −neg_peak / (mid_crossing_s − neg_peak_s) (YASA "Slope")
};

struct CycleSwa {
  size_t begin = 0, end = 0;      // half-open epoch range as given
  size_t n_epochs = 0;            // clean N2+N3 epochs averaged
  double mean_swa_uv2 = 0;        // NaN when n_epochs == 0
  double midpoint_h = 0;          // middle of the range, hours from the signal start
};

struct DeepSleepResult {
  double fs_hz = 0, epoch_s = 30;
  // Per hypnogram epoch.
  std::vector<uint8_t> artefact_flags;
  std::vector<double> swa_uv2;               // NaN when flagged
  std::vector<double> slow_wave_occupancy;   // fraction 0..1; NaN when flagged
  // Summaries.
  size_t n_clean_n2n3_epochs = 0;
  double mean_swa_n2n3_uv2 = 0;              // over clean N2+N3 epochs
  size_t n_epochs_occupancy_20pct = 0;       // clean epochs with occupancy >= 0.2 (AASM N3 level)
  std::vector<CycleSwa> cycles;
  double swa_first_cycle_uv2 = 0;
  // Process S style decay (Achermann & Borbély): least-squares fit of ln(mean SWA) of the cycles
  // against their midpoints; rate in 1/h (positive = decay), time constant 1/rate in h.
  double swa_decay_rate_per_h = 0;
  double swa_decay_time_constant_h = 0;
  double swa_first_last_ratio = 0;           // first cycle / last cycle with a finite mean
  double delta_sleep_ratio = 0;              // cycle 1 / cycle 2 (Feinberg et al.)
  std::vector<SlowWave> slow_waves;
  double clean_n2n3_min = 0;
  double slow_wave_density_per_min = 0;      // waves per minute of clean N2+N3
  double slow_wave_mean_ptp_uv = 0;
  double slow_wave_mean_up_slope_uv_per_s = 0;
  std::optional<Spectrogram> spectrogram;    // with DeepSleepOptions::spectrogram
  std::vector<std::string> warnings;
};

// Artefact flags per hypnogram epoch (see ArtefactOptions). Throws psgkit::Error on bad input.
std::vector<uint8_t> detect_artefacts(std::span<const double> eeg_uv, double fs_hz, const Hypnogram& hypnogram,
                                      const ArtefactOptions& options = {},
                                      std::vector<std::string>* warnings = nullptr);

// The flat and clipping checks of ArtefactOptions on a channel's own samples, fed block by block as
// it is read (no whole-night buffer): resampling turns flat runs and clipping rails into ripple, so
// measures computed at a lower working rate take these two flags from the native samples (the
// native_flags overload of analyze_deep_sleep). Epochs are the hypnogram's at this rate: epoch_s ·
// fs_hz must be whole samples. The default rails are the whole channel's minimum and maximum, as in
// detect_artefacts, so they are known only after the last sample; flags() then reads again, through
// `read(first_sample, samples)`, the few epochs that reach a rail. Throws psgkit::Error.
class NativeArtefactScan {
 public:
  NativeArtefactScan(double fs_hz, size_t n_samples, const Hypnogram& hypnogram, const ArtefactOptions& options = {});
  // The next samples (µV) of the channel, in order.
  void add(std::span<const float> samples_uv);
  // After all n_samples: kArtefactFlat / kArtefactClipped (and kArtefactNotCovered) per hypnogram epoch.
  std::vector<uint8_t> flags(const std::function<void(size_t first_sample, std::span<float> samples_uv)>& read) const;

 private:
  ArtefactOptions options_;
  size_t flat_run_ = 0, first_sample_ = 0, samples_per_epoch_ = 0, n_covered_ = 0, n_samples_ = 0, seen_ = 0;
  double signal_min_ = std::numeric_limits<double>::infinity(), signal_max_ = -std::numeric_limits<double>::infinity();
  std::vector<uint8_t> flags_;
  std::vector<double> epoch_min_, epoch_max_;
  std::vector<float> epoch_;  // the epoch being filled
};

// SWA (µV²) of one stretch of signal, e.g. an epoch (see DeepSleepOptions).
double slow_wave_activity(std::span<const double> eeg_uv, double fs_hz, const DeepSleepOptions& options = {});

// Slow-wave occupancy per hypnogram epoch (fractions 0..1; NaN where the signal does not cover it).
std::vector<double> slow_wave_occupancy(std::span<const double> eeg_uv, double fs_hz, const Hypnogram& hypnogram,
                                        const DeepSleepOptions& options = {});

// Slow waves whose negative peak lies in an epoch with `keep[epoch]` true (all epochs when empty).
std::vector<SlowWave> detect_slow_waves(std::span<const double> eeg_uv, double fs_hz, const Hypnogram& hypnogram,
                                        const SlowWaveCriteria& criteria = {},
                                        const std::vector<bool>& keep = {});

// Everything above. `nrem_cycles`: half-open epoch ranges [begin, end) of the NREM cycles (e.g.
// SleepCycle::nrem_begin, rem_end); SWA per cycle averages its clean N2+N3 epochs.
// The three zero-phase filters (artefact high-pass, occupancy and slow-wave band-passes) run in one
// pass (IirFilter::filtfilt_each) with recurrences in double; the float overload stores their outputs
// in float (relative rounding ≈ 6e-8), the double overload in double.
DeepSleepResult analyze_deep_sleep(std::span<const double> eeg_uv, double fs_hz, const Hypnogram& hypnogram,
                                   const std::vector<std::pair<size_t, size_t>>& nrem_cycles = {},
                                   const DeepSleepOptions& options = {});
DeepSleepResult analyze_deep_sleep(std::span<const float> eeg_uv, double fs_hz, const Hypnogram& hypnogram,
                                   const std::vector<std::pair<size_t, size_t>>& nrem_cycles = {},
                                   const DeepSleepOptions& options = {});
// The same on a signal resampled from the recording (e.g. to 100 Hz), with the flat and clipping
// flags taken from `native_flags` (NativeArtefactScan::flags() on the native samples, one entry per
// hypnogram epoch) instead of checked on this signal; amplitude and power checks run here.
DeepSleepResult analyze_deep_sleep(std::span<const float> eeg_uv, double fs_hz, const Hypnogram& hypnogram,
                                   const std::vector<std::pair<size_t, size_t>>& nrem_cycles,
                                   const DeepSleepOptions& options, std::span<const uint8_t> native_flags);

}  // namespace psgkit
