// Paired statistics: see include/psgkit/paired_stats.hpp for definitions and references.
#include "psgkit/paired_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <array>
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

// The values of one group that are numbers.
std::vector<double> group_values(std::span<const double> values) {
  std::vector<double> v;
  v.reserve(values.size());
  for (const double x : values)
    if (!std::isnan(x)) v.push_back(x);
  return v;
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

void check_bootstrap_arguments(double level, size_t n_resamples) {
  if (!(level > 0 && level < 1)) throw Error("", "level", "confidence level must be in (0, 1)");
  if (n_resamples < 2) throw Error("", "n_resamples", "need at least 2 bootstrap resamples");
}

// Mean of v.size() draws from v with replacement.
double resampled_mean(const std::vector<double>& v, Xoshiro256& rng) {
  double sum = 0;
  for (size_t i = 0; i < v.size(); ++i) sum += v[rng.below(v.size())];
  return sum / static_cast<double>(v.size());
}

// Percentile bounds of the resampled statistics (sorted here) at r.level.
void set_percentile_bounds(BootstrapCI& r, std::vector<double>& statistics) {
  std::sort(statistics.begin(), statistics.end());
  r.lower = sorted_quantile(statistics, 0.5 * (1.0 - r.level));
  r.upper = sorted_quantile(statistics, 0.5 * (1.0 + r.level));
}

// Two-sided p of Student's t with df degrees of freedom, I_{df/(df+t²)}(df/2, ½) (no 1 − cdf cancellation).
double two_sided_t_p(double t, double df) { return regularized_incomplete_beta(0.5 * df, 0.5, df / (df + t * t)); }

// Fills t, p and the 95 % CI of a two-sample test from mean_diff, se and df.
void finish_t_test(TwoSampleTTest& r) {
  r.t = r.mean_diff / r.se;
  r.p_value = two_sided_t_p(r.t, r.df);
  const double q = student_t_quantile(0.975, r.df);
  r.ci95_low = r.mean_diff - q * r.se;
  r.ci95_high = r.mean_diff + q * r.se;
}

// Group sizes, means and variances, or a NaN result with its note.
struct TwoGroups {
  std::vector<double> x, y;
  double mean_x = kNaN, mean_y = kNaN, var_x = kNaN, var_y = kNaN;
};
TwoGroups two_groups(std::span<const double> x, std::span<const double> y) {
  TwoGroups g{group_values(x), group_values(y)};
  if (!g.x.empty()) g.mean_x = mean_of(g.x);
  if (!g.y.empty()) g.mean_y = mean_of(g.y);
  if (g.x.size() >= 2) g.var_x = std::pow(sd_of(g.x, g.mean_x), 2);
  if (g.y.size() >= 2) g.var_y = std::pow(sd_of(g.y, g.mean_y), 2);
  return g;
}

TwoSampleTTest t_test_start(const TwoGroups& g) {
  TwoSampleTTest r;
  r.n_x = g.x.size();
  r.n_y = g.y.size();
  r.mean_diff = g.mean_x - g.mean_y;
  r.se = r.t = r.df = r.p_value = r.ci95_low = r.ci95_high = kNaN;
  if (r.n_x < 2 || r.n_y < 2) r.note = "fewer than 2 values in a group";
  return r;
}

// Null distribution of the Mann–Whitney U of m x-values and n y-values: counts per U = 0..mn of the
// C(m+n, m) orderings. The largest value is an x (adding n to U) or a y: c(i, j) = c(i−1, j)·shift j
// + c(i, j−1) (Mann & Whitney 1947).
std::vector<double> mann_whitney_null_counts(size_t m, size_t n) {
  std::vector<std::vector<double>> c(m + 1);  // c[i] for the current j, U = 0..i·j
  for (auto& ci : c) ci = {1.0};  // j = 0: one ordering, U = 0
  for (size_t j = 1; j <= n; ++j) {
    c[0] = {1.0};
    for (size_t i = 1; i <= m; ++i) {
      std::vector<double> next(i * j + 1, 0.0);
      for (size_t u = 0; u < c[i].size(); ++u) next[u] += c[i][u];          // c(i, j−1): largest is a y
      for (size_t u = 0; u < c[i - 1].size(); ++u) next[u + j] += c[i - 1][u];  // c(i−1, j): largest is an x
      c[i] = std::move(next);
    }
  }
  return c[m];
}

double pooled_variance(const TwoGroups& g) {
  const auto nx = static_cast<double>(g.x.size()), ny = static_cast<double>(g.y.size());
  return ((nx - 1) * g.var_x + (ny - 1) * g.var_y) / (nx + ny - 2);
}

}  // namespace

