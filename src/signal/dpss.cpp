// Discrete prolate spheroidal sequences (see spectral.hpp): Sturm bisection + inverse iteration on the
// tridiagonal matrix of Slepian (1978), concentration ratios from FFT autocorrelations as scipy does.
#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "psgkit/error.hpp"
#include "psgkit/spectral.hpp"
#include "spectral_internal.hpp"

namespace psgkit {
namespace {

// Number of eigenvalues of the symmetric tridiagonal (d, e) smaller than x (Sturm sequence).
size_t eigenvalues_below(const std::vector<double>& d, const std::vector<double>& e, double x, double pivmin) {
  size_t count = 0;
  double q = d[0] - x;
  if (std::abs(q) < pivmin) q = -pivmin;
  if (q < 0) ++count;
  for (size_t i = 1; i < d.size(); ++i) {
    q = d[i] - x - e[i - 1] * e[i - 1] / q;
    if (std::abs(q) < pivmin) q = -pivmin;
    if (q < 0) ++count;
  }
  return count;
}

// Solves (T - shift·I) y = b in place (b becomes y): Gaussian elimination with partial pivoting for a
// tridiagonal matrix (the scheme of LAPACK dgtsv).
void tridiagonal_solve(const std::vector<double>& diag, const std::vector<double>& off, double shift,
                       double tiny, std::vector<double>& b) {
  const size_t n = diag.size();
  std::vector<double> d(n), dl(off), du(off), du2(n, 0.0);
  for (size_t i = 0; i < n; ++i) d[i] = diag[i] - shift;
  for (size_t i = 0; i + 1 < n; ++i) {
    if (std::abs(d[i]) >= std::abs(dl[i])) {
      if (d[i] == 0.0) d[i] = tiny;
      const double fact = dl[i] / d[i];
      d[i + 1] -= fact * du[i];
      b[i + 1] -= fact * b[i];
      du2[i] = 0.0;
    } else {
      const double fact = d[i] / dl[i];
      d[i] = dl[i];
      const double temp = d[i + 1];
      d[i + 1] = du[i] - fact * temp;
      if (i + 2 < n) {
        du2[i] = du[i + 1];
        du[i + 1] = -fact * du[i + 1];
      }
      du[i] = temp;
      const double bt = b[i];
      b[i] = b[i + 1];
      b[i + 1] = bt - fact * b[i + 1];
    }
  }
  if (d[n - 1] == 0.0) d[n - 1] = tiny;
  b[n - 1] /= d[n - 1];
  if (n > 1) b[n - 2] = (b[n - 2] - du[n - 2] * b[n - 1]) / d[n - 2];
  for (size_t i = n - 2; i-- > 0;) b[i] = (b[i] - du[i] * b[i + 1] - du2[i] * b[i + 2]) / d[i];
}

void normalise(std::vector<double>& v) {
  double sum_sq = 0.0;
  for (double x : v) sum_sq += x * x;
  const double inv = 1.0 / std::sqrt(sum_sq);
  for (double& x : v) x *= inv;
}

}  // namespace

DpssTapers dpss(int n_samples, double time_halfbandwidth, int n_tapers) {
  if (n_samples < 2) throw Error("", "n_samples", "DPSS need at least 2 samples, got " + std::to_string(n_samples));
  if (!(time_halfbandwidth > 0) || !(time_halfbandwidth < n_samples / 2.0))
    throw Error("", "time_halfbandwidth", "NW must be in (0, n/2), got " + std::to_string(time_halfbandwidth));
  if (n_tapers < 1 || n_tapers > n_samples)
    throw Error("", "n_tapers", "must be in [1, " + std::to_string(n_samples) + "], got " + std::to_string(n_tapers));
  const size_t n = static_cast<size_t>(n_samples);
  const double w = time_halfbandwidth / n_samples;
  const double cos_term = std::cos(2.0 * std::numbers::pi * w);
  std::vector<double> diag(n), off(n - 1);
  for (size_t i = 0; i < n; ++i) {
    const double c = 0.5 * (static_cast<double>(n) - 1.0 - 2.0 * static_cast<double>(i));
    diag[i] = c * c * cos_term;
  }
  for (size_t i = 1; i < n; ++i) off[i - 1] = 0.5 * static_cast<double>(i) * static_cast<double>(n - i);

  // Gershgorin bounds for the bisection.
  double lower = diag[0], upper = diag[0], scale = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double radius = (i > 0 ? std::abs(off[i - 1]) : 0.0) + (i + 1 < n ? std::abs(off[i]) : 0.0);
    lower = std::min(lower, diag[i] - radius);
    upper = std::max(upper, diag[i] + radius);
    scale = std::max(scale, std::max(std::abs(diag[i]), radius));
  }
  const double pivmin = std::max(scale, 1.0) * 1e-300;
  const double tiny = std::max(scale, 1.0) * 1e-14;

