#include "psgkit/evaluate.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "psgkit/error.hpp"
#include "psgkit/io.hpp"

namespace psgkit {

namespace {
constexpr std::array<const char*, kNumSleepStages> kLabels = {"W", "N1", "N2", "N3", "REM"};
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

Agreement agreement_from_confusion(const ConfusionMatrix& confusion, double epoch_s) {
  Agreement out;
  out.confusion = confusion;
  int64_t diagonal = 0;
  for (int t = 0; t < kNumSleepStages; ++t)
    for (int p = 0; p < kNumSleepStages; ++p) {
      out.n_epochs += confusion[t][p];
      out.per_stage[t].n_truth += confusion[t][p];
      out.per_stage[p].n_pred += confusion[t][p];
      if (t == p) diagonal += confusion[t][p];
    }
  if (out.n_epochs <= 0) throw Error("", "", "no epochs with both a scored truth and a prediction to compare");
  const double n = static_cast<double>(out.n_epochs);
  out.accuracy = static_cast<double>(diagonal) / n;
  double expected = 0, f1_sum = 0;
  int f1_count = 0;
  for (int k = 0; k < kNumSleepStages; ++k) {
    StageAgreement& s = out.per_stage[k];
    const double hits = static_cast<double>(confusion[k][k]);
    expected += (static_cast<double>(s.n_truth) / n) * (static_cast<double>(s.n_pred) / n);
    s.precision = s.n_pred > 0 ? hits / static_cast<double>(s.n_pred) : 0.0;
    s.recall = s.n_truth > 0 ? hits / static_cast<double>(s.n_truth) : 0.0;
    if (s.n_truth + s.n_pred == 0) {
      s.f1 = kNaN;
    } else {
      s.f1 = 2.0 * hits / static_cast<double>(s.n_truth + s.n_pred);
      f1_sum += s.f1;
      ++f1_count;
    }
  }
  out.kappa = expected < 1.0 ? (out.accuracy - expected) / (1.0 - expected) : kNaN;
  out.macro_f1 = f1_sum / f1_count;
  const auto n3 = static_cast<int>(Stage::N3);
  out.n3_min_truth = static_cast<double>(out.per_stage[n3].n_truth) * epoch_s / 60.0;
  out.n3_min_pred = static_cast<double>(out.per_stage[n3].n_pred) * epoch_s / 60.0;
  return out;
}

Agreement agreement_from_labels(std::span<const Stage> truth, std::span<const Stage> pred, double epoch_s) {
  if (truth.size() != pred.size())
    throw Error("", "labels", "truth has " + std::to_string(truth.size()) + " labels, prediction " +
                                  std::to_string(pred.size()));
  ConfusionMatrix confusion{};
  int64_t unscored = 0, unpredicted = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] == Stage::UNS) {
      ++unscored;
    } else if (pred[i] == Stage::UNS) {
      ++unpredicted;
    } else {
      ++confusion[static_cast<int>(truth[i])][static_cast<int>(pred[i])];
    }
  }
  Agreement out = agreement_from_confusion(confusion, epoch_s);
  out.n_skipped_unscored = unscored;
  out.n_skipped_unpredicted = unpredicted;
  return out;
}

