// Paired statistics against reference values computed independently with scipy 1.10.1 (Debian
// python3-scipy) and written here as literals; the commands are in the comments.
#include <cmath>
#include <limits>
#include <vector>

#include "psgkit/error.hpp"
#include "psgkit/paired_stats.hpp"
#include "support.hpp"

namespace {

constexpr double NaN = std::numeric_limits<double>::quiet_NaN();
// `after` values when `before` is all zeros, so d = after.
std::vector<double> zeros(size_t n) { return std::vector<double>(n, 0.0); }

}  // namespace

TEST_CASE("regularised incomplete beta and Student t CDF") {
  // I_0.5(2, 3) = Σ_{j=2..4} C(4,j)/16 = 11/16 exactly.
  CHECK(psgkit::regularized_incomplete_beta(2, 3, 0.5) == doctest::Approx(0.6875).epsilon(1e-14));
  // scipy.special.betainc(3.5, 0.5, 0.3), betainc(30, 0.5, 0.99)
  CHECK(psgkit::regularized_incomplete_beta(3.5, 0.5, 0.3) == doctest::Approx(0.004923804252201664).epsilon(1e-12));
  CHECK(psgkit::regularized_incomplete_beta(30, 0.5, 0.99) == doctest::Approx(0.439334368905251).epsilon(1e-12));
  CHECK(psgkit::regularized_incomplete_beta(2, 3, 0.0) == 0.0);
  CHECK(psgkit::regularized_incomplete_beta(2, 3, 1.0) == 1.0);
  CHECK(std::isnan(psgkit::regularized_incomplete_beta(-1, 3, 0.5)));
  // df = 1 is the Cauchy distribution: CDF(1) = 3/4. df = 2: 1/2 + t/(2 sqrt(2 + t²)).
  CHECK(psgkit::student_t_cdf(1.0, 1.0) == doctest::Approx(0.75).epsilon(1e-13));
  CHECK(psgkit::student_t_cdf(2.0, 2.0) == doctest::Approx(0.908248290463863).epsilon(1e-13));
  // scipy.stats.t.cdf(-1.3, 7.5), t.cdf(4.2, 40)
  CHECK(psgkit::student_t_cdf(-1.3, 7.5) == doctest::Approx(0.11606338940780428).epsilon(1e-12));
  CHECK(psgkit::student_t_cdf(4.2, 40) == doctest::Approx(0.9999275570236221).epsilon(1e-12));
  CHECK(psgkit::normal_sf(0.0) == 0.5);
  CHECK(psgkit::normal_sf(1.959963984540054) == doctest::Approx(0.025).epsilon(1e-12));
}

TEST_CASE("paired t-test equals scipy.stats.ttest_rel") {
  // ttest_rel([1.5,2.9,3.1,4.8,5.2,7.1], [1,2,3,4,5,6]) -> t 3.6742346141747686, p 0.01437972980200513
  const std::vector<double> before{1, 2, 3, 4, 5, 6}, after{1.5, 2.9, 3.1, 4.8, 5.2, 7.1};
  const auto r = psgkit::paired_t_test(before, after);
  CHECK(r.n == 6);
  CHECK(r.df == 5);
  CHECK(r.t == doctest::Approx(3.6742346141747686).epsilon(1e-12));
  CHECK(r.p_value == doctest::Approx(0.01437972980200513).epsilon(1e-10));
  // Reversed order flips the sign of t, not p.
  CHECK(psgkit::paired_t_test(after, before).t == doctest::Approx(-3.6742346141747686).epsilon(1e-12));

  // n = 2: ttest_rel([11, 15], [10, 12]) -> t 2.0, p 0.2951672353008664 (df 1).
  const std::vector<double> b2{10, 12}, a2{11, 15};
  const auto two = psgkit::paired_t_test(b2, a2);
  CHECK(two.t == doctest::Approx(2.0).epsilon(1e-14));
  CHECK(two.p_value == doctest::Approx(0.2951672353008664).epsilon(1e-12));

  // n = 1 and zero variance: NaN with a reason.
  const std::vector<double> one_b{1}, one_a{2};
  const auto one = psgkit::paired_t_test(one_b, one_a);
  CHECK(std::isnan(one.p_value));
  CHECK(one.note == "fewer than 2 pairs");
  const std::vector<double> cb{1, 2, 3}, ca{2, 3, 4};
  const auto constant = psgkit::paired_t_test(cb, ca);
  CHECK(std::isnan(constant.p_value));
  CHECK(constant.note == "differences have zero variance");

  // NaN pairs are dropped; unequal lengths throw.
  const std::vector<double> bn{1, 2, 3, 4, 5, 6, NaN}, an{1.5, 2.9, 3.1, 4.8, 5.2, 7.1, 100};
  CHECK(psgkit::paired_t_test(bn, an).n == 6);
  CHECK(psgkit::paired_t_test(bn, an).p_value == doctest::Approx(0.01437972980200513).epsilon(1e-10));
  CHECK_THROWS_AS(psgkit::paired_t_test(b2, an), psgkit::Error);
}

