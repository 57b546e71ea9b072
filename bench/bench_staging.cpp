// Staging inference per night: design features + XGBoost + HMM on a 960-epoch (8-h) timedomain table.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

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

void BM_StageNight(benchmark::State& state, psgkit::StagingModelId id, bool hmm) {
  const psgkit::StagingModel model = psgkit::StagingModel::load(id);
  std::vector<std::string> prefixes = model.channel_slots();
  if (prefixes == std::vector<std::string>{"eeg"}) prefixes = {"fpz_cz"};
  const psgkit::FeatureTable table = synthetic_night(prefixes, model.channel_features());
  psgkit::StagingOptions options;
  options.channels = prefixes;
  options.hmm = hmm;
  for (auto _ : state) benchmark::DoNotOptimize(model.stage_rows(table, options));
  state.SetItemsProcessed(state.iterations() * 960);
}

void BM_HmmOnly(benchmark::State& state) {
  const psgkit::StagingModel model = psgkit::StagingModel::load(psgkit::StagingModelId::EegEog);
  std::vector<psgkit::StageProbabilities> p(960, {0.2f, 0.2f, 0.2f, 0.2f, 0.2f});
  std::vector<long> idx(960);
  for (int i = 0; i < 960; ++i) {
    idx[static_cast<size_t>(i)] = i;
    p[static_cast<size_t>(i)][static_cast<size_t>(i / 100 % 5)] = 0.6f;
  }
  for (auto _ : state) benchmark::DoNotOptimize(psgkit::hmm_posterior(p, idx, model.hmm()));
}

}  // namespace

BENCHMARK_CAPTURE(BM_StageNight, a_eeg_eog_hmm, psgkit::StagingModelId::EegEog, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_StageNight, a_eeg_eog_no_hmm, psgkit::StagingModelId::EegEog, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_StageNight, c_eeg1_hmm, psgkit::StagingModelId::Eeg1, true)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HmmOnly)->Unit(benchmark::kMicrosecond);