double student_t_quantile(double p, double df) {
  if (!(p > 0 && p < 1) || !(df > 0)) return kNaN;
  if (p == 0.5) return 0.0;
  // Two-sided tail alpha = 2·min(p, 1 − p); find t >= 0 with two_sided_t_p(t) = alpha (decreasing in t).
  const double alpha = 2.0 * std::min(p, 1.0 - p);
  double lo = 0, hi = 1;
  while (two_sided_t_p(hi, df) > alpha) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 0; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    (two_sided_t_p(mid, df) > alpha ? lo : hi) = mid;
  }
  const double t = 0.5 * (lo + hi);
  return p > 0.5 ? t : -t;
}

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
  r.p_value = two_sided_t_p(r.t, r.df);
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
  check_bootstrap_arguments(level, n_resamples);
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
  for (auto& m : means) m = resampled_mean(d, rng);
  set_percentile_bounds(r, means);
  return r;
}

BootstrapCI bootstrap_mean_diff_ci_two_sample(std::span<const double> x, std::span<const double> y, double level,
                                              size_t n_resamples, uint64_t seed) {
  check_bootstrap_arguments(level, n_resamples);
  const std::vector<double> gx = group_values(x), gy = group_values(y);
  BootstrapCI r;
  r.n = gx.size() + gy.size();
  r.level = level;
  r.n_resamples = n_resamples;
  r.mean_diff = gx.empty() || gy.empty() ? kNaN : mean_of(gx) - mean_of(gy);
  if (gx.size() < 2 || gy.size() < 2) {
    r.lower = r.upper = kNaN;
    r.note = "fewer than 2 values in a group";
    return r;
  }
  Xoshiro256 rng(seed);
  std::vector<double> diffs(n_resamples);
  for (auto& m : diffs) {
    const double mx = resampled_mean(gx, rng);
    m = mx - resampled_mean(gy, rng);
  }
  set_percentile_bounds(r, diffs);
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

TwoSampleTTest welch_t_test(std::span<const double> x, std::span<const double> y) {
  const TwoGroups g = two_groups(x, y);
  TwoSampleTTest r = t_test_start(g);
  if (!r.note.empty()) return r;
  const double vx = g.var_x / static_cast<double>(r.n_x), vy = g.var_y / static_cast<double>(r.n_y);
  if (vx + vy == 0) {
    r.note = "both groups have zero variance";
    return r;
  }
  r.se = std::sqrt(vx + vy);
  r.df = (vx + vy) * (vx + vy) / (vx * vx / static_cast<double>(r.n_x - 1) + vy * vy / static_cast<double>(r.n_y - 1));
  finish_t_test(r);
  return r;
}

TwoSampleTTest pooled_t_test(std::span<const double> x, std::span<const double> y) {
  const TwoGroups g = two_groups(x, y);
  TwoSampleTTest r = t_test_start(g);
  if (!r.note.empty()) return r;
  const double vp = pooled_variance(g);
  if (vp == 0) {
    r.note = "both groups have zero variance";
    return r;
  }
  r.se = std::sqrt(vp * (1.0 / static_cast<double>(r.n_x) + 1.0 / static_cast<double>(r.n_y)));
  r.df = static_cast<double>(r.n_x + r.n_y - 2);
  finish_t_test(r);
  return r;
}

MannWhitneyTest mann_whitney_u(std::span<const double> x, std::span<const double> y) {
  const std::vector<double> gx = group_values(x), gy = group_values(y);
  MannWhitneyTest r;
  r.n_x = gx.size();
  r.n_y = gy.size();
  if (gx.empty() || gy.empty()) {
    r.statistic = r.p_value = kNaN;
    r.note = "a group is empty";
    return r;
  }
  // Average ranks over the pooled sample; tie groups for the variance correction.
  std::vector<std::pair<double, bool>> pooled;  // value, from x
  for (const double v : gx) pooled.emplace_back(v, true);
  for (const double v : gy) pooled.emplace_back(v, false);
  std::sort(pooled.begin(), pooled.end());
  const size_t n = pooled.size();
  double rank_sum_x = 0, tie_term = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && pooled[j].first == pooled[i].first) ++j;
    const double rank = 0.5 * static_cast<double>(i + 1 + j);
    const auto t = static_cast<double>(j - i);
    tie_term += t * t * t - t;
    for (size_t k = i; k < j; ++k)
      if (pooled[k].second) rank_sum_x += rank;
    i = j;
  }
  const auto nx = static_cast<double>(r.n_x), ny = static_cast<double>(r.n_y);
  r.statistic = rank_sum_x - nx * (nx + 1) / 2;
  const double u = std::max(r.statistic, nx * ny - r.statistic);
  r.exact = !(r.n_x > 8 && r.n_y > 8) && tie_term == 0;
  if (r.exact) {
    const size_t max_u = r.n_x * r.n_y;
    std::vector<double> ways = mann_whitney_null_counts(r.n_x, r.n_y);
    double tail = 0, total = 0;
    for (size_t k = 0; k <= max_u; ++k) {
      total += ways[k];
      if (static_cast<double>(k) >= u) tail += ways[k];
    }
    r.p_value = std::min(1.0, 2.0 * tail / total);
  } else {
    const double sigma = std::sqrt(nx * ny / 12.0 * ((static_cast<double>(n) + 1) - tie_term / (static_cast<double>(n) * (static_cast<double>(n) - 1))));
    if (sigma == 0) {
      r.p_value = kNaN;
      r.note = "all values are equal";
      return r;
    }
    r.p_value = std::min(1.0, 2.0 * normal_sf((u - nx * ny / 2.0 - 0.5) / sigma));
  }
  return r;
}

