// Shared by the benchmarks: the night under test and the bound every stage is measured against.
//
// `make bench` (bench/run.sh) writes one simulated 8-h, 256-Hz night with `psgkit simulate` and
// passes it in PSGKIT_BENCH_EDF; each benchmark runs in its own process so its peak RSS is its own.
// Every benchmark sets the counter `bound_bytes`: the 16-bit EDF sample bytes its input stands for
// (2 bytes per input sample, edf_sample_bytes). psgkit_bench_report divides the benchmark's time by
// the time BM_Bound needs for that many bytes (read the night's file from the page cache and convert
// its int16 samples to float in a plain loop).
#pragma once

#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace psgkit_bench {

inline std::filesystem::path night_edf() {
  const char* path = std::getenv("PSGKIT_BENCH_EDF");
  if (!path || !std::filesystem::exists(path))
    throw std::runtime_error("set PSGKIT_BENCH_EDF to an EDF made by `psgkit simulate` (bench/run.sh does)");
  return path;
}

// Bytes that n samples occupy in a 16-bit EDF: the unit of `bound_bytes`.
inline double edf_sample_bytes(int64_t n_samples) { return 2.0 * static_cast<double>(n_samples); }

// Resets the process's peak RSS to its current RSS (Linux: "5" to /proc/self/clear_refs), so that
// peak_rss_mib() after the timed loop is the stage's own peak with its live inputs, not that of the
// setup that made them. Call it just before `for (auto _ : state)`.
inline void reset_peak_rss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5";
}

// Peak resident memory of this process since start or the last reset_peak_rss(), MiB.
inline double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// Counters every benchmark sets: bound_bytes and peak_rss_mib, epochs_per_s when `epochs` (30-s
// epochs processed per iteration) > 0, and bytes_per_second (from bound_bytes: MB/s of EDF samples).
inline void report(benchmark::State& state, double bound_bytes, double epochs) {
  state.counters["bound_bytes"] = bound_bytes;
  state.counters["peak_rss_mib"] = peak_rss_mib();
  if (epochs > 0)
    state.counters["epochs_per_s"] = benchmark::Counter(epochs, benchmark::Counter::kIsIterationInvariantRate);
  state.SetBytesProcessed(static_cast<int64_t>(bound_bytes) * state.iterations());
}

}  // namespace psgkit_bench