  DpssTapers result;
  result.n_samples = n_samples;
  result.n_tapers = n_tapers;
  result.tapers.assign(static_cast<size_t>(n_tapers) * n, 0.0);
  std::vector<double> v(n);
  for (int j = 0; j < n_tapers; ++j) {
    // j-th largest eigenvalue = index n-1-j in ascending order.
    const size_t index = n - 1 - static_cast<size_t>(j);
    double lo = lower, hi = upper;
    for (int it = 0; it < 200 && hi - lo > 4 * std::numeric_limits<double>::epsilon() * std::max(std::abs(lo), std::abs(hi)); ++it) {
      const double mid = 0.5 * (lo + hi);
      if (eigenvalues_below(diag, off, mid, pivmin) > index) hi = mid; else lo = mid;
    }
    const double eigenvalue = 0.5 * (lo + hi);
    // Inverse iteration from a deterministic, non-symmetric start vector; Gram-Schmidt against the
    // tapers already found keeps the vectors orthogonal even if eigenvalues were close.
    for (size_t i = 0; i < n; ++i) v[i] = 1.0 + 0.5 * std::sin(1.0 + 0.7 * static_cast<double>(i));
    normalise(v);
    for (int iteration = 0; iteration < 4; ++iteration) {
      tridiagonal_solve(diag, off, eigenvalue, tiny, v);
      for (int p = 0; p < j; ++p) {
        const auto prev = result.taper(p);
        double dot = 0.0;
        for (size_t i = 0; i < n; ++i) dot += prev[i] * v[i];
        for (size_t i = 0; i < n; ++i) v[i] -= dot * prev[i];
      }
      normalise(v);
    }
    // Sign conventions of scipy / Percival & Walden.
    bool flip = false;
    if (j % 2 == 0) {
      double sum = 0.0;
      for (double x : v) sum += x;
      flip = sum < 0;
    } else {
      const double threshold = std::max(1e-7, 1.0 / static_cast<double>(n));
      for (double x : v)
        if (x * x > threshold) {
          flip = x < 0;
          break;
        }
    }
    if (flip)
      for (double& x : v) x = -x;
    std::copy(v.begin(), v.end(), result.tapers.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(j) * n));
  }

  // Concentration λ = Σ_m r(m)·s(m): r = autocorrelation of the taper (via FFT, length >= 2n-1),
  // s(0) = 2W, s(m) = 2 sin(2πWm)/(πm) — scipy's `ratios`.
  const size_t nfft = 2 * n;
  double* buffer = fftw_alloc_real(nfft);
  fftw_complex* spectrum = fftw_alloc_complex(nfft / 2 + 1);
  fftw_plan forward, backward;
  {
    std::lock_guard lock(fftw_planner_mutex());
    forward = fftw_plan_dft_r2c_1d(static_cast<int>(nfft), buffer, spectrum, FFTW_ESTIMATE);
    backward = fftw_plan_dft_c2r_1d(static_cast<int>(nfft), spectrum, buffer, FFTW_ESTIMATE);
  }
  std::vector<double> kernel(n);
  kernel[0] = 2.0 * w;
  for (size_t m = 1; m < n; ++m)
    kernel[m] = 2.0 * std::sin(2.0 * std::numbers::pi * w * static_cast<double>(m)) / (std::numbers::pi * static_cast<double>(m));
  result.concentration.resize(static_cast<size_t>(n_tapers));
  for (int j = 0; j < n_tapers; ++j) {
    const auto taper = result.taper(j);
    std::copy(taper.begin(), taper.end(), buffer);
    std::fill(buffer + n, buffer + nfft, 0.0);
    fftw_execute(forward);
    for (size_t k = 0; k < nfft / 2 + 1; ++k) {
      spectrum[k][0] = spectrum[k][0] * spectrum[k][0] + spectrum[k][1] * spectrum[k][1];
      spectrum[k][1] = 0.0;
    }
    fftw_execute(backward);
    double ratio = 0.0;
    for (size_t m = 0; m < n; ++m) ratio += buffer[m] / static_cast<double>(nfft) * kernel[m];
    result.concentration[static_cast<size_t>(j)] = ratio;
  }
  {
    std::lock_guard lock(fftw_planner_mutex());
    fftw_destroy_plan(forward);
    fftw_destroy_plan(backward);
  }
  fftw_free(buffer);
  fftw_free(spectrum);
  return result;
}

}  // namespace psgkit
