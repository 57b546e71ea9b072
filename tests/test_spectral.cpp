// Spectral estimators against closed-form truths and fixed scipy values (computed once by hand with
// scipy 1.10.1 / numpy 1.24.2; no Python at test time).
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <thread>
#include <vector>

#include "psgkit/error.hpp"
#include "psgkit/spectral.hpp"
#include "support.hpp"

using namespace psgkit;

namespace {
std::vector<double> sinusoid(size_t n, double fs, double f, double amplitude, double phase = 0.3) {
  std::vector<double> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = amplitude * std::sin(2 * std::numbers::pi * f * static_cast<double>(i) / fs + phase);
  return x;
}
// The small test signal of the scipy literals: sin(0.3 i) + 0.05 i + ((7 i) mod 5) · 0.1, i < 40.
std::vector<double> scipy_signal() {
  std::vector<double> x(40);
  for (int i = 0; i < 40; ++i) x[static_cast<size_t>(i)] = std::sin(0.3 * i) + 0.05 * i + ((i * 7) % 5) * 0.1;
  return x;
}
void check_close(const std::vector<double>& got, const std::vector<double>& want, double rel = 1e-12) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(rel));
}
}  // namespace

TEST_CASE("Welch matches scipy.signal.welch on fixed cases") {
  const auto x = scipy_signal();
  WelchOptions o;
  o.fs_hz = 10.0;
  o.nperseg = 16;
  // scipy.signal.welch(x, fs=10, nperseg=16)
  const auto s = welch(x, o);
  CHECK(s.freq_hz[1] == 0.625);
  check_close(s.power, {9.2461505578367034e-02, 3.3824024003611880e-01, 5.4191403164647024e-02,
                        6.1699959755745189e-03, 2.4698621514158514e-03, 7.3570061714671160e-04,
                        1.2658414759615657e-02, 9.5211435670914911e-03, 2.4557514157177670e-04});
  // welch(x, fs=10, nperseg=12, noverlap=4, nfft=15, detrend='linear', scaling='spectrum',
  //       average='median', window='hamming'): odd nfft (no Nyquist bin), zero padding, median of 4.
  WelchOptions v;
  v.fs_hz = 10.0;
  v.nperseg = 12;
  v.noverlap = 4;
  v.nfft = 15;
  v.detrend = Detrend::Linear;
  v.scaling = Scaling::Spectrum;
  v.averaging = Averaging::Median;
  v.window = Window::Hamming;
  const auto sv = welch(x, v);
  CHECK(sv.freq_hz[1] == doctest::Approx(0.6666666666666666));
  check_close(sv.power, {0.02780121870868337, 0.07314369406495659, 0.0406542753233988, 0.00960099095167453,
                         0.00225733945841638, 0.0068916861791497, 0.01702454591977311, 0.00636747586375061});
  // welch(x, fs=10, nperseg=16, noverlap=8, detrend=False, window='boxcar', average='median'):
  // an even number (4) of segments, median bias 1 + 1/3 - 1/2.
  WelchOptions b;
  b.fs_hz = 10.0;
  b.nperseg = 16;
  b.noverlap = 8;
  b.detrend = Detrend::None;
  b.window = Window::Boxcar;
  b.averaging = Averaging::Median;
  const WelchEstimator be(b);
  CHECK(be.segments(x.size()) == 4);
  check_close(be.compute(x).power, {2.9568790699005612e+00, 5.9465085777004545e-01, 1.7424325929474724e-02,
                                    1.6035934538987259e-02, 4.9324907540814417e-03, 4.6127088019843341e-03,
                                    1.6117952512823185e-02, 8.6653187243504581e-03, 1.4751431862335626e-03});
}

