// Staging: HMM closed forms, shipped models on real nights (library and CLI), determinism, errors,
// and psgkit's boosted-tree evaluator (internal header) against XGBoost's predictor.
#include <xgboost/c_api.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "boosted_trees_internal.hpp"

#include "psgkit/error.hpp"
#include "psgkit/evaluate.hpp"
#include "psgkit/io.hpp"
#include "psgkit/plots.hpp"
#include "psgkit/staging.hpp"
#include "staging_internal.hpp"
#include "support.hpp"

using namespace psgkit;

namespace {

StagingHmm sticky_hmm(double stay) {
  StagingHmm hmm;
  for (int i = 0; i < kNumSleepStages; ++i) {
    hmm.prior[i] = 0.2;
    for (int j = 0; j < kNumSleepStages; ++j) hmm.transition[i][j] = i == j ? stay : (1 - stay) / 4;
  }
  return hmm;
}

std::filesystem::path timedomain_night() { return psgkit_test::shared_data() / "sleep-edf-153" / "SC4001E0.timedomain.csv"; }

double accuracy_vs_expert(const std::vector<Stage>& truth, const std::vector<Stage>& pred) {
  return agreement_from_labels(truth, pred).accuracy;
}

}  // namespace

TEST_CASE("hmm_posterior: two epochs match the closed-form forward-backward") {
  // Sticky chain (stay 0.9, else 0.025 each), uniform prior; epoch 0 says W, epoch 1 says N1.
  const StagingHmm hmm = sticky_hmm(0.9);
  const std::vector<StageProbabilities> p = {{0.6f, 0.1f, 0.1f, 0.1f, 0.1f}, {0.1f, 0.6f, 0.1f, 0.1f, 0.1f}};
  const auto post = hmm_posterior(p, {0, 1}, hmm);
  // gamma_0(i) ∝ e0(i) * sum_j A(i,j) e1(j); gamma_1(j) ∝ e1(j) * sum_i e0(i) A(i,j) (prior uniform cancels).
  // By hand: sum_j A(W,j) e1(j) = 0.9*0.1 + 0.025*(0.6+0.1+0.1+0.1) = 0.1125 (∝, e = p / 0.2 cancels too);
  // for N1: 0.9*0.6 + 0.025*0.4 = 0.55; for N2..REM: 0.9*0.1 + 0.025*0.9 = 0.1125.
  // gamma_0 ∝ (0.6*0.1125, 0.1*0.55, 0.1*0.1125 x3) = (0.0675, 0.055, 0.01125 x3), sum 0.15625.
  CHECK(post[0][0] == doctest::Approx(0.0675 / 0.15625).epsilon(1e-6));
  CHECK(post[0][1] == doctest::Approx(0.055 / 0.15625).epsilon(1e-6));
  CHECK(post[0][3] == doctest::Approx(0.01125 / 0.15625).epsilon(1e-6));
  // gamma_1 by symmetry of this example: (0.055, 0.0675, 0.01125 x3) / 0.15625.
  CHECK(post[1][0] == doctest::Approx(0.055 / 0.15625).epsilon(1e-6));
  CHECK(post[1][1] == doctest::Approx(0.0675 / 0.15625).epsilon(1e-6));
  for (const auto& row : post) {
    double s = 0;
    for (float v : row) s += v;
    CHECK(s == doctest::Approx(1.0).epsilon(1e-6));
  }
}

TEST_CASE("hmm_posterior: a gap of one missing epoch uses the squared transition matrix") {
  const StagingHmm hmm = sticky_hmm(0.9);
  const std::vector<StageProbabilities> p = {{0.6f, 0.1f, 0.1f, 0.1f, 0.1f}, {0.1f, 0.6f, 0.1f, 0.1f, 0.1f}};
  const auto post = hmm_posterior(p, {0, 2}, hmm);
  // A²: stay = 0.9² + 4 * 0.025² = 0.8125, move = (1 - 0.8125) / 4 = 0.046875.
  const double stay = 0.8125, move = 0.046875;
  const double w = 0.6 * (stay * 0.1 + move * 0.9);   // W: sum_j A²(W,j) e1(j) = stay*0.1 + move*(0.6+0.3)
  const double n1 = 0.1 * (stay * 0.6 + move * 0.4);
  const double other = 0.1 * (stay * 0.1 + move * 0.9);
  const double total = w + n1 + 3 * other;
  CHECK(post[0][0] == doctest::Approx(w / total).epsilon(1e-6));
  CHECK(post[0][1] == doctest::Approx(n1 / total).epsilon(1e-6));
  CHECK(post[0][4] == doctest::Approx(other / total).epsilon(1e-6));
}

TEST_CASE("hmm_posterior: memoryless chain and matching prior return the classifier probabilities") {
  StagingHmm hmm;
  hmm.prior = {0.3, 0.1, 0.4, 0.1, 0.1};
  for (auto& row : hmm.transition)
    for (int j = 0; j < kNumSleepStages; ++j) row[j] = hmm.prior[j];
  const std::vector<StageProbabilities> p = {{0.5f, 0.2f, 0.1f, 0.1f, 0.1f}, {0.05f, 0.05f, 0.8f, 0.05f, 0.05f},
                                             {0.1f, 0.1f, 0.1f, 0.1f, 0.6f}};
  const auto post = hmm_posterior(p, {0, 1, 5}, hmm);
  for (size_t t = 0; t < p.size(); ++t)
    for (int s = 0; s < kNumSleepStages; ++s) CHECK(post[t][s] == doctest::Approx(p[t][s]).epsilon(1e-5));
}

TEST_CASE("hmm_posterior and epoch_indices reject bad input") {
  CHECK_THROWS_AS(hmm_posterior({{}, {}}, {0, 0}, sticky_hmm(0.9)), Error);
  CHECK_THROWS_AS(epoch_indices({0, 30, 45}), Error);
  CHECK_THROWS_AS(epoch_indices({0, 30, 30}), Error);
  CHECK(epoch_indices({100, 130, 220}) == std::vector<long>{0, 1, 4});
}

TEST_CASE("a missing model file is a clear psgkit::Error") {
  psgkit_test::TempDir dir("staging-missing");
  try {
    (void)StagingModel::load(dir / "staging-a-eeg-eog.ubj");
    FAIL("no exception");
  } catch (const Error& e) {
    CHECK(e.file() == (dir / "staging-a-eeg-eog.ubj").string());
    CHECK(std::string(e.what()).find("not found") != std::string::npos);
  }
  std::ofstream(dir / "junk.ubj") << "not a model";
  CHECK_THROWS_AS((void)StagingModel::load(dir / "junk.ubj"), Error);
}

