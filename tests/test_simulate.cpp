#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "psgkit/error.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/io.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/simulate.hpp"
#include "support.hpp"

using namespace psgkit;

namespace {

// 20 W, 10 N1, 20 N2, 20 N3, 20 REM, 4 W epochs of 30 s (47 min).
Hypnogram test_hypnogram() {
  Hypnogram h;
  for (auto [stage, count] : std::vector<std::pair<Stage, int>>{
           {Stage::W, 20}, {Stage::N1, 10}, {Stage::N2, 20}, {Stage::N3, 20}, {Stage::REM, 20}, {Stage::W, 4}})
    h.stages.insert(h.stages.end(), static_cast<size_t>(count), stage);
  return h;
}

const SignalToWrite& signal(const SimulatedNight& night, const std::string& label) {
  for (const auto& s : night.signals)
    if (s.label == label) return s;
  FAIL("no signal " << label);
  throw 0;
}

// Epochs of `stage` whose neighbours have the same stage (away from the blended transitions).
std::vector<size_t> core_epochs(const Hypnogram& h, Stage stage) {
  std::vector<size_t> out;
  for (size_t e = 1; e + 1 < h.size(); ++e)
    if (h.stages[e - 1] == stage && h.stages[e] == stage && h.stages[e + 1] == stage) out.push_back(e);
  return out;
}

std::vector<double> epoch_of(const SignalToWrite& s, size_t epoch, double epoch_s = 30) {
  const auto n = static_cast<size_t>(epoch_s * s.fs_hz);
  return {s.samples.begin() + static_cast<std::ptrdiff_t>(epoch * n),
          s.samples.begin() + static_cast<std::ptrdiff_t>((epoch + 1) * n)};
}

// Periodogram density (uV^2/Hz, one-sided) at frequency f by Goertzel's recurrence, mean removed.
double goertzel_density(const std::vector<double>& x, double f_hz, double fs_hz) {
  double mean = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  const double w = 2 * std::numbers::pi * f_hz / fs_hz, coeff = 2 * std::cos(w);
  double s1 = 0, s2 = 0;
  for (double v : x) {
    const double s0 = (v - mean) + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;  // |X(f)|^2
  return 2 * power / (fs_hz * static_cast<double>(x.size()));
}

// Mean density over the DFT bins (1/30 Hz apart for 30-s epochs) in [lo, hi], averaged over epochs.
double band_density(const SignalToWrite& s, const std::vector<size_t>& epochs, double lo_hz, double hi_hz) {
  double sum = 0;
  int count = 0;
  for (size_t e : epochs) {
    const auto x = epoch_of(s, e);
    const double df = s.fs_hz / static_cast<double>(x.size());
    for (double f = std::ceil(lo_hz / df) * df; f <= hi_hz + 1e-9; f += df, ++count) sum += goertzel_density(x, f, s.fs_hz);
  }
  return sum / count;
}

double variance(const SignalToWrite& s, const std::vector<size_t>& epochs) {
  double sum = 0, sum2 = 0, n = 0;
  for (size_t e : epochs)
    for (double v : epoch_of(s, e)) {
      sum += v;
      sum2 += v * v;
      ++n;
    }
  return sum2 / n - (sum / n) * (sum / n);
}

// Slow waves with peak-to-peak >= threshold: a negative half-wave followed by a positive one between
// zero crossings of the 0.5-2 Hz band (moving average 0.25 s minus moving average 2 s), each half
// lasting 0.25-1 s (0.5-2 Hz).
int count_slow_waves(const std::vector<double>& x, double fs_hz, double threshold_uv) {
  auto moving_average = [&](double length_s) {
    const auto half = static_cast<std::ptrdiff_t>(length_s * fs_hz / 2);
    const auto n = static_cast<std::ptrdiff_t>(x.size());
    std::vector<double> prefix(x.size() + 1, 0.0), out(x.size());
    for (size_t i = 0; i < x.size(); ++i) prefix[i + 1] = prefix[i] + x[i];
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      const auto a = std::max<std::ptrdiff_t>(0, i - half), b = std::min(n, i + half + 1);
      out[static_cast<size_t>(i)] = (prefix[static_cast<size_t>(b)] - prefix[static_cast<size_t>(a)]) / static_cast<double>(b - a);
    }
    return out;
  };
  const auto fast = moving_average(0.25), slow = moving_average(2.0);
  std::vector<double> band(x.size());
  for (size_t i = 0; i < x.size(); ++i) band[i] = fast[i] - slow[i];
  // Half-waves between zero crossings: (sign, length in samples, extreme value).
  struct Half {
    bool negative;
    size_t length;
    double extreme;
  };
  std::vector<Half> halves;
  size_t start = 0;
  for (size_t i = 1; i <= band.size(); ++i) {
    if (i == band.size() || (band[i] < 0) != (band[start] < 0)) {
      Half h{band[start] < 0, i - start, 0};
      for (size_t k = start; k < i; ++k) h.extreme = h.negative ? std::min(h.extreme, band[k]) : std::max(h.extreme, band[k]);
      halves.push_back(h);
      start = i;
    }
  }
  int count = 0;
  auto ok = [&](const Half& h) { return h.length >= 0.25 * fs_hz && h.length <= 1.0 * fs_hz; };
  for (size_t k = 1; k + 1 < halves.size(); ++k)  // skip the halves cut by the epoch edges
    if (halves[k].negative && k + 2 < halves.size() && ok(halves[k]) && ok(halves[k + 1]) &&
        halves[k + 1].extreme - halves[k].extreme >= threshold_uv)
      ++count;
  return count;
}

}  // namespace

