// Staging inference per night with the three-channel model a: design features + boosted trees + HMM on a
// synthetic 960-epoch (8-h) timedomain table (the simulated night has no Pz-Oz, so `psgkit stage` uses
// model c there; bench_pipeline.cpp times model c on the night's real features).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "bench_common.hpp"
#include "psgkit/staging.hpp"

namespace {

// A synthetic 8-h night in the sleepedf-timedomain layout (values in realistic ranges; the model's
// speed does not depend on them being real).
psgkit::FeatureTable synthetic_night(const std::vector<std::string>& prefixes, const std::vector<std::string>& names) {
  psgkit::FeatureTable t;
  for (const auto& p : prefixes)
    for (const auto& n : names) t.columns.push_back(p + "_" + n);
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> u(0.5, 1.5);
  for (int e = 0; e < 960; ++e) {
    t.onset_s.push_back(30.0 * e);
    for (size_t c = 0; c < t.columns.size(); ++c) t.values.push_back(u(gen) * (c % 13 == 0 ? 30.0 : 1.0));
  }
  return t;
}

void BM_ModelInferenceSynthetic(benchmark::State& state, psgkit::StagingModelId id, bool hmm) {
  const psgkit::StagingModel model = psgkit::StagingModel::load(id);
  std::vector<std::string> prefixes = model.channel_slots();
  std::replace(prefixes.begin(), prefixes.end(), std::string("eeg"), std::string("fpz_cz"));  // models c, e
  const psgkit::FeatureTable table = synthetic_night(prefixes, model.channel_features());
  psgkit::StagingOptions options;
  options.channels = prefixes;
  options.hmm = hmm;
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) benchmark::DoNotOptimize(model.stage_rows(table, options));
  // Bound: the 16-bit samples of its channels over 8 h at 256 Hz.
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(prefixes.size()) * 960 * 30 * 256), 960);
}

}  // namespace

BENCHMARK_CAPTURE(BM_ModelInferenceSynthetic, a_eeg_eog_hmm, psgkit::StagingModelId::EegEog, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ModelInferenceSynthetic, a_eeg_eog_no_hmm, psgkit::StagingModelId::EegEog, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ModelInferenceSynthetic, c_eeg1_hmm, psgkit::StagingModelId::Eeg1, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ModelInferenceSynthetic, e_eeg1_eog_hmm, psgkit::StagingModelId::Eeg1Eog, true)->Unit(benchmark::kMillisecond);