EffectSize hedges_g_two_sample(std::span<const double> x, std::span<const double> y) {
  const TwoGroups g = two_groups(x, y);
  EffectSize r;
  r.n = g.x.size() + g.y.size();
  r.g = kNaN;
  if (g.x.size() < 2 || g.y.size() < 2) {
    r.note = "fewer than 2 values in a group";
    return r;
  }
  const double df = static_cast<double>(r.n - 2);
  const double correction = 1.0 - 3.0 / (4.0 * df - 1.0);
  const double sd = std::sqrt(pooled_variance(g));
  if (correction <= 0) {
    r.note = "fewer than 4 values (small-sample correction J <= 0)";
    return r;
  }
  if (sd == 0) {
    r.note = "both groups have zero variance";
    return r;
  }
  r.g = correction * (g.mean_x - g.mean_y) / sd;
  return r;
}

OlsCoefficient ancova_treatment_effect(std::span<const double> before_x, std::span<const double> after_x,
                                       std::span<const double> before_y, std::span<const double> after_y) {
  // Design rows (1, treated, before) and responses, over subjects with both values.
  std::vector<std::array<double, 3>> rows;
  std::vector<double> response;
  size_t n_treated = 0;
  auto add = [&](std::span<const double> before, std::span<const double> after, double treated) {
    if (before.size() != after.size())
      throw Error("", "after", "ANCOVA: " + std::to_string(before.size()) + " baseline and " +
                                   std::to_string(after.size()) + " follow-up values");
    for (size_t i = 0; i < before.size(); ++i) {
      if (std::isnan(before[i]) || std::isnan(after[i])) continue;
      rows.push_back({1.0, treated, before[i]});
      response.push_back(after[i]);
      n_treated += treated > 0;
    }
  };
  add(before_x, after_x, 1.0);
  add(before_y, after_y, 0.0);
  OlsCoefficient r;
  const size_t n = rows.size();
  r.df = static_cast<double>(n) - 3;
  auto fail = [&](const char* why) {
    r.estimate = r.se = r.t = r.p_value = r.ci95_low = r.ci95_high = kNaN;
    r.note = why;
    return r;
  };
  if (n_treated == 0 || n_treated == n) return fail("an arm has no subject with both values");
  if (n < 4) return fail("fewer than 4 subjects (no residual degrees of freedom)");
  // Householder QR of the n×3 design; R upper-triangular 3×3, Q'y in `response`.
  constexpr size_t p = 3;
  for (size_t k = 0; k < p; ++k) {
    double norm = 0;
    for (size_t i = k; i < n; ++i) norm += rows[i][k] * rows[i][k];
    norm = std::sqrt(norm);
    if (norm == 0) return fail("the design is rank-deficient (a constant baseline?)");
    const double alpha = rows[k][k] > 0 ? -norm : norm;
    std::vector<double> v(n, 0.0);
    for (size_t i = k; i < n; ++i) v[i] = rows[i][k];
    v[k] -= alpha;
    double vv = 0;
    for (size_t i = k; i < n; ++i) vv += v[i] * v[i];
    if (vv == 0) continue;
    auto reflect = [&](auto get, auto set) {
      double dot = 0;
      for (size_t i = k; i < n; ++i) dot += v[i] * get(i);
      const double f = 2 * dot / vv;
      for (size_t i = k; i < n; ++i) set(i, get(i) - f * v[i]);
    };
    for (size_t j = k; j < p; ++j)
      reflect([&](size_t i) { return rows[i][j]; }, [&](size_t i, double value) { rows[i][j] = value; });
    reflect([&](size_t i) { return response[i]; }, [&](size_t i, double value) { response[i] = value; });
  }
  const double scale = std::fabs(rows[0][0]);
  for (size_t k = 0; k < p; ++k)
    if (std::fabs(rows[k][k]) <= 1e-12 * scale) return fail("the design is rank-deficient (a constant baseline?)");
  // Back-substitution: beta = R⁻¹ Q'y; residual sum of squares = the tail of Q'y.
  std::array<double, p> beta{};
  for (size_t k = p; k-- > 0;) {
    double sum = response[k];
    for (size_t j = k + 1; j < p; ++j) sum -= rows[k][j] * beta[j];
    beta[k] = sum / rows[k][k];
  }
  double rss = 0;
  for (size_t i = p; i < n; ++i) rss += response[i] * response[i];
  // [(X'X)⁻¹]_11 = ‖row 1 of R⁻¹‖²; R⁻¹ is upper-triangular.
  std::array<std::array<double, p>, p> inverse{};
  for (size_t k = 0; k < p; ++k) {
    inverse[k][k] = 1.0 / rows[k][k];
    for (size_t j = k + 1; j < p; ++j) {
      double sum = 0;
      for (size_t m = k; m < j; ++m) sum += inverse[k][m] * rows[m][j];
      inverse[k][j] = -sum / rows[j][j];
    }
  }
  double xtx_inv_11 = 0;
  for (size_t j = 1; j < p; ++j) xtx_inv_11 += inverse[1][j] * inverse[1][j];
  r.estimate = beta[1];
  r.se = std::sqrt(rss / r.df * xtx_inv_11);
  if (r.se == 0) return fail("the fit is exact (zero residual variance)");
  r.t = r.estimate / r.se;
  r.p_value = two_sided_t_p(r.t, r.df);
  const double q = student_t_quantile(0.975, r.df);
  r.ci95_low = r.estimate - q * r.se;
  r.ci95_high = r.estimate + q * r.se;
  return r;
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

namespace {

// Per-subject change after − before over the subjects with both values, and its summary.
ArmChange arm_change(std::span<const double> before, std::span<const double> after, std::vector<double>& change) {
  ArmChange a;
  change = paired_differences(before, after);
  a.n = change.size();
  double sum_before = 0, sum_after = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    if (std::isnan(before[i]) || std::isnan(after[i])) continue;
    sum_before += before[i];
    sum_after += after[i];
  }
  const auto n = static_cast<double>(a.n);
  a.mean_before = a.n ? sum_before / n : kNaN;
  a.mean_after = a.n ? sum_after / n : kNaN;
  a.mean_change = a.n ? mean_of(change) : kNaN;
  a.sd_change = a.ci95_low = a.ci95_high = kNaN;
  if (a.n >= 2) {
    a.sd_change = sd_of(change, a.mean_change);
    const double half = student_t_quantile(0.975, n - 1) * a.sd_change / std::sqrt(n);
    a.ci95_low = a.mean_change - half;
    a.ci95_high = a.mean_change + half;
  }
  return a;
}

void add_note(std::vector<std::string>& notes, const char* what, const std::string& note) {
  if (!note.empty()) notes.push_back(std::string(what) + ": " + note);
}

}  // namespace