TEST_CASE("simulate_night: four labelled uV signals at the requested rate covering the hypnogram") {
  const Hypnogram h = test_hypnogram();
  SimulationOptions options;
  options.fs_hz = 128;
  const SimulatedNight night = simulate_night(h, options);
  REQUIRE(night.signals.size() == 4);
  const std::vector<std::string> labels{"C4-M1", "Fpz-Cz", "EOG E1-M2", "EMG Chin"};
  for (size_t i = 0; i < 4; ++i) {
    CHECK(night.signals[i].label == labels[i]);
    CHECK(night.signals[i].unit == "uV");
    CHECK(night.signals[i].fs_hz == 128);
    CHECK(night.signals[i].samples.size() == static_cast<size_t>(h.duration_s() * 128));
    const auto [lo, hi] = std::minmax_element(night.signals[i].samples.begin(), night.signals[i].samples.end());
    CHECK(*lo >= night.signals[i].physical_min);
    CHECK(*hi <= night.signals[i].physical_max);
  }
  // One annotation per run of equal stages, with durations.
  REQUIRE(night.annotations.size() == 6);
  CHECK(night.annotations[0].text == "Sleep stage W");
  CHECK(night.annotations[4].text == "Sleep stage R");
  CHECK(night.annotations[3].onset_s == 50 * 30.0);
  CHECK(night.annotations[3].duration_s == 20 * 30.0);

  options.duration_s = 1800;  // the first 30 minutes: annotations clipped there
  const SimulatedNight part = simulate_night(h, options);
  CHECK(part.signals[0].samples.size() == 1800u * 128u);
  REQUIRE(part.annotations.size() == 4);  // W, N1, N2 and the first 300 s of N3
  CHECK(part.annotations[3].onset_s == 1500);
  CHECK(part.annotations[3].duration_s == 300);
}

TEST_CASE("simulate_night rejects bad options with the field named") {
  const Hypnogram h = test_hypnogram();
  SimulationOptions options;
  options.fs_hz = 100.5;
  CHECK_THROWS_WITH_AS(simulate_night(h, options), doctest::Contains("fs_hz"), Error);
  options = {};
  options.duration_s = h.duration_s() + 30;
  CHECK_THROWS_WITH_AS(simulate_night(h, options), doctest::Contains("duration_s"), Error);
  options = {};
  options.swa_gain = -1;
  CHECK_THROWS_WITH_AS(simulate_night(h, options), doctest::Contains("swa_gain"), Error);
  CHECK_THROWS_AS(simulate_night(Hypnogram{}, {}), Error);
}

TEST_CASE("simulate_night is deterministic for a seed") {
  const Hypnogram h = test_hypnogram();
  SimulationOptions options;
  options.fs_hz = 100;
  options.seed = 42;
  const auto a = simulate_night(h, options), b = simulate_night(h, options);
  options.seed = 43;
  const auto c = simulate_night(h, options);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(a.signals[i].samples == b.signals[i].samples);
    CHECK(a.signals[i].samples != c.signals[i].samples);
  }
}

