// Internals shared by src/staging*.cpp (not installed): design matrix and XGBoost wrappers, so
// training and inference build features with the same code.
#pragma once

#include <xgboost/c_api.h>

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

// Throws psgkit::Error(file, "xgboost", XGBGetLastError()) when rc != 0.
void xgb_check(int rc, const std::string& file);

// RAII handles.
struct DMatrix {
  DMatrixHandle handle = nullptr;
  DMatrix(const float* values, size_t rows, size_t cols);
  ~DMatrix();
  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;
};
struct Booster {
  BoosterHandle handle = nullptr;
  explicit Booster(const DMatrix* train = nullptr);
  ~Booster();
  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;
  void set(const std::string& key, const std::string& value);
  // Row-major rows x 5 probabilities.
  std::vector<float> predict(const float* values, size_t rows, size_t cols) const;
};

}  // namespace psgkit::staging_detail
