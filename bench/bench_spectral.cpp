// PSD of one 30-s epoch of the simulated night's Fpz-Cz (256 Hz, float µV): Welch with YASA's 4-s
// Hann segments (50 % overlap, 14 segments of 1024) and multitaper over the whole epoch (NW = 4,
// 7 DPSS tapers, adaptive weights). Each iteration is the next epoch of the night (plans and tapers
// made once), so the time per iteration is the time per epoch.
#include <fftw3.h>

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

// The floor under BM_WelchEpoch: its 14 real FFTs of 1024 points alone (FFTW, double, FFTW_MEASURE
// plan as psgkit's), on the same epochs. Times 960 epochs and the channel count, the least any
// 4-s Welch feature set can cost per night without a different spectral method.
void BM_WelchEpochFftOnly(benchmark::State& state) {
  const NightEeg eeg = night_eeg();
  const int nperseg = static_cast<int>(4.0 * eeg.fs_hz), step = nperseg / 2;
  const size_t segments = (eeg.epoch_samples - static_cast<size_t>(nperseg - step)) / static_cast<size_t>(step);
  double* in = fftw_alloc_real(static_cast<size_t>(nperseg));
  fftw_complex* out = fftw_alloc_complex(static_cast<size_t>(nperseg / 2 + 1));
  const fftw_plan plan = fftw_plan_dft_r2c_1d(nperseg, in, out, FFTW_MEASURE);
  size_t i = 0;
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const std::span<const float> x = epoch(eeg, i++);
    for (size_t s = 0; s < segments; ++s) {
      for (int k = 0; k < nperseg; ++k) in[k] = x[s * static_cast<size_t>(step) + static_cast<size_t>(k)];
      fftw_execute(plan);
      benchmark::DoNotOptimize(out);
    }
  }
  fftw_destroy_plan(plan);
  fftw_free(in);
  fftw_free(out);
  state.counters["segments"] = static_cast<double>(segments);
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(static_cast<int64_t>(eeg.epoch_samples)), 1);
}
BENCHMARK(BM_WelchEpochFftOnly)->Unit(benchmark::kMicrosecond);

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