TEST_CASE("simulated physiology follows the stages") {
  const Hypnogram h = test_hypnogram();
  const SimulatedNight night = simulate_night(h, {});
  const auto& c4 = signal(night, "C4-M1");
  const auto wake = core_epochs(h, Stage::W), n1 = core_epochs(h, Stage::N1), n2 = core_epochs(h, Stage::N2),
             n3 = core_epochs(h, Stage::N3), rem = core_epochs(h, Stage::REM);
  REQUIRE(n3.size() == 18);

  SUBCASE("slow-wave power: N3 >> wake") {
    const double delta_n3 = band_density(c4, n3, 0.5, 2), delta_w = band_density(c4, wake, 0.5, 2);
    MESSAGE("0.5-2 Hz density N3 " << delta_n3 << ", W " << delta_w << " uV^2/Hz");
    CHECK(delta_n3 > 10 * delta_w);
    CHECK(delta_n3 > 3 * band_density(c4, n2, 0.5, 2));
  }
  SUBCASE("N3 epochs hold >= 75 uV peak-to-peak slow waves, wake and REM epochs hardly any") {
    int n3_min = 1 << 30, wake_total = 0, rem_total = 0;
    for (size_t e : n3) n3_min = std::min(n3_min, count_slow_waves(epoch_of(c4, e), c4.fs_hz, 75));
    for (size_t e : wake) wake_total += count_slow_waves(epoch_of(c4, e), c4.fs_hz, 75);
    for (size_t e : rem) rem_total += count_slow_waves(epoch_of(c4, e), c4.fs_hz, 75);
    MESSAGE("slow waves >= 75 uV: fewest in an N3 epoch " << n3_min << ", all wake epochs " << wake_total
                                                          << ", all REM epochs " << rem_total);
    CHECK(n3_min >= 3);
    CHECK(wake_total <= 2);
    CHECK(rem_total <= 2);
  }
  SUBCASE("alpha peak in relaxed wake, not in N2") {
    const double alpha = band_density(c4, wake, 9, 11);
    const double theta = band_density(c4, wake, 5, 7), beta = band_density(c4, wake, 14, 16);
    MESSAGE("wake C4-M1: 9-11 Hz " << alpha << ", 5-7 Hz " << theta << ", 14-16 Hz " << beta);
    CHECK(alpha > 3 * theta);
    CHECK(alpha > 10 * beta);
    CHECK(band_density(c4, n2, 9, 11) < band_density(c4, n2, 5, 7));
  }
  SUBCASE("theta rises in N1 over wake; spindle band rises in N2 over REM") {
    CHECK(band_density(c4, n1, 5, 7) > 1.5 * band_density(c4, wake, 5, 7));
    CHECK(band_density(c4, n2, 12, 15) > 2 * band_density(c4, rem, 12, 15));
  }
  SUBCASE("chin EMG: wake > REM (atonia); EOG: REM > N2 (rapid eye movements)") {
    const auto& emg = signal(night, "EMG Chin");
    const auto& eog = signal(night, "EOG E1-M2");
    MESSAGE("EMG variance W " << variance(emg, wake) << ", REM " << variance(emg, rem) << "; EOG variance REM "
                              << variance(eog, rem) << ", N2 " << variance(eog, n2));
    CHECK(variance(emg, wake) > 20 * variance(emg, rem));
    CHECK(variance(eog, rem) > 2 * variance(eog, n2));
    CHECK(variance(eog, n1) > 2 * variance(eog, n2));  // slow rolling eye movements
  }
}

