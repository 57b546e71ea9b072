// Preprocessing throughput on one synthetic 8-h channel (noise + 0.9 Hz wave; no EDF needed):
// resampling 256 -> 100 Hz, 999.412 -> 100 Hz, 0.5-4.5 Hz band-pass filtfilt, deep-sleep analysis.
// bound_bytes = the input samples as 16-bit EDF samples (bench_common.hpp).
#include <benchmark/benchmark.h>

#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "bench_common.hpp"
#include "psgkit/deep_sleep.hpp"
#include "psgkit/preprocess.hpp"

namespace {

std::vector<float> night_float(double fs_hz) {
  const size_t n = static_cast<size_t>(8 * 3600 * fs_hz);
  std::vector<float> x(n);
  std::mt19937 rng(1);
  std::normal_distribution<float> noise(0.0f, 20.0f);
  for (size_t i = 0; i < n; ++i)
    x[i] = noise(rng) + 50.0f * static_cast<float>(std::sin(2 * std::numbers::pi * 0.9 * static_cast<double>(i) / fs_hz));
  return x;
}

void BM_Resample8h256To100Float(benchmark::State& state) {
  const auto x = night_float(256);
  const psgkit::Resampler resampler(256, 100);
  std::vector<float> y(resampler.output_length(x.size()));
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    resampler.process(std::span<const float>(x), std::span<float>(y));
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["taps"] = static_cast<double>(resampler.n_taps());
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(x.size())), 960);
}
BENCHMARK(BM_Resample8h256To100Float)->Unit(benchmark::kMillisecond);

void BM_Resample8h256To100Double(benchmark::State& state) {
  const auto xf = night_float(256);
  const std::vector<double> x(xf.begin(), xf.end());
  const psgkit::Resampler resampler(256, 100);
  std::vector<double> y(resampler.output_length(x.size()));
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    resampler.process(std::span<const double>(x), std::span<double>(y));
    benchmark::DoNotOptimize(y.data());
  }
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(x.size())), 960);
}
BENCHMARK(BM_Resample8h256To100Double)->Unit(benchmark::kMillisecond);

void BM_Resample8h999To100Float(benchmark::State& state) {
  const double fs_in = 999.412;
  const auto x = night_float(fs_in);
  const psgkit::Resampler resampler(fs_in, 100);
  std::vector<float> y(resampler.output_length(x.size()));
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    resampler.process(std::span<const float>(x), std::span<float>(y));
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["taps"] = static_cast<double>(resampler.n_taps());
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(x.size())), 960);
}
BENCHMARK(BM_Resample8h999To100Float)->Unit(benchmark::kMillisecond);

// Argument: the sampling rate (Hz).
void BM_BandpassFiltfilt8h(benchmark::State& state) {
  const auto fs_hz = static_cast<double>(state.range(0));
  const auto x = night_float(fs_hz);
  const auto filter = psgkit::IirFilter::butter_bandpass(4, 0.5, 4.5, fs_hz);
  std::vector<float> y(x.size());
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    std::copy(x.begin(), x.end(), y.begin());
    filter.filtfilt_inplace(std::span<float>(y));
    benchmark::DoNotOptimize(y.data());
  }
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(x.size())), 960);
}
BENCHMARK(BM_BandpassFiltfilt8h)->Arg(100)->Arg(256)->Unit(benchmark::kMillisecond);

void BM_DeepSleep8h100Hz(benchmark::State& state) {
  const auto x = night_float(100);
  psgkit::Hypnogram hypnogram;
  hypnogram.stages.assign(960, psgkit::Stage::N2);
  for (size_t i = 0; i < 960; i += 3) hypnogram.stages[i] = psgkit::Stage::N3;
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const auto result = psgkit::analyze_deep_sleep(std::span<const float>(x), 100, hypnogram, {{0, 200}, {200, 400}});
    benchmark::DoNotOptimize(result.mean_swa_n2n3_uv2);
  }
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(x.size())), 960);
}
BENCHMARK(BM_DeepSleep8h100Hz)->Unit(benchmark::kMillisecond);

}  // namespace
