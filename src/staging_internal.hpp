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

}  // namespace psgkit::staging_detail
