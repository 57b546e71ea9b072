// Paired (before/after) statistics for the cohort comparison: paired t-test, Wilcoxon signed-rank
// test, Hedges' g, bootstrap CI of the mean difference, Holm-Bonferroni correction.
//
// Conventions: differences are d_i = after_i − before_i. Pairs where either value is NaN are dropped
// (n counts the pairs used). A result that cannot be computed is NaN with a `note` saying why.
// Two-sided p-values throughout.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace psgkit {

// Regularised incomplete beta I_x(a, b), a, b > 0, 0 <= x <= 1, by the continued fraction evaluated
// with the modified Lentz method (Press et al., Numerical Recipes 3rd ed., §6.4, and Lentz 1976),
// using the symmetry I_x(a,b) = 1 − I_{1−x}(b,a) where the fraction converges slowly. ~1e-14 relative.
double regularized_incomplete_beta(double a, double b, double x);

// Student t CDF with `df` > 0 degrees of freedom: for t >= 0, 1 − ½·I_{df/(df+t²)}(df/2, ½).
double student_t_cdf(double t, double df);

// Standard normal survival function P(Z > z) = ½·erfc(z/√2).
double normal_sf(double z);

struct PairedTTest {
  size_t n = 0;
  double mean_diff = 0;   // mean of d
  double sd_diff = 0;     // sample SD of d (n − 1)
  double t = 0;           // mean_diff / (sd_diff / √n)
  double df = 0;          // n − 1
  double p_value = 0;     // two-sided, 2·(1 − T_df(|t|)); equals scipy.stats.ttest_rel
  std::string note;       // why NaN: "fewer than 2 pairs", "differences have zero variance"
};
PairedTTest paired_t_test(std::span<const double> before, std::span<const double> after);

struct WilcoxonTest {
  size_t n = 0;           // non-zero differences used
  size_t n_zero = 0;      // zero differences dropped
  double statistic = 0;   // min(W+, W−), the sum of ranks of |d| (average ranks for ties)
  double z = 0;           // normal approximation z = (statistic − mean)/se; NaN for the exact method
  double p_value = 0;     // two-sided
  bool exact = false;
  std::string note;
};
// As scipy.stats.wilcoxon(before, after) with its defaults (zero_method="wilcox", correction=False,
// alternative="two-sided", method="auto"), scipy 1.10-1.12 semantics: zero differences are dropped;
// the exact null distribution of W+ is used when there are no zero differences, no tied |d| and
// at most 50 pairs (two-sided p = min(1, 2·min(P(W+ <= w), P(W+ >= w)))); otherwise the normal
// approximation with mean n(n+1)/4 and variance (n(n+1)(2n+1) − ½Σ t(t²−1))/24 over tie groups t
// of |d|, without continuity correction. Differs from scipy 1.10 on purpose only with ties and no
// zeros at n <= 50, where scipy 1.10 runs its exact method on tied ranks (no longer exact); we use
// the tie-corrected normal approximation there (compare with scipy method="approx"). Later scipy
// versions changed the "auto" rules again; only 1.10.1 was checked. p = NaN when no pair differs.
WilcoxonTest wilcoxon_signed_rank(std::span<const double> before, std::span<const double> after);

// Hedges' g for paired data: g = J · mean(d) / sd(d), J = 1 − 3/(4(n − 1) − 1) (small-sample
// correction with df = n − 1; Hedges & Olkin 1985; the "d_z" standardiser of Lakens 2013).
// NaN for n < 3 (J <= 0) or sd(d) = 0.
struct EffectSize {
  size_t n = 0;
  double g = 0;
  std::string note;
};
EffectSize hedges_g_paired(std::span<const double> before, std::span<const double> after);

// Percentile bootstrap CI of mean(d): `n_resamples` resamples of the n differences with replacement,
// drawn with xoshiro256** seeded by splitmix64(seed) and Lemire's unbiased bounded integers, so the
// result is identical on every platform and standard library. Bounds are the (1−level)/2 and
// (1+level)/2 quantiles of the resampled means with linear interpolation between order statistics
// (position q·(B − 1), numpy's default). NaN for n < 2.
struct BootstrapCI {
  size_t n = 0;
  double mean_diff = 0;
  double lower = 0;
  double upper = 0;
  double level = 0.95;
  size_t n_resamples = 0;
  std::string note;
};
inline constexpr size_t kDefaultBootstrapResamples = 10000;
inline constexpr uint64_t kDefaultBootstrapSeed = 20240601;
BootstrapCI bootstrap_mean_diff_ci(std::span<const double> before, std::span<const double> after,
                                   double level = 0.95, size_t n_resamples = kDefaultBootstrapResamples,
                                   uint64_t seed = kDefaultBootstrapSeed);

// Holm-Bonferroni step-down adjusted p-values, in the input order (Holm 1979): with the m non-NaN
// p-values sorted ascending p_(1) <= ... <= p_(m), adj_(i) = min(1, max_{j<=i} (m − j + 1)·p_(j)).
// NaN inputs stay NaN and do not count in m. Reject at level α where adj <= α.
std::vector<double> holm_bonferroni(std::span<const double> p_values);

// Everything for one measure; throws psgkit::Error (field "after") when the lengths differ.
struct PairedComparison {
  PairedTTest t_test;
  WilcoxonTest wilcoxon;
  EffectSize effect;
  BootstrapCI ci;
  double mean_before = 0, mean_after = 0;  // over the pairs used
};
PairedComparison compare_paired(std::span<const double> before, std::span<const double> after);

}  // namespace psgkit