TEST_CASE("extra_eeg adds correlated EEG derivations without changing the four base channels") {
  const Hypnogram h = test_hypnogram();
  SimulationOptions options;
  options.fs_hz = 128;
  const SimulatedNight base = simulate_night(h, options);
  options.extra_eeg = 4;
  const SimulatedNight night = simulate_night(h, options);
  REQUIRE(night.signals.size() == 8);
  const std::vector<std::string> labels = {"C4-M1", "Fpz-Cz", "EOG E1-M2", "EMG Chin", "C3-M2", "O2-M1", "F4-M1", "O1-M2"};
  for (size_t c = 0; c < 8; ++c) {
    CHECK(night.signals[c].label == labels[c]);
    CHECK(night.signals[c].fs_hz == 128);
    CHECK(night.signals[c].samples.size() == base.signals[0].samples.size());
    if (c < 4) CHECK(night.signals[c].samples == base.signals[c].samples);
  }
  // Pearson correlation with C4-M1 over the night: related like a neighbouring derivation, not a copy.
  auto correlation = [](const std::vector<float>& a, const std::vector<float>& b) {
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    const double n = static_cast<double>(a.size());
    for (size_t i = 0; i < a.size(); ++i) {
      sa += a[i], sb += b[i], saa += double(a[i]) * a[i], sbb += double(b[i]) * b[i], sab += double(a[i]) * b[i];
    }
    return (sab / n - sa / n * sb / n) / std::sqrt((saa / n - sa / n * sa / n) * (sbb / n - sb / n * sb / n));
  };
  const auto& c4 = signal(night, "C4-M1");
  for (const char* label : {"C3-M2", "O2-M1", "F4-M1", "O1-M2"}) {
    const double r = correlation(c4.samples, signal(night, label).samples);
    MESSAGE(std::string(label) << " vs C4-M1: r = " << r);
    CHECK(r > 0.5);
    CHECK(r < 0.99);
  }
  const auto wake = core_epochs(h, Stage::W), n3 = core_epochs(h, Stage::N3);
  const auto& c3 = signal(night, "C3-M2");
  const auto& o2 = signal(night, "O2-M1");
  CHECK(band_density(c3, n3, 0.5, 2) > 10 * band_density(c3, wake, 0.5, 2));  // slow waves carried over
  CHECK(band_density(o2, wake, 9, 11) > 1.5 * band_density(c3, wake, 9, 11));  // occipital alpha
  options.extra_eeg = 5;
  CHECK_THROWS_WITH_AS(simulate_night(h, options), doctest::Contains("extra_eeg"), Error);
  options.extra_eeg = -1;
  CHECK_THROWS_WITH_AS(simulate_night(h, options), doctest::Contains("extra_eeg"), Error);

  if (!psgkit_test::have_cli()) return;
  psgkit_test::TempDir dir("simulate-extra-eeg");
  const auto out = dir / "night.edf";
  const auto result = psgkit_test::run_command(psgkit_test::cli_path() + " simulate --hypnogram " +
                                               (psgkit_test::source_dir() / "data/demo/before.csv").string() +
                                               " --fs 100 --duration-h 0.1 --extra-eeg 2 -o " + out.string() + " 2>&1");
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  const Recording rec = Recording::open(out);
  REQUIRE(rec.signals().size() == 6);
  CHECK(rec.signals()[4].label == "C3-M2");
  CHECK(rec.signals()[5].label == "O2-M1");
}

TEST_CASE("swa_gain scales the slow waves: signal linear in G, slow-wave power ~ G^2") {
  const Hypnogram h = test_hypnogram();
  SimulationOptions options;
  options.fs_hz = 128;
  std::vector<SimulatedNight> nights;
  for (double gain : {0.0, 1.0, 2.0}) {
    options.swa_gain = gain;
    nights.push_back(simulate_night(h, options));
  }
  // Same random streams for every gain: x(G) = x(0) + G * slow_waves exactly (up to float rounding).
  const auto& x0 = nights[0].signals[0].samples;
  const auto& x1 = nights[1].signals[0].samples;
  const auto& x2 = nights[2].signals[0].samples;
  double worst = 0;
  for (size_t i = 0; i < x0.size(); ++i) worst = std::max(worst, std::abs(double(x2[i]) - 2.0 * x1[i] + x0[i]));
  CHECK(worst < 1e-3);
  const auto n3 = core_epochs(h, Stage::N3);
  const double p0 = band_density(nights[0].signals[0], n3, 0.5, 2), p1 = band_density(nights[1].signals[0], n3, 0.5, 2),
               p2 = band_density(nights[2].signals[0], n3, 0.5, 2);
  MESSAGE("N3 0.5-2 Hz density for G = 0, 1, 2: " << p0 << ", " << p1 << ", " << p2);
  CHECK(p1 > 5 * p0);
  // Background small against the slow waves: the ratio approaches G^2 = 4.
  CHECK(p2 / p1 > 3.3);
  CHECK(p2 / p1 < 4.1);
}