TEST_CASE("Wilcoxon signed-rank equals scipy.stats.wilcoxon defaults") {
  SUBCASE("exact, n = 8, no ties or zeros") {
    // d = [3.1,-1.2,7.4,2.5,-0.4,5.9,8.8,1.7]: ranks of negatives 2 and 1 -> W- = 3.
    // wilcoxon(b, b + d) -> statistic 3.0, p 0.0390625 = 2·5/256 (5 rank subsets sum to <= 3).
    const std::vector<double> b{125, 115, 130, 140, 140, 115, 140, 125};
    const std::vector<double> d{3.1, -1.2, 7.4, 2.5, -0.4, 5.9, 8.8, 1.7};
    std::vector<double> a(b.size());
    for (size_t i = 0; i < b.size(); ++i) a[i] = b[i] + d[i];
    const auto r = psgkit::wilcoxon_signed_rank(b, a);
    CHECK(r.exact);
    CHECK(r.n == 8);
    CHECK(r.statistic == 3.0);
    CHECK(r.p_value == doctest::Approx(0.0390625).epsilon(1e-14));
    CHECK(std::isnan(r.z));
  }
  SUBCASE("exact, a decrease: the lower tail P(W+ <= w) includes w") {
    // The n = 8 example negated: W+ = 3 now. wilcoxon(b, b - d) -> statistic 3.0, p 0.0390625 = 2·5/256;
    // a lower tail without w itself (s < w) would give 2·3/256 = 0.0234375.
    const std::vector<double> b{125, 115, 130, 140, 140, 115, 140, 125};
    const std::vector<double> d{3.1, -1.2, 7.4, 2.5, -0.4, 5.9, 8.8, 1.7};
    std::vector<double> a(b.size());
    for (size_t i = 0; i < b.size(); ++i) a[i] = b[i] - d[i];
    const auto r = psgkit::wilcoxon_signed_rank(b, a);
    CHECK(r.exact);
    CHECK(r.statistic == 3.0);
    CHECK(r.p_value == doctest::Approx(0.0390625).epsilon(1e-14));
    // All differences negative, n = 6: W+ = 0, p = 2·P(W+ <= 0) = 2/64.
    const std::vector<double> down{-1, -2, -3, -4, -5, -6.5};
    CHECK(psgkit::wilcoxon_signed_rank(zeros(6), down).p_value == doctest::Approx(0.03125).epsilon(1e-14));
  }
  SUBCASE("exact, all differences positive: p = 2/2^6") {
    const std::vector<double> a{1, 2, 3, 4, 5, 6.5};
    const auto r = psgkit::wilcoxon_signed_rank(zeros(6), a);
    CHECK(r.statistic == 0.0);
    CHECK(r.p_value == doctest::Approx(0.03125).epsilon(1e-14));
  }
  SUBCASE("zeros: dropped, normal approximation") {
    // wilcoxon(zeros(10), [0,0,1.5,-2.5,3.5,4.5,5.5,-6.5,7.5,8.5]) -> 8.0, p 0.16142946236708333
    const std::vector<double> a{0, 0, 1.5, -2.5, 3.5, 4.5, 5.5, -6.5, 7.5, 8.5};
    const auto r = psgkit::wilcoxon_signed_rank(zeros(10), a);
    CHECK_FALSE(r.exact);
    CHECK(r.n == 8);
    CHECK(r.n_zero == 2);
    CHECK(r.statistic == 8.0);
    CHECK(r.p_value == doctest::Approx(0.16142946236708333).epsilon(1e-12));
  }
  SUBCASE("ties: tie-corrected normal approximation") {
    // wilcoxon(zeros(12), [1,1,-1,2,2,3,-3,4,5,5,5,6], method="approx")
    //   -> statistic 8.5, p 0.01631138566500266, z -2.401872654422381
    const std::vector<double> a{1, 1, -1, 2, 2, 3, -3, 4, 5, 5, 5, 6};
    const auto r = psgkit::wilcoxon_signed_rank(zeros(12), a);
    CHECK_FALSE(r.exact);
    CHECK(r.statistic == 8.5);
    CHECK(r.z == doctest::Approx(-2.401872654422381).epsilon(1e-12));
    CHECK(r.p_value == doctest::Approx(0.01631138566500266).epsilon(1e-12));
  }
  SUBCASE("n = 50 exact, n = 51 and n = 60 normal approximation") {
    // d_i = 1.001·i, or −0.999·i when i % 3 == 0 (distinct |d|).
    // wilcoxon(d[:50]) -> 408.0, p 0.02616696817119646 (exact); wilcoxon(d[:51]) -> 459.0, p 0.055852182035584695.
    std::vector<double> d;
    for (int i = 1; i <= 51; ++i) d.push_back(i % 3 ? i * 1.001 : -i * 0.999);
    const std::vector<double> d50(d.begin(), d.begin() + 50);
    const auto r50 = psgkit::wilcoxon_signed_rank(zeros(50), d50);
    CHECK(r50.exact);
    CHECK(r50.statistic == 408.0);
    CHECK(r50.p_value == doctest::Approx(0.02616696817119646).epsilon(1e-12));
    const auto r51 = psgkit::wilcoxon_signed_rank(zeros(51), d);
    CHECK_FALSE(r51.exact);
    CHECK(r51.statistic == 459.0);
    CHECK(r51.p_value == doctest::Approx(0.055852182035584695).epsilon(1e-12));
    // d_i = (fmod(0.37 i, 1) − 0.35)(1 + i/7), i = 1..60 -> statistic 500.0, p 0.00225011565908984.
    std::vector<double> d60;
    for (int i = 1; i <= 60; ++i) d60.push_back((std::fmod(i * 0.37, 1.0) - 0.35) * (1 + i / 7.0));
    const auto r60 = psgkit::wilcoxon_signed_rank(zeros(60), d60);
    CHECK(r60.statistic == 500.0);
    CHECK(r60.z == doctest::Approx(-3.0550652456750016).epsilon(1e-12));
    CHECK(r60.p_value == doctest::Approx(0.00225011565908984).epsilon(1e-11));
  }
  SUBCASE("n = 1, all zeros, no pairs") {
    // wilcoxon([2.0]) -> statistic 0.0, p 1.0
    const std::vector<double> one{2.0};
    const auto r = psgkit::wilcoxon_signed_rank(zeros(1), one);
    CHECK(r.p_value == 1.0);
    const auto z = psgkit::wilcoxon_signed_rank(zeros(3), zeros(3));
    CHECK(std::isnan(z.p_value));
    CHECK(z.note == "all differences are zero");
    const auto none = psgkit::wilcoxon_signed_rank({}, {});
    CHECK(none.note == "no pairs");
  }
}

