// Whole-night staging on the simulated night (PSGKIT_BENCH_EDF), step by step as stage_recording does
// it (src/staging/staging_recording.cpp, recipes.cpp compute_recipe) and as a whole, plus the bound.
//
// Channels and model: on the simulated montage (it has an EOG) stage_recording picks Fpz-Cz (first of
// its EEG preference list) and EOG E1-M2 with the one-EEG + EOG model e, and computes the recipe of
// the two channels on two threads; BM_StagePipeline checks that it still does, so that the steps stay
// the steps of the whole. BM_StagePipelineModelC is `stage --model c` (Fpz-Cz alone, one thread).
// The benchmarks that run threads measure the process's CPU time (all threads), not the main thread's.
#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "psgkit/domain.hpp"
#include "psgkit/preprocess.hpp"
#include "psgkit/recipes.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/staging.hpp"

namespace {

const std::vector<std::string> kStageChannels = {"Fpz-Cz", "EOG E1-M2"};
constexpr psgkit::StagingModelId kStageModel = psgkit::StagingModelId::Eeg1Eog;
const std::vector<std::string> kStagePrefixes = {"eeg", "eog"};  // stage_recording's prefixes for model e

struct NightChannels {
  std::vector<std::vector<float>> samples_uv;  // native rate, one per kStageChannels
  double fs_hz = 0;                            // the same for both on the simulated night
};

std::vector<int> stage_indices(const psgkit::Recording& rec) {
  std::vector<int> indices;
  for (const auto& label : kStageChannels) indices.push_back(rec.require_signal(label));
  return indices;
}

NightChannels read_stage_channels() {
  const psgkit::Recording rec = psgkit::Recording::open(psgkit_bench::night_edf());
  const std::vector<int> indices = stage_indices(rec);
  return {rec.read(indices), rec.signals()[static_cast<size_t>(indices[0])].fs_hz};
}

// As compute_recipe: resampled in float, then widened to double for the recipe.
std::vector<std::vector<double>> stage_channels_100hz(const NightChannels& channels) {
  const psgkit::Resampler resampler(channels.fs_hz, psgkit::kSleepEdfFsHz);
  std::vector<std::vector<double>> out;
  for (const auto& x : channels.samples_uv) {
    const std::vector<float> y = resampler.process(std::span<const float>(x));
    out.emplace_back(y.begin(), y.end());
  }
  return out;
}

psgkit::FeatureTable stage_features(const std::vector<std::vector<double>>& x_100hz) {
  std::vector<psgkit::RecipeChannel> channels;
  for (size_t c = 0; c < x_100hz.size(); ++c) channels.push_back({kStagePrefixes[c], x_100hz[c]});
  psgkit::RecipeOptions options;
  options.prefixes = kStagePrefixes;
  return psgkit::compute_recipe_100hz(channels, psgkit::Recipe::SleepEdfTimedomain, options);
}

double night_epochs(const psgkit::Recording& rec) { return std::floor(rec.duration_s() / 30.0); }

// 16-bit EDF bytes of both staged channels over `rows` epochs of the 256-Hz night.
double stage_bound_bytes(size_t rows) {
  return psgkit_bench::edf_sample_bytes(static_cast<int64_t>(kStageChannels.size() * rows) * 30 * 256);
}

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
// load, classifier, HMM, domain check). `used_float_bytes` = float32 size of the channels it reads
// (memory target). `model_c`: `stage --model c`, else the default choice (model e, two threads).
void stage_pipeline(benchmark::State& state, bool model_c) {
  const auto path = psgkit_bench::night_edf();
  psgkit::RecordingStagingOptions options;
  if (model_c) options.model = psgkit::StagingModelId::Eeg1;
  const std::vector<std::string> want_eeg = {kStageChannels[0]};
  const std::string want_eog = model_c ? "" : kStageChannels[1];
  double epochs = 0, used_samples = 0;
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const psgkit::Recording rec = psgkit::Recording::open(path);
    const psgkit::RecordingStaging staged = psgkit::stage_recording(rec, options);
    benchmark::DoNotOptimize(staged.epochs.probabilities.data());
    if (staged.eeg_channels != want_eeg || staged.eog_channel != want_eog ||
        staged.model != (model_c ? psgkit::StagingModelId::Eeg1 : kStageModel)) {
      state.SkipWithError(model_c ? "stage_recording --model c no longer picks Fpz-Cz: update bench_pipeline.cpp"
                                  : "stage_recording no longer picks Fpz-Cz + EOG E1-M2 with model e: update bench_pipeline.cpp");
      return;
    }
    epochs = static_cast<double>(staged.epochs.onset_s.size());
    used_samples = 0;
    for (const auto& label : model_c ? want_eeg : kStageChannels)
      used_samples += static_cast<double>(rec.signals()[static_cast<size_t>(rec.require_signal(label))].n_samples);
  }
  state.counters["used_float_bytes"] = 4.0 * used_samples;
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(used_samples)), epochs);
}
void BM_StagePipeline(benchmark::State& state) { stage_pipeline(state, false); }
BENCHMARK(BM_StagePipeline)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();
void BM_StagePipelineModelC(benchmark::State& state) { stage_pipeline(state, true); }
BENCHMARK(BM_StagePipelineModelC)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

