// Per-epoch EEG features: band powers, ratios, spectral shape and time-domain statistics, one row per
// fixed-length epoch, as a psgkit::FeatureTable. Samples are in µV (psgkit's unit for EEG).
//
// Spectral features come from one Welch PSD per epoch and channel (Hann window of welch_window_s
// seconds, 50 % overlap, mean removed per segment, density scaling: µV²/Hz; YASA's bandpower
// convention, Vallat & Walker 2021) shared by every spectral feature. Columns, for each channel with
// prefix p (see column_prefix):
//   p_<band>_abs_uv2        absolute band power, Simpson's rule over the bins lo <= f <= hi (µV²);
//                           with BandIntegration::MeanOverBins the mean density instead, named
//                           p_<band>_abs_uv2_per_hz
//   p_<band>_rel            relative power: the band's power over the power of the `total` band
//                           (same integration; MeanOverBins uses the ratio of bin sums)
//   p_swa_uv2               slow-wave activity, power in options.swa (default 0.5-4.5 Hz)
//   p_delta_theta_ratio, p_delta_beta_ratio, p_theta_alpha_ratio   absolute-power ratios (only when
//                           bands named delta, theta, alpha, beta exist)
//   p_sef50_hz, p_sef95_hz  spectral edge frequencies: the frequency below which 50 % / 95 % of the
//                           power of the `total` band lies (cumulative bin sums, linear interpolation
//                           inside the bin where the fraction is reached)
//   p_spectral_entropy      Shannon entropy of the PSD normalised to a distribution over the `total`
//                           band's bins, divided by log2(number of bins): 0 (one line) .. 1 (flat)
//   p_aperiodic_slope       least-squares slope of log10 PSD against log10 f over the bins in
//                           [aperiodic_lo_hz, aperiodic_hi_hz] (default 2-30 Hz; -1 for 1/f, about -2
//                           for 1/f², Brownian), no oscillatory peaks removed (not FOOOF)
// and from the samples x of the epoch (population moments, d1/d2 = first/second differences):
//   p_var_uv2, p_hjorth_activity_uv2  variance (Hjorth activity is the variance; Hjorth 1970)
//   p_hjorth_mobility       sqrt(var(d1)/var(x)), per sample (2πf/fs for a sinusoid of frequency f)
//   p_hjorth_complexity     sqrt(var(d2)/var(d1)) / mobility (1 for a sinusoid)
//   p_zero_crossings        number of i with sign(x[i+1]) != sign(x[i]) on the raw samples (no mean
//                           removal: an offset channel has few crossings)
//   p_line_length_uv        Σ |x[i+1] - x[i]|
//   p_skewness, p_kurtosis  m3/m2^1.5 and m4/m2² - 3 (biased, excess kurtosis)
//   p_ipr_<lo>_<hi>_uv      inter-percentile range, percentile(hi) - percentile(lo) with linear
//                           interpolation between order statistics (numpy's default), default 5-95
//
// Bands above the Nyquist frequency: a band whose upper edge exceeds fs/2 gives NaN in every row
// (and NaN ratios / relative power), with one warning per channel and band; the `total` band and the
// aperiodic range are clipped to fs/2 with a warning. Epochs: epoch_s windows from offset_s after the
// first sample (psgkit::make_epochs; offset_s = Hypnogram::start_s aligns to a hypnogram); the
// trailing partial epoch is dropped and reported as a warning. Channels of different durations give
// as many rows as the shortest allows (warned).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "psgkit/feature_table.hpp"
#include "psgkit/spectral.hpp"

namespace psgkit {

struct Band {
  std::string name;
  double lo_hz = 0;
  double hi_hz = 0;
};

// slow oscillation 0.5-1, delta 0.5-4, theta 4-8, alpha 8-12, sigma 12-16, beta 16-30, gamma 30-45 Hz
// (names "so", "delta", "theta", "alpha", "sigma", "beta", "gamma").
std::vector<Band> default_bands();

struct FeatureOptions {
  double epoch_s = 30.0;
  double offset_s = 0.0;               // first epoch onset, seconds after the first sample
  double welch_window_s = 4.0;         // Welch segment length (YASA: 4 s → 0.25 Hz bins)
  BandIntegration integration = BandIntegration::Simpson;
  std::vector<Band> bands = default_bands();
  Band swa{"swa", 0.5, 4.5};
  Band total{"total", 0.5, 45.0};      // reference for relative power, SEF and spectral entropy
  double aperiodic_lo_hz = 2.0;
  double aperiodic_hi_hz = 30.0;
  double percentile_lo = 5.0;          // inter-percentile range, in percent
  double percentile_hi = 95.0;
};

// One channel's samples (µV) at fs_hz; `prefix` names its columns (e.g. column_prefix(label)).
struct ChannelSamples {
  std::string prefix;
  std::span<const float> samples_uv;
  double fs_hz = 0;
};

// Column-name prefix from a signal label: lower case, a leading "EEG " dropped, every run of other
// characters than [a-z0-9] turned into one '_' ("EEG Fpz-Cz" → "fpz_cz", "C3-M2" → "c3_m2").
std::string column_prefix(std::string_view label);

// Column names of one channel, in output order, for these options.
std::vector<std::string> feature_names(const FeatureOptions& options);

// Computes every feature above for every channel; columns are "<prefix>_<name>", rows one per epoch
// with onset_s in seconds from the first sample. Warnings (dropped partial epoch, bands above Nyquist,
// clipped ranges) are appended to `warnings` when not null. Throws psgkit::Error for an invalid
// option (epoch shorter than the Welch window, non-positive rate, percentiles outside [0, 100],
// lo > hi), when no whole epoch fits, or when an epoch holds a NaN or infinite sample (the message
// names the channel prefix, the epoch number from 1 and its onset).
FeatureTable compute_features(std::span<const ChannelSamples> channels, const FeatureOptions& options = {},
                              std::vector<std::string>* warnings = nullptr);

enum class PsdMethod { Welch, Multitaper };

struct AveragePsdOptions {
  double epoch_s = 30.0;
  double offset_s = 0.0;               // first epoch onset (Hypnogram::start_s)
  PsdMethod method = PsdMethod::Welch;
  double welch_window_s = 4.0;         // Welch: Hann segments, 50 % overlap, density
  double time_halfbandwidth = 4.0;     // multitaper over the whole epoch: NW (2·NW - 1 tapers, adaptive)
};

// Mean PSD (µV²/Hz for µV input) over the selected epoch_s-second epochs of x: epoch i is used when
// use_epoch is empty or use_epoch[i] is true (indices beyond use_epoch are not used). `n_used`
// receives the number of epochs averaged. Throws psgkit::Error if no epoch is selected.
Spectrum average_psd(std::span<const float> x_uv, double fs_hz, const std::vector<bool>& use_epoch,
                     const AveragePsdOptions& options = {}, size_t* n_used = nullptr);

}  // namespace psgkit