TEST_CASE("detect_staging_model picks the model from the columns") {
  FeatureTable t;
  for (const char* ch : {"fpz_cz", "pz_oz", "eog"})
    for (const char* f : {"std", "iqr", "skew", "kurtosis", "zero_crossings", "hjorth_mobility", "hjorth_complexity",
                          "higuchi_fd", "petrosian_fd", "hist_entropy_5", "hist_entropy_10", "hist_entropy_30",
                          "hist_entropy_60"})
      t.columns.push_back(std::string(ch) + "_" + f);
  CHECK(detect_staging_model(t) == StagingModelId::EegEog);
  t.columns.resize(26);
  CHECK(detect_staging_model(t) == StagingModelId::Eeg2);
  t.columns.resize(13);
  CHECK(detect_staging_model(t) == StagingModelId::Eeg1);
  t.columns = {"x"};
  CHECK_THROWS_AS(detect_staging_model(t), Error);
}

TEST_CASE("shipped models stage a Sleep-EDF night (library)") {
  if (!psgkit_test::have_shared_data()) return;
  const FeatureTable table = read_feature_csv(timedomain_night());
  // SC4001E0 is a training night of the shipped models: the floor (measured 0.9x, see
  // notes/staging.md) only guards against a broken pipeline, it is not a generalisation figure.
  struct Case {
    StagingModelId id;
    std::vector<std::string> channels;
  };
  for (const Case& c : {Case{StagingModelId::EegEog, {}}, Case{StagingModelId::Eeg2, {}},
                        Case{StagingModelId::Eeg1, {"fpz_cz"}}, Case{StagingModelId::Eeg1, {"pz_oz"}}}) {
    CAPTURE(to_string(c.id));
    const StagingModel model = StagingModel::load(c.id);
    StagingOptions options;
    options.channels = c.channels;
    const StagedEpochs staged = model.stage_rows(table, options);
    REQUIRE(staged.stages.size() == table.rows());
    CHECK(staged.onset_s == table.onset_s);
    for (size_t r = 0; r < staged.stages.size(); ++r) {
      const auto& p = staged.probabilities[r];
      double sum = 0;
      for (float v : p) sum += v;
      CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
      CHECK(static_cast<int>(staged.stages[r]) == std::max_element(p.begin(), p.end()) - p.begin());
    }
    std::vector<Stage> truth, pred;
    for (size_t r = 0; r < table.rows(); ++r)
      if (table.stages[r] != Stage::UNS) {
        truth.push_back(table.stages[r]);
        pred.push_back(staged.stages[r]);
      }
    CHECK(accuracy_vs_expert(truth, pred) >= 0.80);
    // The hypnogram view puts the rows on the 30-s grid; missing epochs are UNS.
    const Hypnogram h = model.stage(table, options);
    CHECK(h.start_s == table.onset_s.front());
    CHECK(h.size() == static_cast<size_t>((table.onset_s.back() - table.onset_s.front()) / 30.0) + 1);
    CHECK(h.probabilities.size() == h.size());
  }
}

TEST_CASE("bandpower model stages a full Sleep-EDF night") {
  if (!psgkit_test::have_shared_data()) return;
  const auto dir = psgkit_test::shared_data() / "sleep-edf";
  const FeatureTable table = read_feature_csv(dir / "SC4001E0.bandpower.csv");
  REQUIRE(detect_staging_model(table) == StagingModelId::Bandpower);
  const StagingModel model = StagingModel::load(StagingModelId::Bandpower);
  const StagedEpochs staged = model.stage_rows(table);
  REQUIRE(staged.stages.size() == table.rows());
  const Hypnogram truth = read_hypnogram_csv(dir / "SC4001E0.hypnogram.csv");
  EvaluateOptions crop;
  crop.crop_wake_min = 30.0;
  const Agreement a = evaluate(truth, staged.to_hypnogram(), crop);
  CHECK(a.accuracy >= 0.80);  // training night of the shipped model
}

TEST_CASE("staged_epochs_csv equals write_staging_csv for gap-free rows and keeps gaps otherwise") {
  StagedEpochs staged;
  staged.onset_s = {60, 90, 120};
  staged.stages = {Stage::W, Stage::N2, Stage::N2};
  staged.probabilities = {{0.7f, 0.1f, 0.1f, 0.05f, 0.05f}, {0.1f, 0.1f, 0.6f, 0.1f, 0.1f}, {0, 0, 1, 0, 0}};
  psgkit_test::TempDir dir("staging-csv");
  write_staging_csv(dir / "h.csv", staged.to_hypnogram());
  CHECK(staged_epochs_csv(staged) == read_file(dir / "h.csv"));
  staged.onset_s = {60, 90, 150};
  const std::string text = staged_epochs_csv(staged);
  CHECK(text.find("\n3,150,N2,1,0,0,1,0,0\n") != std::string::npos);
  write_staged_epochs_csv(dir / "g.csv", staged);
  const Hypnogram back = read_hypnogram(dir / "g.csv");
  CHECK(back.size() == 4);
  CHECK(back.stages[2] == Stage::UNS);
}

