#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "psgkit/error.hpp"
#include "psgkit/evaluate.hpp"
#include "psgkit/hypnogram.hpp"
#include "support.hpp"

using namespace psgkit;

namespace {

// Hand-made confusion matrix (rows truth, columns prediction, order W N1 N2 N3 REM):
//        W  N1  N2  N3 REM | row
//   W    8   2   0   0   0 |  10
//   N1   1   3   1   0   0 |   5
//   N2   0   1  15   2   2 |  20
//   N3   0   0   1   9   0 |  10
//   REM  0   1   1   0   3 |   5
//   col  9   7  18  11   5 |  N = 50
// accuracy p_o = (8+3+15+9+3)/50 = 38/50 = 0.76
// p_e = (10*9 + 5*7 + 20*18 + 10*11 + 5*5) / 50^2 = 620/2500 = 0.248
// kappa = (0.76 - 0.248) / (1 - 0.248) = 0.512/0.752 = 32/47
// F1_k = 2 C_kk / (row_k + col_k): W 16/19, N1 6/12, N2 30/38, N3 18/21, REM 6/10
// precision W = 8/9, recall W = 8/10; N3 minutes (30-s epochs): truth 10/2 = 5, prediction 11/2 = 5.5
const ConfusionMatrix kHand = {{{8, 2, 0, 0, 0}, {1, 3, 1, 0, 0}, {0, 1, 15, 2, 2}, {0, 0, 1, 9, 0}, {0, 1, 1, 0, 3}}};
const double kHandKappa = 32.0 / 47.0;
const double kHandF1[5] = {16.0 / 19.0, 0.5, 30.0 / 38.0, 18.0 / 21.0, 0.6};
const double kHandMacroF1 = (16.0 / 19.0 + 0.5 + 30.0 / 38.0 + 18.0 / 21.0 + 0.6) / 5.0;

// Label vectors realising a confusion matrix, in row-major order.
void labels_from_confusion(const ConfusionMatrix& c, std::vector<Stage>& truth, std::vector<Stage>& pred) {
  for (int t = 0; t < 5; ++t)
    for (int p = 0; p < 5; ++p)
      for (int64_t i = 0; i < c[t][p]; ++i) {
        truth.push_back(static_cast<Stage>(t));
        pred.push_back(static_cast<Stage>(p));
      }
}

void check_hand_numbers(const Agreement& a) {
  CHECK(a.n_epochs == 50);
  CHECK(a.accuracy == doctest::Approx(0.76).epsilon(1e-12));
  CHECK(a.kappa == doctest::Approx(kHandKappa).epsilon(1e-12));
  CHECK(a.macro_f1 == doctest::Approx(kHandMacroF1).epsilon(1e-12));
  for (int k = 0; k < 5; ++k) CHECK(a.per_stage[k].f1 == doctest::Approx(kHandF1[k]).epsilon(1e-12));
  CHECK(a.per_stage[0].precision == doctest::Approx(8.0 / 9.0));
  CHECK(a.per_stage[0].recall == doctest::Approx(0.8));
  CHECK(a.n3_min_truth == doctest::Approx(5.0));
  CHECK(a.n3_min_pred == doctest::Approx(5.5));
  CHECK(a.confusion == kHand);
}

Hypnogram make_hypnogram(std::vector<Stage> stages, double start_s = 0, double epoch_s = 30) {
  Hypnogram h;
  h.epoch_s = epoch_s;
  h.start_s = start_s;
  h.stages = std::move(stages);
  return h;
}

}  // namespace

TEST_CASE("kappa, F1, accuracy and N3 minutes match the hand-computed confusion matrix") {
  check_hand_numbers(agreement_from_confusion(kHand, 30.0));
  std::vector<Stage> truth, pred;
  labels_from_confusion(kHand, truth, pred);
  check_hand_numbers(agreement_from_labels(truth, pred));
  check_hand_numbers(evaluate(make_hypnogram(truth), make_hypnogram(pred)));
}

TEST_CASE("UNS in the truth and missing predictions are left out") {
  using S = Stage;
  const std::vector<Stage> truth = {S::W, S::UNS, S::N2, S::N2, S::REM, S::N3};
  const std::vector<Stage> pred = {S::W, S::N2, S::UNS, S::N2, S::N2, S::N3};
  const Agreement a = agreement_from_labels(truth, pred);
  // Compared pairs: (W,W) (N2,N2) (REM,N2) (N3,N3) -> 3 of 4 right.
  CHECK(a.n_epochs == 4);
  CHECK(a.n_skipped_unscored == 1);
  CHECK(a.n_skipped_unpredicted == 1);
  CHECK(a.accuracy == doctest::Approx(0.75));
  // N1 occurs in neither: F1 undefined and not averaged. F1: W 1, N2 2/3, N3 1, REM 0 -> mean 2/3.
  CHECK(std::isnan(a.per_stage[1].f1));
  CHECK(a.per_stage[4].f1 == 0.0);
  CHECK(a.macro_f1 == doctest::Approx((1 + 2.0 / 3.0 + 1 + 0) / 4.0));
  // p_o = 3/4; p_e = (1*1 + 1*2 + 1*0 + 1*1 ... ) / 16: rows W1 N2:1 N3:1 REM:1, cols W1 N2:2 N3:1 -> (1+2+1)/16
  CHECK(a.kappa == doctest::Approx((0.75 - 0.25) / 0.75));

  CHECK(std::isnan(agreement_from_labels(std::vector<Stage>{S::N2, S::N2}, std::vector<Stage>{S::N2, S::N2}).kappa));
  CHECK_THROWS_AS(agreement_from_labels(std::vector<Stage>{S::W}, std::vector<Stage>{S::W, S::W}), Error);
  CHECK_THROWS_AS(agreement_from_labels(std::vector<Stage>{S::UNS}, std::vector<Stage>{S::W}), Error);
}

