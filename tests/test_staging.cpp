// Staging: HMM closed forms, shipped models on real nights (library and CLI), determinism, errors.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

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
