// Training and subject-wise cross-validation of the staging models (psgkit train).
#include <dlfcn.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <random>
#include <set>

#include "psgkit/error.hpp"
#include "psgkit/evaluate.hpp"
#include "psgkit/io.hpp"
#include "psgkit/staging.hpp"
#include "staging_internal.hpp"
#include "staging_train_internal.hpp"

namespace psgkit {

using namespace staging_detail;
using json = nlohmann::json;

namespace staging_train {

bool is_sleep_label(int l) { return l >= 1 && l <= 4; }

// Throws psgkit::Error naming the library if it or one of its functions cannot be loaded.
const Xgboost& xgboost() {
  static const Xgboost api = [] {
    void* library = ::dlopen(PSGKIT_XGBOOST_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!library)
      throw Error(PSGKIT_XGBOOST_SONAME, "dlopen",
                  std::string(::dlerror()) + " (training needs XGBoost: Debian package libxgboost0)");
    Xgboost loaded;
#define PSGKIT_LOAD(name)                                                                        \
  loaded.name = reinterpret_cast<decltype(&::name)>(::dlsym(library, #name));                   \
  if (!loaded.name) throw Error(PSGKIT_XGBOOST_SONAME, #name, "function missing from the library");
    PSGKIT_XGBOOST_FUNCTIONS(PSGKIT_LOAD)
#undef PSGKIT_LOAD
    return loaded;
  }();
  return api;
}

// Throws psgkit::Error(file, "xgboost", XGBGetLastError()) when rc != 0.
void xgb_check(int rc, const std::string& file) {
  if (rc != 0) throw Error(file, "xgboost", xgboost().XGBGetLastError());
}

// Masks from labels and onsets: eval within ±30 min of sleep, train within ±crop_train_s.
void set_masks(Night& n, double crop_train_s) {
  double first = 0, last = -1;
  bool any = false;
  for (size_t r = 0; r < n.label.size(); ++r)
    if (is_sleep_label(n.label[r])) {
      if (!any) first = n.table.onset_s[r];
      last = n.table.onset_s[r];
      any = true;
    }
  n.train.assign(n.label.size(), 0);
  n.eval.assign(n.label.size(), 0);
  for (size_t r = 0; r < n.label.size(); ++r) {
    if (n.label[r] < 0 || !any) continue;
    const double t = n.table.onset_s[r];
    n.train[r] = t >= first - crop_train_s && t <= last + crop_train_s;
    n.eval[r] = t >= first - kEvalCropS && t <= last + kEvalCropS;
  }
}

// SC4ssN...: subject "ss", night N (the 3 digits after "SC4").
void parse_name(Night& n, const std::filesystem::path& file) {
  const std::string stem = file.filename().string();
  n.name = stem.substr(0, stem.find('.'));
  if (n.name.size() < 6 || n.name.compare(0, 3, "SC4") != 0 || !std::isdigit(static_cast<unsigned char>(n.name[5])))
    throw Error(file.string(), "file name", "expected a Sleep-EDF name SC4ssN...");
  n.subject = n.name.substr(3, 2);
  n.night = n.name[5] - '0';
}

std::vector<std::filesystem::path> list_files(const std::filesystem::path& dir, const std::string& suffix) {
  if (!std::filesystem::is_directory(dir)) throw Error(dir.string(), "data folder", "not found");
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  if (out.empty()) throw Error(dir.string(), "data folder", "no *" + suffix + " files");
  return out;
}

// Timedomain tables drop the last epoch of every scored interval: a one-epoch gap after a row is that
// row's stage, so the transition into the next row is known; longer gaps hide single-epoch bouts.
std::vector<Night> load_timedomain(const std::filesystem::path& data_dir, int max_nights) {
  std::vector<Night> nights;
  for (const auto& file : list_files(data_dir / "sleep-edf-153", ".timedomain.csv")) {
    if (max_nights > 0 && static_cast<int>(nights.size()) >= max_nights) break;
    Night n;
    parse_name(n, file);
    n.table = read_feature_csv(file);
    if (n.table.stages.size() != n.table.rows()) throw Error(file.string(), "stage", "the table has no stage column");
    n.idx = epoch_indices(n.table.onset_s, kEpochS);
    for (Stage s : n.table.stages) n.label.push_back(s == Stage::UNS ? -1 : static_cast<int>(s));
    for (size_t r = 0; r + 1 < n.label.size(); ++r) {
      const int a = n.label[r], b = n.label[r + 1];
      const long gap = n.idx[r + 1] - n.idx[r];
      if (a < 0) continue;
      if (gap == 1 && b >= 0) n.transitions[a][b] += 1;
      if (gap >= 2) n.transitions[a][a] += 1;  // the dropped last epoch of this interval
      if (gap == 2 && b >= 0) n.transitions[a][b] += 1;
    }
    set_masks(n, 1e12);
    nights.push_back(std::move(n));
  }
  return nights;
}

std::vector<Night> load_bandpower(const std::filesystem::path& data_dir, int max_nights) {
  std::vector<Night> nights;
  for (const auto& file : list_files(data_dir / "sleep-edf", ".bandpower.csv")) {
    if (max_nights > 0 && static_cast<int>(nights.size()) >= max_nights) break;
    Night n;
    parse_name(n, file);
    n.table = read_feature_csv(file);
    n.idx = epoch_indices(n.table.onset_s, kEpochS);
    const auto hyp_path = file.parent_path() / (n.name + ".hypnogram.csv");
    const Hypnogram hyp = read_hypnogram_csv(hyp_path, kEpochS);
    auto stage_at = [&](double onset) -> int {
      const long k = std::lround((onset - hyp.start_s) / kEpochS);
      if (k < 0 || k >= static_cast<long>(hyp.size())) return -1;
      const Stage s = hyp.stages[static_cast<size_t>(k)];
      return s == Stage::UNS ? -1 : static_cast<int>(s);
    };
    for (double t : n.table.onset_s) n.label.push_back(stage_at(t));
    // The timedomain recipe's rows would lack the last epoch of every run of equal stages.
    n.at_change.assign(n.label.size(), 0);
    for (size_t r = 0; r < n.label.size(); ++r) {
      const int next = stage_at(n.table.onset_s[r] + kEpochS);
      n.at_change[r] = n.label[r] >= 0 && next != n.label[r];
    }
    for (size_t k = 0; k + 1 < hyp.size(); ++k) {
      const Stage a = hyp.stages[k], b = hyp.stages[k + 1];
      if (a != Stage::UNS && b != Stage::UNS) n.transitions[static_cast<int>(a)][static_cast<int>(b)] += 1;
    }
    set_masks(n, kTrainCropS);
    nights.push_back(std::move(n));
  }
  return nights;
}

ModelConfig shipped_config(StagingModelId id, int rounds_override) {
  ModelConfig c;
  c.id = id;
  switch (id) {
    case StagingModelId::EegEog:
      c.spec = {kTimedomainRecipe, {"fpz_cz", "pz_oz", "eog"}};
      c.views = {{"fpz_cz", "pz_oz", "eog"}};
      break;
    case StagingModelId::Eeg2:
      c.spec = {kTimedomainRecipe, {"fpz_cz", "pz_oz"}};
      c.views = {{"fpz_cz", "pz_oz"}};
      break;
    case StagingModelId::Eeg1:
      c.spec = {kTimedomainRecipe, {"eeg"}};
      c.views = {{"fpz_cz"}, {"pz_oz"}};
      break;
    case StagingModelId::Bandpower:
      c.spec = {kBandpowerRecipe, {"fpz_cz", "pz_oz"}};
      c.views = {{"fpz_cz", "pz_oz"}};
      break;
  }
  if (rounds_override > 0) c.rounds = rounds_override;
  return c;
}

Designs build_designs(const ModelConfig& cfg, const std::vector<Night>& nights) {
  Designs d;
  d.n_cols = design_feature_names(cfg.spec).size();
  for (const auto& n : nights) {
    std::vector<std::vector<float>> views;
    for (const auto& prefixes : cfg.views) views.push_back(build_design(n.table, cfg.spec, prefixes, n.idx));
    d.per_night.push_back(std::move(views));
  }
  return d;
}

Trained train_on(const ModelConfig& cfg, const std::vector<Night>& nights, const Designs& designs,
                 const std::vector<size_t>& train_nights) {
  std::vector<float> x, y;
  std::array<double, kNumSleepStages> class_count{};
  Counts transitions{};
  for (size_t ni : train_nights) {
    const Night& n = nights[ni];
    for (int i = 0; i < kNumSleepStages; ++i)
      for (int j = 0; j < kNumSleepStages; ++j) transitions[i][j] += n.transitions[i][j];
    for (const auto& design : designs.per_night[ni])
      for (size_t r = 0; r < n.label.size(); ++r) {
        if (!n.train[r]) continue;
        x.insert(x.end(), design.begin() + static_cast<long>(r * designs.n_cols),
                 design.begin() + static_cast<long>((r + 1) * designs.n_cols));
        y.push_back(static_cast<float>(n.label[r]));
        class_count[static_cast<size_t>(n.label[r])] += 1;
      }
  }
  if (y.empty()) throw Error("", "training data", "no labelled training rows");
  Trained t;
  t.hmm.evidence_exponent = cfg.evidence_exponent;
  t.hmm.prior_exponent = cfg.prior_exponent;
  const double total = static_cast<double>(y.size());
  for (int s = 0; s < kNumSleepStages; ++s) {
    t.hmm.prior[s] = (class_count[s] + 1.0) / (total + kNumSleepStages);
    double row = 0;
    for (int j = 0; j < kNumSleepStages; ++j) row += transitions[s][j] + 1.0;  // add-one smoothing
    for (int j = 0; j < kNumSleepStages; ++j) t.hmm.transition[s][j] = (transitions[s][j] + 1.0) / row;
  }
  DMatrix dtrain(x.data(), y.size(), designs.n_cols);
  xgb_check(xgboost().XGDMatrixSetFloatInfo(dtrain.handle, "label", y.data(), y.size()), "");
  t.booster = std::make_unique<Booster>(dtrain);
  Booster& b = *t.booster;
  if (!cfg.start_model.empty())
    xgb_check(xgboost().XGBoosterLoadModelFromBuffer(b.handle, cfg.start_model.data(), cfg.start_model.size()), "--from");
  b.set("objective", "multi:softprob");
  b.set("num_class", std::to_string(kNumSleepStages));
  b.set("tree_method", "hist");
  b.set("max_bin", "64");
  b.set("max_depth", std::to_string(cfg.max_depth));
  b.set("eta", format_double(cfg.eta));
  b.set("subsample", "0.8");
  b.set("colsample_bytree", "0.5");
  b.set("min_child_weight", "2");
  b.set("seed", "42");
  b.set("nthread", "1");
  for (int i = 0; i < cfg.rounds; ++i) xgb_check(xgboost().XGBoosterUpdateOneIter(b.handle, i, dtrain.handle), "");
  return t;
}

std::vector<StageProbabilities> predict_rows(const Booster& b, const std::vector<float>& design, size_t rows,
                                             size_t cols) {
  const std::vector<float> flat = b.predict(design.data(), rows, cols);
  std::vector<StageProbabilities> out(rows);
  for (size_t r = 0; r < rows; ++r)
    for (int s = 0; s < kNumSleepStages; ++s) out[r][s] = flat[r * kNumSleepStages + s];
  return out;
}

Stage argmax(const StageProbabilities& p) { return static_cast<Stage>(std::max_element(p.begin(), p.end()) - p.begin()); }

// Deterministic subject folds: sorted subjects, Fisher-Yates with mt19937 (fully specified by the
// standard), then round-robin.
std::map<std::string, int> subject_folds(const std::vector<Night>& nights, int folds, unsigned seed) {
  std::set<std::string> set;
  for (const auto& n : nights) set.insert(n.subject);
  std::vector<std::string> subjects(set.begin(), set.end());
  std::mt19937 gen(seed);
  for (size_t i = subjects.size(); i > 1; --i) std::swap(subjects[i - 1], subjects[gen() % i]);
  std::map<std::string, int> out;
  for (size_t i = 0; i < subjects.size(); ++i) out[subjects[i]] = static_cast<int>(i % static_cast<size_t>(folds));
  return out;
}

double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

json agreement_to_json(const Agreement& a) { return json::parse(agreement_json(a)); }

double round4(double v) { return std::isfinite(v) ? std::round(v * 1e4) / 1e4 : v; }

CvPredictions cross_validate(const ModelConfig& cfg, const std::vector<Night>& nights, const Designs& designs,
                             int folds, std::ostream* log) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto fold_of_subject = subject_folds(nights, folds, 2026);
  CvPredictions cv;
  cv.raw.resize(nights.size());
  cv.hmm.resize(nights.size());
  cv.hmm_of_night.resize(nights.size());
  for (const auto& n : nights) cv.fold_of_night.push_back(fold_of_subject.at(n.subject));
  for (int f = 0; f < folds; ++f) {
    std::vector<size_t> train, test;
    for (size_t i = 0; i < nights.size(); ++i) (cv.fold_of_night[i] == f ? test : train).push_back(i);
    if (test.empty()) continue;
    const Trained t = train_on(cfg, nights, designs, train);
    for (size_t ni : test) cv.hmm_of_night[ni] = t.hmm;
    for (size_t ni : test)
      for (const auto& design : designs.per_night[ni]) {
        auto raw = predict_rows(*t.booster, design, nights[ni].label.size(), designs.n_cols);
        cv.hmm[ni].push_back(hmm_posterior(raw, nights[ni].idx, t.hmm));
        cv.raw[ni].push_back(std::move(raw));
      }
    if (log)
      *log << "  " << to_string(cfg.id) << (cfg.variant.empty() ? "" : " [" + cfg.variant + "]") << " fold " << f + 1
           << "/" << folds << " (" << test.size() << " nights) "
           << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s" << std::endl;
  }
  cv.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return cv;
}

// Metrics of one view of CV predictions on the evaluation rows (optionally only rows not at a change).
json summarise(const std::vector<Night>& nights, const CvPredictions& cv,
               const std::vector<std::vector<std::vector<StageProbabilities>>>& preds, size_t view, int folds,
               bool exclude_changes) {
  std::vector<Stage> truth_all, pred_all;
  std::vector<std::vector<Stage>> truth_fold(static_cast<size_t>(folds)), pred_fold(static_cast<size_t>(folds));
  std::vector<double> n3_err;
  std::map<std::string, std::map<int, std::pair<double, double>>> n3_by_subject;  // night -> (truth, pred)
  json per_night = json::array();
  for (size_t ni = 0; ni < nights.size(); ++ni) {
    const Night& n = nights[ni];
    std::vector<Stage> t, p;
    for (size_t r = 0; r < n.label.size(); ++r) {
      if (!n.eval[r] || (exclude_changes && n.at_change[r])) continue;
      t.push_back(static_cast<Stage>(n.label[r]));
      p.push_back(argmax(preds[ni][view][r]));
    }
    if (t.empty()) continue;
    const Agreement a = agreement_from_labels(t, p, kEpochS);
    n3_err.push_back(a.n3_min_pred - a.n3_min_truth);
    n3_by_subject[n.subject][n.night] = {a.n3_min_truth, a.n3_min_pred};
    per_night.push_back({{"night", n.name}, {"fold", cv.fold_of_night[ni] + 1}, {"n_epochs", a.n_epochs},
                         {"accuracy", round4(a.accuracy)}, {"kappa", round4(a.kappa)},
                         {"n3_min_truth", a.n3_min_truth}, {"n3_min_pred", a.n3_min_pred}});
    truth_all.insert(truth_all.end(), t.begin(), t.end());
    pred_all.insert(pred_all.end(), p.begin(), p.end());
    auto& tf = truth_fold[static_cast<size_t>(cv.fold_of_night[ni])];
    auto& pf = pred_fold[static_cast<size_t>(cv.fold_of_night[ni])];
    tf.insert(tf.end(), t.begin(), t.end());
    pf.insert(pf.end(), p.begin(), p.end());
  }
  json out;
  out["pooled"] = agreement_to_json(agreement_from_labels(truth_all, pred_all, kEpochS));
  json fold_json = json::array();
  for (int f = 0; f < folds; ++f) {
    if (truth_fold[static_cast<size_t>(f)].empty()) continue;
    const Agreement a = agreement_from_labels(truth_fold[static_cast<size_t>(f)], pred_fold[static_cast<size_t>(f)], kEpochS);
    fold_json.push_back({{"fold", f + 1}, {"n_epochs", a.n_epochs}, {"accuracy", round4(a.accuracy)},
                         {"kappa", round4(a.kappa)}, {"macro_f1", round4(a.macro_f1)}});
  }
  out["folds"] = fold_json;
  std::vector<double> abs_err, change_err;
  for (double e : n3_err) abs_err.push_back(std::abs(e));
  for (const auto& [subject, by_night] : n3_by_subject) {
    if (by_night.size() != 2) continue;
    const auto& first = by_night.begin()->second;
    const auto& second = by_night.rbegin()->second;
    change_err.push_back(std::abs((second.second - first.second) - (second.first - first.first)));
  }
  out["n3_min_abs_error_median"] = median(abs_err);
  out["n3_min_error_median_signed"] = median(n3_err);
  out["n3_change_abs_error_median"] = median(change_err);
  out["n_subjects_with_two_nights"] = change_err.size();
  out["nights"] = per_night;
  return out;
}

json headline(const json& s);

// CV metrics of the HMM emission exponents on the held-out classifier probabilities (each night with its
// training fold's transitions and priors).
json hmm_grid(const std::vector<Night>& nights, const CvPredictions& cv, size_t view, int folds, std::string& md) {
  json out = json::array();
  md += "| evidence exponent | prior exponent | accuracy | kappa | macro-F1 | F1 N1 | med abs N3 err (min) |\n|---|---|---|---|---|---|---|\n";
  for (double a : {0.5, 1.0, 1.5, 2.0})
    for (double b : {0.0, 0.5, 1.0}) {
      std::vector<std::vector<std::vector<StageProbabilities>>> preds(nights.size());
      for (size_t ni = 0; ni < nights.size(); ++ni) {
        if (cv.raw[ni].empty()) continue;
        StagingHmm h = cv.hmm_of_night[ni];
        h.evidence_exponent = a;
        h.prior_exponent = b;
        preds[ni].resize(cv.raw[ni].size());
        preds[ni][view] = hmm_posterior(cv.raw[ni][view], nights[ni].idx, h);
      }
      const json h = headline(summarise(nights, cv, preds, view, folds));
      out.push_back({{"evidence_exponent", a}, {"prior_exponent", b}, {"cv", h}});
      char buf[256];
      std::snprintf(buf, sizeof buf, "| %.1f | %.1f | %.3f | %.3f | %.3f | %.3f | %.1f |\n", a, b, h.at("accuracy").get<double>(),
                    h.at("kappa").get<double>(), h.at("macro_f1").get<double>(), h.at("f1").at("N1").get<double>(),
                    h.at("n3_min_abs_error_median").get<double>());
      md += buf;
    }
  return out;
}

json headline(const json& s) {
  const json& p = s.at("pooled");
  return {{"accuracy", round4(p.at("accuracy").get<double>())},
          {"kappa", round4(p.at("kappa").get<double>())},
          {"macro_f1", round4(p.at("macro_f1").get<double>())},
          {"f1", p.at("f1")},
          {"n_epochs", p.at("n_epochs")},
          {"n3_min_abs_error_median", s.at("n3_min_abs_error_median")},
          {"n3_change_abs_error_median", s.at("n3_change_abs_error_median")}};
}

std::string fmt3(double v) {
  if (!std::isfinite(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}
std::string fmt1(double v) {
  if (!std::isfinite(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

const char* const kReportTableHead =
    "| model | epochs | accuracy | kappa | macro-F1 | F1 W | F1 N1 | F1 N2 | F1 N3 | F1 REM | med abs N3 err (min) | "
    "med abs N3-change err (min) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n";

std::string markdown_row(const std::string& label, const json& s) {
  const json& p = s.at("pooled");
  std::string row = "| " + label + " | " + std::to_string(p.at("n_epochs").get<long>()) + " | " +
                    fmt3(p.at("accuracy").get<double>()) + " | " + fmt3(p.at("kappa").get<double>()) + " | " +
                    fmt3(p.at("macro_f1").get<double>()) + " |";
  for (const char* st : {"W", "N1", "N2", "N3", "REM"}) {
    const json& v = p.at("f1").at(st);
    row += " " + (v.is_null() ? std::string("n/a") : fmt3(v.get<double>())) + " |";
  }
  auto num = [&](const char* key) {
    const json& v = s.at(key);
    return v.is_number() ? fmt1(v.get<double>()) : std::string("n/a");
  };
  row += " " + num("n3_min_abs_error_median") + " | " + num("n3_change_abs_error_median") + " |\n";
  return row;
}

std::string confusion_markdown(const json& pooled) {
  std::string out = "| truth \\ pred | W | N1 | N2 | N3 | REM |\n|---|---|---|---|---|---|\n";
  const char* names[] = {"W", "N1", "N2", "N3", "REM"};
  for (int i = 0; i < kNumSleepStages; ++i) {
    out += std::string("| ") + names[i] + " |";
    for (int j = 0; j < kNumSleepStages; ++j) out += " " + std::to_string(pooled.at("confusion").at(i).at(j).get<long>()) + " |";
    out += "\n";
  }
  return out;
}

json config_json(const ModelConfig& cfg) {
  return {{"recipe", cfg.spec.recipe}, {"slots", cfg.spec.slots},
          {"design", {{"raw", cfg.spec.raw}, {"centered", cfg.spec.centered}, {"past", cfg.spec.past},
                      {"centered_sd", cfg.spec.centered_sd}}},
          {"xgboost", {{"objective", "multi:softprob"}, {"tree_method", "hist"}, {"max_bin", 64},
                       {"max_depth", cfg.max_depth}, {"eta", cfg.eta}, {"rounds", cfg.rounds}, {"subsample", 0.8},
                       {"colsample_bytree", 0.5}, {"min_child_weight", 2}, {"seed", 42}, {"nthread", 1}}}};
}

std::string model_bytes(const ModelConfig& cfg, const Trained& t, size_t n_features, const json& record) {
  json meta = {{"format", kFormat}, {"id", std::string(to_string(cfg.id))}, {"recipe", cfg.spec.recipe},
               {"slots", cfg.spec.slots},
               {"design", {{"raw", cfg.spec.raw}, {"centered", cfg.spec.centered}, {"past", cfg.spec.past},
                           {"centered_sd", cfg.spec.centered_sd}}},
               {"n_features", n_features}};
  json transition = json::array();
  for (const auto& row : t.hmm.transition) transition.push_back(row);
  meta["hmm"] = {{"prior", t.hmm.prior}, {"transition", transition}, {"evidence_exponent", t.hmm.evidence_exponent},
                 {"prior_exponent", t.hmm.prior_exponent}};
  if (!record.is_null()) meta["record"] = record;
  xgb_check(xgboost().XGBoosterSetAttr(t.booster->handle, kMetaAttribute, meta.dump().c_str()), "");
  bst_ulong len = 0;
  const char* buf = nullptr;
  xgb_check(xgboost().XGBoosterSaveModelToBuffer(t.booster->handle, R"({"format": "ubj"})", &len, &buf), "");
  return std::string(buf, len);
}

}  // namespace staging_train

using namespace staging_train;

void train_staging_models(const StagingTrainOptions& options, std::ostream* log) {
  const auto t_start = std::chrono::steady_clock::now();
  std::filesystem::create_directories(options.out_dir);
  bool need_td = false, need_bp = false;
  for (auto id : options.models) (id == StagingModelId::Bandpower ? need_bp : need_td) = true;
  std::vector<Night> td, bp;
  if (need_td) td = load_timedomain(options.data_dir, options.max_nights);
  if (need_bp) bp = load_bandpower(options.data_dir, options.max_nights);
  if (log) *log << "loaded " << td.size() << " timedomain and " << bp.size() << " bandpower nights" << std::endl;

  json report = {{"protocol",
                  "subject-wise cross-validation (both nights of a subject in the same fold); scored on expert-"
                  "scored epochs from 30 min before the first to 30 min after the last sleep epoch; "
                  "per-recording normalisation uses only the recording itself; HMM transitions and priors "
                  "from the training folds only"},
                 {"models", json::object()}};
  std::string md = "# Staging cross-validation report\n\nWritten by `psgkit train` (src/staging_train.cpp). " +
                   std::string("Pooled over all held-out epochs; N3 errors are medians of |automatic - expert| minutes ") +
                   "per night and of the change between a subject's two nights.\n\n";
  const std::string table_head = kReportTableHead;

  std::vector<ModelConfig> configs;
  for (auto id : options.models) configs.push_back(shipped_config(id, options.rounds));
  if (options.ablation && need_td) {
    const ModelConfig base = shipped_config(StagingModelId::EegEog, options.rounds);
    auto variant = [&](const std::string& label, auto&& change) {
      ModelConfig c = base;
      c.variant = label;
      change(c);
      configs.push_back(c);
    };
    variant("z only (no raw, no context)", [](ModelConfig& c) { c.spec.raw = c.spec.centered = c.spec.past = c.spec.centered_sd = false; });
    variant("raw only + z (no context)", [](ModelConfig& c) { c.spec.centered = c.spec.past = c.spec.centered_sd = false; });
    variant("no raw features", [](ModelConfig& c) { c.spec.raw = false; });
    variant("no centred SD", [](ModelConfig& c) { c.spec.centered_sd = false; });
  }

  std::string md_summary = "## Summary (classifier + HMM)\n\n" + table_head;
  std::string md_details;
  for (const auto& cfg : configs) {
    const bool bandpower = cfg.id == StagingModelId::Bandpower;
    const std::vector<Night>& nights = bandpower ? bp : td;
    const Designs designs = build_designs(cfg, nights);
    const std::string key = std::string(to_string(cfg.id)) + (cfg.variant.empty() ? "" : " [" + cfg.variant + "]");
    json entry = config_json(cfg);
    entry["n_design_features"] = designs.n_cols;
    if (options.cross_validate) {
      std::set<std::string> subjects;
      for (const auto& n : nights) subjects.insert(n.subject);
      const int folds = bandpower ? static_cast<int>(subjects.size()) : std::min<int>(options.folds, static_cast<int>(subjects.size()));
      const CvPredictions cv = cross_validate(cfg, nights, designs, folds, log);
      entry["cv_folds"] = folds;
      entry["cv_seconds"] = std::round(cv.seconds);
      json views = json::object();
      for (size_t v = 0; v < cfg.views.size(); ++v) {
        std::string view_name;
        for (const auto& p : cfg.views[v]) view_name += (view_name.empty() ? "" : "+") + p;
        const json with_hmm = summarise(nights, cv, cv.hmm, v, folds);
        const json without = summarise(nights, cv, cv.raw, v, folds);
        json view = {{"hmm", with_hmm}, {"no_hmm", without}};
        md_summary += markdown_row(key + " " + view_name, with_hmm);
        md_details += "## Model " + key + ", channels " + view_name + "\n\n" + table_head +
                      markdown_row("classifier + HMM", with_hmm) + markdown_row("classifier only", without);
        if (bandpower) {
          const json hmm_nc = summarise(nights, cv, cv.hmm, v, folds, true);
          const json raw_nc = summarise(nights, cv, cv.raw, v, folds, true);
          view["hmm_without_change_epochs"] = hmm_nc;
          view["no_hmm_without_change_epochs"] = raw_nc;
          md_details += markdown_row("classifier + HMM, without stage-change epochs", hmm_nc) +
                        markdown_row("classifier only, without stage-change epochs", raw_nc);
        }
        md_details += "\nPer fold (classifier + HMM):\n\n| fold | epochs | accuracy | kappa | macro-F1 |\n|---|---|---|---|---|\n";
        for (const auto& f : with_hmm.at("folds"))
          md_details += "| " + std::to_string(f.at("fold").get<int>()) + " | " + std::to_string(f.at("n_epochs").get<long>()) +
                        " | " + fmt3(f.at("accuracy").get<double>()) + " | " + fmt3(f.at("kappa").get<double>()) + " | " +
                        fmt3(f.at("macro_f1").get<double>()) + " |\n";
        md_details += "\nPooled confusion (classifier + HMM; rows expert, columns automatic):\n\n" +
                      confusion_markdown(with_hmm.at("pooled")) + "\n";
        md_details += "\nHMM emission exponents (emission = p^a / prior^b; shipped: a = " + fmt1(cfg.evidence_exponent) +
                      ", b = " + fmt1(cfg.prior_exponent) + "):\n\n";
        view["hmm_grid"] = hmm_grid(nights, cv, v, folds, md_details);
        md_details += "\n";
        view["headline"] = headline(with_hmm);
        view["headline_no_hmm"] = headline(without);
        views[view_name] = view;
      }
      entry["cv"] = views;
    }
    if (cfg.variant.empty()) {
      std::vector<size_t> all(nights.size());
      for (size_t i = 0; i < all.size(); ++i) all[i] = i;
      const auto t0 = std::chrono::steady_clock::now();
      const Trained t = train_on(cfg, nights, designs, all);
      const auto path = options.out_dir / staging_model_file_name(cfg.id);
      write_file_atomic(path, model_bytes(cfg, t, designs.n_cols));
      entry["file"] = path.filename().string();
      entry["file_bytes"] = std::filesystem::file_size(path);
      entry["final_train_seconds"] = std::round(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      entry["training_nights"] = nights.size();
      if (log) *log << "wrote " << path.string() << " (" << std::filesystem::file_size(path) << " bytes)" << std::endl;
    }
    report["models"][key] = entry;
  }
  report["total_seconds"] = std::round(std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count());
  if (options.cross_validate) {
    write_file_atomic(options.out_dir / "staging-cv-report.json", report.dump(1) + "\n");
    write_file_atomic(options.out_dir / "staging-cv-report.md", md + md_summary + "\n" + md_details);
  }
}

}  // namespace psgkit
