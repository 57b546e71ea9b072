// Paired statistics: see include/psgkit/paired_stats.hpp for definitions and references.
#include "psgkit/paired_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "psgkit/error.hpp"

namespace psgkit {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// d = after − before over the pairs where both are numbers.
std::vector<double> paired_differences(std::span<const double> before, std::span<const double> after) {
  if (before.size() != after.size()) {
    throw Error("", "after", "paired samples differ in length: " + std::to_string(before.size()) + " before, " +
                                 std::to_string(after.size()) + " after");
  }
  std::vector<double> d;
  d.reserve(before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    if (!std::isnan(before[i]) && !std::isnan(after[i])) d.push_back(after[i] - before[i]);
  }
  return d;
}

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }

// Sample standard deviation (n − 1); needs v.size() >= 2.
double sd_of(const std::vector<double>& v, double mean) {
  double ss = 0;
  for (const double x : v) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

// Continued fraction of the incomplete beta function, modified Lentz evaluation.
double beta_continued_fraction(double a, double b, double x) {
  constexpr int kMaxIterations = 10000;
  constexpr double kEpsilon = 1e-15;
  constexpr double kTiny = 1e-300;
  auto guard = [](double v) { return std::fabs(v) < kTiny ? kTiny : v; };
  double c = 1.0;
  double d = 1.0 / guard(1.0 - (a + b) * x / (a + 1.0));
  double h = d;
  for (int m = 1; m <= kMaxIterations; ++m) {
    const double md = m;
    const double even = md * (b - md) * x / ((a + 2 * md - 1) * (a + 2 * md));
    d = 1.0 / guard(1.0 + even * d);
    c = guard(1.0 + even / c);
    h *= d * c;
    const double odd = -(a + md) * (a + b + md) * x / ((a + 2 * md) * (a + 2 * md + 1));
    d = 1.0 / guard(1.0 + odd * d);
    c = guard(1.0 + odd / c);
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEpsilon) return h;
  }
  return h;  // not reached for the a, b of t-tests; the last convergent is still accurate to ~1e-12
}

