// Sleep spindles: synthetic bursts with known properties, pure noise, stage restriction, by-event
// scoring on hand-made lists, coupling phase of a known slow oscillation, and the DREAMS floor.
#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "psgkit/error.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/spindles.hpp"
#include "support.hpp"

namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kFs = 100.0;

// Approximately 1/f ("pink") noise: the sum of AR(1) processes with time constants spaced by 4× from
// 2.5 ms to 10 s, each with equal variance, which gives a 1/f power spectrum between ~0.02 and ~60 Hz
// within ±1.5 dB (the standard construction of 1/f noise from relaxation processes). Total RMS rms_uv.
std::vector<float> pink_noise(size_t n, double rms_uv, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::vector<double> taus;
  for (double tau = 0.0025; tau <= 10.0; tau *= 4) taus.push_back(tau);
  std::vector<double> state(taus.size(), 0.0), x(n, 0.0);
  for (size_t i = 0; i < n + 2000; ++i) {
    double sum = 0;
    for (size_t k = 0; k < taus.size(); ++k) {
      const double a = std::exp(-1.0 / (taus[k] * kFs));
      state[k] = a * state[k] + std::sqrt(1 - a * a) * gauss(rng);
      sum += state[k];
    }
    if (i >= 2000) x[i - 2000] = sum;
  }
  double ss = 0;
  for (double v : x) ss += v * v;
  const double scale = rms_uv / std::sqrt(ss / static_cast<double>(n));
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(x[i] * scale);
  return out;
}

// A sigma burst: amplitude_uv · sin at f_hz over [onset_s, onset_s + duration_s), with 0.1-s raised-
// cosine ramps inside that span.
void add_burst(std::vector<float>& x, double onset_s, double duration_s, double f_hz, double amplitude_uv) {
  const size_t a = static_cast<size_t>(std::lround(onset_s * kFs)), n = static_cast<size_t>(std::lround(duration_s * kFs));
  const double ramp = 0.1 * kFs;
  for (size_t j = 0; j < n; ++j) {
    const double t = static_cast<double>(j);
    double env = 1;
    if (t < ramp) env = 0.5 - 0.5 * std::cos(kPi * t / ramp);
    if (static_cast<double>(n - 1) - t < ramp) env = 0.5 - 0.5 * std::cos(kPi * (static_cast<double>(n - 1) - t) / ramp);
    x[a + j] += static_cast<float>(amplitude_uv * env * std::sin(2 * kPi * f_hz * t / kFs));
  }
}

psgkit::Hypnogram hypnogram_of(std::vector<psgkit::Stage> stages) {
  psgkit::Hypnogram h;
  h.stages = std::move(stages);
  return h;
}

}  // namespace

