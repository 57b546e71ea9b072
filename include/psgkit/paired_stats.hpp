// Statistics for the cohort comparison. Paired (before/after, crossover within subject): paired
// t-test, Wilcoxon signed-rank test, Hedges' g, bootstrap CI of the mean difference. Two groups
// (parallel-group trials, crossover sequences): Welch and pooled t-tests, Mann–Whitney U, Hedges' g,
// bootstrap CI of a difference of means, ANCOVA by OLS, and the AB/BA crossover analysis. Plus
// Holm-Bonferroni correction.
//
// Conventions: paired differences are d_i = after_i − before_i; two-group differences are
// treated − reference (x − y). Pairs where either value is NaN, and NaN values of a group, are dropped
// (n counts the values used). A result that cannot be computed is NaN with a `note` saying why.
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

// Quantile of Student's t: the t with student_t_cdf(t, df) = p, 0 < p < 1, df > 0, by bisection on the
// two-sided tail I_{df/(df+t²)}(df/2, ½) to full double precision (as scipy.stats.t.ppf). NaN otherwise.
double student_t_quantile(double p, double df);

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

// ---- Two groups: x = treated, y = reference ----

struct TwoSampleTTest {
  size_t n_x = 0, n_y = 0;
  double mean_diff = 0;  // mean(x) − mean(y)
  double se = 0;         // standard error of mean_diff
  double t = 0, df = 0;
  double p_value = 0;    // two-sided, I_{df/(df+t²)}(df/2, ½)
  double ci95_low = 0, ci95_high = 0;  // mean_diff ± t_{0.975, df}·se
  std::string note;      // why NaN: "fewer than 2 values in a group", "zero variance"
};
// Welch's unequal-variance t-test, as scipy.stats.ttest_ind(x, y, equal_var=False):
// se² = s_x²/n_x + s_y²/n_y, df = se⁴ / ((s_x²/n_x)²/(n_x−1) + (s_y²/n_y)²/(n_y−1)) (Welch–Satterthwaite).
TwoSampleTTest welch_t_test(std::span<const double> x, std::span<const double> y);
// Student's pooled-variance t-test, as scipy.stats.ttest_ind(x, y) (equal_var=True):
// s_p² = ((n_x−1)s_x² + (n_y−1)s_y²)/(n_x+n_y−2), se = s_p·√(1/n_x + 1/n_y), df = n_x+n_y−2.
TwoSampleTTest pooled_t_test(std::span<const double> x, std::span<const double> y);

struct MannWhitneyTest {
  size_t n_x = 0, n_y = 0;
  double statistic = 0;  // U of x: R_x − n_x(n_x+1)/2 with average ranks (scipy's U1)
  double p_value = 0;    // two-sided
  bool exact = false;
  std::string note;
};
// As scipy.stats.mannwhitneyu(x, y) with its 1.10 defaults (use_continuity=True,
// alternative="two-sided", method="auto"): exact when not both n_x > 8 and n_y > 8 and there are no
// ties, with p = 2·P(U >= max(U_x, U_y)) under the exact null
// distribution (Mann & Whitney 1947 recursion); otherwise the normal approximation z = (max(U_x, U_y) −
// n_x n_y/2 − ½)/σ, σ² = n_x n_y/12·((n+1) − Σ(t³−t)/(n(n−1))) over tie groups t, p = 2·P(Z > z),
// clipped to 1. NaN when a group is empty.
MannWhitneyTest mann_whitney_u(std::span<const double> x, std::span<const double> y);

// Hedges' g for two independent groups: g = J·(mean(x) − mean(y))/s_p with the pooled SD s_p above
// and J = 1 − 3/(4·df − 1), df = n_x + n_y − 2 (Hedges & Olkin 1985, the same approximation of J as
// hedges_g_paired). NaN when a group has fewer than 2 values, J <= 0 (n_x + n_y < 4) or s_p = 0.
EffectSize hedges_g_two_sample(std::span<const double> x, std::span<const double> y);

// Percentile bootstrap CI of mean(x) − mean(y), resampling within each group (stratified): per
// resample, n_x draws from x then n_y draws from y, from the same generator, seed and quantile rule as
// bootstrap_mean_diff_ci. NaN when a group has fewer than 2 values.
BootstrapCI bootstrap_mean_diff_ci_two_sample(std::span<const double> x, std::span<const double> y,
                                              double level = 0.95,
                                              size_t n_resamples = kDefaultBootstrapResamples,
                                              uint64_t seed = kDefaultBootstrapSeed);

