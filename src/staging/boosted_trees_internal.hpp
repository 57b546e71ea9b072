// Gradient-boosted trees read from XGBoost's UBJSON model files and evaluated by psgkit itself (not
// installed). Staging then needs neither libxgboost at run time nor its loader and predictor, whose
// start-up, load and per-row costs were ≈ 10 ms of a 60–80-ms `psgkit stage`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace psgkit::detail {

// A multi:softprob gbtree model with numerical splits, as XGBoost (1.6/1.7) saves it in UBJSON
// (learner.gradient_booster.model.trees, tree_info, learner_model_param.base_score/num_class).
class BoostedTrees {
 public:
  // Parses `bytes`, the content of `file` (which names every error). Throws psgkit::Error(file, field,
  // what) for anything else than such a model: bad UBJSON, missing fields, another objective or booster,
  // categorical splits, child indices that do not point forward, nodes with two parents, split
  // features out of range, non-finite thresholds or leaf values.
  static BoostedTrees from_ubjson(std::string_view bytes, const std::string& file);

  size_t n_features() const { return n_features_; }
  int n_classes() const { return n_classes_; }
  size_t n_trees() const { return roots_.size(); }
  // learner.attributes (string values), e.g. psgkit's staging metadata.
  const std::map<std::string, std::string>& attributes() const { return attributes_; }

  // `rows`: n_rows × n_features() floats, row-major, NaN = missing (the split's default direction).
  // `out`: n_rows × n_classes() probabilities. Same arithmetic as XGBoost's CPU predictor: margins start
  // at base_score and add each tree's leaf in tree order in float, then its softmax (max-shifted expf,
  // sum in double, one division in float), so the bits equal XGBoosterPredict's.
  void predict_proba(const float* rows, size_t n_rows, float* out) const;

 private:
  // Leaves point to themselves, so every row takes exactly depth steps in its tree.
  struct Node {
    float value;            // split threshold (go left if x < value), or the leaf value
    uint32_t feature;       // split feature; bit 31: missing goes left
    uint32_t child[2];      // left, right: indices in nodes_
  };
  std::vector<Node> nodes_;
  std::vector<uint32_t> roots_;
  std::vector<uint8_t> depths_;
  std::vector<uint8_t> classes_;
  size_t n_features_ = 0;
  int n_classes_ = 0;
  float base_score_ = 0;
  std::map<std::string, std::string> attributes_;
};

}  // namespace psgkit::detail
