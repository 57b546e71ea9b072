// Power spectra: Welch (scipy.signal.welch semantics), multitaper (DPSS), band power, spectrogram.
//
// FFTW plans are created once (one plan per transform length, made under a process-wide mutex because
// FFTW's planner is not thread-safe) and reused by every estimator; an estimator is immutable after
// construction and safe to use from several threads at once: each call executes the shared plan with
// fftw_execute_dft_r2c on thread-local scratch buffers (allocated once per thread, grown when needed).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace psgkit {

enum class Window { Hann, Hamming, Boxcar };  // periodic ("sym=False") windows, as scipy's get_window
enum class Detrend { None, Constant, Linear };
enum class Scaling { Density, Spectrum };     // unit²/Hz or unit²
enum class Averaging { Mean, Median };        // median is bias-corrected as scipy does

struct WelchOptions {
  double fs_hz = 100.0;
  int nperseg = 256;
  int noverlap = -1;  // -1: nperseg / 2
  int nfft = -1;      // -1: nperseg
  Window window = Window::Hann;
  Detrend detrend = Detrend::Constant;
  Scaling scaling = Scaling::Density;
  Averaging averaging = Averaging::Mean;
};

// One-sided spectrum: freq_hz[k] = k * fs / nfft, power in input-unit² per Hz (density) or
// input-unit² (spectrum).
struct Spectrum {
  std::vector<double> freq_hz;
  std::vector<double> power;
};

// Welch's method (Welch 1967) with scipy.signal.welch defaults and conventions: segments of nperseg
// samples every nperseg - noverlap samples (a trailing remainder is ignored, no padding), each
// detrended (constant: mean removed, default; linear: least-squares line removed), multiplied by the
// periodic window, zero-padded to nfft; |FFT|² scaled by 1/(fs·Σw²) (density) or 1/(Σw)² (spectrum);
// one-sided with every bin except DC (and Nyquist for even nfft) doubled; averaged by the mean, or the
// median divided by scipy's bias factor 1 + Σ_{i=1}^{(m-1)/2} (1/(2i+1) - 1/(2i)) for m segments.
// Frequencies as scipy.fft.rfftfreq: k · (1 / (nfft · (1 / fs))), bit for bit.
// Throws psgkit::Error if the input is shorter than nperseg or the options are inconsistent
// (nperseg < 1, noverlap >= nperseg, nfft < nperseg, fs <= 0).
class WelchEstimator {
 public:
  explicit WelchEstimator(const WelchOptions& options);
  ~WelchEstimator();
  WelchEstimator(WelchEstimator&&) noexcept;
  WelchEstimator& operator=(WelchEstimator&&) noexcept;

  const WelchOptions& options() const;
  const std::vector<double>& freq_hz() const;
  Spectrum compute(std::span<const double> x) const;
  Spectrum compute(std::span<const float> x) const;
  // Writes freq_hz().size() values into `power` (no allocation besides per-thread scratch).
  void compute(std::span<const double> x, std::span<double> power) const;
  void compute(std::span<const float> x, std::span<double> power) const;
  // Number of segments averaged for an input of n samples (0 if n < nperseg).
  int segments(size_t n_samples) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One-shot convenience: WelchEstimator(options).compute(x).
Spectrum welch(std::span<const double> x, const WelchOptions& options);

// Discrete prolate spheroidal (Slepian) sequences (Slepian 1978), as scipy.signal.windows.dpss(n, nw,
// k, sym=True, norm=2, return_ratios=True): the k eigenvectors with the largest eigenvalues of the
// tridiagonal matrix (diag ((n-1-2i)/2)² cos(2πW), off-diagonal i(n-i)/2, W = nw/n), found by Sturm
// bisection for the eigenvalues and inverse iteration (tridiagonal LU with partial pivoting) for the
// vectors — O(n·k) memory, no dense n×n matrix. Unit energy (Σv² = 1); signs as scipy (Percival &
// Walden 1993, p. 379): symmetric tapers have a positive sum, antisymmetric ones start with a
// positive lobe (first sample with v² > max(1e-7, 1/n) is positive). `concentration[j]` is the
// fraction of taper j's energy inside [-W, W] (computed from its autocorrelation; near 1 for j < 2nw-1).
// Throws psgkit::Error unless n >= 2, 0 < nw < n/2 and 1 <= k <= n.
struct DpssTapers {
  int n_samples = 0;
  int n_tapers = 0;
  std::vector<double> tapers;         // row-major, n_tapers x n_samples
  std::vector<double> concentration;  // one per taper, descending
  std::span<const double> taper(int j) const {
    return std::span<const double>(tapers).subspan(static_cast<size_t>(j) * static_cast<size_t>(n_samples),
                                                   static_cast<size_t>(n_samples));
  }
};
DpssTapers dpss(int n_samples, double time_halfbandwidth, int n_tapers);

enum class TaperWeighting { Eigenvalue, Adaptive };  // adaptive: Thomson (1982) iteration

struct MultitaperOptions {
  double fs_hz = 100.0;
  double time_halfbandwidth = 4.0;  // NW; bandwidth = 2 * NW / duration
  int n_tapers = -1;                // -1: floor(2 * NW) - 1
  TaperWeighting weighting = TaperWeighting::Adaptive;
  int nfft = -1;                    // -1: signal length
};

// Multitaper PSD (Thomson 1982; Percival & Walden 1993), one-sided density in input-unit²/Hz, for
// inputs of exactly n_samples. The mean is removed first (as MNE's psd_array_multitaper); each
// eigenspectrum is |FFT(v_j · x)|² / fs (unit-energy tapers, so white noise of variance σ² gives
// σ²/(fs/2) after one-sided doubling). Eigenvalue weighting: Σ λ_j S_j / Σ λ_j. Adaptive (Thomson
// 1982; Percival & Walden eq. 370a): weights d_j = √λ_j S / (λ_j S + (1-λ_j) σ²) iterated from the
// mean of the first two eigenspectra until the relative change is below 1e-10 (at most 150 rounds),
// σ² = the sample variance. Resolution (full bandwidth) 2W = 2·NW·fs/n_samples Hz.
class MultitaperEstimator {
 public:
  MultitaperEstimator(int n_samples, const MultitaperOptions& options);
  ~MultitaperEstimator();
  MultitaperEstimator(MultitaperEstimator&&) noexcept;
  MultitaperEstimator& operator=(MultitaperEstimator&&) noexcept;