TEST_CASE("Hedges' g for paired data") {
  // d = [0.5,0.9,0.1,0.8,0.2,1.1]: mean 0.6, sd 0.4 (numpy ddof=1), J = 1 − 3/(4·5 − 1) = 16/19,
  // g = 16/19 · 1.5 = 1.2631578947368423.
  const std::vector<double> before{1, 2, 3, 4, 5, 6}, after{1.5, 2.9, 3.1, 4.8, 5.2, 7.1};
  const auto r = psgkit::hedges_g_paired(before, after);
  CHECK(r.g == doctest::Approx(1.2631578947368423).epsilon(1e-12));
  const std::vector<double> b2{10, 12}, a2{11, 15};
  const auto two = psgkit::hedges_g_paired(b2, a2);
  CHECK(std::isnan(two.g));
  CHECK(!two.note.empty());
}

TEST_CASE("bootstrap CI of the mean difference is deterministic and sensible") {
  std::vector<double> before(40), after(40);
  for (size_t i = 0; i < 40; ++i) {
    before[i] = 60.0 + static_cast<double>(i % 7);
    after[i] = before[i] + 5.0 + 3.0 * std::sin(static_cast<double>(i));
  }
  const auto r = psgkit::bootstrap_mean_diff_ci(before, after);
  const auto again = psgkit::bootstrap_mean_diff_ci(before, after);
  CHECK(r.lower == again.lower);
  CHECK(r.upper == again.upper);
  CHECK(r.n_resamples == psgkit::kDefaultBootstrapResamples);
  CHECK(r.lower < r.mean_diff);
  CHECK(r.upper > r.mean_diff);
  // Exact reproduction of the generator, the resampling order and numpy's quantile rule in Python (the
  // class Xoshiro and boot_paired of the script in the "parallel-group design" test below):
  //   d = [(60.0 + i % 7 + 5.0 + 3.0 * math.sin(i)) - (60.0 + i % 7) for i in range(40)]
  //   boot_paired(d) -> 4.440181887178265 5.751305064389581; boot_paired(d, seed=7) -> 4.423354080369362 5.745487484633061
  CHECK(r.lower == doctest::Approx(4.440181887178265).epsilon(1e-12));
  CHECK(r.upper == doctest::Approx(5.751305064389581).epsilon(1e-12));
  const auto other_seed = psgkit::bootstrap_mean_diff_ci(before, after, 0.95, 10000, 7);
  CHECK(other_seed.lower == doctest::Approx(4.423354080369362).epsilon(1e-12));
  CHECK(other_seed.upper == doctest::Approx(5.745487484633061).epsilon(1e-12));
  // Constant differences: the interval collapses onto them.
  const std::vector<double> cb{1, 2, 3}, ca{3, 4, 5};
  const auto c = psgkit::bootstrap_mean_diff_ci(cb, ca);
  CHECK(c.lower == 2.0);
  CHECK(c.upper == 2.0);
  const std::vector<double> one{1.0};
  CHECK(std::isnan(psgkit::bootstrap_mean_diff_ci(one, one).lower));
  CHECK_THROWS_AS(psgkit::bootstrap_mean_diff_ci(cb, ca, 1.5), psgkit::Error);
}