TEST_CASE("sigma bursts in 1/f noise are found with their onset, duration, frequency and amplitude") {
  const double minutes = 10;
  std::vector<float> x = pink_noise(static_cast<size_t>(minutes * 60 * kFs), 20.0, 1);
  struct Burst {
    double onset_s, duration_s, f_hz, amplitude_uv;
  };
  std::vector<Burst> bursts;
  for (int k = 0; k < 28; ++k)
    bursts.push_back({10.0 + 20.0 * k + 0.37 * (k % 3), 0.8 + 0.1 * (k % 7), 12.0 + 0.5 * (k % 7), 25.0 + 5.0 * (k % 4)});
  for (const auto& b : bursts) add_burst(x, b.onset_s, b.duration_s, b.f_hz, b.amplitude_uv);
  const auto events = psgkit::detect_spindles(x, kFs);
  std::vector<psgkit::TimeInterval> truth;
  for (const auto& b : bursts) truth.push_back({b.onset_s, b.onset_s + b.duration_s});
  std::vector<std::pair<size_t, size_t>> pairs;
  const auto counts = psgkit::match_events(psgkit::to_intervals(events), truth, 0.5, &pairs);
  CHECK(counts.matched >= 23);  // 24 of 28 at IoU >= 0.5 (the shipped corr 0.45 and rel_z 1 widen the edges)
  CHECK(counts.detected <= counts.matched + 10);  // the noise's false-detection rate (next test): 10 min
  double start_error = 0, duration_error = 0;
  for (const auto& [d, r] : pairs) {
    const auto& e = events[d];
    const auto& b = bursts[r];
    CAPTURE(b.onset_s);
    CHECK(std::fabs(e.start_s - b.onset_s) < 0.4);
    CHECK(std::fabs(e.duration_s - b.duration_s) < 0.6);
    start_error += (e.start_s - b.onset_s) / static_cast<double>(pairs.size());
    duration_error += (e.duration_s - b.duration_s) / static_cast<double>(pairs.size());
    CHECK(e.frequency_hz == doctest::Approx(b.f_hz).epsilon(0.04));
    // Peak-to-peak of the burst is 2A; the broadband noise adds to it.
    CHECK(e.amplitude_uv > 1.6 * b.amplitude_uv);
    CHECK(e.amplitude_uv < 2.0 * b.amplitude_uv + 60.0);
    CHECK(std::abs(e.oscillations - b.f_hz * e.duration_s) <= 2.5);
    CHECK(e.peak_s >= e.start_s);
    CHECK(e.peak_s <= e.end_s);
    CHECK(e.symmetry == doctest::Approx((e.peak_s - e.start_s) / e.duration_s));
    CHECK_FALSE(e.stage.has_value());
  }
  // On average the edges land within 0.25 s (each edge of a burst is a 0.1-s ramp; measured: start
  // 0.18 s early, duration 0.37 s long).
  MESSAGE("mean start error " << start_error << " s, mean duration error " << duration_error << " s");
  CHECK(std::fabs(start_error) < 0.25);
  CHECK(std::fabs(duration_error) < 0.45);
}

TEST_CASE("pure 1/f noise: false detections stay below the documented rate") {
  // The thresholds are relative (mean + 3 trimmed SD of the night's own moving RMS, mean + 1 trimmed
  // SD of its relative sigma power), so the upper tail of noise is detected: 78 events in these 60 min
  // (1.3/min; notes/spindles.md), against 2-5/min for N2 spindles.
  size_t total = 0;
  for (unsigned seed : {11u, 12u, 13u}) total += psgkit::detect_spindles(pink_noise(20 * 60 * static_cast<size_t>(kFs), 20.0, seed), kFs).size();
  MESSAGE("false detections in 60 min of 1/f noise: " << total);
  CHECK(static_cast<double>(total) / 60.0 <= 1.5);
}

TEST_CASE("only the chosen stages are searched; events carry their stage") {
  using psgkit::Stage;
  const size_t n_epochs = 16;
  std::vector<float> x = pink_noise(n_epochs * 3000, 20.0, 5);
  std::vector<Stage> stages;
  for (size_t e = 0; e < n_epochs; ++e) stages.push_back(e % 2 ? Stage::N2 : Stage::W);
  for (size_t e = 0; e < n_epochs; ++e)
    for (double t : {6.0, 16.0, 25.0}) add_burst(x, 30.0 * static_cast<double>(e) + t, 1.0, 13.0, 35.0);
  const psgkit::Hypnogram h = hypnogram_of(stages);
  const auto events = psgkit::detect_spindles(x, kFs, {&h, {Stage::N2}});
  CHECK(events.size() >= 22);  // 24 bursts in N2
  for (const auto& e : events) {
    REQUIRE(e.stage.has_value());
    CHECK(*e.stage == Stage::N2);
    CHECK(static_cast<int>(std::floor(e.start_s / 30.0)) % 2 == 1);
    CHECK(static_cast<int>(std::floor(e.end_s / 30.0)) % 2 == 1);
  }
  const auto summary = psgkit::summarize_spindles(events, {""}, {&h, {Stage::N2}}, static_cast<double>(x.size()) / kFs);
  REQUIRE(summary.size() == 2);
  CHECK(summary[0].stage == "N2");
  CHECK(summary[0].minutes == doctest::Approx(4.0));
  CHECK(summary[0].density_per_min == doctest::Approx(static_cast<double>(events.size()) / 4.0));
  CHECK(summary[1].stage == "all");
}

