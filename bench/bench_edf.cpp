// EDF decoding speed: all channels / one channel of an 8-h, 6-signal, 256-Hz, 16-bit EDF+ written once
// to /tmp, against the bound of reading the same bytes and converting int16 -> float in a plain loop.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "psgkit/recording.hpp"

namespace {

const std::filesystem::path& night_file() {
  static const std::filesystem::path path = [] {
    const std::filesystem::path p = std::filesystem::temp_directory_path() / "psgkit-bench-8h-6x256.edf";
    if (!std::filesystem::exists(p)) {
      constexpr double fs = 256, duration_s = 8 * 3600;
      std::vector<psgkit::SignalToWrite> signals;
      for (int k = 0; k < 6; ++k) {
        psgkit::SignalToWrite s;
        s.label = "EEG" + std::to_string(k);
        s.fs_hz = fs;
        s.samples.resize(static_cast<size_t>(fs * duration_s));
        for (size_t i = 0; i < s.samples.size(); ++i)
          s.samples[i] = static_cast<float>(50 * std::sin(0.01 * static_cast<double>(i) * (k + 1)) + (i % 97) - 48);
        s.physical_min = -200;
        s.physical_max = 200;
        signals.push_back(std::move(s));
      }
      psgkit::write_edf(p, signals, {});
    }
    return p;
  }();
  return path;
}

const psgkit::Recording& night() {
  static const psgkit::Recording rec = psgkit::Recording::open(night_file());
  return rec;
}

int64_t sample_bytes(const psgkit::Recording& rec, int signal) { return rec.signals()[static_cast<size_t>(signal)].n_samples * 2; }

void BM_DecodeAllChannels(benchmark::State& state) {
  const psgkit::Recording& rec = night();
  int64_t bytes = 0;
  for (auto _ : state) {
    for (int i = 0; i < static_cast<int>(rec.signals().size()); ++i) {
      std::vector<float> x = rec.read(i);
      benchmark::DoNotOptimize(x.data());
      bytes += sample_bytes(rec, i);
    }
  }
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_DecodeAllChannels)->Unit(benchmark::kMillisecond);

void BM_DecodeOneChannel(benchmark::State& state) {
  const psgkit::Recording& rec = night();
  for (auto _ : state) {
    std::vector<float> x = rec.read(3);
    benchmark::DoNotOptimize(x.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * sample_bytes(rec, 3));
}
BENCHMARK(BM_DecodeOneChannel)->Unit(benchmark::kMillisecond);

// The same into a reused buffer: decoding alone, without a fresh 29-MB result per call.
void BM_DecodeOneChannelReusedBuffer(benchmark::State& state) {
  const psgkit::Recording& rec = night();
  std::vector<float> x;
  for (auto _ : state) {
    rec.read(3, x);
    benchmark::DoNotOptimize(x.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * sample_bytes(rec, 3));
}
BENCHMARK(BM_DecodeOneChannelReusedBuffer)->Unit(benchmark::kMillisecond);

void BM_DecodeAllChannelsReusedBuffer(benchmark::State& state) {
  const psgkit::Recording& rec = night();
  std::vector<float> x;
  int64_t bytes = 0;
  for (auto _ : state) {
    for (int i = 0; i < static_cast<int>(rec.signals().size()); ++i) {
      rec.read(i, x);
      benchmark::DoNotOptimize(x.data());
      bytes += sample_bytes(rec, i);
    }
  }
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_DecodeAllChannelsReusedBuffer)->Unit(benchmark::kMillisecond);

void BM_DecodeOneChannelDouble(benchmark::State& state) {
  const psgkit::Recording& rec = night();
  for (auto _ : state) {
    std::vector<double> x = rec.read_double(3);
    benchmark::DoNotOptimize(x.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * sample_bytes(rec, 3));
}
BENCHMARK(BM_DecodeOneChannelDouble)->Unit(benchmark::kMillisecond);

// Header, EDFlib's annotation scan of all 28800 records, and the mapping.
void BM_Open(benchmark::State& state) {
  const auto& path = night_file();
  for (auto _ : state) {
    psgkit::Recording rec = psgkit::Recording::open(path);
    benchmark::DoNotOptimize(&rec);
  }
}
BENCHMARK(BM_Open)->Unit(benchmark::kMillisecond);

// The bound: the file's bytes (page cache) read into memory and int16 -> float, ignoring the layout.
void BM_BoundReadAndConvert(benchmark::State& state) {
  const auto& path = night_file();
  const size_t size = std::filesystem::file_size(path);
  std::vector<char> buffer(size);
  std::vector<float> out(size / 2);
  for (auto _ : state) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pread(fd, buffer.data() + done, size - done, static_cast<off_t>(done));
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    const size_t n = size / 2;
    for (size_t i = 0; i < n; ++i) {
      int16_t v;
      std::memcpy(&v, buffer.data() + 2 * i, 2);
      out[i] = static_cast<float>(v);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}
BENCHMARK(BM_BoundReadAndConvert)->Unit(benchmark::kMillisecond);

}  // namespace