TEST_CASE("Holm-Bonferroni on a hand example") {
  // Sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 -> running max 0.06.
  const std::vector<double> p{0.01, 0.04, 0.03, 0.005};
  const auto adj = psgkit::holm_bonferroni(p);
  REQUIRE(adj.size() == 4);
  CHECK(adj[0] == doctest::Approx(0.03));
  CHECK(adj[1] == doctest::Approx(0.06));
  CHECK(adj[2] == doctest::Approx(0.06));
  CHECK(adj[3] == doctest::Approx(0.02));
  // NaN stays NaN and does not count in m; values are capped at 1.
  const std::vector<double> q{0.3, NaN, 0.6};
  const auto adj_q = psgkit::holm_bonferroni(q);
  CHECK(adj_q[0] == doctest::Approx(0.6));
  CHECK(std::isnan(adj_q[1]));
  CHECK(adj_q[2] == doctest::Approx(0.6));
  const std::vector<double> big{0.9, 0.8};
  CHECK(psgkit::holm_bonferroni(big)[0] == 1.0);
}

TEST_CASE("compare_paired bundles all tests") {
  const std::vector<double> before{1, 2, 3, 4, 5, 6}, after{1.5, 2.9, 3.1, 4.8, 5.2, 7.1};
  const auto c = psgkit::compare_paired(before, after);
  CHECK(c.mean_before == doctest::Approx(3.5));
  CHECK(c.mean_after == doctest::Approx(4.1));
  CHECK(c.t_test.p_value == doctest::Approx(0.01437972980200513).epsilon(1e-10));
  // wilcoxon(before, after): all 6 differences positive -> p 0.03125.
  CHECK(c.wilcoxon.p_value == doctest::Approx(0.03125));
  CHECK(c.ci.lower < 0.6);
  CHECK(c.ci.upper > 0.6);
}

