// Resampling, zero-phase filters, re-referencing and epoching against closed-form truths.
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "psgkit/error.hpp"
#include "psgkit/preprocess.hpp"
#include "support.hpp"

namespace {

constexpr double kPi = std::numbers::pi;

std::vector<double> sine(size_t n, double f_hz, double fs_hz, double amplitude = 1.0, double phase = 0.0) {
  std::vector<double> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = amplitude * std::sin(2 * kPi * f_hz * static_cast<double>(i) / fs_hz + phase);
  return x;
}

// Amplitude and phase of the f_hz component of x[i0, i1) by least squares on sin/cos (exact for a
// pure sinusoid over any span).
struct Tone {
  double amplitude, phase;
};
Tone fit_tone(const std::vector<double>& x, double f_hz, double fs_hz, size_t i0, size_t i1) {
  double ss = 0, cc = 0, sc = 0, xs = 0, xc = 0;
  for (size_t i = i0; i < i1; ++i) {
    const double w = 2 * kPi * f_hz * static_cast<double>(i) / fs_hz;
    const double s = std::sin(w), c = std::cos(w);
    ss += s * s, cc += c * c, sc += s * c, xs += x[i] * s, xc += x[i] * c;
  }
  const double det = ss * cc - sc * sc;
  const double a = (xs * cc - xc * sc) / det, b = (xc * ss - xs * sc) / det;  // x ≈ a sin + b cos
  return {std::hypot(a, b), std::atan2(b, a)};
}

double db(double ratio) { return 20 * std::log10(ratio); }

}  // namespace

TEST_CASE("rational approximation of the rate ratio") {
  const auto r256 = psgkit::rational_approximation(100.0 / 256.0);
  CHECK(r256.up == 25);
  CHECK(r256.down == 64);
  const auto odd = psgkit::rational_approximation(100.0 / 999.412);
  CHECK(odd.up == 170);
  CHECK(odd.down == 1699);
  CHECK(std::abs(static_cast<double>(odd.up) / odd.down / (100.0 / 999.412) - 1) <= 1e-6);
  const auto exact = psgkit::rational_approximation(100.0 / 999.412, 1e-12);
  CHECK(exact.up == 25000);
  CHECK(exact.down == 249853);
  CHECK_THROWS_AS(psgkit::rational_approximation(-1.0), psgkit::Error);
  CHECK_THROWS_AS(psgkit::rational_approximation(std::numbers::pi, 0.0, 1000), psgkit::Error);
}

TEST_CASE("resampling a chirp keeps the passband within 0.1 dB, in phase, and removes what is above Nyquist") {
  const double fs_in = 256, fs_out = 100;
  const psgkit::Resampler resampler(fs_in, fs_out);
  CHECK(resampler.fs_out_hz() == doctest::Approx(100.0).epsilon(1e-15));
  CHECK(resampler.passband_edge_hz() == doctest::Approx(40.0));
  CHECK(resampler.stopband_edge_hz() == doctest::Approx(50.0));
  // Linear chirp 0.5 → 40 Hz over 120 s: slow enough that the output must equal the chirp sampled at
  // the output times; 0.1 dB = 1.16 % of the amplitude, phase error shows up as the same error.
  const double duration_s = 120, f0 = 0.5, f1 = 40;
  const double rate = (f1 - f0) / duration_s;
  auto chirp_at = [&](double t) { return std::cos(2 * kPi * (f0 * t + 0.5 * rate * t * t)); };
  const size_t n = static_cast<size_t>(duration_s * fs_in);
  std::vector<double> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = chirp_at(static_cast<double>(i) / fs_in);
  const auto y = resampler.process(x);
  REQUIRE(y.size() == static_cast<size_t>(std::ceil(n * 25.0 / 64.0)));
  double max_error = 0, max_edge_error = 0;
  for (size_t m = 0; m < y.size(); ++m) {
    const double e = std::abs(y[m] - chirp_at(static_cast<double>(m) / fs_out));
    if (m >= 100 && m + 100 < y.size()) max_error = std::max(max_error, e);
    else max_edge_error = std::max(max_edge_error, e);
  }
  MESSAGE("chirp max error interior " << max_error << ", first/last second " << max_edge_error);
  CHECK(max_error < 0.0116);
  CHECK(max_error < 1e-3);  // design ripple at 80 dB is 1e-4

  // Chirp 50 → 128 Hz (all above the new Nyquist): nothing survives (≥ 75 dB down).
  const double g0 = 50, g1 = 127.9, grate = (g1 - g0) / duration_s;
  for (size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / fs_in;
    x[i] = std::cos(2 * kPi * (g0 * t + 0.5 * grate * t * t));
  }
  const auto z = resampler.process(x);
  double max_alias = 0;
  for (size_t m = 200; m + 200 < z.size(); ++m) max_alias = std::max(max_alias, std::abs(z[m]));
  CHECK(db(max_alias) < -75);
}

