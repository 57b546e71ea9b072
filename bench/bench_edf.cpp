// EDF decoding speed on the benchmark night (PSGKIT_BENCH_EDF: 8 h, 6 signals, 256 Hz, 16-bit EDF+):
// all channels / one channel, into fresh or reused vectors, float or double (Recording::open is step 1
// of bench_pipeline.cpp).
// The bound they are compared with (BM_Bound, bench_pipeline.cpp) reads the same file's bytes and
// converts int16 -> float in a plain loop.
#include <cmath>
#include <vector>

#include "bench_common.hpp"
#include "psgkit/recording.hpp"

namespace {

constexpr const char* kOneChannel = "Fpz-Cz";  // the channel `psgkit stage` reads

const psgkit::Recording& night() {
  static const psgkit::Recording rec = psgkit::Recording::open(psgkit_bench::night_edf());
  return rec;
}

int64_t all_samples(const psgkit::Recording& rec) {
  int64_t n = 0;
  for (const auto& s : rec.signals()) n += s.n_samples;
  return n;
}

double epochs(const psgkit::Recording& rec) { return std::floor(rec.duration_s() / 30.0); }

std::vector<int> every_signal(const psgkit::Recording& rec) {
  std::vector<int> all;
  for (int i = 0; i < static_cast<int>(rec.signals().size()); ++i) all.push_back(i);
  return all;
}

// All channels in one pass over the data records (Recording::read of a list), fresh vectors.
void BM_DecodeAllChannels(benchmark::State& state) {
  const psgkit::Recording& rec = night();
  const std::vector<int> all = every_signal(rec);
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const std::vector<std::vector<float>> x = rec.read(all);
    benchmark::DoNotOptimize(x.data());
  }
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(all_samples(rec)), epochs(rec));
}
BENCHMARK(BM_DecodeAllChannels)->Unit(benchmark::kMillisecond);

// The same into reused vectors: decoding alone, without fresh 29-MB results.
void BM_DecodeAllChannelsReusedBuffer(benchmark::State& state) {
  const psgkit::Recording& rec = night();
  const std::vector<int> all = every_signal(rec);
  std::vector<std::vector<float>> x;
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    rec.read(all, x);
    benchmark::DoNotOptimize(x.data());
  }
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(all_samples(rec)), epochs(rec));
}
BENCHMARK(BM_DecodeAllChannelsReusedBuffer)->Unit(benchmark::kMillisecond);

// Channel by channel (one pass over the file per channel), as a caller of read(int) would.
void BM_DecodeAllChannelsOneByOne(benchmark::State& state) {
  const psgkit::Recording& rec = night();
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    for (int i = 0; i < static_cast<int>(rec.signals().size()); ++i) {
      std::vector<float> x = rec.read(i);
      benchmark::DoNotOptimize(x.data());
    }
  }
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(all_samples(rec)), epochs(rec));
}
BENCHMARK(BM_DecodeAllChannelsOneByOne)->Unit(benchmark::kMillisecond);

void BM_DecodeOneChannel(benchmark::State& state) {
  const psgkit::Recording& rec = night();
  const int index = rec.require_signal(kOneChannel);
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    std::vector<float> x = rec.read(index);
    benchmark::DoNotOptimize(x.data());
  }
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(rec.signals()[static_cast<size_t>(index)].n_samples), epochs(rec));
}
BENCHMARK(BM_DecodeOneChannel)->Unit(benchmark::kMillisecond);

void BM_DecodeOneChannelReusedBuffer(benchmark::State& state) {
  const psgkit::Recording& rec = night();
  const int index = rec.require_signal(kOneChannel);
  std::vector<float> x;
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    rec.read(index, x);
    benchmark::DoNotOptimize(x.data());
  }
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(rec.signals()[static_cast<size_t>(index)].n_samples), epochs(rec));
}
BENCHMARK(BM_DecodeOneChannelReusedBuffer)->Unit(benchmark::kMillisecond);

void BM_DecodeOneChannelDouble(benchmark::State& state) {
  const psgkit::Recording& rec = night();
  const int index = rec.require_signal(kOneChannel);
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    std::vector<double> x = rec.read_double(index);
    benchmark::DoNotOptimize(x.data());
  }
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(rec.signals()[static_cast<size_t>(index)].n_samples), epochs(rec));
}
BENCHMARK(BM_DecodeOneChannelDouble)->Unit(benchmark::kMillisecond);

}  // namespace