TEST_CASE("crop-wake keeps epochs from crop minutes before the first to after the last sleep epoch") {
  using S = Stage;
  // 10 W, N2 N2 N2 (10-12), W (13), REM (14), 10 W (15-24). Prediction: all W.
  std::vector<Stage> truth(10, S::W);
  for (S s : {S::N2, S::N2, S::N2, S::W, S::REM}) truth.push_back(s);
  truth.insert(truth.end(), 10, S::W);
  const Hypnogram t = make_hypnogram(truth), p = make_hypnogram(std::vector<Stage>(25, S::W));
  // No crop: 25 epochs, 21 W right.
  CHECK(evaluate(t, p).n_epochs == 25);
  CHECK(evaluate(t, p).accuracy == doctest::Approx(21.0 / 25.0));
  // 1 min = 2 epochs either side: epochs 8..16 -> W at 8, 9, 13, 15, 16 = 5 of 9.
  const Agreement a = evaluate(t, p, {.crop_wake_min = 1.0});
  CHECK(a.n_epochs == 9);
  CHECK(a.accuracy == doctest::Approx(5.0 / 9.0));
  CHECK(a.confusion[0][0] == 5);
  CHECK(a.confusion[2][0] == 3);
  // 1.4 min = 2.8 epochs -> floor to 2.
  CHECK(evaluate(t, p, {.crop_wake_min = 1.4}).n_epochs == 9);
  CHECK(evaluate(t, p, {.crop_wake_min = 0.0}).n_epochs == 5);
  CHECK_THROWS_AS(evaluate(p, p, {.crop_wake_min = 30.0}), Error);  // no sleep in the truth
}

TEST_CASE("hypnograms are aligned by onset; misaligned grids are errors") {
  using S = Stage;
  const Hypnogram truth = make_hypnogram({S::W, S::W, S::N1, S::N2, S::N3, S::N3});
  // Prediction starts 60 s (2 epochs) later: truth epochs 0 and 1 have no prediction.
  const Hypnogram pred = make_hypnogram({S::N1, S::N2, S::N3, S::N2, S::REM}, 60.0);
  const Agreement a = evaluate(truth, pred);
  CHECK(a.n_epochs == 4);
  CHECK(a.n_skipped_unpredicted == 2);
  CHECK(a.accuracy == doctest::Approx(0.75));
  CHECK_THROWS_WITH_AS(evaluate(truth, make_hypnogram({S::W}, 15.0)), doctest::Contains("whole number"), Error);
  CHECK_THROWS_WITH_AS(evaluate(truth, make_hypnogram({S::W}, 0.0, 20.0)), doctest::Contains("re-epoch"), Error);
}

TEST_CASE("psgkit evaluate --json prints the expected numbers") {
  if (psgkit_test::cli_path().empty()) {
    MESSAGE("SKIPPED: psgkit CLI not built");
    return;
  }
  psgkit_test::TempDir dir("evaluate");
  std::vector<Stage> truth, pred;
  labels_from_confusion(kHand, truth, pred);
  // Shuffle-free but with an UNS epoch in the truth that must be left out.
  truth.push_back(Stage::UNS);
  pred.push_back(Stage::W);
  write_hypnogram_csv(dir / "truth.csv", make_hypnogram(truth));
  write_hypnogram_csv(dir / "pred.csv", make_hypnogram(pred));
  const auto r = psgkit_test::run_command(psgkit_test::cli_path() + " evaluate --truth " + (dir / "truth.csv").string() +
                                          " --pred " + (dir / "pred.csv").string() + " --json");
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.output);
  CHECK(j["n_epochs"] == 50);
  CHECK(j["accuracy"].get<double>() == doctest::Approx(0.76));
  CHECK(j["kappa"].get<double>() == doctest::Approx(kHandKappa));
  CHECK(j["macro_f1"].get<double>() == doctest::Approx(kHandMacroF1));
  CHECK(j["f1"]["N2"].get<double>() == doctest::Approx(30.0 / 38.0));
  CHECK(j["labels"] == nlohmann::json::array({"W", "N1", "N2", "N3", "REM"}));
  CHECK(j["confusion"][2] == nlohmann::json::array({0, 1, 15, 2, 2}));
  CHECK(j["n3_min_truth"].get<double>() == doctest::Approx(5.0));
  CHECK(j["n3_min_pred"].get<double>() == doctest::Approx(5.5));

  const auto human = psgkit_test::run_command(psgkit_test::cli_path() + " evaluate --truth " +
                                              (dir / "truth.csv").string() + " --pred " + (dir / "pred.csv").string());
  CHECK(human.exit_code == 0);
  CHECK(human.output.find("confusion") != std::string::npos);
  const auto bad = psgkit_test::run_command(psgkit_test::cli_path() + " evaluate --truth " + (dir / "truth.csv").string() +
                                            " --pred " + (dir / "truth.csv").string() + " --crop-wake -3 2>&1");
  CHECK(bad.exit_code != 0);
}