TEST_CASE("non-integer input rate 999.412 Hz to 100 Hz: length, amplitude, zero delay") {
  const double fs_in = 999.412;
  const psgkit::Resampler resampler(fs_in, 100);
  CHECK(resampler.up() == 170);
  CHECK(resampler.down() == 1699);
  const double fs_out = resampler.fs_out_hz();
  CHECK(std::abs(fs_out / 100 - 1) < 1e-6);
  const size_t n = 60 * 1000 + 7;
  for (double f_hz : {0.7, 10.0, 31.0}) {
    const auto x = sine(n, f_hz, fs_in, 50.0, 0.3);
    const auto y = resampler.process(x);
    CHECK(y.size() == static_cast<size_t>(std::ceil(static_cast<double>(n) * 170 / 1699)));
    const Tone tone = fit_tone(y, f_hz, fs_out, 0, y.size());
    CHECK(std::abs(db(tone.amplitude / 50.0)) < 0.01);
    CHECK(std::abs(tone.phase - 0.3) < 1e-3);  // zero delay (< 5 µs at 31 Hz): same phase at t = 0
  }
}

TEST_CASE("upsampling 100 -> 256 Hz and float input") {
  const psgkit::Resampler up(100, 256);
  const auto x = sine(3000, 7.0, 100, 20.0);
  const auto y = up.process(x);
  CHECK(y.size() == 7680);
  const Tone tone = fit_tone(y, 7.0, 256, 0, y.size());
  CHECK(std::abs(db(tone.amplitude / 20.0)) < 0.01);
  CHECK(std::abs(tone.phase) < 1e-4);
  const std::vector<float> xf(x.begin(), x.end());
  const auto yf = up.process(std::span<const float>(xf));
  REQUIRE(yf.size() == y.size());
  double max_diff = 0;
  for (size_t i = 0; i < y.size(); ++i) max_diff = std::max(max_diff, std::abs(yf[i] - y[i]));
  CHECK(max_diff < 1e-3);
}

TEST_CASE("block-wise resampling from input_range windows gives process()'s outputs bit for bit") {
  for (const auto& [fs_in, fs_out] : {std::pair{256.0, 100.0}, std::pair{999.412, 100.0}, std::pair{100.0, 256.0},
                                      std::pair{100.0, 100.0}}) {
    CAPTURE(fs_in);
    const psgkit::Resampler resampler(fs_in, fs_out);
    std::vector<double> x = sine(static_cast<size_t>(fs_in * 40) + 3, 3.1, fs_in, 40.0, 0.2);
    for (size_t i = 0; i < x.size(); ++i) x[i] += 0.01 * static_cast<double>((i * 7919) % 1000);  // not smooth
    const std::vector<float> xf(x.begin(), x.end());
    const std::vector<double> whole = resampler.process(x);
    const std::vector<float> whole_f = resampler.process(std::span<const float>(xf));
    const size_t n_out = whole.size();
    // Block sizes that start and end at the edges, inside, across the edge regions; one output.
    for (size_t block : {size_t{1}, size_t{7}, size_t{300}, size_t{1001}, n_out}) {
      CAPTURE(block);
      std::vector<double> y;
      std::vector<float> yf;
      for (size_t first = 0; first < n_out; first += block) {
        const size_t count = std::min(block, n_out - first);
        const auto [begin, end] = resampler.input_range(x.size(), first, count);
        REQUIRE(begin < end);
        REQUIRE(end <= x.size());
        std::vector<double> part(count);
        resampler.process_block(std::span<const double>(x).subspan(begin, end - begin), begin, x.size(), first, part);
        y.insert(y.end(), part.begin(), part.end());
        std::vector<float> part_f(count);
        resampler.process_block(std::span<const float>(xf).subspan(begin, end - begin), begin, x.size(), first, part_f);
        yf.insert(yf.end(), part_f.begin(), part_f.end());
        // Float arithmetic stored as double: the float outputs, widened.
        std::vector<double> part_fd(count);
        resampler.process_block(std::span<const float>(xf).subspan(begin, end - begin), begin, x.size(), first,
                                std::span<double>(part_fd));
        CHECK(part_fd == std::vector<double>(part_f.begin(), part_f.end()));
        if (begin > 0) {  // one sample short of the range is refused
          CHECK_THROWS_AS(resampler.process_block(std::span<const double>(x).subspan(begin + 1, end - begin - 1), begin + 1,
                                                  x.size(), first, part),
                          psgkit::Error);
        }
      }
      CHECK(y == whole);
      CHECK(yf == whole_f);
    }
    std::vector<double> past_end(2);
    CHECK_THROWS_AS(resampler.process_block(x, 0, x.size(), n_out - 1, past_end), psgkit::Error);
  }
}