// One coefficient of an ordinary least-squares fit, as statsmodels OLS(...).fit() reports it:
// estimate, standard error sqrt(s²·[(X'X)⁻¹]_jj) with s² = RSS/(n − p), t = estimate/se, two-sided p on
// n − p degrees of freedom and the 95 % CI estimate ± t_{0.975, n−p}·se.
struct OlsCoefficient {
  double estimate = 0, se = 0, t = 0, df = 0, p_value = 0, ci95_low = 0, ci95_high = 0;
  std::string note;
};
// ANCOVA of a randomised two-arm trial (the usual primary analysis; e.g. Vickers & Altman, BMJ 2001):
// OLS `after ~ 1 + treated + before` over subjects with both values finite, treated = 1 for the
// treated arm, 0 for the reference arm; returns the `treated` coefficient (the baseline-adjusted
// difference in `after`). Solved by Householder QR. NaN with a note when n − 3 < 1, an arm is empty or
// the design matrix is rank-deficient.
OlsCoefficient ancova_treatment_effect(std::span<const double> before_x, std::span<const double> after_x,
                                       std::span<const double> before_y, std::span<const double> after_y);

// Everything for one measure; throws psgkit::Error (field "after") when the lengths differ.
struct PairedComparison {
  PairedTTest t_test;
  WilcoxonTest wilcoxon;
  EffectSize effect;
  BootstrapCI ci;
  double mean_before = 0, mean_after = 0;  // over the pairs used
};
PairedComparison compare_paired(std::span<const double> before, std::span<const double> after);

// Parallel-group trial, one measure: change = after − before per subject in each arm (x = treated,
// y = reference); subjects with a NaN before or after are dropped.
struct ArmChange {
  size_t n = 0;
  double mean_before = 0, mean_after = 0, mean_change = 0, sd_change = 0;  // sd: n − 1; NaN for n < 2
  double ci95_low = 0, ci95_high = 0;  // t-interval of the mean change, mean ± t_{0.975,n−1}·sd/√n
};
struct ParallelComparison {
  ArmChange treated, reference;
  TwoSampleTTest welch;      // on the change scores; welch.mean_diff = diff_change
  MannWhitneyTest mann_whitney;  // on the change scores
  EffectSize effect;         // Hedges' g of the change scores
  BootstrapCI ci;            // of diff_change, resampling subjects within arms
  OlsCoefficient ancova;     // after ~ 1 + arm + before
  std::vector<std::string> notes;  // each NaN's reason, "welch: ..." etc.
};
ParallelComparison compare_parallel(std::span<const double> before_x, std::span<const double> after_x,
                                    std::span<const double> before_y, std::span<const double> after_y);

// Two-period AB/BA crossover, one measure (Jones & Kenward, Design and Analysis of Cross-Over Trials,
// 3rd ed. 2014, ch. 2; Senn, Cross-over Trials in Clinical Research, 2nd ed. 2002, ch. 3). A = treated,
// B = reference; sequence AB received A in period 1. Inputs per sequence: values of period 1 and
// period 2 per subject; subjects with a NaN are dropped.
//  - within subject: A − B with compare_paired (paired t-test, Wilcoxon, Hedges' g, bootstrap CI);
//  - effect: d = (period 1 − period 2)/2 per subject, effect = mean d_AB − mean d_BA, with the pooled
//    two-sample t-test of d between sequences (se, p and 95 % CI on n_AB + n_BA − 2 df);
//  - period: the same pooled test of d_AB against −d_BA (period_effect = mean d_AB + mean d_BA);
//  - carry-over: the pooled test of the subject totals period 1 + period 2 between sequences (low
//    power; Senn advises against using it to choose the analysis — reported, not acted on).
struct CrossoverComparison {
  size_t n_ab = 0, n_ba = 0;
  double mean_treated = 0, mean_reference = 0;  // over all subjects used
  PairedComparison within;     // before = reference, after = treated
  TwoSampleTTest effect;       // effect.mean_diff = the period-adjusted treatment effect
  TwoSampleTTest period;
  TwoSampleTTest carryover;
  std::vector<std::string> notes;
};
CrossoverComparison compare_crossover(std::span<const double> ab_period1, std::span<const double> ab_period2,
                                      std::span<const double> ba_period1, std::span<const double> ba_period2);

}  // namespace psgkit