TEST_CASE("by-event matching: IoU >= 0.2, one-to-one, greedy by IoU") {
  using psgkit::TimeInterval;
  // IoUs: 0.9/1.1 = 0.818, 0.5/1.5 = 0.333, 0.2/2.0 = 0.1 (below 0.2), no overlap.
  const std::vector<TimeInterval> detected = {{0, 1}, {2, 3}, {5, 6}, {10, 11}};
  const std::vector<TimeInterval> reference = {{0.1, 1.1}, {2.5, 3.5}, {5.8, 7}, {20, 21}};
  std::vector<std::pair<size_t, size_t>> pairs;
  const auto c = psgkit::match_events(detected, reference, 0.2, &pairs);
  CHECK(c.detected == 4);
  CHECK(c.reference == 4);
  CHECK(c.matched == 2);
  CHECK(c.precision() == doctest::Approx(0.5));
  CHECK(c.recall() == doctest::Approx(0.5));
  CHECK(c.f1() == doctest::Approx(0.5));
  CHECK(pairs == std::vector<std::pair<size_t, size_t>>{{0, 0}, {1, 1}});
  CHECK(psgkit::match_events(detected, reference, 0.05).matched == 3);
  // One detection over two marks: it goes to the one with the larger IoU (0.9 over 0.5), once.
  const auto g = psgkit::match_events({{0, 2}}, {{0, 1}, {0, 1.8}}, 0.2, &(pairs = {}));
  CHECK(g.matched == 1);
  CHECK(pairs.front().second == 1);
  // 3 detected, 5 marks, 2 matched: F1 = 2·2 / (3 + 5) = 0.5.
  psgkit::EventCounts sum{1, 2, 1};
  sum += psgkit::EventCounts{2, 3, 1};
  CHECK(sum.f1() == doctest::Approx(0.5));
  CHECK(std::isnan(psgkit::EventCounts{}.f1()));
}

TEST_CASE("leave-one-out threshold choice pools the other excerpts") {
  using C = psgkit::EventCounts;
  // Grid point 0 is best on excerpts 1 and 2, point 1 on excerpt 0 alone.
  const std::vector<std::vector<C>> counts = {{{10, 10, 2}, {10, 10, 9}}, {{10, 10, 8}, {10, 10, 3}}, {{10, 10, 7}, {10, 10, 4}}};
  const auto choice = psgkit::leave_one_out_choice(counts);
  // Without 0: point 0 has 15/40 matched pairs vs point 1's 7 → 0. Without 1: 9 vs 13 → 1. Without 2: 10 vs 12 → 1.
  CHECK(choice == std::vector<size_t>{0, 1, 1});
  CHECK_THROWS_AS(psgkit::leave_one_out_choice({{C{}}}), psgkit::Error);
}

TEST_CASE("slow-oscillation phase: 0 at the peak, ±π at the trough, −π/2 at the upward crossing") {
  const double f = 0.8;
  std::vector<float> x(static_cast<size_t>(60 * kFs));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(60.0 * std::cos(2 * kPi * f * static_cast<double>(i) / kFs));
  // cos(2π f t) peaks at t = k / f; the trough is half a period later, the upward crossing 3/4.
  const std::vector<double> times = {25 / f, 25.5 / f, 25.75 / f, 30.25 / f};
  const auto phase = psgkit::slow_oscillation_phase(x, kFs, times);
  CHECK(phase[0] == doctest::Approx(0).epsilon(0).scale(1).epsilon(0.05));
  CHECK(std::fabs(phase[1]) == doctest::Approx(kPi).epsilon(0.02));
  CHECK(phase[2] == doctest::Approx(-kPi / 2).epsilon(0.03));
  CHECK(phase[3] == doctest::Approx(kPi / 2).epsilon(0.03));
  const auto c = psgkit::circular_coupling(std::vector<double>{0.1, -0.1, 0.1, -0.1});
  CHECK(c.n == 4);
  CHECK(c.mean_phase_rad == doctest::Approx(0).scale(1));
  CHECK(c.vector_length == doctest::Approx(std::cos(0.1)));
  CHECK(psgkit::circular_coupling(std::vector<double>{0, kPi / 2, kPi, -kPi / 2}).vector_length < 1e-12);
}

