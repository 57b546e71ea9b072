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
  // Percentile CI ≈ mean ± 1.96·sd/√n for a mean of 40 values: within 10 % of that half-width.
  const auto t = psgkit::paired_t_test(before, after);
  const double half = 1.959963984540054 * t.sd_diff / std::sqrt(40.0);
  CHECK((r.upper - r.lower) / 2 == doctest::Approx(half).epsilon(0.10));
  const auto other_seed = psgkit::bootstrap_mean_diff_ci(before, after, 0.95, 10000, 7);
  CHECK(other_seed.lower != r.lower);
  CHECK(other_seed.lower == doctest::Approx(r.lower).epsilon(0.02));
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
