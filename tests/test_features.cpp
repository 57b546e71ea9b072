// Per-epoch features on synthetic signals with known answers.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "psgkit/error.hpp"
#include "psgkit/features.hpp"
#include "psgkit/io.hpp"
#include "support.hpp"

using namespace psgkit;

namespace {
std::vector<float> sinusoid(double seconds, double fs, double f, double amplitude, double phase = 0.25) {
  std::vector<float> x(static_cast<size_t>(std::lround(seconds * fs)));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(amplitude * std::sin(2 * std::numbers::pi * f * static_cast<double>(i) / fs + phase));
  return x;
}
double value(const FeatureTable& t, size_t row, const std::string& column) {
  const int c = t.column(column);
  REQUIRE_MESSAGE(c >= 0, "missing column " << column);
  return t.at(row, static_cast<size_t>(c));
}
bool contains(const std::vector<std::string>& v, const std::string& needle) {
  for (const auto& s : v)
    if (s.find(needle) != std::string::npos) return true;
  return false;
}
}  // namespace

TEST_CASE("a 10-Hz sinusoid: band powers, Hjorth, zero crossings, moments, percentiles") {
  const double fs = 256, f = 10, a = 20;
  const auto x = sinusoid(60, fs, f, a);
  const std::vector<ChannelSamples> ch = {{"c3", x, fs}};
  std::vector<std::string> warnings;
  const auto t = compute_features(ch, {}, &warnings);
  CHECK(warnings.empty());
  REQUIRE(t.rows() == 2);
  CHECK(t.onset_s[1] == 30.0);
  for (size_t r = 0; r < 2; ++r) {
    // Simpson over the 3-bin Hann line at an even bin offset: 8/9 of A²/2 (see test_spectral).
    CHECK(value(t, r, "c3_alpha_abs_uv2") == doctest::Approx(a * a / 2 * 8 / 9).epsilon(1e-4));
    CHECK(value(t, r, "c3_alpha_rel") == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(value(t, r, "c3_delta_rel") < 1e-8);
    CHECK(value(t, r, "c3_sef50_hz") == doctest::Approx(f).epsilon(0.02));
    CHECK(value(t, r, "c3_sef95_hz") == doctest::Approx(f).epsilon(0.03));
    CHECK(value(t, r, "c3_spectral_entropy") < 0.25);
    CHECK(value(t, r, "c3_var_uv2") == doctest::Approx(a * a / 2).epsilon(1e-4));
    CHECK(value(t, r, "c3_hjorth_activity_uv2") == value(t, r, "c3_var_uv2"));
    // Discrete sinusoid: var(diff) / var = 4 sin²(πf/fs), so mobility = 2 sin(πf/fs) ≈ 2πf/fs.
    CHECK(value(t, r, "c3_hjorth_mobility") == doctest::Approx(2 * std::sin(std::numbers::pi * f / fs)).epsilon(1e-4));
    CHECK(value(t, r, "c3_hjorth_mobility") == doctest::Approx(2 * std::numbers::pi * f / fs).epsilon(2e-3));
    CHECK(value(t, r, "c3_hjorth_complexity") == doctest::Approx(1.0).epsilon(1e-3));
    CHECK(value(t, r, "c3_zero_crossings") == 2 * f * 30);  // 600 crossings in 30 s (phase keeps samples off 0)
    CHECK(value(t, r, "c3_skewness") == doctest::Approx(0.0).epsilon(1e-3));
    CHECK(std::abs(value(t, r, "c3_skewness")) < 1e-3);
    CHECK(value(t, r, "c3_kurtosis") == doctest::Approx(-1.5).epsilon(1e-3));
    // Σ|Δx| ≈ n · E|Δx| = n · (2/π) · 2A sin(πf/fs).
    CHECK(value(t, r, "c3_line_length_uv") ==
          doctest::Approx(7679 * 2 / std::numbers::pi * 2 * a * std::sin(std::numbers::pi * f / fs)).epsilon(1e-3));
    // Quantile q of A sin(uniform phase) is A sin(π (q - ½)): IPR 5-95 = 2A sin(0.45π).
    CHECK(value(t, r, "c3_ipr_5_95_uv") == doctest::Approx(2 * a * std::sin(0.45 * std::numbers::pi)).epsilon(2e-3));
  }
}

TEST_CASE("noise: flat spectrum → entropy near 1 and slope 0; Brownian noise → slope about -2") {
  std::mt19937_64 rng(3);
  std::normal_distribution<float> normal(0.0f, 10.0f);
  const double fs = 256;
  std::vector<float> white(static_cast<size_t>(fs * 30 * 4)), brown(white.size());
  double level = 0;
  for (size_t i = 0; i < white.size(); ++i) {
    white[i] = normal(rng);
    level += normal(rng);
    brown[i] = static_cast<float>(level);
  }
  const std::vector<ChannelSamples> ch = {{"w", white, fs}, {"b", brown, fs}};
  const auto t = compute_features(ch);
  REQUIRE(t.rows() == 4);
  CHECK(t.columns.front() == "w_so_abs_uv2");
  for (size_t r = 0; r < t.rows(); ++r) {
    CHECK(value(t, r, "w_spectral_entropy") > 0.97);
    CHECK(std::abs(value(t, r, "w_aperiodic_slope")) < 0.15);
    CHECK(value(t, r, "b_aperiodic_slope") == doctest::Approx(-2.0).epsilon(0.1));
    // White noise: relative power of a band ≈ its share of the 0.5-45 Hz reference.
    CHECK(value(t, r, "w_beta_rel") == doctest::Approx(14.0 / 44.5).epsilon(0.1));
    CHECK(value(t, r, "w_sef50_hz") == doctest::Approx(0.5 + 44.5 / 2).epsilon(0.05));
    CHECK(value(t, r, "w_var_uv2") == doctest::Approx(100.0).epsilon(0.05));
    CHECK(value(t, r, "w_delta_theta_ratio") == doctest::Approx(value(t, r, "w_delta_abs_uv2") / value(t, r, "w_theta_abs_uv2")));
  }
}

TEST_CASE("bands above Nyquist give NaN and a warning, never a number") {
  const double fs = 50;  // Nyquist 25 Hz: beta (16-30) and gamma (30-45) cannot be measured
  const auto x = sinusoid(60, fs, 6, 10);
  const std::vector<ChannelSamples> ch = {{"eeg", x, fs}};
  std::vector<std::string> warnings;
  const auto t = compute_features(ch, {}, &warnings);
  CHECK(contains(warnings, "band gamma"));
  CHECK(contains(warnings, "band beta"));
  CHECK(contains(warnings, "clipped"));
  for (size_t r = 0; r < t.rows(); ++r) {
    CHECK(std::isnan(value(t, r, "eeg_gamma_abs_uv2")));
    CHECK(std::isnan(value(t, r, "eeg_gamma_rel")));
    CHECK(std::isnan(value(t, r, "eeg_beta_abs_uv2")));
    CHECK(std::isnan(value(t, r, "eeg_delta_beta_ratio")));
    CHECK(std::isfinite(value(t, r, "eeg_theta_abs_uv2")));
    CHECK(value(t, r, "eeg_theta_rel") == doctest::Approx(1.0).epsilon(1e-6));
  }
}

TEST_CASE("epoching: aligned to an offset, the partial last epoch dropped and reported") {
  const double fs = 100;
  const auto x = sinusoid(95, fs, 3, 5);
  const std::vector<ChannelSamples> ch = {{"x", x, fs}};
  std::vector<std::string> warnings;
  FeatureOptions o;
  const auto t = compute_features(ch, o, &warnings);
  CHECK(t.rows() == 3);
  CHECK(contains(warnings, "5 s after epoch 3"));
  o.offset_s = 10;
  warnings.clear();
  const auto shifted = compute_features(ch, o, &warnings);
  REQUIRE(shifted.rows() == 2);
  CHECK(shifted.onset_s == std::vector<double>{10.0, 40.0});
  CHECK(contains(warnings, "25 s after epoch 2"));
  o.offset_s = 0;
  o.epoch_s = 120;
  CHECK_THROWS_AS(compute_features(ch, o), Error);
}

TEST_CASE("options: mean-over-bins naming, custom bands and percentiles, column prefixes") {
  FeatureOptions o;
  o.integration = BandIntegration::MeanOverBins;
  o.bands = {{"spindle", 11, 15}};
  o.percentile_lo = 10;
  o.percentile_hi = 90;
  const auto names = feature_names(o);
  CHECK(names.front() == "spindle_abs_uv2_per_hz");
  CHECK(names.back() == "ipr_10_90_uv");
  CHECK(!contains(names, "ratio"));
  const auto x = sinusoid(30, 128, 13, 4);
  const std::vector<ChannelSamples> ch = {{"cz", x, 128}};
  const auto t = compute_features(ch, o);
  // Rectangle rule: mean density × bins × df = A²/2 (17 bins of 0.25 Hz).
  CHECK(value(t, 0, "cz_spindle_abs_uv2_per_hz") * 17 * 0.25 == doctest::Approx(8.0).epsilon(1e-4));
  // Exactly the sorted-sample definition (numpy linear interpolation, position q·(n-1)); close to the
  // continuous 2A sin(0.4π).
  std::vector<double> sorted(x.begin(), x.end());
  std::sort(sorted.begin(), sorted.end());
  auto pct = [&](double q) {
    const double pos = q * static_cast<double>(sorted.size() - 1);
    const size_t k = static_cast<size_t>(pos);
    return sorted[k] + (sorted[k + 1] - sorted[k]) * (pos - static_cast<double>(k));
  };
  CHECK(value(t, 0, "cz_ipr_10_90_uv") == doctest::Approx(pct(0.9) - pct(0.1)).epsilon(1e-12));
  CHECK(value(t, 0, "cz_ipr_10_90_uv") == doctest::Approx(2 * 4 * std::sin(0.4 * std::numbers::pi)).epsilon(1e-2));
  CHECK(column_prefix("EEG Fpz-Cz") == "fpz_cz");
  CHECK(column_prefix("C3-M2") == "c3_m2");
  CHECK(column_prefix("EOG horizontal") == "eog_horizontal");
  o.percentile_hi = 150;
  CHECK_THROWS_AS(compute_features(ch, o), Error);
}

TEST_CASE("inter-percentile range equals the sorted-sample definition for any signal and percentiles") {
  // Exercises the sample-bracketed selection, its fallback and the three-way quickselect: smooth, noisy,
  // heavily tied, monotone both ways, constant, two-valued, organ pipe; one 30-s epoch at 100 and 256 Hz.
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const auto& [n, fs_hz] : {std::pair<size_t, double>{3000, 100}, {7680, 256}}) {
    std::vector<std::vector<float>> signals(8, std::vector<float>(n));
    for (size_t i = 0; i < n; ++i) {
      signals[0][i] = normal(rng);
      signals[1][i] = std::round(normal(rng) * 1.5f);  // 7-ish distinct values: ties everywhere
      signals[2][i] = static_cast<float>(i);            // sorted
      signals[3][i] = static_cast<float>(std::sin(0.001 * static_cast<double>(i * i)));
      signals[4][i] = static_cast<float>(n - i);        // reversed
      signals[5][i] = 3.0f;                             // constant
      signals[6][i] = static_cast<float>(i % 2);        // two values
      signals[7][i] = static_cast<float>(std::min(i, n - i));  // organ pipe
    }
    for (const auto& x : signals) {
      std::vector<double> sorted(x.begin(), x.end());
      std::sort(sorted.begin(), sorted.end());
      auto pct = [&](double q) {
        const double pos = q / 100 * static_cast<double>(n - 1);
        const size_t k = static_cast<size_t>(pos);
        const double t = pos - static_cast<double>(k);
        return k + 1 < n ? sorted[k] + (sorted[k + 1] - sorted[k]) * t : sorted[k];
      };
      for (auto [lo, hi] : {std::pair{5.0, 95.0}, {0.0, 100.0}, {25.0, 75.0}, {50.0, 50.0}, {1.0, 2.0}, {33.3, 99.9}}) {
        FeatureOptions o;
        o.percentile_lo = lo;
        o.percentile_hi = hi;
        const std::vector<ChannelSamples> ch = {{"x", x, fs_hz}};
        const auto t = compute_features(ch, o);
        const double got = t.at(0, t.cols() - 1);
        CHECK(got == doctest::Approx(pct(hi) - pct(lo)).epsilon(1e-12).scale(1e-9));
      }
    }
  }
}