// ---- Two groups, parallel-group and crossover designs ----
// Reference values from this script (Debian python3-scipy 1.10.1, python3-statsmodels 0.13.5); its
// output is quoted beside each check:
//   # Reference values for tests/test_paired_stats.cpp ("parallel" and "crossover" hand-made designs).
//   # Debian python3-scipy 1.10.1, python3-statsmodels 0.13.5, numpy 1.24.
//   import numpy as np, scipy.stats as st, statsmodels.api as sm
//   M = (1 << 64) - 1
//   def rotl(x, k): return ((x << k) | (x >> (64 - k))) & M
//   class Xoshiro:  # xoshiro256** seeded by splitmix64, Lemire's bounded integers (as src/statistics/paired_stats.cpp)
//       def __init__(self, seed):
//           self.s = []
//           for _ in range(4):
//               seed = (seed + 0x9E3779B97F4A7C15) & M
//               z = seed
//               z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
//               z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
//               self.s.append(z ^ (z >> 31))
//       def next(self):
//           s0, s1, s2, s3 = self.s
//           r = (rotl((s1 * 5) & M, 7) * 9) & M
//           t = (s1 << 17) & M
//           s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 45)
//           self.s = [s0, s1, s2, s3]
//           return r
//       def below(self, b):
//           p = self.next() * b
//           if (p & M) < b:
//               th = ((1 << 64) - b) % b
//               while (p & M) < th: p = self.next() * b
//           return p >> 64
//   def resampled_mean(v, rng):
//       s = 0.0
//       for _ in range(len(v)): s += v[rng.below(len(v))]
//       return s / len(v)
//   def boot_two(x, y, B=10000, seed=20240601):
//       rng = Xoshiro(seed); out = []
//       for _ in range(B):
//           mx = resampled_mean(x, rng); out.append(mx - resampled_mean(y, rng))
//       return np.quantile(out, [0.025, 0.975])
//   def boot_paired(d, B=10000, seed=20240601):
//       rng = Xoshiro(seed)
//       return np.quantile([resampled_mean(d, rng) for _ in range(B)], [0.025, 0.975])
//   def hedges_two(x, y):
//       x, y = np.asarray(x), np.asarray(y); df = len(x) + len(y) - 2
//       sp = np.sqrt(((len(x) - 1) * x.var(ddof=1) + (len(y) - 1) * y.var(ddof=1)) / df)
//       return (1 - 3 / (4 * df - 1)) * (x.mean() - y.mean()) / sp
//   def pooled(x, y):
//       r = st.ttest_ind(x, y); x, y = np.asarray(x), np.asarray(y); df = len(x) + len(y) - 2
//       se = (x.mean() - y.mean()) / r.statistic; q = st.t.ppf(0.975, df)
//       return x.mean() - y.mean(), se, r.pvalue, x.mean() - y.mean() - q * se, x.mean() - y.mean() + q * se
//   P = lambda *a: print(*[repr(float(v)) for v in a])
//   
//   # Parallel: x = treated, y = reference.
//   bx = [52.0, 61.5, 47.0, 70.5, 58.0, 66.0]; ax = [68.5, 72.0, 60.5, 79.0, 72.0, 69.0]
//   by = [55.0, 63.5, 49.0, 68.0, 60.5];       ay = [57.5, 61.0, 55.5, 70.5, 59.0]
//   cx = np.subtract(ax, bx); cy = np.subtract(ay, by)
//   w = st.ttest_ind(cx, cy, equal_var=False)
//   print("welch", repr(w.statistic), repr(w.pvalue))
//   print("mwu", st.mannwhitneyu(cx, cy))
//   P(hedges_two(cx, cy)); P(*boot_two(list(cx), list(cy)))
//   X = np.column_stack([np.ones(11), [1] * 6 + [0] * 5, bx + by]); fit = sm.OLS(ax + ay, X).fit()
//   P(fit.params[1], fit.bse[1], fit.pvalues[1], *fit.conf_int()[1])
//   print("t-interval treated", [repr(v) for v in st.t.interval(0.95, 5, loc=cx.mean(), scale=st.sem(cx))])
//   
//   # Crossover AB/BA: A = treated.
//   ab1 = [80.0, 95.5, 62.0, 71.0, 88.0]; ab2 = [70.0, 90.0, 65.5, 60.0, 79.0]
//   ba1 = [66.0, 75.0, 90.5, 58.0, 84.0, 77.0]; ba2 = [74.5, 79.0, 97.0, 61.0, 93.5, 76.0]
//   A = ab1 + ba2; Bv = ab2 + ba1; d = np.subtract(A, Bv)
//   print("paired", st.ttest_rel(A, Bv), st.wilcoxon(A, Bv))
//   P(d.mean(), d.std(ddof=1), (1 - 3 / (4 * (len(d) - 1) - 1)) * d.mean() / d.std(ddof=1), *boot_paired(list(d)))
//   dab = np.subtract(ab1, ab2) / 2; dba = np.subtract(ba1, ba2) / 2
//   P(*pooled(dab, dba)); P(*pooled(dab, -dba)); P(*pooled(np.add(ab1, ab2), np.add(ba1, ba2)))
//   # The same effect as OLS of the half-differences on sequence (Jones & Kenward 2014, §2.5):
//   Xs = np.column_stack([np.ones(11), [1] * 5 + [0] * 6]); fs = sm.OLS(np.r_[dab, dba], Xs).fit()
//   P(fs.params[1], fs.bse[1], fs.pvalues[1])