TEST_CASE("multi-channel agreement keeps events that overlap on enough channels") {
  psgkit::Spindle a, b, c;
  a.start_s = 10, a.end_s = 11;
  b.start_s = 10.5, b.end_s = 11.5;
  c.start_s = 20, c.end_s = 21;
  const auto kept = psgkit::keep_multichannel({{a, c}, {b}}, 2);
  CHECK(kept[0].size() == 1);
  CHECK(kept[0][0].start_s == 10);
  CHECK(kept[1].size() == 1);
  CHECK(psgkit::keep_multichannel({{a, c}, {b}}, 1)[0].size() == 2);
}

TEST_CASE("bad input is refused") {
  std::vector<float> x(6000, 0.0f);
  x[10] = std::nanf("");
  CHECK_THROWS_AS(psgkit::detect_spindles(x, kFs), psgkit::Error);
  CHECK_THROWS_AS(psgkit::detect_spindles(std::vector<float>(100, 0.0f), kFs), psgkit::Error);
  CHECK_THROWS_AS(psgkit::detect_spindles(std::vector<float>(6000, 0.0f), 20.0), psgkit::Error);  // sigma above Nyquist
}

TEST_CASE("DREAMS: pooled by-event F1 against expert 1 with leave-one-excerpt-out thresholds") {
  if (!psgkit_test::have_shared_data()) return;
  const auto dir = psgkit_test::shared_data() / "dreams";
  const auto expert = psgkit::read_dreams_events(dir / "excerpt1.spindles-expert1.txt");
  REQUIRE(expert.size() == 52);
  CHECK(expert.front().start_s == doctest::Approx(282.24));
  CHECK(expert.front().end_s == doctest::Approx(282.96));
  const auto v = psgkit::validate_dreams(dir);
  REQUIRE(v.excerpts.size() == 5);
  MESSAGE("pooled F1 vs expert 1: shipped " << v.pooled_defaults.f1() << ", leave-one-out " << v.pooled_loo.f1()
                                           << "; expert 2 vs expert 1 " << v.pooled_expert2_vs_expert1.f1());
  CHECK(v.pooled_loo.f1() >= 0.62);       // 0.622 (README; target 0.60)
  CHECK(v.pooled_defaults.f1() >= 0.67);  // shipped thresholds, in-sample: 0.678
}

TEST_CASE("psgkit spindles: CSV header, events in the chosen stages, and the same score as the library") {
  if (!psgkit_test::have_shared_data()) return;
  if (psgkit_test::cli_path().empty()) {
    MESSAGE("SKIPPED: the CLI is not built");
    return;
  }
  const auto dir = psgkit_test::shared_data() / "dreams";
  psgkit_test::TempDir tmp("spindles");
  const auto out = tmp / "events.csv";
  const auto r = psgkit_test::run_command(
      psgkit_test::cli_path() + " spindles " + (dir / "excerpt1.edf").string() + " --hypnogram " +
      (dir / "excerpt1.hypnogram.csv").string() + " --stages N1,N2,N3 --evaluate " +
      (dir / "excerpt1.spindles-expert1.txt").string() + " --scored-s 1000 -o " + out.string());
  REQUIRE(r.exit_code == 0);
  // The README's excerpt-1 row: 52 detected, 52 marks, 35 matched before 1000 s.
  CHECK(r.output.find("EEG C3-A1                          52        52       35      0.673   0.673  0.673") !=
        std::string::npos);
  const auto text = psgkit_test::run_command("cat " + out.string()).output;
  CHECK(text.rfind("channel,start_s,end_s,duration_s,peak_s,amplitude_uv,rms_uv,frequency_hz,oscillations,symmetry,stage\n", 0) == 0);
  CHECK(text.find(",W\n") == std::string::npos);
  CHECK(text.find(",REM\n") == std::string::npos);
  CHECK(text.find(",N2\n") != std::string::npos);
}
