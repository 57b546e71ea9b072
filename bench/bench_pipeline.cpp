// Whole-night staging on the simulated night (PSGKIT_BENCH_EDF), step by step as stage_recording does
// it (src/staging_recording.cpp, recipes.cpp compute_recipe) and as a whole, plus the bound.
//
// Channel and model: stage_recording picks Fpz-Cz (first of its EEG preference list) and the
// one-channel model c on the simulated montage; BM_StagePipeline checks that it still does, so the steps
// stay the steps of the whole.
#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "psgkit/preprocess.hpp"
#include "psgkit/recipes.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/staging.hpp"

namespace {

constexpr const char* kStageEeg = "Fpz-Cz";
constexpr psgkit::StagingModelId kStageModel = psgkit::StagingModelId::Eeg1;
const std::vector<std::string> kStagePrefixes = {"eeg"};  // stage_recording's prefix for model c

struct NightChannel {
  std::vector<float> samples_uv;  // native rate
  double fs_hz = 0;
};

NightChannel read_stage_channel() {
  const psgkit::Recording rec = psgkit::Recording::open(psgkit_bench::night_edf());
  const int index = rec.require_signal(kStageEeg);
  return {rec.read(index), rec.signals()[static_cast<size_t>(index)].fs_hz};
}

// As compute_recipe: resampled in float, then widened to double for the recipe.
std::vector<double> stage_channel_100hz(const NightChannel& channel) {
  const std::vector<float> y =
      psgkit::Resampler(channel.fs_hz, psgkit::kSleepEdfFsHz).process(std::span<const float>(channel.samples_uv));
  return {y.begin(), y.end()};
}

psgkit::FeatureTable stage_features(std::span<const double> x_100hz) {
  const std::vector<psgkit::RecipeChannel> channels = {{kStagePrefixes[0], x_100hz}};
  psgkit::RecipeOptions options;
  options.prefixes = kStagePrefixes;
  return psgkit::compute_recipe_100hz(channels, psgkit::Recipe::SleepEdfTimedomain, options);
}

double night_epochs(const psgkit::Recording& rec) { return std::floor(rec.duration_s() / 30.0); }

// The bound: the night's file read from the page cache into memory (pread) and every 16-bit word
// converted to float in a plain loop, layout ignored. bytes_per_second is the rate the report divides by.
void BM_Bound(benchmark::State& state) {
  const auto path = psgkit_bench::night_edf();
  const size_t size = std::filesystem::file_size(path);
  std::vector<char> buffer(size);
  std::vector<float> out(size / 2);
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      state.SkipWithError("cannot open PSGKIT_BENCH_EDF");
      return;
    }
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pread(fd, buffer.data() + done, size - done, static_cast<off_t>(done));
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    for (size_t i = 0; i < out.size(); ++i) {
      int16_t v;
      std::memcpy(&v, buffer.data() + 2 * i, 2);
      out[i] = static_cast<float>(v);
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  psgkit_bench::report(state, static_cast<double>(size), 0);
}
BENCHMARK(BM_Bound)->Unit(benchmark::kMillisecond);

// Whole pipeline in one process: Recording::open -> stage_recording (read, resample, recipe, model
// load, classifier, HMM). `used_float_bytes` = float32 size of the channels it reads (memory target).
void BM_StagePipeline(benchmark::State& state) {
  const auto path = psgkit_bench::night_edf();
  double epochs = 0, used_samples = 0;
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const psgkit::Recording rec = psgkit::Recording::open(path);
    const psgkit::RecordingStaging staged = psgkit::stage_recording(rec);
    benchmark::DoNotOptimize(staged.epochs.probabilities.data());
    if (staged.eeg_channels != std::vector<std::string>{kStageEeg} || staged.model != kStageModel) {
      state.SkipWithError("stage_recording no longer picks Fpz-Cz with model c: update bench_pipeline.cpp");
      return;
    }
    epochs = static_cast<double>(staged.epochs.onset_s.size());
    used_samples = static_cast<double>(rec.signals()[static_cast<size_t>(rec.require_signal(kStageEeg))].n_samples);
  }
  state.counters["used_float_bytes"] = 4.0 * used_samples;
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(used_samples)), epochs);
}
BENCHMARK(BM_StagePipeline)->Unit(benchmark::kMillisecond);

// Step 1: the header (the EDF+ annotations are parsed on first use, which staging does not make).
void BM_StageStep1Open(benchmark::State& state) {
  const auto path = psgkit_bench::night_edf();
  double epochs = 0, samples = 0;
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const psgkit::Recording rec = psgkit::Recording::open(path);
    benchmark::DoNotOptimize(&rec);
    epochs = std::floor(static_cast<double>(rec.n_records()) * rec.record_duration_s() / 30.0);
    samples = static_cast<double>(rec.signals()[static_cast<size_t>(rec.require_signal(kStageEeg))].n_samples);
  }
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(samples)), epochs);
}
BENCHMARK(BM_StageStep1Open)->Unit(benchmark::kMillisecond);

// Step 2: compute_recipe as stage_recording calls it: Fpz-Cz read, resampled to 100 Hz and reduced to
// sleepedf-timedomain features a few epochs at a time.
void BM_StageStep2Features(benchmark::State& state) {
  const psgkit::Recording rec = psgkit::Recording::open(psgkit_bench::night_edf());
  psgkit::RecipeOptions options;
  options.prefixes = kStagePrefixes;
  size_t rows = 0;
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const psgkit::FeatureTable table =
        psgkit::compute_recipe(rec, {rec.signals()[static_cast<size_t>(rec.require_signal(kStageEeg))].label},
                               psgkit::Recipe::SleepEdfTimedomain, options);
    benchmark::DoNotOptimize(table.values.data());
    rows = table.rows();
  }
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(rows) * 30 * 256), static_cast<double>(rows));
}
BENCHMARK(BM_StageStep2Features)->Unit(benchmark::kMillisecond);

