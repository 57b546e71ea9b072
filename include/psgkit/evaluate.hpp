// Agreement of a predicted hypnogram with a reference ("truth") hypnogram, epoch by epoch:
// accuracy, Cohen's kappa, per-stage precision / recall / F1, macro-F1 and the confusion matrix over
// the five stages W, N1, N2, N3, REM (the metrics YASA and the staging literature report).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "psgkit/hypnogram.hpp"

namespace psgkit {

struct StageAgreement {
  int64_t n_truth = 0;  // epochs of this stage in the truth (row sum)
  int64_t n_pred = 0;   // epochs predicted as this stage (column sum)
  // precision = C_kk / n_pred, recall = C_kk / n_truth (0 when the denominator is 0, as scikit-learn),
  // f1 = 2 C_kk / (n_truth + n_pred); NaN when the stage occurs in neither (undefined, not counted).
  double precision = 0, recall = 0, f1 = 0;
};

// Confusion matrix: rows truth, columns prediction, order W, N1, N2, N3, REM.
using ConfusionMatrix = std::array<std::array<int64_t, kNumSleepStages>, kNumSleepStages>;

struct Agreement {
  int64_t n_epochs = 0;         // epochs compared (truth scored, prediction present)
  double accuracy = 0;          // sum_k C_kk / N
  // Cohen (1960): (p_o - p_e) / (1 - p_e), p_o = accuracy, p_e = sum_k (n_truth_k / N)(n_pred_k / N);
  // NaN when p_e = 1 (both raters used one and the same stage throughout).
  double kappa = 0;
  // Mean F1 over the stages that occur in the truth or the prediction (scikit-learn's
  // f1_score(average="macro") without `labels`): a stage absent from both is not counted as 0.
  double macro_f1 = 0;
  std::array<StageAgreement, kNumSleepStages> per_stage{};
  ConfusionMatrix confusion{};
  double n3_min_truth = 0;      // N3 minutes among the compared epochs, truth
  double n3_min_pred = 0;       // N3 minutes among the compared epochs, prediction
  int64_t n_skipped_unscored = 0;     // truth epochs left out because the truth is UNS
  int64_t n_skipped_unpredicted = 0;  // scored truth epochs without a prediction (absent or UNS)
};

// Metrics from a confusion matrix; `epoch_s` (seconds) converts N3 epochs to minutes.
// Throws psgkit::Error when the matrix is empty.
Agreement agreement_from_confusion(const ConfusionMatrix& confusion, double epoch_s = 30.0);

// Metrics from two label vectors of equal length (e.g. cross-validation folds). Pairs where either
// label is UNS are left out (counted in n_skipped_*). Throws psgkit::Error on a length mismatch or
// when no pair is left.
Agreement agreement_from_labels(std::span<const Stage> truth, std::span<const Stage> pred, double epoch_s = 30.0);

struct EvaluateOptions {
  // Sleep-EDF protocol (e.g. Supratak et al. 2017, YASA's validation): keep only truth epochs from
  // crop_wake_min minutes before the first to crop_wake_min minutes after the last sleep epoch
  // (N1/N2/N3/REM) of the truth; floor(crop_wake_min * 60 / epoch_s) epochs either side.
  std::optional<double> crop_wake_min;
};

// Compares two hypnograms epoch by epoch, aligned by onset time. Both must have the same epoch_s and
// their starts must differ by a whole number of epochs (otherwise psgkit::Error: re-epoch first);
// truth epochs outside the prediction, or predicted UNS, count as unpredicted and are left out,
// as are UNS epochs of the truth. Throws psgkit::Error when nothing is left to compare.
Agreement evaluate(const Hypnogram& truth, const Hypnogram& pred, const EvaluateOptions& options = {});

// JSON object: n_epochs, accuracy, kappa, macro_f1, f1 {W,N1,N2,N3,REM}, precision {...}, recall {...},
// confusion (5x5, rows truth), labels, n3_min_truth, n3_min_pred, n_skipped_unscored,
// n_skipped_unpredicted. NaN is written as null.
std::string agreement_json(const Agreement& agreement);
// Human-readable table of the per-stage metrics and the confusion matrix.
std::string format_agreement(const Agreement& agreement);

}  // namespace psgkit