TEST_CASE("a NaN or infinite sample is an error naming the channel and epoch, never a number") {
  std::vector<float> x(3 * 3000);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(0.3 * static_cast<double>(i)));
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    std::vector<float> y = x;
    y[2 * 3000 + 17] = bad;  // epoch 3
    const std::vector<ChannelSamples> ch = {{"fpz_cz", y, 100}};
    CHECK_THROWS_WITH_AS(compute_features(ch), doctest::Contains("epoch 3 (onset 60 s)"), psgkit::Error);
    CHECK_THROWS_WITH_AS(compute_features(ch), doctest::Contains("fpz_cz"), psgkit::Error);
  }
}

TEST_CASE("average PSD over selected epochs") {
  const double fs = 100;
  auto x = sinusoid(90, fs, 5, 10);
  for (size_t i = 3000; i < 6000; ++i) x[i] *= 3;  // epoch 1 is 9x more powerful
  std::vector<bool> pick = {true, false, true};
  size_t used = 0;
  const auto psd = average_psd(x, fs, pick, {}, &used);
  CHECK(used == 2);
  CHECK(band_power(psd, 4, 6, BandIntegration::MeanOverBins) * 9 * 0.25 == doctest::Approx(50.0).epsilon(1e-4));
  AveragePsdOptions mt;
  mt.method = PsdMethod::Multitaper;
  const auto all = average_psd(x, fs, {}, mt, &used);
  CHECK(used == 3);
  double sum = 0;
  for (size_t k = 0; k < all.power.size(); ++k) sum += all.power[k];
  CHECK(sum * (all.freq_hz[1] - all.freq_hz[0]) == doctest::Approx((50.0 + 450.0 + 50.0) / 3).epsilon(5e-3));
  CHECK_THROWS_AS(average_psd(x, fs, {false, false, false}), Error);
}

