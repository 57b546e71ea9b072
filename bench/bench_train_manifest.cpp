// psgkit train --manifest on the simulated night (PSGKIT_BENCH_EDF), listed N times in a manifest under
// N subjects (the same night N times: XGBoost's cost depends on rows, not on their variety), labels
// from a CSV hypnogram converted from the night's EDF+ stage annotations once:
//  - BM_TrainFeatures/N: feature extraction of N nights (1 boosting round, no CV); the slope per night
//    compares with BM_StageOwnModel, `psgkit stage`'s whole path on the same night (same features, the
//    tiny classifier of a 1-round model): the training path must not be slower per night.
//  - BM_TrainFeaturesAnnotations/1: labels from the EDF+ annotations instead (their parse is extra).
//  - BM_TrainModel/N: 60 rounds without CV; BM_TrainCv/N: with 10-fold subject-wise CV (11 fits).
// CPU time is the meaningful column on a shared machine (notes/train.md).
#include <fstream>
#include <string>

#include "bench_common.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/io.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/staging.hpp"

namespace {

std::filesystem::path manifest_of(int nights, bool annotations = false) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto hypnogram = dir / "psgkit-bench-manifest-hypnogram.csv";
  if (!annotations) psgkit::write_hypnogram_csv(hypnogram, psgkit::read_hypnogram(psgkit_bench::night_edf()));
  const auto path = dir / ("psgkit-bench-manifest-" + std::to_string(nights) + ".csv");
  std::string text = "subject,path,hypnogram\n";
  for (int i = 0; i < nights; ++i)
    text += "s" + std::to_string(i) + "," + psgkit_bench::night_edf().string() + "," +
            (annotations ? std::string() : hypnogram.string()) + "\n";
  psgkit::write_file_atomic(path, text);
  return path;
}

double night_bytes(int nights) {
  const psgkit::Recording rec = psgkit::Recording::open(psgkit_bench::night_edf());
  return psgkit_bench::edf_sample_bytes(rec.signals()[static_cast<size_t>(rec.require_signal("C4-M1"))].n_samples) * nights;
}

void run_train(benchmark::State& state, int rounds, bool cv, bool annotations = false) {
  const int nights = static_cast<int>(state.range(0));
  const auto manifest = manifest_of(nights, annotations);
  psgkit::ManifestTrainOptions options;
  options.eeg = {"C4-M1"};
  options.rounds = rounds;
  options.cross_validate = cv;
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) benchmark::DoNotOptimize(psgkit::train_staging_model(manifest, options));
  psgkit_bench::report(state, night_bytes(nights), 0);
  state.counters["nights"] = nights;
}

void BM_TrainFeatures(benchmark::State& state) { run_train(state, 1, false); }
void BM_TrainFeaturesAnnotations(benchmark::State& state) { run_train(state, 1, false, true); }
void BM_TrainModel(benchmark::State& state) { run_train(state, 60, false); }
void BM_TrainCv(benchmark::State& state) { run_train(state, 60, true); }

// `psgkit stage --model FILE` on the same night and channel, with a model trained here on it.
void BM_StageOwnModel(benchmark::State& state) {
  const auto model = std::filesystem::temp_directory_path() / "psgkit-bench-own-model.ubj";
  psgkit::ManifestTrainOptions train;
  train.eeg = {"C4-M1"};
  train.rounds = 1;
  train.cross_validate = false;
  psgkit::write_trained_staging_model(psgkit::train_staging_model(manifest_of(1), train), model);
  const psgkit::Recording rec = psgkit::Recording::open(psgkit_bench::night_edf());
  psgkit::RecordingStagingOptions options;
  options.eeg = {"C4-M1"};
  options.model_file = model;
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) benchmark::DoNotOptimize(psgkit::stage_recording(rec, options));
  psgkit_bench::report(state, night_bytes(1), 0);
}

}  // namespace

BENCHMARK(BM_TrainFeatures)->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainFeaturesAnnotations)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StageOwnModel)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainModel)->Arg(4)->Arg(8)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_TrainCv)->Arg(8)->Unit(benchmark::kMillisecond)->Iterations(1);