TEST_CASE("resampling keeps a constant and a ramp up to the edges, and refuses NaN") {
  const std::vector<double> flat(1000, 42.0);
  for (double v : psgkit::resample(flat, 256, 100)) CHECK(v == doctest::Approx(42.0).epsilon(1e-9));
  std::vector<double> ramp(2560);
  for (size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<double>(i) / 256.0;  // t in s
  const auto y = psgkit::resample(ramp, 256, 100);
  double max_ramp_error_s = 0;  // a one-sample delay would be 0.01 s
  for (size_t m = 0; m < y.size(); ++m) max_ramp_error_s = std::max(max_ramp_error_s, std::abs(y[m] - m / 100.0));
  CHECK(max_ramp_error_s < 1e-5);
  const auto same = psgkit::resample(flat, 100, 100);
  CHECK(same == flat);
  std::vector<double> bad(500, 1.0);
  bad[123] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(psgkit::resample(bad, 256, 100), psgkit::Error);
  CHECK_THROWS_AS(psgkit::Resampler(0, 100), psgkit::Error);
  CHECK(psgkit::resample(std::vector<double>{}, 256, 100).empty());
}

TEST_CASE("Butterworth magnitudes follow the closed form; filtfilt squares them (-6 dB at cutoff)") {
  const double fs = 100;
  const int order = 4;
  const double fc = 10;
  auto warped = [&](double f) { return std::tan(kPi * f / fs); };
  const auto lp = psgkit::IirFilter::butter_lowpass(order, fc, fs);
  const auto hp = psgkit::IirFilter::butter_highpass(order, fc, fs);
  const auto bp = psgkit::IirFilter::butter_bandpass(order, 0.5, 4.5, fs);
  const double w0sq = warped(0.5) * warped(4.5), bw = warped(4.5) - warped(0.5);
  for (double f : {0.2, 0.5, 1.0, 2.0, 4.5, 7.0, 10.0, 15.0, 30.0, 45.0}) {
    const double r = warped(f) / warped(fc);
    CHECK(lp.magnitude(f) == doctest::Approx(1 / std::sqrt(1 + std::pow(r, 2 * order))).epsilon(1e-9));
    CHECK(hp.magnitude(f) == doctest::Approx(1 / std::sqrt(1 + std::pow(1 / r, 2 * order))).epsilon(1e-9));
    const double q = (warped(f) * warped(f) - w0sq) / (bw * warped(f));
    CHECK(bp.magnitude(f) == doctest::Approx(1 / std::sqrt(1 + std::pow(q, 2 * order))).epsilon(1e-9));
  }
  CHECK(db(lp.magnitude(fc)) == doctest::Approx(-3.0103).epsilon(1e-4));
  // Zero phase and squared gain on real signals: -6 dB at the cutoff, unity in band, none out of band.
  const size_t n = 6000;
  for (double f : {2.0, 10.0, 20.0}) {
    const auto y = lp.filtfilt(sine(n, f, fs, 1.0, 0.4));
    const Tone tone = fit_tone(y, f, fs, 1000, n - 1000);
    CHECK(tone.amplitude == doctest::Approx(lp.magnitude(f) * lp.magnitude(f)).epsilon(1e-6));
    if (tone.amplitude > 1e-3) CHECK(tone.phase == doctest::Approx(0.4).epsilon(1e-6));
  }
  const auto at_cutoff = lp.filtfilt(sine(n, fc, fs));
  CHECK(db(fit_tone(at_cutoff, fc, fs, 1000, n - 1000).amplitude) == doctest::Approx(-6.0206).epsilon(1e-4));
  const auto band = bp.filtfilt(sine(n, 1.5, fs, 80.0));
  CHECK(fit_tone(band, 1.5, fs, 1000, n - 1000).amplitude == doctest::Approx(80.0 * std::pow(bp.magnitude(1.5), 2)).epsilon(1e-6));
  CHECK(bp.sections().size() == 4);
  CHECK(lp.sections().size() == 2);
  CHECK(psgkit::IirFilter::butter_lowpass(5, fc, fs).sections().size() == 3);
  CHECK_THROWS_AS(psgkit::IirFilter::butter_lowpass(4, 50, fs), psgkit::Error);  // at Nyquist
  CHECK_THROWS_AS(psgkit::IirFilter::butter_bandpass(4, 5, 4, fs), psgkit::Error);
  CHECK_THROWS_AS(psgkit::IirFilter::butter_highpass(0, 1, fs), psgkit::Error);
}

TEST_CASE("filtfilt matches scipy.signal.sosfiltfilt on a ramp + sine + sawtooth") {
  // Reference: scipy 1.10 sosfiltfilt(butter(2, [1, 10], 'bandpass', fs=100, output='sos'), x),
  // x[i] = sin(0.1 i) + 0.01 i + (i % 7), i < 1000.
  std::vector<double> x(1000);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.1 * i) + 0.01 * i + static_cast<double>(i % 7);
  const auto y = psgkit::IirFilter::butter_bandpass(2, 1, 10, 100).filtfilt(x);
  CHECK(y[0] == doctest::Approx(-0.30979118985827503).epsilon(1e-10));
  CHECK(y[1] == doctest::Approx(0.8627094661419688).epsilon(1e-10));
  CHECK(y[500] == doctest::Approx(-0.24388361435338513).epsilon(1e-10));
  CHECK(y[999] == doctest::Approx(-0.22028547084163153).epsilon(1e-10));
  std::vector<float> xf(x.begin(), x.end());
  psgkit::IirFilter::butter_bandpass(2, 1, 10, 100).filtfilt_inplace(std::span<float>(xf));
  CHECK(xf[500] == doctest::Approx(-0.24388361435338513).epsilon(1e-5));
}