TEST_CASE("the CLI writes default features and an average spectrum") {
  if (!psgkit_test::have_shared_data()) return;
  psgkit_test::TempDir dir("features-cli");
  const auto edf = (psgkit_test::shared_data() / "sleep-edf" / "SC4001E0-first300s.edf").string();
  auto r = psgkit_test::run_command(psgkit_test::cli_path() + " features " + edf + " -o " + (dir / "f.csv").string() + " 2>&1");
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  CHECK(r.output.find("EEG Fpz-Cz, EEG Pz-Oz") != std::string::npos);
  const auto t = read_feature_csv(dir / "f.csv");
  CHECK(t.rows() == 10);
  CHECK(t.column("fpz_cz_delta_abs_uv2") >= 0);
  CHECK(t.column("pz_oz_ipr_5_95_uv") >= 0);
  auto s = psgkit_test::run_command(psgkit_test::cli_path() + " spectrum " + edf + " --channel \"EEG Fpz-Cz\" -o " +
                                    (dir / "psd.csv").string() + " 2>&1");
  REQUIRE_MESSAGE(s.exit_code == 0, s.output);
  const auto csv = psgkit::read_csv(dir / "psd.csv");
  CHECK(csv.header == std::vector<std::string>{"freq_hz", "psd_uv2_per_hz"});
  CHECK(csv.rows.size() == 201);  // 4-s windows at 100 Hz: 0 .. 50 Hz in 0.25 Hz
  auto bad = psgkit_test::run_command(psgkit_test::cli_path() + " features " + edf + " --recipe nope 2>&1");
  CHECK(bad.exit_code == 1);
  CHECK(bad.output.find("unknown recipe") != std::string::npos);
}