// xoshiro256** (Blackman & Vigna 2018), seeded with splitmix64.
class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed) {
    for (auto& word : state_) {
      seed += 0x9E3779B97F4A7C15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      word = z ^ (z >> 31);
    }
  }
  uint64_t next() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }
  // Uniform in [0, bound), bound > 0: Lemire's multiply-shift with rejection (no modulo bias).
  uint64_t below(uint64_t bound) {
    unsigned __int128 product = static_cast<unsigned __int128>(next()) * bound;
    auto low = static_cast<uint64_t>(product);
    if (low < bound) {
      const uint64_t threshold = (0 - bound) % bound;
      while (low < threshold) {
        product = static_cast<unsigned __int128>(next()) * bound;
        low = static_cast<uint64_t>(product);
      }
    }
    return static_cast<uint64_t>(product >> 64);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

// Linear interpolation between order statistics at position q·(n − 1) of sorted values.
double sorted_quantile(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(position));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (position - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

double regularized_incomplete_beta(double a, double b, double x) {
  if (!(a > 0) || !(b > 0) || !(x >= 0 && x <= 1)) return kNaN;
  if (x == 0) return 0.0;
  if (x == 1) return 1.0;
  const double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  const double front = std::exp(log_front);
  // The fraction converges fast for x < (a+1)/(a+b+2); use the symmetry on the other side.
  if (x < (a + 1.0) / (a + b + 2.0)) return front * beta_continued_fraction(a, b, x) / a;
  return 1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b;
}

double student_t_cdf(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return kNaN;
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  const double tail = 0.5 * regularized_incomplete_beta(0.5 * df, 0.5, df / (df + t * t));
  return t > 0 ? 1.0 - tail : tail;
}

double normal_sf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

PairedTTest paired_t_test(std::span<const double> before, std::span<const double> after) {
  const std::vector<double> d = paired_differences(before, after);
  PairedTTest r;
  r.n = d.size();
  if (r.n < 2) {
    r.mean_diff = r.n ? d[0] : kNaN;
    r.sd_diff = r.t = r.df = r.p_value = kNaN;
    r.note = "fewer than 2 pairs";
    return r;
  }
  r.mean_diff = mean_of(d);
  r.sd_diff = sd_of(d, r.mean_diff);
  r.df = static_cast<double>(r.n - 1);
  if (r.sd_diff == 0) {
    r.t = r.p_value = kNaN;
    r.note = "differences have zero variance";
    return r;
  }
  r.t = r.mean_diff / (r.sd_diff / std::sqrt(static_cast<double>(r.n)));
  // Two-sided p directly as I_x(df/2, 1/2), avoiding 1 − cdf cancellation for large |t|.
  r.p_value = regularized_incomplete_beta(0.5 * r.df, 0.5, r.df / (r.df + r.t * r.t));
  return r;
}

WilcoxonTest wilcoxon_signed_rank(std::span<const double> before, std::span<const double> after) {
  std::vector<double> d = paired_differences(before, after);
  WilcoxonTest r;
  const size_t n_all = d.size();
  std::erase(d, 0.0);
  r.n = d.size();
  r.n_zero = n_all - r.n;
  if (r.n == 0) {
    r.statistic = r.z = r.p_value = kNaN;
    r.note = n_all ? "all differences are zero" : "no pairs";
    return r;
  }
  // Average ranks of |d|; tie groups recorded for the variance correction.
  std::vector<size_t> order(r.n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return std::fabs(d[i]) < std::fabs(d[j]); });
  double w_plus = 0, w_minus = 0, tie_term = 0;
  for (size_t i = 0; i < r.n;) {
    size_t j = i;
    while (j < r.n && std::fabs(d[order[j]]) == std::fabs(d[order[i]])) ++j;
    const double rank = 0.5 * static_cast<double>(i + 1 + j);  // mean of ranks i+1 .. j
    const auto t = static_cast<double>(j - i);
    tie_term += t * (t * t - 1.0);
    for (size_t k = i; k < j; ++k) (d[order[k]] > 0 ? w_plus : w_minus) += rank;
    i = j;
  }
  r.statistic = std::min(w_plus, w_minus);
  const auto n = static_cast<double>(r.n);
  r.exact = r.n_zero == 0 && tie_term == 0 && r.n <= 50;
  if (r.exact) {
    // Null distribution of W+: number of subsets of {1..n} with each rank sum, over 2^n.
    const size_t max_sum = r.n * (r.n + 1) / 2;
    std::vector<double> ways(max_sum + 1, 0.0);
    ways[0] = 1.0;
    for (size_t k = 1; k <= r.n; ++k) {
      for (size_t s = max_sum; s >= k; --s) ways[s] += ways[s - k];
    }
    const auto w = static_cast<size_t>(w_plus);
    const double total = std::ldexp(1.0, static_cast<int>(r.n));
    double below = 0, above = 0;
    for (size_t s = 0; s <= max_sum; ++s) {
      if (s <= w) below += ways[s];
      if (s >= w) above += ways[s];
    }
    r.z = kNaN;
    r.p_value = std::min(1.0, 2.0 * std::min(below, above) / total);
  } else {
    const double mean = n * (n + 1) / 4.0;
    const double se = std::sqrt((n * (n + 1) * (2 * n + 1) - 0.5 * tie_term) / 24.0);
    r.z = (r.statistic - mean) / se;
    r.p_value = 2.0 * normal_sf(std::fabs(r.z));
    if (r.n < 10) r.note = "normal approximation with fewer than 10 non-zero differences";
  }
  return r;
}

EffectSize hedges_g_paired(std::span<const double> before, std::span<const double> after) {
  const std::vector<double> d = paired_differences(before, after);
  EffectSize r;
  r.n = d.size();
  if (r.n < 3) {
    r.g = kNaN;
    r.note = "fewer than 3 pairs (small-sample correction J <= 0)";
    return r;
  }
  const double mean = mean_of(d);
  const double sd = sd_of(d, mean);
  if (sd == 0) {
    r.g = kNaN;
    r.note = "differences have zero variance";
    return r;
  }
  const double correction = 1.0 - 3.0 / (4.0 * static_cast<double>(r.n - 1) - 1.0);
  r.g = correction * mean / sd;
  return r;
}

BootstrapCI bootstrap_mean_diff_ci(std::span<const double> before, std::span<const double> after, double level,
                                   size_t n_resamples, uint64_t seed) {
  if (!(level > 0 && level < 1)) throw Error("", "level", "confidence level must be in (0, 1)");
  if (n_resamples < 2) throw Error("", "n_resamples", "need at least 2 bootstrap resamples");
  const std::vector<double> d = paired_differences(before, after);
  BootstrapCI r;
  r.n = d.size();
  r.level = level;
  r.n_resamples = n_resamples;
  r.mean_diff = r.n ? mean_of(d) : kNaN;
  if (r.n < 2) {
    r.lower = r.upper = kNaN;
    r.note = "fewer than 2 pairs";
    return r;
  }
  Xoshiro256 rng(seed);
  std::vector<double> means(n_resamples);
  for (auto& m : means) {
    double sum = 0;
    for (size_t i = 0; i < r.n; ++i) sum += d[rng.below(r.n)];
    m = sum / static_cast<double>(r.n);
  }
  std::sort(means.begin(), means.end());
  r.lower = sorted_quantile(means, 0.5 * (1.0 - level));
  r.upper = sorted_quantile(means, 0.5 * (1.0 + level));
  return r;
}

std::vector<double> holm_bonferroni(std::span<const double> p_values) {
  std::vector<double> adjusted(p_values.size(), kNaN);
  std::vector<size_t> order;
  for (size_t i = 0; i < p_values.size(); ++i) {
    if (!std::isnan(p_values[i])) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) { return p_values[i] < p_values[j]; });
  const size_t m = order.size();
  double running_max = 0;
  for (size_t rank = 0; rank < m; ++rank) {
    running_max = std::max(running_max, static_cast<double>(m - rank) * p_values[order[rank]]);
    adjusted[order[rank]] = std::min(1.0, running_max);
  }
  return adjusted;
}

PairedComparison compare_paired(std::span<const double> before, std::span<const double> after) {
  PairedComparison r;
  r.t_test = paired_t_test(before, after);
  r.wilcoxon = wilcoxon_signed_rank(before, after);
  r.effect = hedges_g_paired(before, after);
  r.ci = bootstrap_mean_diff_ci(before, after);
  double sum_before = 0, sum_after = 0;
  size_t n = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    if (std::isnan(before[i]) || std::isnan(after[i])) continue;
    sum_before += before[i];
    sum_after += after[i];
    ++n;
  }
  r.mean_before = n ? sum_before / static_cast<double>(n) : kNaN;
  r.mean_after = n ? sum_after / static_cast<double>(n) : kNaN;
  return r;
}

}  // namespace psgkit