TEST_CASE("filtfilt in SIMD lanes equals sequential filtfilt to rounding") {
  // 30 min at 100 Hz of a sum of incommensurate sines plus a step: long enough for the lanes (the
  // sigma band-pass below settles in ~2100 samples); the 4-s signal is filtered sequentially.
  std::vector<float> x(180000);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(30 * std::sin(0.83 * i) + 20 * std::sin(0.0371 * i) + 10 * std::sin(2.9 * i) + (i > 90001 ? 50 : 0));
  for (const auto& filter : {psgkit::IirFilter::butter_bandpass(4, 11.25, 15.75, 100),
                             psgkit::IirFilter::butter_bandpass(2, 4.5, 30, 100), psgkit::IirFilter::butter_lowpass(3, 20, 100)}) {
    std::vector<float> a = x, b = x;
    filter.filtfilt_inplace(std::span<float>(a));
    filter.filtfilt_inplace_in_lanes(std::span<float>(b));
    float scale = 0, worst = 0;
    size_t differ = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      scale = std::max(scale, std::fabs(a[i]));
      worst = std::max(worst, std::fabs(a[i] - b[i]));
      differ += a[i] != b[i];
    }
    CHECK(worst <= 4 * std::numeric_limits<float>::epsilon() * scale);  // a float rounded the other way at most
    CHECK(differ < a.size() / 1000);
    std::vector<float> s(x.begin(), x.begin() + 400), t = s;
    filter.filtfilt_inplace(std::span<float>(s));
    filter.filtfilt_inplace_in_lanes(std::span<float>(t));
    CHECK(s == t);
  }
  std::vector<float> bad = x;
  bad[100000] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(psgkit::IirFilter::butter_lowpass(2, 20, 100).filtfilt_inplace_in_lanes(std::span<float>(bad)), psgkit::Error);
}

