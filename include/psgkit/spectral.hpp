// Power spectra: Welch (scipy.signal.welch semantics), multitaper (DPSS), band power.
//
// FFTW plans are created once per estimator and reused for every call; an estimator is immutable
// after construction and safe to use from several threads at once (FFTW new-array execute).
#pragma once

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

// Welch's method (Welch 1967) with scipy.signal.welch defaults and conventions (one-sided, the
// non-DC/non-Nyquist bins doubled). Throws psgkit::Error if the input is shorter than nperseg.
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

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Spectrum welch(std::span<const double> x, const WelchOptions& options);

enum class TaperWeighting { Eigenvalue, Adaptive };  // adaptive: Thomson (1982) iteration

struct MultitaperOptions {
  double fs_hz = 100.0;
  double time_halfbandwidth = 4.0;  // NW; bandwidth = 2 * NW / duration
  int n_tapers = -1;                // -1: floor(2 * NW) - 1
  TaperWeighting weighting = TaperWeighting::Adaptive;
  int nfft = -1;                    // -1: signal length
};

// Multitaper PSD (Thomson 1982; Percival & Walden 1993), one-sided density in input-unit²/Hz.
class MultitaperEstimator {
 public:
  MultitaperEstimator(int n_samples, const MultitaperOptions& options);
  ~MultitaperEstimator();
  MultitaperEstimator(MultitaperEstimator&&) noexcept;
  MultitaperEstimator& operator=(MultitaperEstimator&&) noexcept;

  const std::vector<double>& freq_hz() const;
  Spectrum compute(std::span<const double> x) const;
  Spectrum compute(std::span<const float> x) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

enum class BandIntegration { Simpson, MeanOverBins };

// Power in [lo_hz, hi_hz] (bins with lo <= f <= hi): Simpson's rule over those bins (unit²), or the
// mean density over those bins (unit²/Hz, the sleepedf-bandpower recipe). Throws psgkit::Error if no
// bin falls in the band or hi_hz exceeds the Nyquist frequency.
double band_power(const Spectrum& spectrum, double lo_hz, double hi_hz,
                  BandIntegration integration = BandIntegration::Simpson);

}  // namespace psgkit