// Step 1: the header (the EDF+ annotations are parsed on first use, which staging does not make).
void BM_StageStep1Open(benchmark::State& state) {
  const auto path = psgkit_bench::night_edf();
  double epochs = 0, samples = 0;
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const psgkit::Recording rec = psgkit::Recording::open(path);
    benchmark::DoNotOptimize(&rec);
    epochs = std::floor(static_cast<double>(rec.n_records()) * rec.record_duration_s() / 30.0);
    samples = 0;
    for (const int index : stage_indices(rec)) samples += static_cast<double>(rec.signals()[static_cast<size_t>(index)].n_samples);
  }
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(samples)), epochs);
}
BENCHMARK(BM_StageStep1Open)->Unit(benchmark::kMillisecond);

// Step 2: compute_recipe as stage_recording calls it: Fpz-Cz and EOG E1-M2 read in one pass, resampled to
// 100 Hz and reduced to sleepedf-timedomain features a few epochs at a time, the night's blocks shared
// out to `threads` threads (0: one per channel, what stage does; 1: the calling thread alone).
void BM_StageStep2Features(benchmark::State& state) {
  const psgkit::Recording rec = psgkit::Recording::open(psgkit_bench::night_edf());
  psgkit::RecipeOptions options;
  options.prefixes = kStagePrefixes;
  options.threads = static_cast<unsigned>(state.range(0));
  size_t rows = 0;
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const psgkit::FeatureTable table = psgkit::compute_recipe(rec, kStageChannels, psgkit::Recipe::SleepEdfTimedomain, options);
    benchmark::DoNotOptimize(table.values.data());
    rows = table.rows();
  }
  psgkit_bench::report(state, stage_bound_bytes(rows), static_cast<double>(rows));
}
BENCHMARK(BM_StageStep2Features)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

// Step 2's parts, each on whole-night buffers of both channels (what compute_recipe did before it
// worked in blocks), on one thread. Part 1: the two channels decoded to float in one pass.
void BM_StageStep2Part1ReadFloat(benchmark::State& state) {
  const psgkit::Recording rec = psgkit::Recording::open(psgkit_bench::night_edf());
  const std::vector<int> indices = stage_indices(rec);
  double samples = 0;
  for (const int index : indices) samples += static_cast<double>(rec.signals()[static_cast<size_t>(index)].n_samples);
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const std::vector<std::vector<float>> x = rec.read(indices);
    benchmark::DoNotOptimize(x.data());
  }
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(samples)), night_epochs(rec));
}
BENCHMARK(BM_StageStep2Part1ReadFloat)->Unit(benchmark::kMillisecond);

