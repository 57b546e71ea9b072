// Quantiles of small samples (per-feature medians, per-night errors) shared by staging, training and
// the sleep statistics.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>

namespace psgkit::detail {

// The q-quantile of v (0 <= q <= 1), linear between neighbouring order statistics a + t·(b − a)
// (numpy's default method up to its symmetric lerp, which features_internal.hpp's
// interpolated_order_statistic reproduces for the feature recipes), found by selection; NaN when v is
// empty. Reorders v. The shipped models' normalisation references and interval widths were computed
// with exactly this arithmetic, so it must not change.
inline double linear_quantile(std::span<double> v, double q) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const auto at = v.begin() + static_cast<std::ptrdiff_t>(lo);
  std::nth_element(v.begin(), at, v.end());
  const double a = *at, b = lo + 1 < v.size() ? *std::min_element(at + 1, v.end()) : a;
  return a + (pos - static_cast<double>(lo)) * (b - a);
}

}  // namespace psgkit::detail
