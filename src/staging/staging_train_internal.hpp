// Internals of staging training shared by src/staging/staging_train.cpp (the shipped models) and
// src/staging/staging_train_manifest.cpp (psgkit train --manifest): one XGBoost binding, one training and
// cross-validation loop, one report writer.
#pragma once

#include <xgboost/c_api.h>

#include <array>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "psgkit/error.hpp"
#include "psgkit/feature_table.hpp"
#include "psgkit/staging.hpp"
#include "staging_internal.hpp"

namespace psgkit::staging_train {

using staging_detail::DesignSpec;
using staging_detail::Demographics;
using json = nlohmann::json;

using Counts = std::array<std::array<double, kNumSleepStages>, kNumSleepStages>;
constexpr double kEpochS = 30.0;
constexpr double kEvalCropS = 30 * 60.0;   // Sleep-EDF protocol: 30 min either side of sleep
constexpr double kTrainCropS = 60 * 60.0;  // bandpower nights: train on 60 min either side (as the timedomain tables)

struct Night {
  std::string name, subject;
  int night = 0;
  FeatureTable table;
  std::vector<long> idx;
  std::vector<int> label;        // 0..4, -1 unscored
  std::vector<char> train, eval, at_change;
  Counts transitions{};          // epoch-to-epoch transition counts of the (reconstructed) hypnogram
  Demographics demographics;     // from sleep-edf-153/subjects.csv (NaN when the night is not listed)
};

// libxgboost, opened on first use: only training needs it (inference evaluates the trees itself,
// boosted_trees_internal.hpp), and linking it cost every psgkit process ≈ 2.6 ms of start-up for
// its static registries — a twentieth of `psgkit stage`.
#define PSGKIT_XGBOOST_FUNCTIONS(X)                                                                          \
  X(XGBGetLastError) X(XGDMatrixCreateFromMat) X(XGDMatrixFree) X(XGDMatrixSetFloatInfo) X(XGBoosterCreate) \
  X(XGBoosterFree) X(XGBoosterSetParam) X(XGBoosterUpdateOneIter) X(XGBoosterPredict) X(XGBoosterSetAttr)   \
  X(XGBoosterSaveModelToBuffer) X(XGBoosterLoadModelFromBuffer)

struct Xgboost {
#define PSGKIT_DECLARE(name) decltype(&::name) name = nullptr;
  PSGKIT_XGBOOST_FUNCTIONS(PSGKIT_DECLARE)
#undef PSGKIT_DECLARE
};

// Throws psgkit::Error naming the library if it or one of its functions cannot be loaded.
const Xgboost& xgboost();
// Throws psgkit::Error(file, "xgboost", XGBGetLastError()) when rc != 0.
void xgb_check(int rc, const std::string& file);

// RAII handles.
struct DMatrix {
  DMatrixHandle handle = nullptr;
  DMatrix(const float* values, size_t rows, size_t cols) {
    xgb_check(xgboost().XGDMatrixCreateFromMat(values, rows, cols, std::numeric_limits<float>::quiet_NaN(), &handle), "");
  }
  ~DMatrix() {
    if (handle) xgboost().XGDMatrixFree(handle);
  }
  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;
};

struct Booster {
  BoosterHandle handle = nullptr;
  explicit Booster(const DMatrix& train) {
    DMatrixHandle dm[1] = {train.handle};
    xgb_check(xgboost().XGBoosterCreate(dm, 1, &handle), "");
    set("nthread", "1");  // deterministic, and no thread pool
    set("verbosity", "0");
  }
  ~Booster() {
    if (handle) xgboost().XGBoosterFree(handle);
  }
  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;
  void set(const std::string& key, const std::string& value) {
    xgb_check(xgboost().XGBoosterSetParam(handle, key.c_str(), value.c_str()), "");
  }
  // Row-major rows x 5 probabilities.
  std::vector<float> predict(const float* values, size_t rows, size_t cols) const {
    if (rows == 0) return {};
    DMatrix dm(values, rows, cols);
    bst_ulong n = 0;
    const float* out = nullptr;
    xgb_check(xgboost().XGBoosterPredict(handle, dm.handle, 0, 0, 0, &n, &out), "");
    if (n != rows * kNumSleepStages) throw Error("", "xgboost", "unexpected prediction size " + std::to_string(n));
    return std::vector<float>(out, out + n);
  }
};

struct ModelConfig {
  StagingModelId id = StagingModelId::EegEog;
  std::string variant;  // "" for the shipped configuration, else an ablation label
  DesignSpec spec;
  std::vector<std::vector<std::string>> views;  // column prefixes per example set (model c: two)
  int rounds = 60;
  int max_depth = 5;
  double eta = 0.25;
  std::array<double, kNumSleepStages> class_weight{1, 1, 1, 1, 1};  // W, N1, N2, N3, REM
  double evidence_exponent = 1.5;  // HMM emission tempering (see StagingHmm), chosen from a CV grid
  double prior_exponent = 0.5;
  // UBJSON bytes of a model whose boosting continues (psgkit train --from); empty: from scratch.
  std::string start_model;
  // Stacked sequential learning (StackSpec): second-level trees trained on the first level's
  // out-of-fold probabilities (the CV's subject folds; see cross_validate).
  staging_detail::StackSpec stack;
  int level2_rounds = 40;
  int level2_max_depth = 4;
};

// Design matrices per night and view, computed once (normalisation uses only the night itself).
struct Designs {
  size_t n_cols = 0;
  std::vector<std::vector<std::vector<float>>> per_night;  // [night][view] rows x n_cols
};

struct Trained {
  std::unique_ptr<Booster> booster;
  std::unique_ptr<Booster> level2;  // stacked configurations only
  StagingHmm hmm;
};

// Cross-validated predictions of one configuration: [night][view] rows, raw and HMM.
struct CvPredictions {
  // Headline: without age and sex; *_demographics: with them (models with DesignSpec::demographics).
  std::vector<std::vector<std::vector<StageProbabilities>>> raw, hmm, raw_demographics, hmm_demographics;
  // Stacked configurations: the first level's out-of-fold probabilities (the second level's inputs), and
  // them + HMM (the unstacked model on the same folds).
  std::vector<std::vector<std::vector<StageProbabilities>>> level1_raw, level1_hmm;
  std::vector<int> fold_of_night;
  std::vector<StagingHmm> hmm_of_night;  // the training fold's HMM for each held-out night
  double seconds = 0;
};

// Masks from labels and onsets: eval within ±30 min of sleep, train within ±crop_train_s.
void set_masks(Night& n, double crop_train_s);
// Also sets cfg.spec.reference_* (the training reference that short recordings blend with).
Designs build_designs(ModelConfig& cfg, const std::vector<Night>& nights);
// Boosts cfg.rounds rounds on the labelled training rows of `train_nights` (continuing cfg.start_model
// when set); HMM transitions and priors from those nights.
Trained train_on(const ModelConfig& cfg, const std::vector<Night>& nights, const Designs& designs,
                 const std::vector<size_t>& train_nights);
std::vector<StageProbabilities> predict_rows(const Booster& b, const std::vector<float>& design, size_t rows,
                                             size_t cols);
// The second level's trees (cfg.stack) on `level2` designs of the training nights.
std::unique_ptr<Booster> train_level2(const ModelConfig& cfg, const std::vector<Night>& nights, const Designs& level2,
                                      const std::vector<size_t>& train_nights);
// Second-level designs ([night][view]) from first-level probabilities.
Designs level2_designs(const ModelConfig& cfg, const std::vector<std::vector<std::vector<StageProbabilities>>>& level1);
// Deterministic subject folds (subject -> fold).
std::map<std::string, int> subject_folds(const std::vector<Night>& nights, int folds, unsigned seed);
CvPredictions cross_validate(const ModelConfig& cfg, const std::vector<Night>& nights, const Designs& designs,
                             int folds, std::ostream* log);
// Metrics (evaluate.hpp) of one view of CV predictions on the evaluation rows: pooled, per fold, per
// night, N3 errors.
json summarise(const std::vector<Night>& nights, const CvPredictions& cv,
               const std::vector<std::vector<std::vector<StageProbabilities>>>& preds, size_t view, int folds,
               bool exclude_changes = false);
json headline(const json& s);
// v rounded to 4 decimals (report figures); non-finite unchanged.
double round4(double v);
std::string fmt3(double v);
std::string fmt1(double v);
// Header of the report tables whose rows markdown_row() writes.
extern const char* const kReportTableHead;
std::string markdown_row(const std::string& label, const json& s);
std::string confusion_markdown(const json& pooled);
json config_json(const ModelConfig& cfg);
// The model file's bytes: XGBoost UBJSON with the psgkit metadata (plus `record` when not null).
std::string model_bytes(const ModelConfig& cfg, const Trained& t, size_t n_features, double n3_variance_inflation,
                        const json& record = nullptr);

}  // namespace psgkit::staging_train
