// sample_moments (features_internal.hpp): the time-domain sums shared by the default features and the
// sleepedf-timedomain recipe, in W-lane vectors. Sums differ from a sequential loop only by rounding
// (~1e-15 relative); the discrete counts use exactly the scalar comparisons, so they are identical.
#include <algorithm>
#include <cmath>
#include <string>

#include "features_internal.hpp"
#include "lanes_internal.hpp"
#include "psgkit/error.hpp"

namespace psgkit::detail {
namespace {

template <int W, class T>
[[gnu::always_inline]] inline SampleMoments moments(const T* x, size_t n) {
  using V = Lanes<W>;
  using D = typename V::D;
  using L = typename V::L;
  SampleMoments s;
  const double nd = static_cast<double>(n);
  auto at = [x](size_t i) { return static_cast<double>(x[i]); };
  // Pass 1: sum, min, max.
  D vsum{}, vmin = V::splat(at(0)), vmax = V::splat(at(0));
  size_t i = 0;
  for (; i + W <= n; i += W) {
    const D v = V::load(x + i);
    vsum += v;
    vmin = v < vmin ? v : vmin;
    vmax = v > vmax ? v : vmax;
  }
  s.sum = V::sum(vsum);
  s.min = vmin[0];
  s.max = vmax[0];
  for (int l = 1; l < W; ++l) {
    s.min = std::min(s.min, vmin[l]);
    s.max = std::max(s.max, vmax[l]);
  }
  for (; i < n; ++i) {
    s.sum += at(i);
    s.min = std::min(s.min, at(i));
    s.max = std::max(s.max, at(i));
  }
  if (!std::isfinite(s.sum)) return s;
  // Pass 2: central moments, difference variances (their means are known in closed form: the sums
  // telescope), line length, zero crossings and slope sign changes, for i in [0, n-2); the last
  // terms below.
  const double mean = s.sum / nd;
  const double d1_mean = (at(n - 1) - at(0)) / (nd - 1);
  const double d2_mean = ((at(n - 1) - at(n - 2)) - (at(1) - at(0))) / (nd - 2);
  D m2{}, m3{}, m4{}, s1{}, s2{}, length{};
  L crossings{}, changes{};
  i = 0;
  for (; i + W + 2 <= n; i += W) {
    const D a = V::load(x + i), b = V::load(x + i + 1), c = V::load(x + i + 2);
    const D dev = a - mean, dev2 = dev * dev;
    m2 += dev2;
    m3 += dev2 * dev;
    m4 += dev2 * dev2;
    const D d1 = b - a, d1_next = c - b, d2 = d1_next - d1;
    s1 += (d1 - d1_mean) * (d1 - d1_mean);
    s2 += (d2 - d2_mean) * (d2 - d2_mean);
    length += V::abs(d1);
    changes -= d1 * d1_next < 0.0;
    crossings -= V::sign(a) != V::sign(b);
  }
  s.m2 = V::sum(m2);
  s.m3 = V::sum(m3);
  s.m4 = V::sum(m4);
  s.d1_ss = V::sum(s1);
  s.d2_ss = V::sum(s2);
  s.line_length = V::sum(length);
  s.crossings = static_cast<size_t>(V::sum(crossings));
  s.slope_sign_changes = static_cast<size_t>(V::sum(changes));
  auto sgn = [](double v) { return (v > 0) - (v < 0); };
  for (; i + 2 < n; ++i) {
    const double dev = at(i) - mean, dev2 = dev * dev;
    s.m2 += dev2;
    s.m3 += dev2 * dev;
    s.m4 += dev2 * dev2;
    const double d1 = at(i + 1) - at(i), d1_next = at(i + 2) - at(i + 1), d2 = d1_next - d1;
    s.d1_ss += (d1 - d1_mean) * (d1 - d1_mean);
    s.d2_ss += (d2 - d2_mean) * (d2 - d2_mean);
    s.line_length += std::abs(d1);
    s.slope_sign_changes += d1 * d1_next < 0;
    s.crossings += sgn(at(i + 1)) != sgn(at(i));
  }
  for (size_t j = n - 2; j < n; ++j) {
    const double dev = at(j) - mean, dev2 = dev * dev;
    s.m2 += dev2;
    s.m3 += dev2 * dev;
    s.m4 += dev2 * dev2;
  }
  const double d1_last = at(n - 1) - at(n - 2);
  s.d1_ss += (d1_last - d1_mean) * (d1_last - d1_mean);
  s.line_length += std::abs(d1_last);
  s.crossings += sgn(at(n - 1)) != sgn(at(n - 2));
  return s;
}

// Four vector accumulators: the adds do not wait on each other.
template <int W, class T>
[[gnu::always_inline]] inline double sum(const T* x, size_t n) {
  using V = Lanes<W>;
  typename V::D acc[4] = {};
  size_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W)
    for (int j = 0; j < 4; ++j) acc[j] += V::load(x + i + j * W);
  double s = V::sum((acc[0] + acc[1]) + (acc[2] + acc[3]));
  for (; i < n; ++i) s += static_cast<double>(x[i]);
  return s;
}

struct SumKernel {
  template <int W, class T>
  [[gnu::always_inline]] static double run(const T* x, size_t n) {
    return sum<W>(x, n);
  }
};
struct MomentsKernel {
  template <int W, class T>
  [[gnu::always_inline]] static SampleMoments run(const T* x, size_t n) {
    return moments<W>(x, n);
  }
};

template <class T>
SampleMoments checked_moments(std::span<const T> x) {
  if (x.size() < 2) throw Error("", "epoch", "time-domain statistics need at least 2 samples, got " + std::to_string(x.size()));
  return run_for_cpu<MomentsKernel>(x.data(), x.size());
}

}  // namespace

double sum_as_double(std::span<const double> x) { return run_for_cpu<SumKernel>(x.data(), x.size()); }
double sum_as_double(std::span<const float> x) { return run_for_cpu<SumKernel>(x.data(), x.size()); }
SampleMoments sample_moments(std::span<const double> x) { return checked_moments(x); }
SampleMoments sample_moments(std::span<const float> x) { return checked_moments(x); }

}  // namespace psgkit::detail
