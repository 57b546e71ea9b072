// The two Sleep-EDF feature recipes, reproduced exactly so that models trained on the public feature
// dumps in ../shared/data see new recordings the same way (definitions: ../shared/data/README.md),
// plus psgkit's own default feature set (features.hpp) behind the same entry point.
//
// sleepedf-bandpower, per channel on each 30-s epoch of 3000 samples at 100 Hz, x in volts (µV·1e-6):
//   <p>_{delta,theta,alpha,beta,gamma}_psd  mean Welch PSD (V²/Hz) over the bins lo <= f <= hi,
//       Welch = scipy.signal.welch(x, fs=100, nperseg=256) defaults (periodic Hann, 128 overlap, mean
//       removed per segment, one-sided density, mean of 22 segments); bands delta 0.5-4, theta 4-8,
//       alpha 8-13, beta 13-30, gamma 30-50 Hz (the gamma band includes the 50-Hz Nyquist bin)
//   <p>_var       population variance (V²)
//   <p>_mobility  sqrt(var(diff x) / (var x + 1e-10)) — the 1e-10 (V²) is part of the recipe
// sleepedf-timedomain, per channel on the epoch's 3000 samples in µV, unfiltered, and in double
// precision exactly as EDFlib computes physical values (Recording::read_double):
//   <p>_std, _iqr (25-75 %, numpy linear), _skew, _kurtosis (biased, excess), _zero_crossings (sign
//   changes, sign in {-1, 0, 1}), _hjorth_mobility, _hjorth_complexity (population variances),
//   _higuchi_fd (k = 1..10 with the recipe's n/(n-1) normalisation), _petrosian_fd
//   (log10 n / (log10 n + log10(1 + 0.4 N)), N = sign changes of the first difference),
//   _hist_entropy_{5,10,30,60} (bits; numpy.histogram bins on [min, max]: edges computed as
//   numpy.linspace does, index floor((x - min) / (max - min) · B) corrected against the edges exactly as
//   numpy's uniform-bin path does). The entropies are discontinuous in the samples: values that sit on
//   a bin edge (common: EDF values are on a grid) move bins with a last-bit change, so they are only
//   reproducible from the exact same doubles — a resampled or differently scaled signal gives
//   different (equally valid, not identical) entropies.
// Rows: one per 30-s epoch from offset_s (or exactly the given onsets), onset_s first.
// Other rates: signals are resampled to 100 Hz first with psgkit::Resampler (preprocess.hpp), and
// `notes` says so.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "psgkit/feature_table.hpp"
#include "psgkit/features.hpp"

namespace psgkit {

class Recording;
struct SignalInfo;

enum class Recipe { Default, SleepEdfBandpower, SleepEdfTimedomain };

// "default", "sleepedf-bandpower", "sleepedf-timedomain".
std::string_view to_string(Recipe recipe);
// Parses the names above; throws psgkit::Error listing them otherwise.
Recipe parse_recipe(std::string_view name);

inline constexpr double kSleepEdfFsHz = 100.0;
inline constexpr size_t kSleepEdfEpochSamples = 3000;  // 30 s at 100 Hz

// Per-channel feature names of a Sleep-EDF recipe, in column order (column = <prefix>_<name>).
std::vector<std::string> recipe_feature_names(Recipe recipe);

// Column prefix of a signal label for the recipes: the Sleep-EDF channels map to the dumps' names
// ("EEG Fpz-Cz" → fpz_cz, "EEG Pz-Oz" → pz_oz, "EOG horizontal" → eog); others use column_prefix().
std::string recipe_prefix(std::string_view label);

// One epoch's features of a Sleep-EDF recipe: `epoch_uv` holds kSleepEdfEpochSamples samples in µV at
// 100 Hz, `out` receives recipe_feature_names(recipe).size() values. Throws psgkit::Error for the
// Default recipe or wrong sizes.
void recipe_epoch_features(Recipe recipe, std::span<const double> epoch_uv, std::span<double> out);

struct RecipeOptions {
  double offset_s = 0.0;             // first epoch onset after the first sample (Hypnogram::start_s)
  std::vector<double> onsets_s;      // non-empty: exactly these epoch onsets (s), e.g. a dump's rows
  std::vector<std::string> prefixes; // per channel; empty: recipe_prefix(label) / given prefixes
  FeatureOptions features;           // Recipe::Default only (its epoch_s/offset_s are used as given)
  // Sleep-EDF recipes on a Recording: threads that each take a contiguous share of the night's epochs
  // (every channel of it, read in one pass per block). 1: the calling thread only; 0: one per channel,
  // at most std::thread::hardware_concurrency(). The values do not depend on it.
  unsigned threads = 1;
};

// A channel already at 100 Hz, in µV.
struct RecipeChannel {
  std::string prefix;
  std::span<const double> samples_uv;
};

// Sleep-EDF recipe over in-memory 100-Hz signals (any montage, e.g. a C3-A1 EEG resampled to 100 Hz
// with prefix "fpz_cz" to feed a model trained on Fpz-Cz). A trailing partial epoch is dropped and
// noted. Throws psgkit::Error for Recipe::Default (use compute_features), an onset outside the
// signal or channels of different lengths.
FeatureTable compute_recipe_100hz(std::span<const RecipeChannel> channels, Recipe recipe,
                                  const RecipeOptions& options = {}, std::vector<std::string>* notes = nullptr);

// Any recipe on channels of a recording, by label. Sleep-EDF recipes read Recording::read_double
// (EDFlib's exact values) and resample other rates to 100 Hz (noted); Default reads float samples at
// the native rate and runs compute_features. Notes (resampling, dropped epochs, warnings) are appended
// to `notes` when not null. Throws psgkit::Error naming a missing channel.
FeatureTable compute_recipe(const Recording& recording, const std::vector<std::string>& channels, Recipe recipe,
                            const RecipeOptions& options = {}, std::vector<std::string>* notes = nullptr);

// A signal held in memory (e.g. an array from Python or MNE): samples in µV at fs_hz.
struct SignalSamples {
  std::string label;
  double fs_hz = 0;
  std::span<const double> samples_uv;
};

// compute_recipe on in-memory signals, the same computation as on a recording whose signals hold these
// values: the Sleep-EDF recipes use 100-Hz signals as given (double) and resample other rates from
// float (as a recording's samples are read), the default recipe runs compute_features on float samples.
// Channels resampled to 100 Hz are cut to the shortest. `source` names the input in errors.
// Throws psgkit::Error for no signal, a non-positive rate or a prefix count other than the signals'.
FeatureTable compute_recipe(std::span<const SignalSamples> signals, Recipe recipe, const RecipeOptions& options = {},
                            std::vector<std::string>* notes = nullptr, const std::string& source = "");

// EEG channels of a recording by label: labels starting with "EEG", or whose first token is a 10-20
// electrode name (Fp1, C3, Cz, O2, M1, A1, ...), with a rate of at least 50 Hz. For
// sleepedf-timedomain also the first label containing "EOG" (the recipe's third channel).
std::vector<std::string> pick_feature_channels(const Recording& recording, Recipe recipe);
// The same choice among `signals` (only label and fs_hz are used); `source` names them in the error.
std::vector<std::string> pick_feature_channels(const std::vector<SignalInfo>& signals, Recipe recipe,
                                               const std::string& source);

}  // namespace psgkit