TEST_CASE("Student t quantile equals scipy.stats.t.ppf") {
  // t.ppf(0.975, 8), t.ppf(0.025, 3.5), t.ppf(0.999, 1). scipy's ppf (cephes stdtrit) is itself good to
  // ~1e-10 only: 2·t.sf(2.3060041350333704, 8) = 0.05000000001333092, while at our root
  // 2.3060041352041658 it is 0.050000000000000024. Hence 1e-9 here and on every CI from t.ppf below.
  CHECK(psgkit::student_t_quantile(0.975, 8) == doctest::Approx(2.3060041350333704).epsilon(1e-9));
  CHECK(psgkit::student_t_quantile(0.025, 3.5) == doctest::Approx(-2.9400886379827784).epsilon(1e-9));
  CHECK(psgkit::student_t_quantile(0.999, 1) == doctest::Approx(318.3088389855419).epsilon(1e-9));
  // The root itself is exact to rounding: the two-sided tail there is 0.05 (scipy: 0.050000000000000024).
  CHECK(2 * (1 - psgkit::student_t_cdf(psgkit::student_t_quantile(0.975, 8), 8)) == doctest::Approx(0.05).epsilon(1e-13));
  CHECK(psgkit::student_t_quantile(0.5, 4) == 0.0);
  CHECK(std::isnan(psgkit::student_t_quantile(1.0, 4)));
}