ParallelComparison compare_parallel(std::span<const double> before_x, std::span<const double> after_x,
                                    std::span<const double> before_y, std::span<const double> after_y) {
  ParallelComparison r;
  std::vector<double> change_x, change_y;
  r.treated = arm_change(before_x, after_x, change_x);
  r.reference = arm_change(before_y, after_y, change_y);
  r.welch = welch_t_test(change_x, change_y);
  r.mann_whitney = mann_whitney_u(change_x, change_y);
  r.effect = hedges_g_two_sample(change_x, change_y);
  r.ci = bootstrap_mean_diff_ci_two_sample(change_x, change_y);
  r.ancova = ancova_treatment_effect(before_x, after_x, before_y, after_y);
  add_note(r.notes, "Welch", r.welch.note);
  add_note(r.notes, "Mann-Whitney", r.mann_whitney.note);
  add_note(r.notes, "Hedges g", r.effect.note);
  add_note(r.notes, "bootstrap", r.ci.note);
  add_note(r.notes, "ANCOVA", r.ancova.note);
  return r;
}

CrossoverComparison compare_crossover(std::span<const double> ab_period1, std::span<const double> ab_period2,
                                      std::span<const double> ba_period1, std::span<const double> ba_period2) {
  CrossoverComparison r;
  std::vector<double> treated, reference, d_ab, d_ba, minus_d_ba, total_ab, total_ba;
  auto add = [&](std::span<const double> p1, std::span<const double> p2, bool ab, std::vector<double>& d,
                 std::vector<double>& total) {
    if (p1.size() != p2.size())
      throw Error("", "period 2", "crossover: " + std::to_string(p1.size()) + " period-1 and " +
                                      std::to_string(p2.size()) + " period-2 values");
    for (size_t i = 0; i < p1.size(); ++i) {
      if (std::isnan(p1[i]) || std::isnan(p2[i])) continue;
      treated.push_back(ab ? p1[i] : p2[i]);
      reference.push_back(ab ? p2[i] : p1[i]);
      d.push_back((p1[i] - p2[i]) / 2);
      total.push_back(p1[i] + p2[i]);
    }
  };
  add(ab_period1, ab_period2, true, d_ab, total_ab);
  add(ba_period1, ba_period2, false, d_ba, total_ba);
  for (const double d : d_ba) minus_d_ba.push_back(-d);
  r.n_ab = d_ab.size();
  r.n_ba = d_ba.size();
  r.within = compare_paired(reference, treated);
  r.mean_treated = r.within.mean_after;
  r.mean_reference = r.within.mean_before;
  r.effect = pooled_t_test(d_ab, d_ba);
  r.period = pooled_t_test(d_ab, minus_d_ba);
  r.carryover = pooled_t_test(total_ab, total_ba);
  add_note(r.notes, "paired t-test", r.within.t_test.note);
  add_note(r.notes, "Wilcoxon", r.within.wilcoxon.note);
  add_note(r.notes, "Hedges g", r.within.effect.note);
  add_note(r.notes, "bootstrap", r.within.ci.note);
  add_note(r.notes, "effect", r.effect.note);
  add_note(r.notes, "period", r.period.note);
  add_note(r.notes, "carry-over", r.carryover.note);
  return r;
}

}  // namespace psgkit
