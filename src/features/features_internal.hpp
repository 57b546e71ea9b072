// Internal helpers shared by features.cpp and recipes.cpp.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <immintrin.h>
#include <limits>
#include <span>
#include <vector>

#include "lanes_internal.hpp"

namespace psgkit::detail {

// Time-domain sums of one epoch x[0..n) (n >= 2), in double whatever the sample type. Σ over
// i in [0, n-1) unless said otherwise; d1[i] = x[i+1] - x[i], d2[i] = d1[i+1] - d1[i].
struct SampleMoments {
  double sum = 0, min = 0, max = 0;
  double m2 = 0, m3 = 0, m4 = 0;  // Σ (x - mean)^k over all n samples
  double d1_ss = 0, d2_ss = 0;    // Σ (d - mean d)² of the first (n-1 terms) / second (n-2) differences
  double line_length = 0;         // Σ |d1|
  size_t crossings = 0;           // sign(x[i+1]) != sign(x[i]), signs in {-1, 0, 1}
  size_t slope_sign_changes = 0;  // d1[i]·d1[i+1] < 0, i in [0, n-2)
  // Central moments and the Hjorth parameters (Hjorth 1970) from these sums.
  double variance(size_t n) const { return m2 / static_cast<double>(n); }
  double skewness(size_t n) const { return m3 / static_cast<double>(n) / std::pow(variance(n), 1.5); }
  double excess_kurtosis(size_t n) const {
    const double v = variance(n);
    return m4 / static_cast<double>(n) / (v * v) - 3.0;
  }
  double hjorth_mobility(size_t n) const { return std::sqrt(d1_ss / static_cast<double>(n - 1) / variance(n)); }
  double hjorth_complexity(size_t n) const {
    const double var_d1 = d1_ss / static_cast<double>(n - 1), var_d2 = d2_ss / static_cast<double>(n - 2);
    return std::sqrt(var_d2 / var_d1) / hjorth_mobility(n);
  }
};
// Vector kernels chosen once per CPU (AVX-512, AVX2, baseline), compiled without FMA contraction so
// every CPU gives the same bits. When a sample is NaN or infinite, only sum/min/max are filled (sum
// is then not finite): callers check std::isfinite(sum). Throws psgkit::Error when n < 2.
SampleMoments sample_moments(std::span<const double> x);
SampleMoments sample_moments(std::span<const float> x);
// Σ x in double (vector accumulators; same bits on every CPU).
double sum_as_double(std::span<const double> x);
double sum_as_double(std::span<const float> x);

// std::nth_element's contract (v[k] in place, smaller values before, larger after) for values without
// NaN, by quickselect with branch-free partitions: EEG samples are in random order, so the branches
// of an ordinary partition are mispredicted half the time. Equal values (quantised samples) are
// split off as a third part, so runs of one value cannot stall it; after 2·log2(n) rounds it hands
// over to std::nth_element (introselect's guarantee).
template <class T>
void select_nth(std::span<T> v, size_t k) {
  size_t lo = 0, hi = v.size();
  for (int budget = 2 * (std::bit_width(v.size()) + 1); hi - lo > 16; --budget) {
    if (budget == 0) {
      std::nth_element(v.begin() + static_cast<std::ptrdiff_t>(lo), v.begin() + static_cast<std::ptrdiff_t>(k),
                       v.begin() + static_cast<std::ptrdiff_t>(hi));
      return;
    }
    const T a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1];
    const T pivot = std::max(std::min(a, b), std::min(std::max(a, b), c));  // median of three
    // [lo, less) < pivot, then [less, equal) == pivot, then > pivot.
    size_t less = lo;
    for (size_t i = lo; i < hi; ++i) {
      const T x = v[i];
      const bool smaller = x < pivot;
      v[i] = v[less];
      v[less] = x;
      less += smaller;
    }
    size_t equal = less;
    for (size_t i = less; i < hi; ++i) {
      const T x = v[i];
      const bool same = !(pivot < x);
      v[i] = v[equal];
      v[equal] = x;
      equal += same;
    }
    if (k < less) hi = less;
    else if (k < equal) return;
    else lo = equal;
  }
  std::sort(v.begin() + static_cast<std::ptrdiff_t>(lo), v.begin() + static_cast<std::ptrdiff_t>(hi));
}