TEST_CASE("notch removes 50 Hz and keeps 10 Hz") {
  const double fs = 250;
  const auto notch = psgkit::IirFilter::notch(50, 30, fs);
  CHECK(notch.magnitude(50) < 1e-12);
  // iirnotch's bandwidth is set through tan(bw/2), so the -3 dB point is only near f0 ± f0/(2Q).
  CHECK(std::abs(db(notch.magnitude(50 + 50.0 / 30 / 2)) + 3.0103) < 0.05);
  const size_t n = 10000;
  auto x = sine(n, 50, fs, 100.0);
  const auto ten = sine(n, 10, fs, 30.0);
  for (size_t i = 0; i < n; ++i) x[i] += ten[i];
  const auto y = notch.filtfilt(x);
  CHECK(fit_tone(y, 50, fs, 2000, n - 2000).amplitude < 1e-3);
  const Tone kept = fit_tone(y, 10, fs, 2000, n - 2000);
  CHECK(kept.amplitude == doctest::Approx(30.0).epsilon(1e-3));
  CHECK(std::abs(kept.phase) < 1e-6);
}

TEST_CASE("require_finite names the first NaN or infinite sample wherever it sits") {
  auto message = [](auto x) {
    try {
      psgkit::require_finite(std::span<const typename decltype(x)::value_type>(x), "x");
    } catch (const psgkit::Error& e) {
      return std::string(e.what());
    }
    return std::string("(finite)");
  };
  for (const size_t n : {size_t{1}, size_t{255}, size_t{256}, size_t{1000}}) {
    std::vector<float> xf(n, 3.0f);
    std::vector<double> xd(n, -3.0);
    xf[n / 2] = std::numeric_limits<float>::max();  // large but finite
    xd[n / 2] = -std::numeric_limits<double>::max();
    CHECK(message(xf) == "(finite)");
    CHECK(message(xd) == "(finite)");
    for (const size_t at : {size_t{0}, n / 3, n - 1}) {
      CAPTURE(n);
      CAPTURE(at);
      for (const double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                               -std::numeric_limits<double>::infinity()}) {
        std::vector<float> f = xf;
        std::vector<double> d = xd;
        f[at] = static_cast<float>(bad);
        d[at] = bad;
        if (at + 1 < n) f[n - 1] = d[n - 1] = std::numeric_limits<float>::quiet_NaN();  // a later one is not named
        const std::string expected = "sample " + std::to_string(at) + " is " + (std::isnan(bad) ? "NaN" : "infinite");
        CHECK(message(f).find(expected) != std::string::npos);
        CHECK(message(d).find(expected) != std::string::npos);
      }
    }
  }
}

