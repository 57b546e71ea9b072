// PSD of one 30-s epoch of the simulated night's Fpz-Cz (256 Hz, float µV): Welch with YASA's 4-s
// Hann segments (50 % overlap, 29 segments of 1024) and multitaper over the whole epoch (NW = 4,
// 7 DPSS tapers, adaptive weights). Each iteration is the next epoch of the night (plans and tapers
// made once), so the time per iteration is the time per epoch.
#include <vector>

#include "bench_common.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/spectral.hpp"

namespace {

struct NightEeg {
  std::vector<float> samples_uv;
  double fs_hz = 0;
  size_t epoch_samples = 0;
  size_t epochs = 0;
};

NightEeg night_eeg() {
  const psgkit::Recording rec = psgkit::Recording::open(psgkit_bench::night_edf());
  const int index = rec.require_signal("Fpz-Cz");
  NightEeg eeg{rec.read(index), rec.signals()[static_cast<size_t>(index)].fs_hz, 0, 0};
  eeg.epoch_samples = static_cast<size_t>(30.0 * eeg.fs_hz);
  eeg.epochs = eeg.samples_uv.size() / eeg.epoch_samples;
  return eeg;
}

std::span<const float> epoch(const NightEeg& eeg, size_t i) {
  return std::span<const float>(eeg.samples_uv).subspan((i % eeg.epochs) * eeg.epoch_samples, eeg.epoch_samples);
}

void BM_WelchEpoch(benchmark::State& state) {
  const NightEeg eeg = night_eeg();
  psgkit::WelchOptions options;
  options.fs_hz = eeg.fs_hz;
  options.nperseg = static_cast<int>(4.0 * eeg.fs_hz);
  const psgkit::WelchEstimator welch(options);
  std::vector<double> psd(welch.freq_hz().size());
  size_t i = 0;
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    welch.compute(epoch(eeg, i++), std::span<double>(psd));
    benchmark::DoNotOptimize(psd.data());
  }
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(eeg.epoch_samples)), 1);
}
BENCHMARK(BM_WelchEpoch)->Unit(benchmark::kMicrosecond);

void BM_MultitaperEpoch(benchmark::State& state) {
  const NightEeg eeg = night_eeg();
  psgkit::MultitaperOptions options;
  options.fs_hz = eeg.fs_hz;
  options.time_halfbandwidth = 4.0;
  const psgkit::MultitaperEstimator multitaper(static_cast<int>(eeg.epoch_samples), options);
  size_t i = 0;
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const psgkit::Spectrum s = multitaper.compute(epoch(eeg, i++));
    benchmark::DoNotOptimize(s.power.data());
  }
  state.counters["tapers"] = multitaper.tapers().n_tapers;
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(eeg.epoch_samples)), 1);
}
BENCHMARK(BM_MultitaperEpoch)->Unit(benchmark::kMicrosecond);

}  // namespace