Agreement evaluate(const Hypnogram& truth, const Hypnogram& pred, const EvaluateOptions& options) {
  constexpr double kTolerance_s = 1e-6;
  if (std::abs(truth.epoch_s - pred.epoch_s) > kTolerance_s)
    throw Error("", "epoch_s",
                "truth epochs are " + format_double(truth.epoch_s) + " s, prediction epochs " +
                    format_double(pred.epoch_s) + " s: re-epoch one of them first");
  const double shift = (pred.start_s - truth.start_s) / truth.epoch_s;
  const double shift_epochs = std::round(shift);
  if (std::abs(shift - shift_epochs) * truth.epoch_s > kTolerance_s)
    throw Error("", "start_s",
                "prediction starts at " + format_double(pred.start_s) + " s, truth at " + format_double(truth.start_s) +
                    " s: not a whole number of " + format_double(truth.epoch_s) + " s epochs apart");
  const auto offset = static_cast<long long>(shift_epochs);  // truth epoch i is prediction epoch i - offset

  long long first = 0, last = static_cast<long long>(truth.size()) - 1;
  if (options.crop_wake_min) {
    if (!(*options.crop_wake_min >= 0)) throw Error("", "crop_wake_min", "must be a non-negative number of minutes");
    long long first_sleep = -1, last_sleep = -1;
    for (size_t i = 0; i < truth.size(); ++i)
      if (is_sleep(truth.stages[i])) {
        if (first_sleep < 0) first_sleep = static_cast<long long>(i);
        last_sleep = static_cast<long long>(i);
      }
    if (first_sleep < 0) throw Error("", "crop_wake_min", "the truth has no sleep epoch to crop around");
    const auto margin = static_cast<long long>(std::floor(*options.crop_wake_min * 60.0 / truth.epoch_s + 1e-9));
    first = std::max(first, first_sleep - margin);
    last = std::min(last, last_sleep + margin);
  }
  std::vector<Stage> truth_labels, pred_labels;
  truth_labels.reserve(static_cast<size_t>(std::max(0LL, last - first + 1)));
  pred_labels.reserve(truth_labels.capacity());
  for (long long i = first; i <= last; ++i) {
    const long long j = i - offset;
    truth_labels.push_back(truth.stages[static_cast<size_t>(i)]);
    pred_labels.push_back(j >= 0 && j < static_cast<long long>(pred.size()) ? pred.stages[static_cast<size_t>(j)] : Stage::UNS);
  }
  return agreement_from_labels(truth_labels, pred_labels, truth.epoch_s);
}

std::string agreement_json(const Agreement& a) {
  nlohmann::ordered_json j;
  auto number = [](double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr); };
  j["n_epochs"] = a.n_epochs;
  j["accuracy"] = number(a.accuracy);
  j["kappa"] = number(a.kappa);
  j["macro_f1"] = number(a.macro_f1);
  for (const char* key : {"f1", "precision", "recall"}) {
    nlohmann::ordered_json per = nlohmann::ordered_json::object();
    for (int k = 0; k < kNumSleepStages; ++k) {
      const StageAgreement& s = a.per_stage[k];
      per[kLabels[k]] = number(key[0] == 'f' ? s.f1 : key[0] == 'p' ? s.precision : s.recall);
    }
    j[key] = per;
  }
  j["confusion"] = a.confusion;
  j["labels"] = kLabels;
  j["n3_min_truth"] = a.n3_min_truth;
  j["n3_min_pred"] = a.n3_min_pred;
  j["n_skipped_unscored"] = a.n_skipped_unscored;
  j["n_skipped_unpredicted"] = a.n_skipped_unpredicted;
  return j.dump(2) + "\n";
}

std::string format_agreement(const Agreement& a) {
  std::string out = fmt::format("epochs compared: {}  (left out: {} unscored in truth, {} without prediction)\n",
                                a.n_epochs, a.n_skipped_unscored, a.n_skipped_unpredicted);
  out += fmt::format("accuracy {:.4f}   Cohen's kappa {:.4f}   macro-F1 {:.4f}\n", a.accuracy, a.kappa, a.macro_f1);
  out += fmt::format("N3 minutes: truth {:.1f}, prediction {:.1f}\n\n", a.n3_min_truth, a.n3_min_pred);
  out += fmt::format("{:<6}{:>8}{:>8}{:>11}{:>8}{:>8}\n", "stage", "truth", "pred", "precision", "recall", "F1");
  for (int k = 0; k < kNumSleepStages; ++k) {
    const StageAgreement& s = a.per_stage[k];
    out += fmt::format("{:<6}{:>8}{:>8}{:>11.4f}{:>8.4f}{:>8.4f}\n", kLabels[k], s.n_truth, s.n_pred, s.precision,
                       s.recall, s.f1);
  }
  out += "\nconfusion (rows truth, columns prediction)\n";
  out += fmt::format("{:<6}", "");
  for (const char* label : kLabels) out += fmt::format("{:>8}", label);
  out += '\n';
  for (int t = 0; t < kNumSleepStages; ++t) {
    out += fmt::format("{:<6}", kLabels[t]);
    for (int p = 0; p < kNumSleepStages; ++p) out += fmt::format("{:>8}", a.confusion[t][p]);
    out += '\n';
  }
  return out;
}

}  // namespace psgkit
