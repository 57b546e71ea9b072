// Welch and multitaper spectra, spectrogram, Simpson integration and band power (see spectral.hpp).
#include "psgkit/spectral.hpp"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <numbers>
#include <string>

#include "psgkit/error.hpp"
#include "psgkit/preprocess.hpp"
#include "spectral_internal.hpp"
#include "features_internal.hpp"

namespace psgkit {

std::mutex& fftw_planner_mutex() {
  static std::mutex mutex;
  return mutex;
}

namespace {

// FFTW's planner is not thread-safe: plans are made under this mutex and cached per length for the
// life of the process (a handful of lengths in practice); execution with new arrays is thread-safe.
fftw_plan r2c_plan(int nfft) {
  static std::map<int, fftw_plan> plans;
  std::lock_guard lock(fftw_planner_mutex());
  auto it = plans.find(nfft);
  if (it != plans.end()) return it->second;
  double* in = fftw_alloc_real(static_cast<size_t>(nfft));
  fftw_complex* out = fftw_alloc_complex(static_cast<size_t>(nfft / 2 + 1));
  // ESTIMATE, not MEASURE: MEASURE picks the algorithm by timing, so two processes could round the
  // same spectrum differently (a cohort from per-night records then differed from a direct run in the
  // last bit), and its planning cost ≈ 0.1 s of CPU per length in every fresh process.
  fftw_plan plan = fftw_plan_dft_r2c_1d(nfft, in, out, FFTW_ESTIMATE);
  fftw_free(in);
  fftw_free(out);
  if (!plan) throw Error("", "nfft", "FFTW could not plan a real transform of length " + std::to_string(nfft));
  plans.emplace(nfft, plan);
  return plan;
}

// Per-thread scratch: SIMD-aligned (fftw_malloc, as the planning arrays) so the cached plans can be
// executed on them; grown when a longer transform is needed, never shrunk.
struct Scratch {
  double* in = nullptr;
  fftw_complex* out = nullptr;
  size_t capacity = 0;
  std::vector<double> work;  // median averaging: per-segment spectra, then one column
  ~Scratch() {
    fftw_free(in);
    fftw_free(out);
  }
  void reserve(size_t nfft) {
    if (nfft <= capacity) return;
    fftw_free(in);
    fftw_free(out);
    in = fftw_alloc_real(nfft);
    out = fftw_alloc_complex(nfft / 2 + 1);
    capacity = nfft;
  }
};
Scratch& scratch(size_t nfft) {
  thread_local Scratch s;
  s.reserve(nfft);
  return s;
}

std::vector<double> periodic_window(Window window, int n) {
  std::vector<double> w(static_cast<size_t>(n));
  const double two_pi = 2.0 * std::numbers::pi;
  for (int i = 0; i < n; ++i) {
    const double phase = two_pi * i / n;  // periodic: the symmetric window of n+1 points, last dropped
    switch (window) {
      case Window::Hann: w[static_cast<size_t>(i)] = 0.5 - 0.5 * std::cos(phase); break;
      case Window::Hamming: w[static_cast<size_t>(i)] = 0.54 - 0.46 * std::cos(phase); break;
      case Window::Boxcar: w[static_cast<size_t>(i)] = 1.0; break;
    }
  }
  return w;
}

// scipy.fft.rfftfreq(nfft, 1/fs): k * (1 / (nfft * (1 / fs))), so band edges compare as in scipy.
std::vector<double> rfft_frequencies(int nfft, double fs_hz) {
  const double val = 1.0 / (static_cast<double>(nfft) * (1.0 / fs_hz));
  std::vector<double> f(static_cast<size_t>(nfft / 2 + 1));
  for (size_t k = 0; k < f.size(); ++k) f[k] = static_cast<double>(k) * val;
  return f;
}

// scipy.signal._spectral_py._median_bias
double median_bias(int n) {
  double bias = 1.0;
  for (int i = 1; i <= (n - 1) / 2; ++i) bias += 1.0 / (2.0 * i + 1.0) - 1.0 / (2.0 * i);
  return bias;
}

template <class T>
void detrend_into(std::span<const T> x, double* out, Detrend detrend) {
  const size_t n = x.size();
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<double>(x[i]);
  if (detrend == Detrend::None) return;
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += out[i];
  const double mean = sum / static_cast<double>(n);
  if (detrend == Detrend::Constant) {
    for (size_t i = 0; i < n; ++i) out[i] -= mean;
    return;
  }
  // Least-squares line a + b·(i - centre).
  const double centre = 0.5 * static_cast<double>(n - 1);
  double sxy = 0.0, sxx = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) - centre;
    sxy += t * out[i];
    sxx += t * t;
  }
  const double slope = sxx > 0 ? sxy / sxx : 0.0;
  for (size_t i = 0; i < n; ++i) out[i] -= mean + slope * (static_cast<double>(i) - centre);
}

