// Internal helpers shared by features.cpp and recipes.cpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>

namespace psgkit::detail {

// The order statistic at fractional `position` (0 .. n-1) with numpy.percentile's linear
// interpolation, including its numerically symmetric lerp (b - (b-a)(1-t) for t >= 0.5). Reorders v.
template <class T>
double interpolated_order_statistic(std::span<T> v, double position) {
  const size_t k = static_cast<size_t>(std::floor(position));
  const double t = position - static_cast<double>(k);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  const double a = v[k];
  if (t == 0.0 || k + 1 >= v.size()) return a;
  const double b = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(k) + 1, v.end());
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
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

}  // namespace psgkit::detail