// numpy.percentile's linear interpolation between neighbouring order statistics a <= b at fraction t,
// in its numerically symmetric form (b - (b-a)(1-t) for t >= 0.5).
inline double numpy_lerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

// The order statistic at fractional `position` (0 .. n-1) with numpy.percentile's linear
// interpolation, including its numerically symmetric lerp (b - (b-a)(1-t) for t >= 0.5). Reorders v.
template <class T>
double interpolated_order_statistic(std::span<T> v, double position) {
  const size_t k = static_cast<size_t>(std::floor(position));
  const double t = position - static_cast<double>(k);
  select_nth(v, k);
  const double a = v[k];
  if (t == 0.0 || k + 1 >= v.size()) return a;
  return numpy_lerp(a, *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(k) + 1, v.end()), t);
}

// percentile(q_hi) - percentile(q_lo) (q in percent) of v, numpy's default method. Reorders v; the
// second selection only searches the part below the first one.
template <class T>
double inter_percentile_range(std::span<T> v, double q_lo_percent, double q_hi_percent) {
  const double last = static_cast<double>(v.size() - 1);
  const double pos_hi = q_hi_percent / 100.0 * last, pos_lo = q_lo_percent / 100.0 * last;
  const double upper = interpolated_order_statistic(v, pos_hi);
  const size_t k_hi = static_cast<size_t>(std::floor(pos_hi));
  const size_t k_lo = static_cast<size_t>(std::floor(pos_lo));
  // After selecting k_hi, v[0 .. k_hi) holds the k_hi smallest values.
  const std::span<T> below = (k_lo + 2 <= k_hi) ? v.first(k_hi) : v;
  return upper - interpolated_order_statistic(below, pos_lo);
}

// The bracket pass of inter_percentile_range_fast: counts the values below lo[j] and copies those in
// [lo[j], hi[j]] to out[j] (j = 0, 1), for x[begin, n). Returns nothing; below/inside accumulate.
template <class T>
void bracket_scan(const T* x, size_t begin, size_t n, const T lo[2], const T hi[2], T* out[2], size_t below[2],
                  size_t inside[2]) {
  for (size_t i = begin; i < n; ++i) {
    const T v = x[i];
    for (int j = 0; j < 2; ++j) {
      below[j] += v < lo[j];
      out[j][inside[j]] = v;
      inside[j] += (v >= lo[j]) & (v <= hi[j]);
    }
  }
}

// The AVX-512 operations bracket_scan_avx512 needs, for double (8 lanes) and float (16 lanes).
#define PSGKIT_AVX512_BRACKET __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw"), always_inline)) static
template <class T> struct Avx512Lanes;
template <> struct Avx512Lanes<double> {
  using V = __m512d;
  static constexpr size_t kLanes = 8;
  PSGKIT_AVX512_BRACKET V splat(double s) { return _mm512_set1_pd(s); }
  PSGKIT_AVX512_BRACKET V load(const double* p) { return _mm512_loadu_pd(p); }
  template <int kPredicate>
  PSGKIT_AVX512_BRACKET unsigned compare(V a, V b) { return _mm512_cmp_pd_mask(a, b, kPredicate); }
  PSGKIT_AVX512_BRACKET void store_compressed(double* p, unsigned mask, V v) {
    _mm512_storeu_pd(p, _mm512_maskz_compress_pd(static_cast<__mmask8>(mask), v));
  }
};
template <> struct Avx512Lanes<float> {
  using V = __m512;
  static constexpr size_t kLanes = 16;
  PSGKIT_AVX512_BRACKET V splat(float s) { return _mm512_set1_ps(s); }
  PSGKIT_AVX512_BRACKET V load(const float* p) { return _mm512_loadu_ps(p); }
  template <int kPredicate>
  PSGKIT_AVX512_BRACKET unsigned compare(V a, V b) { return _mm512_cmp_ps_mask(a, b, kPredicate); }
  PSGKIT_AVX512_BRACKET void store_compressed(float* p, unsigned mask, V v) {
    _mm512_storeu_ps(p, _mm512_maskz_compress_ps(static_cast<__mmask16>(mask), v));
  }
};
#undef PSGKIT_AVX512_BRACKET

