// Internals shared by src/staging*.cpp (not installed): the design matrix, so training and
// inference build features with the same code.
#pragma once

#include <string>
#include <vector>

#include "psgkit/feature_table.hpp"
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
  // z itself is always included.
};

const std::vector<std::string>& channel_features(const std::string& recipe);
// Names of the design columns (for feature importance and the model card).
std::vector<std::string> design_feature_names(const DesignSpec& spec);
// Row-major rows x design_feature_names(spec).size() float matrix; NaN = missing.
// `prefixes` map the spec's slots to column prefixes of `table`.
std::vector<float> build_design(const FeatureTable& table, const DesignSpec& spec,
                                const std::vector<std::string>& prefixes, const std::vector<long>& epoch_index);

// Recordings (src/staging_recording.cpp): the channel choice and feature table of stage_recording, also
// used to extract training features (psgkit train --manifest), so a model is trained on exactly what
// it stages.
struct StagingChannels {
  std::vector<std::string> eeg;  // preferred first
  std::string eog;               // empty if none
};
// `eeg` / `eog` labels when given (psgkit::Error listing the signals when absent), else by label preference.
StagingChannels pick_staging_channels(const Recording& recording, const std::vector<std::string>& eeg,
                                      const std::string& eog);
// Labels for a model's channel slots: its EEG slots take the first picked EEG, an "eog" slot the EOG.
// Throws psgkit::Error naming `file` and the missing channel.
std::vector<std::string> channels_for_slots(const std::string& file, const StagingChannels& picked,
                                            const std::vector<std::string>& slots);
// The sleepedf-timedomain table of `channels` under column `prefixes` (resampled to 100 Hz by the recipe).
// Throws psgkit::Error if the recording is shorter than one 30-s epoch.
FeatureTable staging_feature_table(const Recording& recording, const std::vector<std::string>& channels,
                                   const std::vector<std::string>& prefixes);

// For a model from train_staging_model (src/staging_train_manifest.cpp): per slot, the first label it
// was trained on that `recording` has, all EEG slots or none (empty for shipped models).
StagingChannels trained_channels_present(const std::filesystem::path& model_file, const Recording& recording);

}  // namespace psgkit::staging_detail