// One-sided doubling of every bin but DC and (even nfft) Nyquist.
void one_sided(std::span<double> p, int nfft) {
  const size_t last = (nfft % 2 == 0) ? p.size() - 1 : p.size();
  for (size_t k = 1; k < last; ++k) p[k] *= 2.0;
}

double median_of(std::span<double> v) {
  const size_t n = v.size();
  const size_t mid = n / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double upper = v[mid];
  if (n % 2 == 1) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return 0.5 * (lower + upper);
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Welch

struct WelchEstimator::Impl {
  WelchOptions options;
  int noverlap = 0, nfft = 0;
  std::vector<double> window;
  double scale = 1.0;
  std::vector<double> freq_hz;
  fftw_plan plan = nullptr;

  template <class T>
  void compute(std::span<const T> x, std::span<double> power) const {
    const int nperseg = options.nperseg;
    if (x.size() < static_cast<size_t>(nperseg))
      throw Error("", "nperseg",
                  "signal of " + std::to_string(x.size()) + " samples is shorter than nperseg = " + std::to_string(nperseg));
    if (power.size() != freq_hz.size())
      throw Error("", "power", "output holds " + std::to_string(power.size()) + " values, the spectrum has " +
                                   std::to_string(freq_hz.size()));
    const size_t step = static_cast<size_t>(nperseg - noverlap);
    const size_t n_segments = (x.size() - static_cast<size_t>(noverlap)) / step;
    const size_t n_freq = freq_hz.size();
    Scratch& s = scratch(static_cast<size_t>(nfft));
    const bool median = options.averaging == Averaging::Median;
    // Median: every segment's spectrum, then one column buffer.
    const size_t work_needed = median ? n_segments * n_freq + n_segments : 0;
    if (s.work.size() < work_needed) s.work.resize(work_needed);
    std::fill(power.begin(), power.end(), 0.0);
    std::fill(s.in + nperseg, s.in + nfft, 0.0);
    for (size_t seg = 0; seg < n_segments; ++seg) {
      const auto segment = x.subspan(seg * step, static_cast<size_t>(nperseg));
      if (options.detrend == Detrend::Linear) {
        detrend_into(segment, s.in, Detrend::Linear);
        for (int i = 0; i < nperseg; ++i) s.in[i] *= window[static_cast<size_t>(i)];
      } else {  // one fused pass: (x - mean) · w
        const double mean =
            options.detrend == Detrend::Constant ? detail::sum_as_double(segment) / static_cast<double>(nperseg) : 0.0;
        for (size_t i = 0; i < segment.size(); ++i) s.in[i] = (static_cast<double>(segment[i]) - mean) * window[i];
      }
      fftw_execute_dft_r2c(plan, s.in, s.out);
      double* dest = median ? s.work.data() + seg * n_freq : power.data();
      for (size_t k = 0; k < n_freq; ++k) {
        const double p = s.out[k][0] * s.out[k][0] + s.out[k][1] * s.out[k][1];
        if (median) dest[k] = p; else dest[k] += p;
      }
    }
    if (median) {
      const double bias = median_bias(static_cast<int>(n_segments));
      double* col = s.work.data() + n_segments * n_freq;
      for (size_t k = 0; k < n_freq; ++k) {
        for (size_t seg = 0; seg < n_segments; ++seg) col[seg] = s.work[seg * n_freq + k];
        power[k] = median_of(std::span<double>(col, n_segments)) / bias;
      }
    } else {
      const double inv = 1.0 / static_cast<double>(n_segments);
      for (auto& p : power) p *= inv;
    }
    for (auto& p : power) p *= scale;
    one_sided(power, nfft);
  }
};

WelchEstimator::WelchEstimator(const WelchOptions& options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.options = options;
  if (!(options.fs_hz > 0) || !std::isfinite(options.fs_hz))
    throw Error("", "fs_hz", "sampling rate must be positive and finite, got " + std::to_string(options.fs_hz));
  if (options.nperseg < 1) throw Error("", "nperseg", "must be at least 1, got " + std::to_string(options.nperseg));
  m.noverlap = options.noverlap < 0 ? options.nperseg / 2 : options.noverlap;
  if (m.noverlap >= options.nperseg)
    throw Error("", "noverlap", "must be smaller than nperseg (" + std::to_string(options.nperseg) + "), got " +
                                    std::to_string(m.noverlap));
  m.nfft = options.nfft < 0 ? options.nperseg : options.nfft;
  if (m.nfft < options.nperseg)
    throw Error("", "nfft", "must be at least nperseg (" + std::to_string(options.nperseg) + "), got " +
                                std::to_string(m.nfft));
  m.window = periodic_window(options.window, options.nperseg);
  double sum = 0.0, sum_sq = 0.0;
  for (double w : m.window) {
    sum += w;
    sum_sq += w * w;
  }
  m.scale = options.scaling == Scaling::Density ? 1.0 / (options.fs_hz * sum_sq) : 1.0 / (sum * sum);
  m.freq_hz = rfft_frequencies(m.nfft, options.fs_hz);
  m.plan = r2c_plan(m.nfft);
}
WelchEstimator::~WelchEstimator() = default;
WelchEstimator::WelchEstimator(WelchEstimator&&) noexcept = default;
WelchEstimator& WelchEstimator::operator=(WelchEstimator&&) noexcept = default;

const WelchOptions& WelchEstimator::options() const { return impl_->options; }
const std::vector<double>& WelchEstimator::freq_hz() const { return impl_->freq_hz; }
int WelchEstimator::segments(size_t n_samples) const {
  if (n_samples < static_cast<size_t>(impl_->options.nperseg)) return 0;
  return static_cast<int>((n_samples - static_cast<size_t>(impl_->noverlap)) /
                          static_cast<size_t>(impl_->options.nperseg - impl_->noverlap));
}
Spectrum WelchEstimator::compute(std::span<const double> x) const {
  Spectrum s{impl_->freq_hz, std::vector<double>(impl_->freq_hz.size())};
  impl_->compute(x, std::span<double>(s.power));
  return s;
}
Spectrum WelchEstimator::compute(std::span<const float> x) const {
  Spectrum s{impl_->freq_hz, std::vector<double>(impl_->freq_hz.size())};
  impl_->compute(x, std::span<double>(s.power));
  return s;
}
void WelchEstimator::compute(std::span<const double> x, std::span<double> power) const { impl_->compute(x, power); }
void WelchEstimator::compute(std::span<const float> x, std::span<double> power) const { impl_->compute(x, power); }

Spectrum welch(std::span<const double> x, const WelchOptions& options) { return WelchEstimator(options).compute(x); }

// ------------------------------------------------------------------------------------------------
// Multitaper

struct MultitaperEstimator::Impl {
  MultitaperOptions options;
  int n_samples = 0, nfft = 0;
  DpssTapers tapers;
  std::vector<double> freq_hz;
  fftw_plan plan = nullptr;

  template <class T>
  Spectrum compute(std::span<const T> x) const {
    if (x.size() != static_cast<size_t>(n_samples))
      throw Error("", "n_samples", "multitaper estimator built for " + std::to_string(n_samples) +
                                       " samples, got " + std::to_string(x.size()));
    const size_t n = x.size(), n_freq = freq_hz.size();
    const int k_tapers = tapers.n_tapers;
    Scratch& s = scratch(static_cast<size_t>(nfft));
    std::vector<double> centred(n);
    detrend_into(x, centred.data(), Detrend::Constant);
    double variance = 0.0;
    for (double v : centred) variance += v * v;
    variance /= static_cast<double>(n);
    std::vector<double> eigenspectra(static_cast<size_t>(k_tapers) * n_freq);
    std::fill(s.in + n, s.in + nfft, 0.0);
    for (int j = 0; j < k_tapers; ++j) {
      const auto v = tapers.taper(j);
      for (size_t i = 0; i < n; ++i) s.in[i] = v[i] * centred[i];
      fftw_execute_dft_r2c(plan, s.in, s.out);
      double* row = eigenspectra.data() + static_cast<size_t>(j) * n_freq;
      for (size_t k = 0; k < n_freq; ++k) row[k] = s.out[k][0] * s.out[k][0] + s.out[k][1] * s.out[k][1];
    }
    Spectrum result{freq_hz, std::vector<double>(n_freq, 0.0)};
    const auto& lambda = tapers.concentration;
    for (size_t k = 0; k < n_freq; ++k) {
      double estimate;
      if (options.weighting == TaperWeighting::Eigenvalue || k_tapers < 2) {
        double num = 0.0, den = 0.0;
        for (int j = 0; j < k_tapers; ++j) {
          num += lambda[static_cast<size_t>(j)] * eigenspectra[static_cast<size_t>(j) * n_freq + k];
          den += lambda[static_cast<size_t>(j)];
        }
        estimate = num / den;
      } else {
        estimate = 0.5 * (eigenspectra[k] + eigenspectra[n_freq + k]);
        for (int iteration = 0; iteration < 150; ++iteration) {
          double num = 0.0, den = 0.0;
          for (int j = 0; j < k_tapers; ++j) {
            const double l = lambda[static_cast<size_t>(j)];
            const double d = std::sqrt(l) * estimate / (l * estimate + (1.0 - l) * variance);
            num += d * d * eigenspectra[static_cast<size_t>(j) * n_freq + k];
            den += d * d;
          }
          const double next = den > 0 ? num / den : 0.0;
          const bool converged = std::abs(next - estimate) <= 1e-10 * std::abs(estimate);
          estimate = next;
          if (converged) break;
        }
      }
      result.power[k] = estimate / options.fs_hz;
    }
    one_sided(result.power, nfft);
    return result;
  }
};

MultitaperEstimator::MultitaperEstimator(int n_samples, const MultitaperOptions& options)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.options = options;
  if (!(options.fs_hz > 0) || !std::isfinite(options.fs_hz))
    throw Error("", "fs_hz", "sampling rate must be positive and finite, got " + std::to_string(options.fs_hz));
  const int k = options.n_tapers < 0 ? static_cast<int>(std::floor(2.0 * options.time_halfbandwidth)) - 1
                                     : options.n_tapers;
  m.n_samples = n_samples;
  m.tapers = dpss(n_samples, options.time_halfbandwidth, k);
  m.nfft = options.nfft < 0 ? n_samples : options.nfft;
  if (m.nfft < n_samples)
    throw Error("", "nfft", "must be at least the signal length (" + std::to_string(n_samples) + "), got " +
                                std::to_string(m.nfft));
  m.freq_hz = rfft_frequencies(m.nfft, options.fs_hz);
  m.plan = r2c_plan(m.nfft);
}
MultitaperEstimator::~MultitaperEstimator() = default;
MultitaperEstimator::MultitaperEstimator(MultitaperEstimator&&) noexcept = default;
MultitaperEstimator& MultitaperEstimator::operator=(MultitaperEstimator&&) noexcept = default;
int MultitaperEstimator::n_samples() const { return impl_->n_samples; }
const DpssTapers& MultitaperEstimator::tapers() const { return impl_->tapers; }
const std::vector<double>& MultitaperEstimator::freq_hz() const { return impl_->freq_hz; }
Spectrum MultitaperEstimator::compute(std::span<const double> x) const { return impl_->compute(x); }
Spectrum MultitaperEstimator::compute(std::span<const float> x) const { return impl_->compute(x); }