TEST_CASE("Welch hand-computed: boxcar periodogram of a constant and a Nyquist alternation") {
  WelchOptions o;
  o.fs_hz = 4.0;
  o.nperseg = 4;
  o.noverlap = 0;
  o.window = Window::Boxcar;
  o.detrend = Detrend::None;
  o.scaling = Scaling::Spectrum;
  // x = 1,1,1,1: |X0|² = 16, scale 1/(Σw)² = 1/16 → DC power 1 (not doubled), others 0.
  const auto c = welch(std::vector<double>{1, 1, 1, 1}, o);
  check_close(c.power, {1.0, 0.0, 0.0});
  // x = 1,-1,1,-1: all power in the Nyquist bin (not doubled) = 1.
  const auto a = welch(std::vector<double>{1, -1, 1, -1}, o);
  CHECK(a.power[0] == doctest::Approx(0.0));
  CHECK(a.power[2] == doctest::Approx(1.0));
  // density = spectrum · (Σw)² / (fs · Σw²) = 1 · 16 / (2 · 4) per Hz at fs = 2 Hz.
  o.scaling = Scaling::Density;
  o.fs_hz = 2.0;
  CHECK(welch(std::vector<double>{1, -1, 1, -1}, o).power[2] == doctest::Approx(2.0));
  CHECK_THROWS_AS(welch(std::vector<double>{1, 2, 3}, o), Error);
  o.noverlap = 4;
  CHECK_THROWS_AS(WelchEstimator{o}, Error);
}

TEST_CASE("Parseval: a sinusoid of amplitude A carries A²/2 (density and spectrum scaling)") {
  const double fs = 256.0, f0 = 10.0, amplitude = 7.0;  // 10 Hz is a bin centre at 0.25-Hz resolution
  const auto x = sinusoid(30 * 256, fs, f0, amplitude);
  WelchOptions o;
  o.fs_hz = fs;
  o.nperseg = 1024;
  const auto density = welch(x, o);
  const double expected = amplitude * amplitude / 2;
  // Rectangle rule (Σ bins · df) is exact: Parseval over the whole one-sided spectrum and over a band
  // around the 3-bin Hann main lobe.
  CHECK(band_power(density, 0, 128, BandIntegration::MeanOverBins) * 513 * 0.25 == doctest::Approx(expected).epsilon(1e-9));
  CHECK(band_power(density, 9, 11, BandIntegration::MeanOverBins) * 9 * 0.25 == doctest::Approx(expected).epsilon(1e-9));
  // Simpson's 4-2-4 weights are not exact for a line only 3 bins wide: the peak bin (40, even) gets
  // weight 2/3 and its neighbours 4/3 → (2/3·½ + 4/3·¼·2)/(½ + ¼·2) · A²/2 = 8/9 · A²/2.
  CHECK(band_power(density, 8, 12, BandIntegration::Simpson) == doctest::Approx(expected * 8.0 / 9.0).epsilon(1e-6));
  o.scaling = Scaling::Spectrum;
  const auto spectrum = welch(x, o);
  CHECK(spectrum.power[40] == doctest::Approx(expected).epsilon(1e-9));  // 40 · 0.25 Hz = 10 Hz
}

TEST_CASE("white noise of variance σ² has a flat density σ²/(fs/2)") {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(0.0, 3.0);
  std::vector<double> x(1 << 18);
  for (auto& v : x) v = normal(rng);
  WelchOptions o;
  o.fs_hz = 200.0;
  o.nperseg = 256;
  const auto s = welch(x, o);
  const double expected = 9.0 / 100.0;
  double mean = 0;
  for (size_t k = 1; k + 1 < s.power.size(); ++k) {
    CHECK(s.power[k] == doctest::Approx(expected).epsilon(0.15));  // ~2000 segments: ±2 % per bin
    mean += s.power[k];
  }
  CHECK(mean / static_cast<double>(s.power.size() - 2) == doctest::Approx(expected).epsilon(0.01));
  // Simpson over 0..Nyquist of a broadband density recovers the variance.
  CHECK(band_power(s, 0, 100) == doctest::Approx(9.0).epsilon(0.01));
  // Median averaging is bias-corrected to the same level.
  o.averaging = Averaging::Median;
  const auto m = welch(x, o);
  double mean_median = 0;
  for (size_t k = 1; k + 1 < m.power.size(); ++k) mean_median += m.power[k];
  CHECK(mean_median / static_cast<double>(m.power.size() - 2) == doctest::Approx(expected).epsilon(0.02));
  // Multitaper on one 30-s stretch: also flat at σ²/(fs/2) on average.
  MultitaperOptions mo;
  mo.fs_hz = 200.0;
  const MultitaperEstimator mt(6000, mo);
  const auto sm = mt.compute(std::span<const double>(x).first(6000));
  double mt_mean = 0;
  for (size_t k = 1; k + 1 < sm.power.size(); ++k) mt_mean += sm.power[k];
  CHECK(mt_mean / static_cast<double>(sm.power.size() - 2) == doctest::Approx(expected).epsilon(0.03));
}