TEST_CASE("re-referencing and epoching") {
  const std::vector<double> a{1, 2, 3, 4}, b{0.5, 0.5, 1, 1};
  CHECK(psgkit::rereference(a, 100, b, 100) == std::vector<double>{0.5, 1.5, 2, 3});
  CHECK_THROWS_AS(psgkit::rereference(a, 100, b, 200), psgkit::Error);
  CHECK_THROWS_AS(psgkit::rereference(a, 100, std::span<const double>(b).first(3), 100), psgkit::Error);

  std::vector<double> x(100 * 95);  // 95 s at 100 Hz
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i);
  const auto epochs = psgkit::make_epochs(x, 100);
  CHECK(epochs.size() == 3);
  CHECK(epochs.samples_per_epoch == 3000);
  CHECK(epochs.dropped_samples == 500);
  CHECK(epochs.dropped_s() == doctest::Approx(5.0));
  CHECK(epochs[2].front() == 6000);
  CHECK(epochs[2].data() == x.data() + 6000);  // a view, not a copy
  const auto shifted = psgkit::make_epochs(x, 100, 30, 10.0);
  CHECK(shifted.size() == 2);
  CHECK(shifted.first_sample == 1000);
  CHECK(shifted.dropped_samples == 2500);
  CHECK(shifted[0].front() == 1000);
  const auto none = psgkit::make_epochs(std::span<const double>(x).first(2999), 100);
  CHECK(none.size() == 0);
  CHECK(none.dropped_samples == 2999);
  const psgkit::EpochGrid grid = psgkit::epoch_grid(x.size(), 100, 30, 10.0);  // the same grid without the samples
  CHECK(grid.size() == 2);
  CHECK(grid.first_sample == 1000);
  CHECK(grid.dropped_samples == 2500);
  CHECK(psgkit::epoch_grid(0, 100).size() == 0);
  CHECK_THROWS_AS(psgkit::epoch_grid(x.size(), 999.412), psgkit::Error);
  CHECK_THROWS_AS(psgkit::make_epochs(x, 999.412), psgkit::Error);  // not a whole number of samples
  CHECK_THROWS_AS(psgkit::make_epochs(x, 100, 30, -1), psgkit::Error);
}

TEST_CASE("filtfilt_each gives each filter's filtfilt bit for bit (lanes, lone filters, fallbacks)") {
  using psgkit::IirFilter;
  const double fs = 100;
  const std::vector<IirFilter> filters = {
      IirFilter::butter_highpass(2, 0.3, fs),       // 1 section
      IirFilter::butter_bandpass(3, 0.5, 2.0, fs),  // 3 sections
      IirFilter::butter_bandpass(3, 0.3, 1.5, fs),
      IirFilter::butter_lowpass(7, 20, fs),         // 4 sections
      IirFilter::butter_bandpass(4, 11, 16, fs),    // 4 sections, fifth filter: a second group
      IirFilter::butter_bandpass(5, 1, 4, fs),      // 5 sections: filtered on its own
  };
  for (const size_t n : {size_t{1}, size_t{2}, size_t{7}, size_t{40}, size_t{5000}}) {
    std::vector<double> x(n);
    for (size_t i = 0; i < n; ++i)
      x[i] = 30 * std::sin(0.07 * static_cast<double>(i)) + 0.01 * static_cast<double>(i) + ((i * 7919) % 13) - 6.0;
    const std::vector<float> xf(x.begin(), x.end());
    for (size_t count = 1; count <= filters.size(); ++count) {
      std::vector<const IirFilter*> group;
      for (size_t k = 0; k < count; ++k) group.push_back(&filters[(k + count) % filters.size()]);
      std::vector<std::vector<double>> y(count, std::vector<double>(n));
      std::vector<std::vector<float>> yf(count, std::vector<float>(n));
      std::vector<std::span<double>> out(y.begin(), y.end());
      std::vector<std::span<float>> outf(yf.begin(), yf.end());
      IirFilter::filtfilt_each(group, std::span<const double>(x), out);
      IirFilter::filtfilt_each(group, std::span<const float>(xf), outf);
      for (size_t k = 0; k < count; ++k) {
        CAPTURE(n);
        CAPTURE(count);
        CAPTURE(k);
        CHECK(y[k] == group[k]->filtfilt(std::span<const double>(x)));
        CHECK(yf[k] == group[k]->filtfilt(std::span<const float>(xf)));
      }
    }
  }
  std::vector<double> bad(10, 1.0), y(10);
  bad[3] = std::nan("");
  const IirFilter* one[] = {&filters[0]};
  const std::span<double> out[] = {y};
  CHECK_THROWS_AS(IirFilter::filtfilt_each(one, std::span<const double>(bad), out), psgkit::Error);
  const std::span<double> short_out[] = {std::span<double>(y).first(9)};
  CHECK_THROWS_AS(IirFilter::filtfilt_each(one, std::span<const double>(y), short_out), psgkit::Error);
}