TEST_CASE("parallel-group design: Welch, Mann-Whitney U, Hedges g, bootstrap, ANCOVA against scipy/statsmodels") {
  const std::vector<double> bx{52.0, 61.5, 47.0, 70.5, 58.0, 66.0}, ax{68.5, 72.0, 60.5, 79.0, 72.0, 69.0};
  const std::vector<double> by{55.0, 63.5, 49.0, 68.0, 60.5}, ay{57.5, 61.0, 55.5, 70.5, 59.0};
  const auto c = psgkit::compare_parallel(bx, ax, by, ay);
  CHECK(c.treated.n == 6);
  CHECK(c.reference.n == 5);
  CHECK(c.treated.mean_change == doctest::Approx(11.0).epsilon(1e-13));   // (16.5+10.5+13.5+8.5+14+3)/6
  CHECK(c.reference.mean_change == doctest::Approx(1.5).epsilon(1e-13));   // (2.5−2.5+6.5+2.5−1.5)/5
  // t-interval treated ['5.945248593210876', '16.054751406789123']
  CHECK(c.treated.ci95_low == doctest::Approx(5.945248593210876).epsilon(1e-9));
  CHECK(c.treated.ci95_high == doctest::Approx(16.054751406789123).epsilon(1e-9));
  // welch 3.735797848788169 0.0047154802801220525
  CHECK(c.welch.mean_diff == doctest::Approx(9.5).epsilon(1e-13));
  CHECK(c.welch.t == doctest::Approx(3.735797848788169).epsilon(1e-12));
  CHECK(c.welch.p_value == doctest::Approx(0.0047154802801220525).epsilon(1e-10));
  // mwu MannwhitneyuResult(statistic=29.0, pvalue=0.013497246674934248) (asymptotic: the change 2.5 twice)
  CHECK_FALSE(c.mann_whitney.exact);
  CHECK(c.mann_whitney.statistic == 29.0);
  CHECK(c.mann_whitney.p_value == doctest::Approx(0.013497246674934248).epsilon(1e-12));
  // 2.0103522166489687
  CHECK(c.effect.g == doctest::Approx(2.0103522166489687).epsilon(1e-12));
  // 4.749583333333334 13.85 (boot_two: same generator, seed and order, so exact)
  CHECK(c.ci.lower == doctest::Approx(4.749583333333334).epsilon(1e-12));
  CHECK(c.ci.upper == doctest::Approx(13.85).epsilon(1e-12));
  // 9.48751318053167 1.9588031000544346 0.0012823655633086221 4.970505132089959 14.004521228973381
  CHECK(c.ancova.estimate == doctest::Approx(9.48751318053167).epsilon(1e-10));
  CHECK(c.ancova.se == doctest::Approx(1.9588031000544346).epsilon(1e-10));
  CHECK(c.ancova.df == 8);
  CHECK(c.ancova.p_value == doctest::Approx(0.0012823655633086221).epsilon(1e-9));
  CHECK(c.ancova.ci95_low == doctest::Approx(4.970505132089959).epsilon(1e-9));
  CHECK(c.ancova.ci95_high == doctest::Approx(14.004521228973381).epsilon(1e-9));
  CHECK(c.notes.empty());

  // A NaN drops that subject only; an arm with one subject gives NaN with notes, never a throw.
  const std::vector<double> bx_nan{52.0, NaN, 47.0, 70.5, 58.0, 66.0};
  CHECK(psgkit::compare_parallel(bx_nan, ax, by, ay).treated.n == 5);
  const std::vector<double> one_b{50}, one_a{55};
  const auto tiny = psgkit::compare_parallel(bx, ax, one_b, one_a);
  CHECK(std::isnan(tiny.welch.p_value));
  CHECK(std::isnan(tiny.effect.g));
  CHECK(std::isnan(tiny.ci.lower));
  CHECK(std::isfinite(tiny.ancova.p_value));  // 7 subjects, 4 residual df
  CHECK_FALSE(tiny.notes.empty());
  const auto none = psgkit::compare_parallel(bx, ax, {}, {});
  CHECK(std::isnan(none.ancova.estimate));
  CHECK(none.ancova.note == "an arm has no subject with both values");
  // Zero variance of the change scores in both arms.
  const std::vector<double> b3{1, 2, 3}, a3{2, 3, 4}, b4{5, 6, 7}, a4{5, 6, 7};
  const auto flat = psgkit::compare_parallel(b3, a3, b4, a4);
  CHECK(std::isnan(flat.welch.p_value));
  CHECK(flat.welch.note == "both groups have zero variance");
}

TEST_CASE("Mann-Whitney U: ties and larger groups use the continuity-corrected normal approximation") {
  // mannwhitneyu([1,2,2,3,5], [2,4,4,6,7,8]) -> statistic 5.0, p 0.07934368319771502
  const std::vector<double> x{1, 2, 2, 3, 5}, y{2, 4, 4, 6, 7, 8};
  const auto tied = psgkit::mann_whitney_u(x, y);
  CHECK_FALSE(tied.exact);
  CHECK(tied.statistic == 5.0);
  CHECK(tied.p_value == doctest::Approx(0.07934368319771502).epsilon(1e-12));
  // 9 and 10 values, no ties: both > 8 -> asymptotic. statistic 29.0, p 0.20566717961735548
  const std::vector<double> x9{0.0, 0.38, 0.76, 0.9299999999999999, 1.31, 1.69, 1.8599999999999999, 2.2399999999999998,
                               2.62};
  const std::vector<double> y10{0.55, 0.8510000000000001, 1.152, 1.4529999999999998, 1.71,
                                2.011, 2.312, 2.613, 2.87, 3.1710000000000003};
  const auto big = psgkit::mann_whitney_u(x9, y10);
  CHECK_FALSE(big.exact);
  CHECK(big.statistic == 29.0);
  CHECK(big.p_value == doctest::Approx(0.20566717961735548).epsilon(1e-12));
  // 3 against 12, no ties: exact. statistic 20.0, p 0.8395604395604395
  const std::vector<double> x3{3.5, 9.25, 12.0}, y12{1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14};
  const auto small = psgkit::mann_whitney_u(x3, y12);
  CHECK(small.exact);
  CHECK(small.statistic == 20.0);
  CHECK(small.p_value == doctest::Approx(0.8395604395604395).epsilon(1e-12));
  CHECK(std::isnan(psgkit::mann_whitney_u(x3, {}).p_value));
}