TEST_CASE("the demo hypnograms: after treatment more N3, shorter latency, less WASO") {
  const Hypnogram before = read_hypnogram(psgkit_test::source_dir() / "data/demo/before.csv");
  const Hypnogram after = read_hypnogram(psgkit_test::source_dir() / "data/demo/after.csv");
  REQUIRE(before.size() == 960);
  REQUIRE(after.size() == 960);
  auto minutes = [](const Hypnogram& h, Stage s) { return std::count(h.stages.begin(), h.stages.end(), s) * h.epoch_s / 60; };
  auto latency_min = [](const Hypnogram& h) {
    return static_cast<double>(std::find_if(h.stages.begin(), h.stages.end(), is_sleep) - h.stages.begin()) * h.epoch_s / 60;
  };
  auto waso_min = [](const Hypnogram& h) {
    const auto first = std::find_if(h.stages.begin(), h.stages.end(), is_sleep);
    const auto last = std::find_if(h.stages.rbegin(), h.stages.rend(), is_sleep).base();
    return std::count(first, last, Stage::W) * h.epoch_s / 60;
  };
  const double n3_gain = minutes(after, Stage::N3) - minutes(before, Stage::N3);
  CHECK(n3_gain >= 25);
  CHECK(n3_gain <= 35);
  CHECK(latency_min(after) < latency_min(before) - 10);
  CHECK(waso_min(after) < waso_min(before) - 15);
  // N3 mostly in the first half of the night.
  for (const Hypnogram* h : {&before, &after}) {
    const auto early = std::count(h->stages.begin(), h->stages.begin() + 480, Stage::N3);
    CHECK(early > 2 * std::count(h->stages.begin() + 480, h->stages.end(), Stage::N3));
  }
}

TEST_CASE("the simulated EDF reads back: signals, rates, duration, stage annotations, byte-identical per seed") {
  psgkit_test::TempDir dir("simulate");
  const Hypnogram h = test_hypnogram();
  SimulationOptions options;
  options.seed = 5;
  write_simulated_night(dir / "a.edf", h, options);
  write_simulated_night(dir / "b.edf", h, options);
  options.seed = 6;
  write_simulated_night(dir / "c.edf", h, options);
  CHECK(read_file(dir / "a.edf") == read_file(dir / "b.edf"));
  CHECK(read_file(dir / "a.edf") != read_file(dir / "c.edf"));

  const Recording rec = Recording::open(dir / "a.edf");
  CHECK(rec.file_type() == FileType::EDFPlusC);
  REQUIRE(rec.signals().size() == 4);
  for (const char* label : {"C4-M1", "Fpz-Cz", "EOG E1-M2", "EMG Chin"}) {
    const int i = rec.require_signal(label);
    CHECK(rec.signals()[static_cast<size_t>(i)].fs_hz == 256);
    CHECK(rec.signals()[static_cast<size_t>(i)].unit == "uV");
  }
  CHECK(rec.duration_s() == doctest::Approx(h.duration_s()));
  // Samples survive the 16-bit quantisation (range +-750 uV: step 0.023 uV).
  options.seed = 5;
  const SimulatedNight night = simulate_night(h, options);
  const auto c4 = rec.read(rec.require_signal("C4-M1"));
  REQUIRE(c4.size() == night.signals[0].samples.size());
  double worst = 0;
  for (size_t i = 0; i < c4.size(); ++i) worst = std::max(worst, double(std::abs(c4[i] - night.signals[0].samples[i])));
  CHECK(worst < 0.03);

  const Hypnogram back = read_hypnogram(dir / "a.edf");
  CHECK(back.epoch_s == 30);
  CHECK(back.start_s == 0);
  CHECK(back.stages == h.stages);
}

TEST_CASE("psgkit simulate CLI writes the demo night") {
  if (!psgkit_test::have_cli()) return;
  psgkit_test::TempDir dir("simulate-cli");
  const auto out = dir / "night.edf";
  const auto result = psgkit_test::run_command(psgkit_test::cli_path() + " simulate --hypnogram " +
                                               (psgkit_test::source_dir() / "data/demo/after.csv").string() +
                                               " --seed 3 --fs 128 --duration-h 1 -o " + out.string() + " 2>&1");
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  const Recording rec = Recording::open(out);
  CHECK(rec.duration_s() == doctest::Approx(3600));
  CHECK(rec.signals()[0].fs_hz == 128);
  const auto bad = psgkit_test::run_command(psgkit_test::cli_path() + " simulate --hypnogram " +
                                            (psgkit_test::source_dir() / "data/demo/after.csv").string() +
                                            " --duration-h 9 -o " + (dir / "x.edf").string() + " 2>&1");
  CHECK(bad.exit_code == 1);
  CHECK(bad.output.find("duration_s") != std::string::npos);
}