TEST_CASE("DPSS tapers are orthonormal, concentrated, and match scipy.signal.windows.dpss") {
  const auto d = dpss(64, 2.5, 4);
  // scipy.signal.windows.dpss(64, 2.5, 4, return_ratios=True)
  check_close(d.concentration, {0.999997277435169, 0.9998465484588148, 0.996266859787757, 0.9524259615013082}, 1e-9);
  CHECK(d.taper(0)[0] == doctest::Approx(0.00122897099404928).epsilon(1e-8));
  CHECK(d.taper(0)[2] == doctest::Approx(0.00365549830276151).epsilon(1e-8));
  CHECK(d.taper(1)[1] == doctest::Approx(0.01266166484646044).epsilon(1e-8));
  CHECK(d.taper(3)[0] == doctest::Approx(0.10052097618754252).epsilon(1e-8));
  CHECK(d.taper(2)[31] == doctest::Approx(-0.14361261630561314).epsilon(1e-8));
  const auto big = dpss(3000, 4.0, 7);
  // scipy: ratios of dpss(3000, 4, 7) end ..., 0.99941009, 0.99250459, 0.9366526
  CHECK(big.concentration[6] == doctest::Approx(0.9366526).epsilon(1e-6));
  CHECK(big.concentration[5] == doctest::Approx(0.99250459).epsilon(1e-7));
  for (int i = 0; i < 7; ++i) {
    CHECK(big.concentration[static_cast<size_t>(i)] > 0.93);
    for (int j = 0; j <= i; ++j) {
      double dot = 0;
      for (int t = 0; t < 3000; ++t) dot += big.taper(i)[static_cast<size_t>(t)] * big.taper(j)[static_cast<size_t>(t)];
      CHECK(dot == doctest::Approx(i == j ? 1.0 : 0.0).epsilon(1e-9));
    }
  }
  CHECK_THROWS_AS(dpss(64, 40.0, 4), Error);
}

TEST_CASE("multitaper: a sinusoid peaks at its frequency, power within ±W of it") {
  const double fs = 100.0, f0 = 12.0, amplitude = 5.0;
  const int n = 3000;  // 30 s: NW = 4 → W = 4/30 Hz, full bandwidth 2W = 0.27 Hz
  const auto x = sinusoid(n, fs, f0, amplitude);
  for (auto weighting : {TaperWeighting::Eigenvalue, TaperWeighting::Adaptive}) {
    MultitaperOptions o;
    o.fs_hz = fs;
    o.weighting = weighting;
    const MultitaperEstimator mt(n, o);
    CHECK(mt.tapers().n_tapers == 7);
    const auto s = mt.compute(x);
    size_t peak = 0;
    for (size_t k = 0; k < s.power.size(); ++k)
      if (s.power[k] > s.power[peak]) peak = k;
    CHECK(s.freq_hz[peak] == doctest::Approx(f0));
    const double w = 4.0 / 30.0;
    // Rectangle sums (Σ bins · df, df = 1/30 Hz): Parseval holds for unit-energy tapers.
    auto sum_power = [&](double lo, double hi) {
      double sum = 0;
      for (size_t k = 0; k < s.power.size(); ++k)
        if (s.freq_hz[k] >= lo && s.freq_hz[k] <= hi) sum += s.power[k];
      return sum * (s.freq_hz[1] - s.freq_hz[0]);
    };
    const double total = sum_power(0, 50);
    const double in_band = sum_power(f0 - w - 1e-9, f0 + w + 1e-9);
    // Eigenvalue weights keep Parseval (scipy-dpss check by hand: 12.500008); adaptive weights
    // down-weight the leakier tapers slightly.
    CHECK(total == doctest::Approx(amplitude * amplitude / 2).epsilon(weighting == TaperWeighting::Eigenvalue ? 1e-5 : 5e-3));
    CHECK(in_band / total > 0.97);
    // Beyond 2W from the peak, the leakage is tiny.
    CHECK(sum_power(f0 + 2 * w, f0 + 1.0) / total < 1e-3);
  }
}