// ------------------------------------------------------------------------------------------------
// Spectrogram

namespace {
template <class T>
Spectrogram spectrogram_impl(std::span<const T> x, const WelchOptions& options, double epoch_s, double offset_s) {
  const WelchEstimator estimator(options);
  const auto epochs = make_epochs(x, options.fs_hz, epoch_s, offset_s);
  Spectrogram result;
  result.freq_hz = estimator.freq_hz();
  result.onset_s.resize(epochs.size());
  result.power.resize(epochs.size() * result.freq_hz.size());
  for (size_t e = 0; e < epochs.size(); ++e) {
    result.onset_s[e] = static_cast<double>(epochs.first_sample + e * epochs.samples_per_epoch) / options.fs_hz;
    estimator.compute(epochs[e], std::span<double>(result.power).subspan(e * result.cols(), result.cols()));
  }
  return result;
}
}  // namespace

Spectrogram spectrogram(std::span<const float> x, const WelchOptions& options, double epoch_s, double offset_s) {
  return spectrogram_impl(x, options, epoch_s, offset_s);
}
Spectrogram spectrogram(std::span<const double> x, const WelchOptions& options, double epoch_s, double offset_s) {
  return spectrogram_impl(x, options, epoch_s, offset_s);
}

// ------------------------------------------------------------------------------------------------
// Integration and band power

