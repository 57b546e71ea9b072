// Internals shared by src/staging*.cpp (not installed): the design matrix, so training and
// inference build features with the same code.
#pragma once

#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "psgkit/feature_table.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/staging.hpp"

namespace psgkit::staging_detail {

inline constexpr const char* kTimedomainRecipe = "sleepedf-timedomain";
inline constexpr const char* kBandpowerRecipe = "sleepedf-bandpower";
inline constexpr const char* kMetaAttribute = "psgkit_staging";
inline constexpr const char* kFormat = "psgkit-staging-1";

const std::vector<std::string>& timedomain_channel_features();
const std::vector<std::string>& bandpower_channel_features();

// Which design blocks a model uses.
struct DesignSpec {
  std::string recipe;
  std::vector<std::string> slots;
  bool raw = true;          // the transformed base features themselves
  bool centered = true;     // triangular-weighted centred mean of z, ±7 epochs
  bool past = true;         // mean of z over the current and 3 previous epochs
  bool centered_sd = true;  // SD of z over ±5 epochs
  bool raw_context = false; // triangular-weighted centred mean of the raw values, ±7 epochs (absolute amplitude)
  bool long_context = false; // centred mean of z over ±20 epochs (10 min either side)
  bool demographics = false; // two last columns: age (years) and sex (1 female, 0 male), NaN when unknown
  // z itself is always included.
  // Training distribution of each base feature (slot-major, base_names order): the median over training
  // nights of each night's median and IQR. Empty: per-recording normalisation only (older files).
  std::vector<double> reference_median, reference_iqr;
};

// Recordings of at least this many epochs are normalised by their own median and IQR only; shorter
// ones blend them with the training reference by weight n / kFullNormalisationEpochs (see build_design).
inline constexpr double kFullNormalisationEpochs = 480;  // 4 h

// Optional subject inputs of a model with DesignSpec::demographics (NaN = unknown).
struct Demographics {
  double age_years = std::numeric_limits<double>::quiet_NaN();
  double sex_female = std::numeric_limits<double>::quiet_NaN();  // 1 female, 0 male
};

const std::vector<std::string>& channel_features(const std::string& recipe);
// Names of the design columns (for feature importance and the model card).
std::vector<std::string> design_feature_names(const DesignSpec& spec);
// Row-major rows x design_feature_names(spec).size() float matrix; NaN = missing.
// `prefixes` map the spec's slots to column prefixes of `table`.
std::vector<float> build_design(const FeatureTable& table, const DesignSpec& spec,
                                const std::vector<std::string>& prefixes, const std::vector<long>& epoch_index,
                                const Demographics& demographics = {});
// Second-level (stacked sequential) model: its inputs for row r are the first level's probabilities of
// rows r − half_rows .. r + half_rows (NaN beyond the recording) and their mean over rows
// r − long_half_rows .. r + long_half_rows. Neighbours are rows, not epochs: the Sleep-EDF timedomain
// tables lack the epoch at every stage change, so a window in recording time would show the learner
// where the stage changes (a gap), which a real recording never shows.
struct StackSpec {
  int half_rows = 0;  // 0: no second level
  int long_half_rows = 0;
  bool enabled() const { return half_rows > 0; }
};
size_t level2_columns(const StackSpec& spec);
// Row-major rows x level2_columns(spec).
std::vector<float> build_level2_design(const std::vector<StageProbabilities>& level1, const StackSpec& spec);
// Inverse of png::base64 (the second level's trees are stored base64-encoded in the model's metadata).
// Throws psgkit::Error naming `field` on characters outside the alphabet or a bad length.
std::string base64_decode(std::string_view text, const std::string& field);

// Per-night median and IQR of every base feature of `prefixes` (slot-major), for the training reference.
void base_feature_location_scale(const FeatureTable& table, const std::string& recipe,
                                 const std::vector<std::string>& prefixes, std::vector<double>& median,
                                 std::vector<double>& iqr);
// The normalisation centre and scale of one base feature: the recording's own (median, IQR) blended
// with the reference by w = min(1, n_epochs / kFullNormalisationEpochs): centre = w·median +
// (1 − w)·ref_median, scale = w·iqr + (1 − w)·ref_iqr. NaN references (or none) keep the recording's own.
std::pair<double, double> blended_location_scale(double median, double iqr, double ref_median, double ref_iqr,
                                                 size_t n_epochs);

// Recordings (src/staging/staging_recording.cpp): the channel choice and feature table of stage_recording, also
// used to extract training features (psgkit train --manifest), so a model is trained on exactly what
// it stages.
struct StagingChannels {
  std::vector<std::string> eeg;  // preferred first
  std::string eog;               // empty if none
};
// `eeg` / `eog` labels when given (psgkit::Error listing the signals when absent), else by label preference.
StagingChannels pick_staging_channels(const std::vector<SignalInfo>& signals, const std::vector<std::string>& eeg,
                                      const std::string& eog, const std::string& file);
inline StagingChannels pick_staging_channels(const Recording& recording, const std::vector<std::string>& eeg,
                                             const std::string& eog) {
  return pick_staging_channels(recording.signals(), eeg, eog, recording.path().string());
}
// Recording::require_signal's rule (case-insensitive exact label, trimmed) on a list of signals; -1 if absent.
int find_label(const std::vector<SignalInfo>& signals, std::string_view label);
// Labels for a model's channel slots: its EEG slots take the first picked EEG, an "eog" slot the EOG.
// Throws psgkit::Error naming `file` and the missing channel.
std::vector<std::string> channels_for_slots(const std::string& file, const StagingChannels& picked,
                                            const std::vector<std::string>& slots);
// The sleepedf-timedomain table of `channels` under column `prefixes` (resampled to 100 Hz by the recipe),
// on `threads` threads (RecipeOptions::threads). Throws psgkit::Error if the recording is shorter than
// one 30-s epoch.
FeatureTable staging_feature_table(const Recording& recording, const std::vector<std::string>& channels,
                                   const std::vector<std::string>& prefixes, unsigned threads);

// For a model from train_staging_model (src/staging/staging_train_manifest.cpp): per slot, the first label it
// was trained on that the recording's `signals` have, all EEG slots or none (empty for shipped models).
StagingChannels trained_channels_present(const std::filesystem::path& model_file, const std::vector<SignalInfo>& signals);

}  // namespace psgkit::staging_detail