  int n_samples() const;
  const DpssTapers& tapers() const;
  const std::vector<double>& freq_hz() const;
  Spectrum compute(std::span<const double> x) const;
  Spectrum compute(std::span<const float> x) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A spectrogram: one Welch PSD per fixed-length epoch of a night (e.g. 30-s epochs).
struct Spectrogram {
  std::vector<double> freq_hz;
  std::vector<double> onset_s;  // epoch onsets, seconds from the first sample
  std::vector<double> power;    // row-major, onset_s.size() x freq_hz.size(), input-unit²/Hz (density)
  size_t rows() const { return onset_s.size(); }
  size_t cols() const { return freq_hz.size(); }
  std::span<const double> row(size_t epoch) const { return std::span<const double>(power).subspan(epoch * cols(), cols()); }
};

// Welch PSD of each epoch_s-second epoch of x (rate options.fs_hz), epochs starting offset_s after the
// first sample (psgkit::make_epochs: the trailing partial epoch is dropped). Throws psgkit::Error.
Spectrogram spectrogram(std::span<const float> x, const WelchOptions& options, double epoch_s = 30.0,
                        double offset_s = 0.0);
Spectrogram spectrogram(std::span<const double> x, const WelchOptions& options, double epoch_s = 30.0,
                        double offset_s = 0.0);

// Composite Simpson's rule for samples y spaced dx apart, scipy.integrate.simpson semantics of scipy
// >= 1.11 (the default `even="simpson"`): for an odd number of samples the classic 1-4-2-...-4-1 rule;
// for an even number, Simpson over the first n-1 samples plus Cartwright's correction for the last
// interval, dx·(5y[n-1] + 8y[n-2] - y[n-3])/12; two samples: the trapezoid; one or none: 0.
// (scipy <= 1.10 defaulted to even="avg", the mean of the first- and last-interval trapezoid variants.)
double simpson(std::span<const double> y, double dx);

enum class BandIntegration { Simpson, MeanOverBins };

// Power in [lo_hz, hi_hz] over the bins with lo <= f <= hi: Simpson's rule over those bins (unit², the
// YASA bandpower convention; needs at least 2 bins), or the mean density over those bins (unit²/Hz,
// the sleepedf-bandpower recipe). Frequencies must be evenly spaced from 0 (as Welch/multitaper give).
// Throws psgkit::Error if lo > hi, hi_hz exceeds the Nyquist frequency (the last bin) or too few bins
// fall in the band.
double band_power(const Spectrum& spectrum, double lo_hz, double hi_hz,
                  BandIntegration integration = BandIntegration::Simpson);
double band_power(std::span<const double> freq_hz, std::span<const double> power, double lo_hz, double hi_hz,
                  BandIntegration integration = BandIntegration::Simpson);

}  // namespace psgkit