TEST_CASE("psgkit stage --features keeps the rows and their onsets (CLI)") {
  if (!psgkit_test::have_shared_data()) return;
  psgkit_test::TempDir dir("staging-cli");
  const auto out = dir / "out.csv";
  const auto r = psgkit_test::run_command(psgkit_test::cli_path() + " stage --features " + timedomain_night().string() +
                                          " -o " + out.string() + " 2>&1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("model a") != std::string::npos);
  const FeatureTable table = read_feature_csv(timedomain_night());
  const CsvTable csv = read_csv(out);
  CHECK(csv.header == std::vector<std::string>{"epoch", "onset_s", "stage", "confidence", "p_W", "p_N1", "p_N2", "p_N3", "p_REM"});
  REQUIRE(csv.rows.size() == table.rows());
  size_t gaps = 0, agree = 0, scored = 0;
  for (size_t i = 0; i < csv.rows.size(); ++i) {
    CHECK(csv.number(i, 1) == table.onset_s[i]);
    if (i > 0 && table.onset_s[i] - table.onset_s[i - 1] > 30) ++gaps;
    double sum = 0, max_p = 0;
    for (int c = 4; c < 9; ++c) {
      sum += csv.number(i, c);
      max_p = std::max(max_p, csv.number(i, c));
    }
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
    CHECK(csv.number(i, 3) == max_p);
    if (table.stages[i] != Stage::UNS) {
      ++scored;
      agree += csv.rows[i][2] == to_string(table.stages[i]);
    }
  }
  CHECK(gaps > 50);  // the timedomain tables miss the epoch at every stage change
  CHECK(static_cast<double>(agree) / static_cast<double>(scored) >= 0.80);

  const auto bad = psgkit_test::run_command(psgkit_test::cli_path() + " stage --features " + (dir / "none.csv").string() + " 2>&1");
  CHECK(bad.exit_code == 1);
  CHECK(bad.output.find("psgkit: error:") != std::string::npos);
}

TEST_CASE("training is deterministic: a tiny model twice gives identical bytes") {
  if (!psgkit_test::have_shared_data()) return;
  psgkit_test::TempDir dir("staging-train");
  StagingTrainOptions options;
  options.data_dir = psgkit_test::shared_data();
  options.models = {StagingModelId::Eeg2};
  options.cross_validate = false;
  options.max_nights = 3;
  options.rounds = 3;
  options.out_dir = dir / "one";
  train_staging_models(options, nullptr);
  options.out_dir = dir / "two";
  train_staging_models(options, nullptr);
  const std::string name = staging_model_file_name(StagingModelId::Eeg2);
  const std::string one = read_file(dir / "one" / name), two = read_file(dir / "two" / name);
  CHECK(one.size() > 1000);
  CHECK(one == two);
  // The tiny model loads and stages.
  const StagingModel model = StagingModel::load(dir / "one" / name);
  CHECK(model.channel_slots() == std::vector<std::string>{"fpz_cz", "pz_oz"});
  CHECK(model.stage_rows(read_feature_csv(timedomain_night())).stages.size() > 100);
}

// ---- psgkit's own evaluation of the boosted trees (src/staging/boosted_trees.cpp) ----

namespace {

// UBJSON as XGBoost writes it: big-endian, int64 lengths, object keys without the 'S' marker.
struct UbjsonWriter {
  std::string out;
  void length(int64_t n) {
    out += 'L';
    for (int i = 7; i >= 0; --i) out += static_cast<char>(static_cast<uint64_t>(n) >> (8 * i));
  }
  void key(std::string_view k) {
    length(static_cast<int64_t>(k.size()));
    out += k;
  }
  void string(std::string_view s) {
    out += 'S';
    key(s);
  }
  template <typename T>
  void typed(char element, const std::vector<T>& values) {
    out += '[';
    out += '$';
    out += element;
    out += '#';
    length(static_cast<int64_t>(values.size()));
    for (T v : values) {
      uint64_t bits = 0;
      if constexpr (std::is_same_v<T, float>) bits = std::bit_cast<uint32_t>(v);
      else bits = static_cast<std::make_unsigned_t<T>>(v);
      for (int i = static_cast<int>(sizeof(T)) - 1; i >= 0; --i) out += static_cast<char>(bits >> (8 * i));
    }
  }
};

struct TinyTree {
  std::vector<int32_t> left, right, split_index;
  std::vector<float> condition;
  std::vector<uint8_t> default_left, split_type;
};

struct TinyModel {
  std::string objective = "multi:softprob";
  std::vector<TinyTree> trees;
  std::vector<int> tree_info;
  std::string num_feature = "2";
};

// Two features, two classes. Tree 0 (class 0): x0 < 0.5 (missing: left) ? -1 : (x1 < 2 (missing: right)
// ? 0.25 : 1.5). Tree 1 (class 1): one leaf, 0.75.
TinyModel tiny_model() {
  TinyModel m;
  m.trees.push_back({{1, -1, 3, -1, -1}, {2, -1, 4, -1, -1}, {0, 0, 1, 0, 0}, {0.5f, -1.0f, 2.0f, 0.25f, 1.5f},
                     {1, 0, 0, 0, 0}, {0, 0, 0, 0, 0}});
  m.trees.push_back({{-1}, {-1}, {0}, {0.75f}, {0}, {0}});
  m.tree_info = {0, 1};
  return m;
}

std::string to_ubjson(const TinyModel& m) {
  UbjsonWriter w;
  w.out += '{';
  w.key("learner");
  w.out += '{';
  w.key("attributes");
  w.out += '{';
  w.key("note");
  w.string("tiny");
  w.out += '}';
  w.key("gradient_booster");
  w.out += "{";
  w.key("model");
  w.out += '{';
  w.key("tree_info");  // an uncounted array of markered integers, as XGBoost writes it
  w.out += '[';
  for (int c : m.tree_info) w.out += {'i', static_cast<char>(c)};
  w.out += ']';
  w.key("trees");  // a counted array
  w.out += "[#";
  w.length(static_cast<int64_t>(m.trees.size()));
  for (const TinyTree& t : m.trees) {
    w.out += '{';
    w.key("default_left"), w.typed('U', t.default_left);
    w.key("left_children"), w.typed('l', t.left);
    w.key("right_children"), w.typed('l', t.right);
    w.key("split_conditions"), w.typed('d', t.condition);
    w.key("split_indices"), w.typed('l', t.split_index);
    w.key("split_type"), w.typed('U', t.split_type);
    w.out += '}';
  }
  w.out += '}';
  w.key("name"), w.string("gbtree");
  w.out += '}';
  w.key("learner_model_param");
  w.out += '{';
  w.key("base_score"), w.string("5E-1");
  w.key("num_class"), w.string("2");
  w.key("num_feature"), w.string(m.num_feature);
  w.out += '}';
  w.key("objective");
  w.out += '{';
  w.key("name"), w.string(m.objective);
  w.out += '}';
  w.out += '}';
  w.out += 'N';  // a no-op marker, then the end
  w.out += '}';
  return w.out;
}

std::string model_error(const std::string& bytes) {
  try {
    (void)detail::BoostedTrees::from_ubjson(bytes, "tiny.ubj");
  } catch (const Error& e) {
    CHECK(e.file() == "tiny.ubj");
    return e.field() + ": " + e.what();
  }
  return "no exception";
}

}  // namespace

TEST_CASE("boosted trees: a hand-made model gives the closed-form softmax of its leaves") {
  const detail::BoostedTrees model = detail::BoostedTrees::from_ubjson(to_ubjson(tiny_model()), "tiny.ubj");
  CHECK(model.n_features() == 2);
  CHECK(model.n_classes() == 2);
  CHECK(model.n_trees() == 2);
  CHECK(model.attributes().at("note") == "tiny");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Rows: left leaf; threshold itself goes right, then left; both missing (default left); x1 missing
  // (default right). Margins start at base_score 0.5; class 1 always gets 0.75.
  const std::vector<float> rows = {0.0f, 9.0f, 0.5f, 1.0f, nan, nan, 3.0f, nan};
  const std::vector<double> leaf0 = {-1.0, 0.25, -1.0, 1.5};
  std::vector<float> p(8);
  model.predict_proba(rows.data(), 4, p.data());
  for (size_t r = 0; r < 4; ++r) {
    CAPTURE(r);
    const double p0 = 1.0 / (1.0 + std::exp((0.5 + 0.75) - (0.5 + leaf0[r])));
    CHECK(p[2 * r] == doctest::Approx(p0).epsilon(1e-6));
    CHECK(p[2 * r + 1] == doctest::Approx(1 - p0).epsilon(1e-6));
  }
}

TEST_CASE("boosted trees: malformed or unsupported models are psgkit::Errors naming the field") {
  const std::string good = to_ubjson(tiny_model());
  CHECK(model_error(good.substr(0, good.size() / 2)).find("truncated") != std::string::npos);
  CHECK(model_error(good.substr(0, good.size() / 2)).rfind("UBJSON at byte", 0) == 0);
  CHECK(model_error(good + "x").find("after the end") != std::string::npos);
  CHECK(model_error("X").find("unknown or unsupported marker") != std::string::npos);
  CHECK(model_error(std::string(100, '[')).find("nested deeper") != std::string::npos);
  CHECK(model_error("{}").find("learner: missing") != std::string::npos);
  // fuzz_staging_model's finding: INT64_MAX as a value went through double back to int64 (UBSan).
  CHECK(model_error(std::string("[[TL\x7f\xff\xff\xff\xff\xff\xff\xed", 12) + std::string(20, 'd')).find("UBJSON") == 0);

  TinyModel m = tiny_model();
  m.objective = "binary:logistic";
  CHECK(model_error(to_ubjson(m)).rfind("learner.objective.name", 0) == 0);
  m = tiny_model();
  m.trees[0].split_type[2] = 1;
  CHECK(model_error(to_ubjson(m)).find("categorical") != std::string::npos);
  m = tiny_model();
  m.trees[0].left[2] = 1;  // a cycle back to an earlier node
  CHECK(model_error(to_ubjson(m)).find("does not point forward") != std::string::npos);
  m = tiny_model();
  m.trees[0].left[1] = 3;  // leaf 1 becomes a second parent of nodes 3 and 4: a graph, not a tree
  m.trees[0].right[1] = 4;
  CHECK(model_error(to_ubjson(m)).find("node 3 has two parents") != std::string::npos);
  m = tiny_model();
  m.trees[0].split_index[2] = 2;  // only features 0 and 1 exist
  CHECK(model_error(to_ubjson(m)).find("split_indices") != std::string::npos);
  m = tiny_model();
  m.tree_info = {0};
  CHECK(model_error(to_ubjson(m)).find("1 entries for 2 trees") != std::string::npos);
  m = tiny_model();
  m.trees[1].right = {-1, -1};
  CHECK(model_error(to_ubjson(m)).find("different lengths") != std::string::npos);
  m = tiny_model();
  m.trees[0].condition[3] = std::numeric_limits<float>::infinity();
  CHECK(model_error(to_ubjson(m)).find("non-finite") != std::string::npos);
  m = tiny_model();
  m.num_feature = "2x";
  CHECK(model_error(to_ubjson(m)).find("not a number") != std::string::npos);
}

TEST_CASE("a model whose psgkit metadata is wrong is refused naming the file and the field") {
  // fuzz_staging_model's findings: an unknown recipe was refused without the file's name; bad HMM values
  // were not refused at all. Edits of the same length keep the UBJSON string valid.
  psgkit_test::TempDir dir("staging-metadata");
  const std::string shipped = read_file(staging_model_dir() / staging_model_file_name(StagingModelId::Eeg1));
  auto refused_field = [&](const std::string& from, const std::string& to) {
    REQUIRE(from.size() == to.size());
    std::string bytes = shipped;
    const size_t at = bytes.find(from);
    REQUIRE(at != std::string::npos);
    bytes.replace(at, from.size(), to);
    const auto path = dir / "edited.ubj";
    write_file_atomic(path, bytes);
    try {
      (void)StagingModel::load(path);
    } catch (const Error& e) {
      CHECK(e.file() == path.string());
      return e.field();
    }
    return std::string("no exception");
  };
  // The first number after `key`, and the same length negated (its last digit dropped for the sign).
  auto negated = [&](const std::string& key) {
    const size_t start = shipped.find(key) + key.size();
    const size_t end = shipped.find_first_not_of("0123456789.e-", start);
    const std::string number = shipped.substr(start, end - start);
    return std::pair{key + number, key + "-" + number.substr(0, number.size() - 1)};
  };
  CHECK(refused_field("sleepedf-timedomain", "sleepedf-timedoMain") == "recipe");
  const auto [prior, negative_prior] = negated("\"prior\":[");
  CHECK(refused_field(prior, negative_prior) == "hmm");
  const auto [transition, negative_transition] = negated("\"transition\":[[");
  CHECK(refused_field(transition, negative_transition) == "hmm");
}

namespace {

// libxgboost's own predictor on the model file: the first level on the model's design matrix, then, for
// a stacked model, the second level's trees (decoded from the metadata) on the design built from the
// oracle's own first-level probabilities.
std::vector<StageProbabilities> xgboost_oracle(const StagingModel& model, const FeatureTable& table) {
  auto predict = [&](BoosterHandle b, const std::vector<float>& x, size_t cols) {
    DMatrixHandle m = nullptr;
    REQUIRE(XGDMatrixCreateFromMat(x.data(), table.rows(), cols, std::numeric_limits<float>::quiet_NaN(), &m) == 0);
    bst_ulong n = 0;
    const float* out = nullptr;
    REQUIRE(XGBoosterPredict(b, m, 0, 0, 0, &n, &out) == 0);
    REQUIRE(n == table.rows() * kNumSleepStages);
    std::vector<StageProbabilities> p(table.rows());
    for (size_t r = 0; r < table.rows(); ++r) std::copy_n(out + r * kNumSleepStages, kNumSleepStages, p[r].begin());
    XGDMatrixFree(m);
    return p;
  };
  const std::string bytes = read_file(model.path());
  BoosterHandle level1 = nullptr;
  REQUIRE(XGBoosterCreate(nullptr, 0, &level1) == 0);
  REQUIRE(XGBoosterLoadModelFromBuffer(level1, bytes.data(), bytes.size()) == 0);
  std::vector<StageProbabilities> p = predict(level1, model.design_matrix(table), model.design_columns().size());
  int found = 0;
  const char* meta_text = nullptr;
  REQUIRE(XGBoosterGetAttr(level1, "psgkit_staging", &meta_text, &found) == 0);
  REQUIRE(found == 1);
  const auto meta = nlohmann::json::parse(meta_text);
  XGBoosterFree(level1);
  CHECK(meta.contains("level2") == model.has_second_level());
  if (!meta.contains("level2")) return p;
  const auto& l2 = meta.at("level2");
  const std::string trees = staging_detail::base64_decode(l2.at("ubj_base64").get<std::string>(), "level2");
  BoosterHandle level2 = nullptr;
  REQUIRE(XGBoosterCreate(nullptr, 0, &level2) == 0);
  REQUIRE(XGBoosterLoadModelFromBuffer(level2, trees.data(), trees.size()) == 0);
  const staging_detail::StackSpec spec{l2.at("half_rows").get<int>(), l2.at("long_half_rows").get<int>()};
  p = predict(level2, staging_detail::build_level2_design(p, spec), staging_detail::level2_columns(spec));
  XGBoosterFree(level2);
  return p;
}

}  // namespace

TEST_CASE("shipped models: psgkit's tree evaluation equals XGBoost's predictor bit for bit") {
  // The oracle is libxgboost's own predictor on the same design matrix. Rows: a synthetic table
  // with values over several decades (band powers at their scale in V²/Hz) and 4 % missing cells (the
  // trees' default directions), and a real night when ../shared/data is present.
  std::mt19937 rng(7);
  auto synthetic = [&](const StagingModel& model, size_t rows) {
    FeatureTable t;
    for (const std::string& slot : {std::string("fpz_cz"), std::string("pz_oz"), std::string("eog")})
      for (const std::string& f : model.channel_features()) t.columns.push_back(slot + "_" + f);
    const bool bandpower = model.recipe() == "sleepedf-bandpower";
    std::uniform_real_distribution<double> decade(bandpower ? -13 : -3, bandpower ? -8 : 3), unit(0, 1);
    for (size_t r = 0; r < rows; ++r) {
      t.onset_s.push_back(30.0 * static_cast<double>(r + r / 50));  // a one-epoch gap every 50 rows
      for (size_t c = 0; c < t.cols(); ++c)
        t.values.push_back(unit(rng) < 0.04 ? std::numeric_limits<double>::quiet_NaN() : std::pow(10.0, decade(rng)));
    }
    return t;
  };
  for (StagingModelId id : {StagingModelId::EegEog, StagingModelId::Eeg2, StagingModelId::Eeg1, StagingModelId::Bandpower}) {
    CAPTURE(to_string(id));
    const StagingModel model = StagingModel::load(id);
    std::vector<FeatureTable> tables = {synthetic(model, 600)};
    CHECK(std::count_if(tables[0].values.begin(), tables[0].values.end(), [](double v) { return std::isnan(v); }) > 0);
    if (psgkit_test::have_shared_data())
      tables.push_back(read_feature_csv(id == StagingModelId::Bandpower
                                            ? psgkit_test::shared_data() / "sleep-edf" / "SC4001E0.bandpower.csv"
                                            : timedomain_night()));
    for (const FeatureTable& table : tables) {
      const std::vector<StageProbabilities> oracle = xgboost_oracle(model, table), ours = model.predict_proba(table);
      REQUIRE(ours.size() == table.rows());
      size_t differing = 0;
      for (size_t r = 0; r < table.rows(); ++r) differing += ours[r] != oracle[r];
      CHECK(differing == 0);
      // The rows reach different leaves, not one corner of the trees.
      CHECK(std::set<StageProbabilities>(ours.begin(), ours.end()).size() > table.rows() / 2);
    }
  }
}

// ---- Design features added for issue 14, the expected-N3 interval, model choice, age and sex ----

#include "psgkit/recording.hpp"
#include "psgkit/simulate.hpp"
#include "psgkit/sleep_stats.hpp"

namespace {

// A timedomain table with one channel "x": feature k of row r = (k + 1) * f(r), rows every 30 s.
FeatureTable linear_table(size_t rows, double (*f)(size_t)) {
  FeatureTable t;
  const auto& names = staging_detail::timedomain_channel_features();
  for (const auto& n : names) t.columns.push_back("x_" + n);
  for (size_t r = 0; r < rows; ++r) {
    t.onset_s.push_back(30.0 * static_cast<double>(r));
    for (size_t k = 0; k < names.size(); ++k) t.values.push_back(static_cast<double>(k + 1) * f(r));
  }
  return t;
}

}  // namespace

TEST_CASE("design: raw-context, long-context and age/sex columns equal their closed forms") {
  staging_detail::DesignSpec spec;
  spec.recipe = staging_detail::kTimedomainRecipe;
  spec.slots = {"eeg"};
  spec.raw_context = spec.long_context = spec.demographics = true;
  const size_t rows = 600;  // longer than kFullNormalisationEpochs: own normalisation only
  const FeatureTable t = linear_table(rows, [](size_t r) { return 1.0 + static_cast<double>(r % 7); });
  std::vector<long> idx(rows);
  for (size_t r = 0; r < rows; ++r) idx[r] = static_cast<long>(r);
  staging_detail::Demographics d;
  d.age_years = 61;
  d.sex_female = 0;
  const auto names = staging_detail::design_feature_names(spec);
  const std::vector<float> x = staging_detail::build_design(t, spec, {"x"}, idx, d);
  const size_t cols = names.size();
  REQUIRE(x.size() == rows * cols);
  auto col = [&](const std::string& n) { return static_cast<size_t>(std::find(names.begin(), names.end(), n) - names.begin()); };
  REQUIRE(col("eeg_skew_c7.5min") < cols);
  REQUIRE(col("eeg_skew_z_c20min") < cols);
  REQUIRE(names[cols - 2] == "age_years");
  REQUIRE(names[cols - 1] == "sex_female");
  // skew (k = 2): raw = 3·(1 + r mod 7). Row 100: triangular weights 1 - |d|/8 over d = -7..7.
  double sw = 0, swx = 0;
  for (long dd = -7; dd <= 7; ++dd) {
    const double w = 1.0 - std::abs(static_cast<double>(dd)) / 8.0;
    sw += w;
    swx += w * 3.0 * (1.0 + static_cast<double>((100 + dd) % 7));
  }
  CHECK(x[100 * cols + col("eeg_skew_c7.5min")] == doctest::Approx(swx / sw).epsilon(1e-6));
  // z of skew: median of 3·(1 + r mod 7) over 600 rows = 12,
  // IQR = 18 - 6 (numpy linear quantiles of that sample; python: np.percentile(3*(1+np.arange(600)%7),[25,50,75])).
  const double median = 12.0, iqr = 12.0;
  double mean_z = 0;
  for (long dd = -20; dd <= 20; ++dd) mean_z += (3.0 * (1.0 + static_cast<double>((300 + dd) % 7)) - median) / iqr;
  CHECK(x[300 * cols + col("eeg_skew_z_c20min")] == doctest::Approx(mean_z / 41.0).epsilon(1e-6));
  CHECK(x[300 * cols + cols - 2] == 61.0f);
  CHECK(x[300 * cols + cols - 1] == 0.0f);
  // Unknown age and sex stay missing.
  const std::vector<float> y = staging_detail::build_design(t, spec, {"x"}, idx);
  CHECK(std::isnan(y[cols - 2]));
  CHECK(std::isnan(y[cols - 1]));
}

TEST_CASE("design: short recordings blend their normalisation with the training reference") {
  // w = n / 480: 120 epochs -> w = 0.25.
  const auto [c, s] = staging_detail::blended_location_scale(2.0, 1.0, 6.0, 5.0, 120);
  CHECK(c == doctest::Approx(0.25 * 2.0 + 0.75 * 6.0));
  CHECK(s == doctest::Approx(0.25 * 1.0 + 0.75 * 5.0));
  const auto [c2, s2] = staging_detail::blended_location_scale(2.0, 1.0, 6.0, 5.0, 1000);
  CHECK(c2 == 2.0);
  CHECK(s2 == 1.0);
  const auto [c3, s3] = staging_detail::blended_location_scale(2.0, 1.0, std::nan(""), std::nan(""), 10);
  CHECK(c3 == 2.0);
  CHECK(s3 == 1.0);
  // In the design: a 120-row table, reference median 0 and IQR 1 for every feature -> z = x·w-blend.
  staging_detail::DesignSpec spec;
  spec.recipe = staging_detail::kTimedomainRecipe;
  spec.slots = {"eeg"};
  spec.raw = spec.centered = spec.past = spec.centered_sd = false;
  const size_t n_base = staging_detail::timedomain_channel_features().size();
  spec.reference_median.assign(n_base, 0.0);
  spec.reference_iqr.assign(n_base, 1.0);
  const FeatureTable t = linear_table(120, [](size_t r) { return static_cast<double>(r % 5); });
  std::vector<long> idx(120);
  for (size_t r = 0; r < 120; ++r) idx[r] = static_cast<long>(r);
  const std::vector<float> x = staging_detail::build_design(t, spec, {"x"}, idx);
  // skew column (k = 2): values 3·(r mod 5), own median 6, IQR 3·(3 - 1) = 6.
  const double centre = 0.25 * 6.0, scale = 0.25 * 6.0 + 0.75 * 1.0;
  CHECK(x[7 * n_base + 2] == doctest::Approx((3.0 * 2.0 - centre) / scale).epsilon(1e-6));
}

TEST_CASE("expected-N3 interval: closed form, coverage and the fitted variance inflation") {
  // p = (0.5, 0.5, 1, 0) of 30-s epochs: expected = 1 min, Σp(1-p) = 0.5, sd = 0.5·sqrt(L·0.5).
  const ExpectedMinutes e = expected_stage_minutes({0.5, 0.5, 1.0, 0.0}, 30.0, 8.0, 100.0);
  CHECK(e.expected_min == doctest::Approx(1.0));
  CHECK(e.lo95_min == doctest::Approx(0.0));  // 1 - 1.96·1 < 0: clipped
  CHECK(e.hi95_min == doctest::Approx(1.0 + 1.959963984540054 * 0.5 * 2.0));
  // Coverage: truths 1, 5, 10 in [0,2], [4,6], [0,9] -> 2 of 3 (bounds inclusive).
  CHECK(interval_coverage({1, 5, 10}, {0, 5, 0}, {2, 6, 9}) == doctest::Approx(2.0 / 3.0));
  CHECK(std::isnan(interval_coverage({}, {}, {})));
  CHECK_THROWS_AS(interval_coverage({1}, {0, 1}, {2}), Error);
  // Ratios (e / (1.96·m·sqrt(V)))² with m = 0.5 and e = 1.96·0.5·k, V = 1 -> k² = 1, 4, 9, 16, 25;
  // 95th percentile by linear interpolation: pos 3.8 -> 16 + 0.8·9 = 23.2.
  std::vector<double> err, var(5, 1.0);
  for (int k = 1; k <= 5; ++k) err.push_back(1.959963984540054 * 0.5 * k);
  CHECK(fit_variance_inflation(err, var, 30.0) == doctest::Approx(23.2));
  // Never below 1, and with it the intervals of these nights cover 4 of 5 at the 0.8 quantile.
  CHECK(fit_variance_inflation({0.0, 0.0}, {1.0, 1.0}, 30.0) == 1.0);
  const double l80 = fit_variance_inflation(err, var, 30.0, 0.8);  // pos 3.2 -> 16 + 0.2·9 = 17.8
  CHECK(l80 == doctest::Approx(17.8));
  std::vector<double> truth, lo, hi;
  for (int k = 1; k <= 5; ++k) {
    // A night with V = 1 as 4 epochs at p = 0.5 (expected 1 min) and truth = expected + error.
    const ExpectedMinutes ek = expected_stage_minutes({0.5, 0.5, 0.5, 0.5}, 30.0, l80, 1e9);
    truth.push_back(ek.expected_min + err[static_cast<size_t>(k - 1)]);
    lo.push_back(ek.lo95_min);
    hi.push_back(ek.hi95_min);
  }
  CHECK(interval_coverage(truth, lo, hi) == doctest::Approx(0.8));
  // sleep_statistics uses the same interval with the option's inflation.
  Hypnogram h;
  h.stages = {Stage::N2, Stage::N3, Stage::N3, Stage::N2};
  h.probabilities.assign(4, StageProbabilities{0, 0, 0.5f, 0.5f, 0});
  SleepStatsOptions o;
  o.n3_variance_inflation = 4.0;
  const SleepStatistics st = sleep_statistics(h, o);
  CHECK(st.find("N3_expected")->value == doctest::Approx(1.0));
  CHECK(st.find("N3_expected_hi95")->value == doctest::Approx(std::min(2.0, 1.0 + 1.959963984540054 * 0.5 * 2.0)));
}

TEST_CASE("stage_recording: a C4-M1 + E1-M2 recording gets the one-EEG + EOG model e") {
  Hypnogram h;
  h.stages.assign(40, Stage::N2);
  for (size_t i = 0; i < 10; ++i) h.stages[i] = Stage::W;
  SimulationOptions so;
  so.fs_hz = 100;
  SimulatedNight night = simulate_night(h, so);
  // Keep C4-M1 and E1-M2 only (drop Fpz-Cz and the chin EMG).
  std::erase_if(night.signals, [](const SignalToWrite& s) { return s.label.find("C4") == std::string::npos && s.label.find("E1") == std::string::npos; });
  REQUIRE(night.signals.size() == 2);
  psgkit_test::TempDir dir("staging-e");
  const auto path = dir / "c4-e1.edf";
  write_edf(path, night.signals, night.annotations, night.write_options);
  const Recording rec = Recording::open(path);
  const RecordingStaging st = stage_recording(rec);
  CHECK(st.model == StagingModelId::Eeg1Eog);
  CHECK(st.eeg_channels.size() == 1);
  CHECK(st.eeg_channels[0].find("C4") != std::string::npos);
  CHECK(st.eog_channel.find("E1") != std::string::npos);
  CHECK(st.epochs.stages.size() == 40);
  CHECK(st.n3_variance_inflation >= 1.0);
  // The default (recipe on one thread per channel, domain check beside the classifier) gives exactly
  // what the calling thread alone gives.
  RecordingStagingOptions one_thread;
  one_thread.threads = 1;
  const RecordingStaging serial = stage_recording(rec, one_thread);
  CHECK(serial.epochs.probabilities == st.epochs.probabilities);
  CHECK(serial.domain.to_json() == st.domain.to_json());
  // Without its EOG the same recording gets model c.
  RecordingStagingOptions no_eog;
  no_eog.model = StagingModelId::Eeg1;
  CHECK(stage_recording(rec, no_eog).eog_channel.empty());
  // Age and sex are optional inputs; invalid values are errors.
  RecordingStagingOptions with;
  with.age_years = 70;
  with.sex = 'M';
  CHECK(stage_recording(rec, with).epochs.stages.size() == 40);
  with.sex = 'X';
  CHECK_THROWS_AS(stage_recording(rec, with), Error);
  with.sex = 'F';
  with.age_years = -3;
  CHECK_THROWS_AS(stage_recording(rec, with), Error);
}

TEST_CASE("shipped models: e takes age and sex optionally; a, b and c ignore them") {
  if (!psgkit_test::have_shared_data()) return;
  const FeatureTable table = read_feature_csv(timedomain_night());
  for (StagingModelId id : {StagingModelId::EegEog, StagingModelId::Eeg2, StagingModelId::Eeg1, StagingModelId::Eeg1Eog}) {
    const StagingModel model = StagingModel::load(id);
    const bool takes = id == StagingModelId::Eeg1Eog;
    CHECK(model.takes_demographics() == takes);
    CHECK(model.n3_variance_inflation() >= 1.0);  // 1 when the model was built without CV
    StagingOptions none, young, old;
    young.age_years = 25;
    old.age_years = 95;
    young.sex = old.sex = 'F';
    const auto p_none = model.predict_proba(table, none);
    const auto p_young = model.predict_proba(table, young), p_old = model.predict_proba(table, old);
    double n3_young = 0, n3_old = 0;
    for (size_t r = 0; r < table.rows(); ++r) {
      n3_young += p_young[r][3];
      n3_old += p_old[r][3];
    }
    CHECK(p_none.size() == table.rows());
    if (takes) {
      CHECK(n3_young != n3_old);  // the model uses the input
    } else {
      CHECK(n3_young == n3_old);  // no such columns: ignored
    }
  }
}

TEST_CASE("psgkit train: the CV report's N3 section agrees with its per-night figures") {
  if (!psgkit_test::have_shared_data()) return;
  psgkit_test::TempDir dir("staging-cv");
  StagingTrainOptions options;
  options.data_dir = psgkit_test::shared_data();
  options.models = {StagingModelId::Eeg2};
  options.max_nights = 8;
  options.folds = 2;
  options.rounds = 2;
  options.out_dir = dir.path;
  train_staging_models(options, nullptr);
  const auto report = nlohmann::json::parse(read_file(dir / "staging-cv-report-b.json"));
  const auto& s = report.at("models").at("b").at("cv").at("fpz_cz+pz_oz").at("hmm");
  std::vector<double> abs_err;
  std::map<std::string, std::vector<double>> by_subject;  // night-ordered (truth, pred) per subject
  for (const auto& n : s.at("nights")) {
    const double truth = n.at("n3_min_truth").get<double>(), pred = n.at("n3_min_pred").get<double>();
    abs_err.push_back(std::abs(pred - truth));
    by_subject[n.at("night").get<std::string>().substr(3, 2)].push_back(pred - truth);
  }
  REQUIRE(abs_err.size() == 8);
  std::sort(abs_err.begin(), abs_err.end());
  const auto& n3 = s.at("n3");
  // numpy-style percentiles of 8 values: median = mean of 4th and 5th, p90 at position 6.3.
  CHECK(n3.at("abs_error_min").at("median").get<double>() == doctest::Approx(0.5 * (abs_err[3] + abs_err[4])));
  CHECK(n3.at("abs_error_min").at("p90").get<double>() == doctest::Approx(abs_err[6] + 0.3 * (abs_err[7] - abs_err[6])));
  CHECK(n3.at("abs_error_min").at("max").get<double>() == doctest::Approx(abs_err[7]));
  std::vector<double> change;
  for (const auto& [subject, e] : by_subject)
    if (e.size() == 2) change.push_back(std::abs(e[1] - e[0]));
  std::sort(change.begin(), change.end());
  REQUIRE(!change.empty());
  CHECK(n3.at("change_abs_error_min").at("max").get<double>() == doctest::Approx(change.back()));
  // Worst nights: up to ten, by decreasing abs error, the first being the maximum.
  const auto& worst = n3.at("worst_nights");
  CHECK(worst.size() == 8);
  CHECK(std::abs(worst.at(0).at("n3_min_error").get<double>()) == doctest::Approx(abs_err.back()));
  for (size_t i = 1; i < worst.size(); ++i)
    CHECK(std::abs(worst.at(i).at("n3_min_error").get<double>()) <= std::abs(worst.at(i - 1).at("n3_min_error").get<double>()));
  // Coverage in [0, 1] and the markdown carries the section.
  const double coverage = n3.at("expected_interval_coverage").get<double>();
  CHECK(coverage >= 0.0);
  CHECK(coverage <= 1.0);
  const std::string md = read_file(dir / "staging-cv-report-b.md");
  CHECK(md.find("Ten worst nights by abs N3 error") != std::string::npos);
  CHECK(md.find("night-to-night abs change error") != std::string::npos);
  // The model file carries the inflation fitted in CV.
  CHECK(StagingModel::load(dir / "staging-b-eeg2.ubj").n3_variance_inflation() ==
        doctest::Approx(report.at("models").at("b").at("n3_variance_inflation").get<double>()));
  // b has one view: the model's inflation is the one fitted on all its nights (rounded to 4 decimals).
  CHECK(report.at("models").at("b").at("n3_variance_inflation").get<double>() ==
        doctest::Approx(std::max(1.0, n3.at("variance_inflation_all_nights").get<double>())).epsilon(1e-6));
}

TEST_CASE("shipped models with one view carry the inflation their CV report fitted on all nights") {
  // The fit must use the nights' unrounded figures: rounded to 4 decimals, a confident night's
  // Bernoulli variance (1e-5) turns into 0 or 1e-4 and the fit of model a moved from 1315 to 1884.
  const auto dir = psgkit_test::source_dir() / "data/models";
  for (const auto& [id, view] : std::vector<std::pair<std::string, std::string>>{
           {"a", "fpz_cz+pz_oz+eog"}, {"b", "fpz_cz+pz_oz"}}) {
    const auto report = nlohmann::json::parse(read_file(dir / ("staging-cv-report-" + id + ".json")));
    const auto& model = report.at("models").at(id);
    const double fitted = model.at("cv").at(view).at("hmm").at("n3").at("variance_inflation_all_nights").get<double>();
    CAPTURE(id);
    CHECK(model.at("n3_variance_inflation").get<double>() == doctest::Approx(fitted).epsilon(1e-6));
    CHECK(StagingModel::load(*parse_staging_model_id(id)).n3_variance_inflation() == doctest::Approx(fitted).epsilon(1e-6));
  }
}

// ---- Stacked sequential learning (model a's second level) ----


TEST_CASE("second level: its inputs are the neighbouring rows' probabilities and their long mean") {
  // Row r's first-level probabilities: (r, 10 r, 100 r, 1000 r, 0) / 1111 r (row 0: all 0.2).
  std::vector<StageProbabilities> p(30);
  for (size_t r = 0; r < p.size(); ++r)
    for (int s = 0; s < kNumSleepStages; ++s)
      p[r][s] = r == 0 ? 0.2f : (s == 4 ? 0.0f : static_cast<float>(std::pow(10.0, s) * r / (1111.0 * r)));
  const staging_detail::StackSpec spec{2, 3};
  REQUIRE(staging_detail::level2_columns(spec) == 6 * kNumSleepStages);
  const std::vector<float> d = staging_detail::build_level2_design(p, spec);
  REQUIRE(d.size() == p.size() * 30);
  auto at = [&](size_t r, size_t c) { return d[r * 30 + c]; };
  // Row 10, offset d = -2..2 in columns (d + 2) * 5 + s.
  for (int off = -2; off <= 2; ++off)
    for (int s = 0; s < kNumSleepStages; ++s) CHECK(at(10, static_cast<size_t>((off + 2) * 5 + s)) == p[10 + off][s]);
  // Beyond the recording: missing (NaN), not zero.
  CHECK(std::isnan(at(0, 0)));
  CHECK(std::isnan(at(1, 4)));
  CHECK(std::isnan(at(29, 3 * 5 + 2)));
  CHECK(at(29, 2 * 5 + 2) == p[29][2]);
  // Long mean over rows r-3..r+3, clipped at the ends: row 0 averages rows 0..3.
  for (int s = 0; s < kNumSleepStages; ++s) {
    double mean0 = 0, mean10 = 0;
    for (size_t r = 0; r <= 3; ++r) mean0 += p[r][s] / 4.0;
    for (size_t r = 7; r <= 13; ++r) mean10 += p[r][s] / 7.0;
    CHECK(at(0, 25 + static_cast<size_t>(s)) == doctest::Approx(mean0).epsilon(1e-6));
    CHECK(at(10, 25 + static_cast<size_t>(s)) == doctest::Approx(mean10).epsilon(1e-6));
  }
}

TEST_CASE("base64_decode inverts png::base64 and refuses bad text") {
  std::mt19937 rng(3);
  for (size_t n : {0, 1, 2, 3, 4, 5, 100, 1001}) {
    std::string bytes(n, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 255);
    CHECK(staging_detail::base64_decode(png::base64(bytes), "f") == bytes);
  }
  CHECK(staging_detail::base64_decode("TWFu", "f") == "Man");  // RFC 4648's example
  CHECK(staging_detail::base64_decode("TWE=", "f") == "Ma");
  CHECK_THROWS_AS(staging_detail::base64_decode("TWF", "f"), Error);
  CHECK_THROWS_AS(staging_detail::base64_decode("TW?u", "f"), Error);
}

TEST_CASE("psgkit train: a stacked model's second level is trained, reported, and evaluated as XGBoost does") {
  if (!psgkit_test::have_shared_data()) return;
  psgkit_test::TempDir dir("staging-stack");
  StagingTrainOptions options;
  options.data_dir = psgkit_test::shared_data();
  options.models = {StagingModelId::EegEog};
  options.stack = true;
  options.max_nights = 6;
  options.folds = 2;
  options.rounds = 2;
  options.out_dir = dir / "one";
  train_staging_models(options, nullptr);
  const std::string name = staging_model_file_name(StagingModelId::EegEog);
  const StagingModel model = StagingModel::load(dir / "one" / name);
  REQUIRE(model.has_second_level());
  // The report compares the stacked model with its first level alone on the same folds.
  const auto report = nlohmann::json::parse(read_file(dir / "one" / "staging-cv-report-a.json"));
  const auto& view = report.at("models").at("a").at("cv").at("fpz_cz+pz_oz+eog");
  CHECK(view.contains("headline_first_level_only"));
  CHECK(report.at("models").at("a").at("level2").at("half_rows").get<int>() == 7);
  // Deterministic: a second run writes the same bytes.
  options.out_dir = dir / "two";
  train_staging_models(options, nullptr);
  CHECK(read_file(dir / "one" / name) == read_file(dir / "two" / name));
  // psgkit's evaluation equals libxgboost's predictor on both levels.
  const FeatureTable table = read_feature_csv(timedomain_night());
  const auto ours = model.predict_proba(table), oracle = xgboost_oracle(model, table);
  size_t differing = 0;
  for (size_t r = 0; r < table.rows(); ++r) differing += ours[r] != oracle[r];
  CHECK(differing == 0);
  CHECK(std::set<StageProbabilities>(ours.begin(), ours.end()).size() > table.rows() / 2);
}