TEST_CASE("Simpson follows scipy >= 1.11 (Cartwright correction for an even number of samples)") {
  const std::vector<double> y = {1.0, 3.0, 2.0, 5.0, 4.0, 4.5};
  CHECK(simpson(std::span<const double>(y).first(5), 0.5) == doctest::Approx(6.833333333333333).epsilon(1e-14));
  CHECK(simpson(y, 0.5) == doctest::Approx(8.895833333333332).epsilon(1e-14));
  CHECK(simpson(std::span<const double>(y).first(2), 0.5) == doctest::Approx(1.0));
  CHECK(simpson(std::span<const double>(y).first(1), 0.5) == 0.0);
  // Exact for cubics on an odd number of samples.
  std::vector<double> cubic(11);
  for (int i = 0; i < 11; ++i) cubic[static_cast<size_t>(i)] = std::pow(0.1 * i, 3);
  CHECK(simpson(cubic, 0.1) == doctest::Approx(0.25).epsilon(1e-14));
}

TEST_CASE("band_power refuses bands above Nyquist or without bins") {
  Spectrum s{{0, 1, 2, 3, 4, 5}, {1, 1, 1, 1, 1, 1}};
  CHECK(band_power(s, 1, 3) == doctest::Approx(2.0));
  CHECK(band_power(s, 1, 3, BandIntegration::MeanOverBins) == doctest::Approx(1.0));
  CHECK_THROWS_WITH_AS(band_power(s, 4, 6), doctest::Contains("exceeds"), Error);
  CHECK_THROWS_AS(band_power(s, 1.2, 1.8), Error);
  CHECK_THROWS_AS(band_power(s, 3, 1), Error);
}

TEST_CASE("one estimator, several threads: identical results") {
  WelchOptions o;
  o.fs_hz = 256;
  o.nperseg = 1024;
  const WelchEstimator estimator(o);
  const auto x = sinusoid(7680, 256, 11.3, 20.0);
  const auto reference = estimator.compute(x).power;
  std::vector<std::vector<double>> results(4, std::vector<double>(reference.size()));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 50; ++rep) estimator.compute(std::span<const double>(x), std::span<double>(results[t]));
      // A new estimator of another length in parallel exercises the planner mutex.
      WelchOptions other = o;
      other.nperseg = 500 + static_cast<int>(t);
      (void)WelchEstimator(other).compute(x);
    });
  for (auto& th : threads) th.join();
  for (const auto& r : results) CHECK(r == reference);
}

TEST_CASE("spectrogram: one PSD per whole epoch, float input") {
  std::vector<float> x(256 * 95);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(10 * std::sin(2 * std::numbers::pi * 6.0 * i / 256.0));
  WelchOptions o;
  o.fs_hz = 256;
  o.nperseg = 1024;
  const auto sg = spectrogram(x, o, 30.0, 2.0);
  REQUIRE(sg.rows() == 3);  // (95 - 2) / 30
  CHECK(sg.onset_s[1] == doctest::Approx(32.0));
  const std::vector<double> last(sg.row(2).begin(), sg.row(2).end());
  CHECK(band_power(sg.freq_hz, last, 4, 8, BandIntegration::MeanOverBins) * 17 * 0.25 == doctest::Approx(50.0).epsilon(1e-5));
}