// Step 2's parts, each on a whole-night buffer (what compute_recipe did before it worked in blocks).
// Part 1: the chosen channel decoded to float.
void BM_StageStep2Part1ReadFloat(benchmark::State& state) {
  const psgkit::Recording rec = psgkit::Recording::open(psgkit_bench::night_edf());
  const int index = rec.require_signal(kStageEeg);
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const std::vector<float> x = rec.read(index);
    benchmark::DoNotOptimize(x.data());
  }
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(rec.signals()[static_cast<size_t>(index)].n_samples),
                       night_epochs(rec));
}
BENCHMARK(BM_StageStep2Part1ReadFloat)->Unit(benchmark::kMillisecond);

// Part 2: 256 -> 100 Hz in float, filter bank built each time, widened to double.
void BM_StageStep2Part2Resample(benchmark::State& state) {
  const NightChannel channel = read_stage_channel();
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const std::vector<double> y = stage_channel_100hz(channel);
    benchmark::DoNotOptimize(y.data());
  }
  const auto n = static_cast<int64_t>(channel.samples_uv.size());
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(n), std::floor(static_cast<double>(n) / channel.fs_hz / 30.0));
}
BENCHMARK(BM_StageStep2Part2Resample)->Unit(benchmark::kMillisecond);

// Part 3: sleepedf-timedomain recipe features of the 100-Hz channel.
void BM_StageStep2Part3Recipe(benchmark::State& state) {
  const std::vector<double> x = stage_channel_100hz(read_stage_channel());
  size_t rows = 0;
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const psgkit::FeatureTable table = stage_features(x);
    benchmark::DoNotOptimize(table.values.data());
    rows = table.rows();
  }
  // Bound: the 256-Hz EDF samples the 100-Hz channel comes from.
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(rows) * 30 * 256), static_cast<double>(rows));
}
BENCHMARK(BM_StageStep2Part3Recipe)->Unit(benchmark::kMillisecond);

// Step 3: loading the model file (XGBoost UBJSON read by psgkit, + psgkit metadata).
void BM_StageStep3ModelLoad(benchmark::State& state) {
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const psgkit::StagingModel model = psgkit::StagingModel::load(kStageModel);
    benchmark::DoNotOptimize(&model);
  }
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(960LL * 30 * 256), 960);
}
BENCHMARK(BM_StageStep3ModelLoad)->Unit(benchmark::kMillisecond);

struct StagedInputs {
  psgkit::FeatureTable table;
  psgkit::StagingModel model;
  psgkit::StagingOptions options;
};

StagedInputs staged_inputs() {
  const std::vector<double> x = stage_channel_100hz(read_stage_channel());
  psgkit::StagingOptions options;
  options.channels = kStagePrefixes;
  return {stage_features(x), psgkit::StagingModel::load(kStageModel), options};
}

// Step 4: context features (robust z, ±7.5-min windows) + gradient-boosted trees, no HMM.
void BM_StageStep4Classifier(benchmark::State& state) {
  const StagedInputs in = staged_inputs();
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const auto proba = in.model.predict_proba(in.table, in.options);
    benchmark::DoNotOptimize(proba.data());
  }
  const auto rows = static_cast<int64_t>(in.table.rows());
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(rows * 30 * 256), static_cast<double>(rows));
}
BENCHMARK(BM_StageStep4Classifier)->Unit(benchmark::kMillisecond);

// Step 5: HMM forward-backward over the night.
void BM_StageStep5Hmm(benchmark::State& state) {
  const StagedInputs in = staged_inputs();
  const auto proba = in.model.predict_proba(in.table, in.options);
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const auto posterior = psgkit::hmm_posterior(proba, psgkit::epoch_indices(in.table.onset_s), in.model.hmm());
    benchmark::DoNotOptimize(posterior.data());
  }
  const auto rows = static_cast<int64_t>(in.table.rows());
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(rows * 30 * 256), static_cast<double>(rows));
}
BENCHMARK(BM_StageStep5Hmm)->Unit(benchmark::kMicrosecond);

// Step 6 (the CLI's part): the staged epochs as CSV text, what `psgkit stage` prints (7 numbers per epoch
// through format_double).
void BM_StageStep6Csv(benchmark::State& state) {
  const StagedInputs in = staged_inputs();
  const psgkit::StagedEpochs staged = in.model.stage_rows(in.table, in.options);
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const std::string csv = psgkit::staged_epochs_csv(staged);
    benchmark::DoNotOptimize(csv.data());
  }
  const auto rows = static_cast<int64_t>(in.table.rows());
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(rows * 30 * 256), static_cast<double>(rows));
}
BENCHMARK(BM_StageStep6Csv)->Unit(benchmark::kMillisecond);

// Model inference per night as the issue counts it: classifier + HMM (StagingModel::stage_rows).
void BM_ModelInferenceNight(benchmark::State& state) {
  const StagedInputs in = staged_inputs();
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const psgkit::StagedEpochs staged = in.model.stage_rows(in.table, in.options);
    benchmark::DoNotOptimize(staged.probabilities.data());
  }
  const auto rows = static_cast<int64_t>(in.table.rows());
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(rows * 30 * 256), static_cast<double>(rows));
}
BENCHMARK(BM_ModelInferenceNight)->Unit(benchmark::kMillisecond);

}  // namespace