// AVX-512: compares a whole vector and packs the values inside with a register compress followed by a
// full-width store (out[j] needs 16 values of slack). Returns the number of samples done.
template <class T>
__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw"))) inline size_t bracket_scan_avx512(
    const T* x, size_t n, const T lo[2], const T hi[2], T* out[2], size_t below[2], size_t inside[2]) {
  using A = Avx512Lanes<T>;
  const typename A::V lo_v[2] = {A::splat(lo[0]), A::splat(lo[1])}, hi_v[2] = {A::splat(hi[0]), A::splat(hi[1])};
  size_t i = 0;
  for (; i + A::kLanes <= n; i += A::kLanes) {
    const typename A::V v = A::load(x + i);
    for (int j = 0; j < 2; ++j) {
      const unsigned in = A::template compare<_CMP_GE_OQ>(v, lo_v[j]) & A::template compare<_CMP_LE_OQ>(v, hi_v[j]);
      below[j] += static_cast<size_t>(__builtin_popcount(A::template compare<_CMP_LT_OQ>(v, lo_v[j])));
      A::store_compressed(out[j] + inside[j], in, v);
      inside[j] += static_cast<size_t>(__builtin_popcount(in));
    }
  }
  return i;
}

// Same result as inter_percentile_range on a copy of x, faster for long inputs (Floyd & Rivest 1975
// style): a sorted sample of 128 values brackets each wanted order statistic, one pass counts the values
// below each bracket and gathers those inside, and only the gathered values are selected. A bracket that
// misses its rank (unlucky sample) falls back to full selection, so the result is always exact.
// `scratch` holds 3·n + 32 values after the call.
template <class T>
double inter_percentile_range_fast(std::span<const T> x, double q_lo_percent, double q_hi_percent,
                                   std::vector<T>& scratch) {
  const size_t n = x.size();
  constexpr size_t kSample = 128, kMargin = 8;
  constexpr size_t kSlack = 16;  // the vector bracket pass stores whole vectors past the last value kept
  scratch.resize(3 * n + 2 * kSlack);
  auto full = [&]() {
    std::copy(x.begin(), x.end(), scratch.begin());
    return inter_percentile_range(std::span<T>(scratch.data(), n), q_lo_percent, q_hi_percent);
  };
  if (n < 8 * kSample) return full();
  T sample[kSample];
  const size_t stride = n / kSample;
  for (size_t i = 0; i < kSample; ++i) sample[i] = x[i * stride + (i * 7919) % stride];
  std::sort(sample, sample + kSample);
  const double last = static_cast<double>(n - 1);
  const double positions[2] = {q_lo_percent / 100.0 * last, q_hi_percent / 100.0 * last};
  T lo_edge[2], hi_edge[2];
  for (int j = 0; j < 2; ++j) {
    const double p = std::floor(positions[j]) / static_cast<double>(n);
    const long centre = static_cast<long>(p * kSample);
    const long a = centre - static_cast<long>(kMargin), b = centre + 1 + static_cast<long>(kMargin);
    lo_edge[j] = a < 0 ? std::numeric_limits<T>::lowest() : sample[a];
    hi_edge[j] = b >= static_cast<long>(kSample) ? std::numeric_limits<T>::max() : sample[b];
  }
  size_t below[2] = {0, 0}, inside[2] = {0, 0};
  T* gathered[2] = {scratch.data() + n, scratch.data() + 2 * n + kSlack};
  const size_t done = cpu_level() == 2 ? bracket_scan_avx512(x.data(), n, lo_edge, hi_edge, gathered, below, inside) : 0;
  bracket_scan(x.data(), done, n, lo_edge, hi_edge, gathered, below, inside);
  double value[2];
  for (int j = 0; j < 2; ++j) {
    const size_t k = static_cast<size_t>(std::floor(positions[j]));
    const bool needs_next = positions[j] - static_cast<double>(k) > 0.0 && k + 1 < n;
    if (below[j] > k || below[j] + inside[j] < k + 1 + (needs_next ? 1 : 0)) return full();
    const std::span<T> part(gathered[j], inside[j]);
    value[j] = interpolated_order_statistic(part, static_cast<double>(k - below[j]) + (positions[j] - static_cast<double>(k)));
  }
  return value[1] - value[0];
}
}  // namespace psgkit::detail