double simpson(std::span<const double> y, double dx) {
  const size_t n = y.size();
  if (n < 2) return 0.0;
  if (n == 2) return 0.5 * dx * (y[0] + y[1]);
  // Classic composite rule (weights 1, 4, 2, ..., 4, 1) over the first `odd` samples (an odd count).
  const size_t odd = (n % 2 == 1) ? n : n - 1;
  double sum = y[0] + y[odd - 1];
  for (size_t i = 1; i + 1 < odd; ++i) sum += (i % 2 == 1 ? 4.0 : 2.0) * y[i];
  double result = sum * dx / 3.0;
  if (odd != n) result += dx * (5.0 * y[n - 1] + 8.0 * y[n - 2] - y[n - 3]) / 12.0;
  return result;
}

double band_power(std::span<const double> freq_hz, std::span<const double> power, double lo_hz, double hi_hz,
                  BandIntegration integration) {
  if (freq_hz.size() != power.size() || freq_hz.size() < 2)
    throw Error("", "spectrum", "frequencies and powers must have the same length (at least 2)");
  if (!(lo_hz <= hi_hz))
    throw Error("", "band", "lower edge " + std::to_string(lo_hz) + " Hz is above the upper edge " +
                                std::to_string(hi_hz) + " Hz");
  const double nyquist = freq_hz.back();
  if (hi_hz > nyquist)
    throw Error("", "band", "upper edge " + std::to_string(hi_hz) + " Hz exceeds the highest frequency " +
                                std::to_string(nyquist) + " Hz");
  const auto first = std::lower_bound(freq_hz.begin(), freq_hz.end(), lo_hz);
  const auto last = std::upper_bound(first, freq_hz.end(), hi_hz);
  const size_t i0 = static_cast<size_t>(first - freq_hz.begin());
  const size_t count = static_cast<size_t>(last - first);
  const size_t needed = integration == BandIntegration::Simpson ? 2 : 1;
  if (count < needed)
    throw Error("", "band", "[" + std::to_string(lo_hz) + ", " + std::to_string(hi_hz) + "] Hz holds " +
                                std::to_string(count) + " frequency bin(s), at least " + std::to_string(needed) +
                                " needed (resolution " + std::to_string(freq_hz[1] - freq_hz[0]) + " Hz)");
  const auto in_band = power.subspan(i0, count);
  if (integration == BandIntegration::Simpson) return simpson(in_band, freq_hz[1] - freq_hz[0]);
  double sum = 0.0;
  for (double p : in_band) sum += p;
  return sum / static_cast<double>(count);
}

double band_power(const Spectrum& spectrum, double lo_hz, double hi_hz, BandIntegration integration) {
  return band_power(spectrum.freq_hz, spectrum.power, lo_hz, hi_hz, integration);
}

}  // namespace psgkit
