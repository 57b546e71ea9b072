// Simulator throughput: an 8-h night of four channels built in memory (no EDF writing, no input file).
#include <benchmark/benchmark.h>

#include "bench_common.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/simulate.hpp"

namespace {

// Five 96-min cycles (W onset, N1, N2, N3, N2, REM) of 30-s epochs: 960 epochs = 8 h.
psgkit::Hypnogram eight_hour_hypnogram() {
  using psgkit::Stage;
  psgkit::Hypnogram h;
  for (int cycle = 0; cycle < 5; ++cycle)
    for (auto [stage, epochs] : {std::pair{Stage::W, 4}, {Stage::N1, 8}, {Stage::N2, 60}, {Stage::N3, cycle < 2 ? 40 : 10},
                                 {Stage::N2, cycle < 2 ? 40 : 70}, {Stage::REM, 40}})
      h.stages.insert(h.stages.end(), static_cast<size_t>(epochs), stage);
  h.stages.resize(960, Stage::W);
  return h;
}

void BM_SimulateNight8h(benchmark::State& state) {
  const psgkit::Hypnogram h = eight_hour_hypnogram();
  psgkit::SimulationOptions options;
  options.fs_hz = static_cast<double>(state.range(0));
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    auto night = psgkit::simulate_night(h, options);
    benchmark::DoNotOptimize(night.signals.front().samples.data());
  }
  // Bound: the 16-bit EDF bytes of the 4 channels produced; 960 epochs per night.
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(4 * 8 * 3600 * options.fs_hz)), 960);
}
BENCHMARK(BM_SimulateNight8h)->Arg(100)->Arg(256)->Unit(benchmark::kMillisecond);

}  // namespace
