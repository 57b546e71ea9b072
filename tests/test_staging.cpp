// Staging: HMM closed forms, shipped models on real nights (library and CLI), determinism, errors,
// and psgkit's boosted-tree evaluator (internal header) against XGBoost's predictor.
#include <xgboost/c_api.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "boosted_trees_internal.hpp"

#include "psgkit/error.hpp"
#include "psgkit/evaluate.hpp"
#include "psgkit/io.hpp"
#include "psgkit/staging.hpp"
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

// ---- psgkit's own evaluation of the boosted trees (src/boosted_trees.cpp) ----

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
    BoosterHandle booster = nullptr;
    REQUIRE(XGBoosterCreate(nullptr, 0, &booster) == 0);
    REQUIRE(XGBoosterLoadModel(booster, model.path().string().c_str()) == 0);
    for (const FeatureTable& table : tables) {
      const std::vector<float> design = model.design_matrix(table);
      const size_t cols = model.design_columns().size();
      REQUIRE(design.size() == table.rows() * cols);
      DMatrixHandle matrix = nullptr;
      REQUIRE(XGDMatrixCreateFromMat(design.data(), table.rows(), cols, std::numeric_limits<float>::quiet_NaN(),
                                     &matrix) == 0);
      bst_ulong n = 0;
      const float* oracle = nullptr;
      REQUIRE(XGBoosterPredict(booster, matrix, 0, 0, 0, &n, &oracle) == 0);
      REQUIRE(n == table.rows() * kNumSleepStages);
      const std::vector<StageProbabilities> ours = model.predict_proba(table);
      size_t differing = 0;
      for (size_t r = 0; r < table.rows(); ++r)
        for (int s = 0; s < kNumSleepStages; ++s) differing += ours[r][s] != oracle[r * kNumSleepStages + s];
      CHECK(differing == 0);
      // The rows reach different leaves, not one corner of the trees.
      CHECK(std::set<StageProbabilities>(ours.begin(), ours.end()).size() > table.rows() / 2);
      XGDMatrixFree(matrix);
    }
    XGBoosterFree(booster);
  }
}