// Part 2: 256 -> 100 Hz in float, filter bank built once per night, widened to double.
void BM_StageStep2Part2Resample(benchmark::State& state) {
  const NightChannels channels = read_stage_channels();
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const std::vector<std::vector<double>> y = stage_channels_100hz(channels);
    benchmark::DoNotOptimize(y.data());
  }
  const auto n = static_cast<int64_t>(channels.samples_uv[0].size());
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(n * static_cast<int64_t>(channels.samples_uv.size())),
                       std::floor(static_cast<double>(n) / channels.fs_hz / 30.0));
}
BENCHMARK(BM_StageStep2Part2Resample)->Unit(benchmark::kMillisecond);

// Part 3: sleepedf-timedomain recipe features of the two 100-Hz channels.
void BM_StageStep2Part3Recipe(benchmark::State& state) {
  const std::vector<std::vector<double>> x = stage_channels_100hz(read_stage_channels());
  size_t rows = 0;
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const psgkit::FeatureTable table = stage_features(x);
    benchmark::DoNotOptimize(table.values.data());
    rows = table.rows();
  }
  // Bound: the 256-Hz EDF samples the 100-Hz channels come from.
  psgkit_bench::report(state, stage_bound_bytes(rows), static_cast<double>(rows));
}
BENCHMARK(BM_StageStep2Part3Recipe)->Unit(benchmark::kMillisecond);

// Step 3: loading model e's file (XGBoost UBJSON read by psgkit, + psgkit metadata).
void BM_StageStep3ModelLoad(benchmark::State& state) {
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const psgkit::StagingModel model = psgkit::StagingModel::load(kStageModel);
    benchmark::DoNotOptimize(&model);
  }
  psgkit_bench::report(state, stage_bound_bytes(960), 960);
}
BENCHMARK(BM_StageStep3ModelLoad)->Unit(benchmark::kMillisecond);

struct StagedInputs {
  psgkit::FeatureTable table;
  psgkit::StagingModel model;
  psgkit::StagingOptions options;
};

StagedInputs staged_inputs() {
  const std::vector<std::vector<double>> x = stage_channels_100hz(read_stage_channels());
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
  const size_t rows = in.table.rows();
  psgkit_bench::report(state, stage_bound_bytes(rows), static_cast<double>(rows));
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
  const size_t rows = in.table.rows();
  psgkit_bench::report(state, stage_bound_bytes(rows), static_cast<double>(rows));
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
  const size_t rows = in.table.rows();
  psgkit_bench::report(state, stage_bound_bytes(rows), static_cast<double>(rows));
}
BENCHMARK(BM_StageStep6Csv)->Unit(benchmark::kMillisecond);

// Step 7: the out-of-domain check: the shipped reference loaded and both channels' features measured
// against it (the distance `stage` reports).
void BM_StageStep7Domain(benchmark::State& state) {
  const psgkit::FeatureTable table = stage_features(stage_channels_100hz(read_stage_channels()));
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const psgkit::DomainCheck check = psgkit::check_domain(table, kStagePrefixes, kStagePrefixes, psgkit::DomainReference::load());
    benchmark::DoNotOptimize(&check);
  }
  psgkit_bench::report(state, stage_bound_bytes(table.rows()), static_cast<double>(table.rows()));
}
BENCHMARK(BM_StageStep7Domain)->Unit(benchmark::kMillisecond);

// Model inference per night as the issue counts it: classifier + HMM (StagingModel::stage_rows).
void BM_ModelInferenceNight(benchmark::State& state) {
  const StagedInputs in = staged_inputs();
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const psgkit::StagedEpochs staged = in.model.stage_rows(in.table, in.options);
    benchmark::DoNotOptimize(staged.probabilities.data());
  }
  const size_t rows = in.table.rows();
  psgkit_bench::report(state, stage_bound_bytes(rows), static_cast<double>(rows));
}
BENCHMARK(BM_ModelInferenceNight)->Unit(benchmark::kMillisecond);

}  // namespace