TEST_CASE("two-period crossover (Jones & Kenward) against scipy/statsmodels") {
  const std::vector<double> ab1{80.0, 95.5, 62.0, 71.0, 88.0}, ab2{70.0, 90.0, 65.5, 60.0, 79.0};
  const std::vector<double> ba1{66.0, 75.0, 90.5, 58.0, 84.0, 77.0}, ba2{74.5, 79.0, 97.0, 61.0, 93.5, 76.0};
  const auto c = psgkit::compare_crossover(ab1, ab2, ba1, ba2);
  CHECK(c.n_ab == 5);
  CHECK(c.n_ba == 6);
  // paired TtestResult(statistic=4.0164076042356, pvalue=0.0024526003407309323, df=10)
  //   WilcoxonResult(statistic=4.0, pvalue=0.0068359375)
  CHECK(c.within.t_test.t == doctest::Approx(4.0164076042356).epsilon(1e-12));
  CHECK(c.within.t_test.p_value == doctest::Approx(0.0024526003407309323).epsilon(1e-10));
  CHECK(c.within.wilcoxon.p_value == doctest::Approx(0.0068359375).epsilon(1e-13));
  // 5.681818181818182 4.691869175886766 1.1178391911927048 2.8636363636363638 8.181818181818182
  CHECK(c.within.t_test.mean_diff == doctest::Approx(5.681818181818182).epsilon(1e-13));
  CHECK(c.within.t_test.sd_diff == doctest::Approx(4.691869175886766).epsilon(1e-12));
  CHECK(c.within.effect.g == doctest::Approx(1.1178391911927048).epsilon(1e-12));
  CHECK(c.within.ci.lower == doctest::Approx(2.8636363636363638).epsilon(1e-12));
  CHECK(c.within.ci.upper == doctest::Approx(8.181818181818182).epsilon(1e-12));
  CHECK(c.mean_treated - c.mean_reference == doctest::Approx(5.681818181818182).epsilon(1e-12));
  // effect: 5.741666666666667 1.4812068611210585 0.0037522713766121414 2.3909439562805637 9.09238937705277
  CHECK(c.effect.mean_diff == doctest::Approx(5.741666666666667).epsilon(1e-12));
  CHECK(c.effect.se == doctest::Approx(1.4812068611210585).epsilon(1e-11));
  CHECK(c.effect.df == 9);
  CHECK(c.effect.p_value == doctest::Approx(0.0037522713766121414).epsilon(1e-9));
  CHECK(c.effect.ci95_low == doctest::Approx(2.3909439562805637).epsilon(1e-9));
  CHECK(c.effect.ci95_high == doctest::Approx(9.09238937705277).epsilon(1e-9));
  // period: 0.6583333333333337 1.4812068611210585 0.667207344052746 ...
  CHECK(c.period.mean_diff == doctest::Approx(0.6583333333333337).epsilon(1e-11));
  CHECK(c.period.p_value == doctest::Approx(0.667207344052746).epsilon(1e-10));
  // carry-over: -3.0500000000000114 14.92232046794828 0.8425946650779663 ...
  CHECK(c.carryover.mean_diff == doctest::Approx(-3.05).epsilon(1e-12));
  CHECK(c.carryover.se == doctest::Approx(14.92232046794828).epsilon(1e-11));
  CHECK(c.carryover.p_value == doctest::Approx(0.8425946650779663).epsilon(1e-10));
  CHECK(c.notes.empty());
  // One sequence empty: the within-subject tests still run, the between-sequence ones are NaN with notes.
  const auto ab_only = psgkit::compare_crossover(ab1, ab2, {}, {});
  CHECK(std::isfinite(ab_only.within.t_test.p_value));
  CHECK(std::isnan(ab_only.effect.p_value));
  CHECK_FALSE(ab_only.notes.empty());
}
