// Feature extraction speed: Welch PSD of one 30-s epoch, and every default feature of an 8-h night of
// 6 channels at 256 Hz (synthetic, in memory). Run: psgkit_bench --benchmark_filter=Features|Welch
#include <benchmark/benchmark.h>

#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "psgkit/features.hpp"
#include "psgkit/recipes.hpp"
#include "psgkit/spectral.hpp"

namespace {

// EEG-like: 1/f-ish noise plus delta and alpha rhythms, µV.
std::vector<float> synthetic_eeg(size_t n, double fs, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n);
  double brown = 0;
  for (size_t i = 0; i < n; ++i) {
    brown = 0.995 * brown + normal(rng);
    const double t = static_cast<double>(i) / fs;
    x[i] = static_cast<float>(3.0 * brown + 30.0 * std::sin(2 * std::numbers::pi * 1.3 * t) +
                              10.0 * std::sin(2 * std::numbers::pi * 10.2 * t) + 5.0 * normal(rng));
  }
  return x;
}

void BM_WelchEpoch30s256Hz(benchmark::State& state) {
  psgkit::WelchOptions options;
  options.fs_hz = 256;
  options.nperseg = static_cast<int>(state.range(0));
  const psgkit::WelchEstimator welch(options);
  const auto x = synthetic_eeg(30 * 256, 256, 1);
  std::vector<double> psd(welch.freq_hz().size());
  for (auto _ : state) {
    welch.compute(std::span<const float>(x), std::span<double>(psd));
    benchmark::DoNotOptimize(psd.data());
  }
}
BENCHMARK(BM_WelchEpoch30s256Hz)->Arg(1024)->Arg(512)->Unit(benchmark::kMicrosecond);

void BM_DefaultFeaturesNight6ch256Hz(benchmark::State& state) {
  const double fs = 256;
  const size_t n = static_cast<size_t>(8 * 3600 * fs);
  std::vector<std::vector<float>> data;
  std::vector<psgkit::ChannelSamples> channels;
  for (unsigned c = 0; c < 6; ++c) data.push_back(synthetic_eeg(n, fs, 10 + c));
  for (unsigned c = 0; c < 6; ++c) channels.push_back({"ch" + std::to_string(c), data[c], fs});
  for (auto _ : state) {
    auto table = psgkit::compute_features(channels);
    benchmark::DoNotOptimize(table.values.data());
  }
  state.counters["epochs"] = static_cast<double>(6 * 960);
}
BENCHMARK(BM_DefaultFeaturesNight6ch256Hz)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_SleepEdfTimedomainNight(benchmark::State& state) {
  const size_t n = 8 * 3600 * 100;
  const auto f = synthetic_eeg(n, 100, 3);
  std::vector<double> x(f.begin(), f.end());
  const std::vector<psgkit::RecipeChannel> channels = {{"fpz_cz", x}};
  for (auto _ : state) {
    auto table = psgkit::compute_recipe_100hz(channels, psgkit::Recipe::SleepEdfTimedomain);
    benchmark::DoNotOptimize(table.values.data());
  }
}
BENCHMARK(BM_SleepEdfTimedomainNight)->Unit(benchmark::kMillisecond);

}  // namespace
