// Spindle detection on one synthetic 8-h, 256-Hz channel (noise + a 13-Hz burst every 10 s; no EDF
// needed): the whole night searched (no hypnogram), and the night measures of analyse_night (N2+N3 of
// a hypnogram alternating 40 min N2+N3 with 20 min W/REM, plus slow-oscillation coupling), and the
// detector alone on the same night at 100 Hz.
// Target (issue #19): <= 50 ms per channel. bound_bytes = the input samples as 16-bit EDF samples.
#include <benchmark/benchmark.h>

#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "bench_common.hpp"
#include "psgkit/spindles.hpp"

namespace {

constexpr double kFs = 256;

std::vector<float> night_with_bursts(double fs_hz = kFs) {
  const size_t n = static_cast<size_t>(8 * 3600 * fs_hz);
  std::vector<float> x(n);
  std::mt19937 rng(1);
  std::normal_distribution<float> noise(0.0f, 15.0f);
  float brown = 0;
  for (size_t i = 0; i < n; ++i) {
    brown = 0.995f * brown + noise(rng) * 0.3f;
    const double t = static_cast<double>(i) / fs_hz;
    const double in_burst = std::fmod(t, 10.0) < 1.0 ? 30.0 : 0.0;
    x[i] = noise(rng) + brown + static_cast<float>(in_burst * std::sin(2 * std::numbers::pi * 13.0 * t));
  }
  return x;
}

psgkit::Hypnogram alternating_hypnogram() {
  psgkit::Hypnogram h;
  for (size_t e = 0; e < 960; ++e) {
    const size_t minute = (e / 2) % 60;
    h.stages.push_back(minute < 20 ? psgkit::Stage::N2 : minute < 40 ? psgkit::Stage::N3 : (e % 4 ? psgkit::Stage::REM : psgkit::Stage::W));
  }
  return h;
}

void BM_SpindlesDetect8h256WholeNight(benchmark::State& state) {
  const auto x = night_with_bursts();
  psgkit_bench::reset_peak_rss();
  size_t n_events = 0;
  for (auto _ : state) {
    const auto events = psgkit::detect_spindles(x, kFs);
    n_events = events.size();
    benchmark::DoNotOptimize(events.data());
  }
  state.counters["events"] = static_cast<double>(n_events);
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(x.size())), 960);
}
BENCHMARK(BM_SpindlesDetect8h256WholeNight)->Unit(benchmark::kMillisecond);

// The same night at 100 Hz, the rate at which the night analysis (stats, compare) hands it over: the
// detector's own work without the resampling.
void BM_SpindlesDetect8h100WholeNight(benchmark::State& state) {
  const auto x = night_with_bursts(100);
  psgkit_bench::reset_peak_rss();
  size_t n_events = 0;
  for (auto _ : state) {
    const auto events = psgkit::detect_spindles(x, 100);
    n_events = events.size();
    benchmark::DoNotOptimize(events.data());
  }
  state.counters["events"] = static_cast<double>(n_events);
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(x.size())), 960);
}
BENCHMARK(BM_SpindlesDetect8h100WholeNight)->Unit(benchmark::kMillisecond);

void BM_SpindlesNight8h256(benchmark::State& state) {
  const auto x = night_with_bursts();
  const psgkit::Hypnogram h = alternating_hypnogram();
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const auto r = psgkit::night_spindles(x, kFs, h);
    benchmark::DoNotOptimize(r.density_n2n3_per_min);
  }
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(x.size())), 960);
}
BENCHMARK(BM_SpindlesNight8h256)->Unit(benchmark::kMillisecond);

}  // namespace
