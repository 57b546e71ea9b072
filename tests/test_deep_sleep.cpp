// Deep-sleep measures on synthetic signals with known answers.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "psgkit/deep_sleep.hpp"
#include "psgkit/error.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/preprocess.hpp"
#include "psgkit/recording.hpp"
#include "support.hpp"

namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kFs = 100.0;
constexpr size_t kEpoch = 3000;  // 30 s at 100 Hz

psgkit::Hypnogram hypnogram_of(std::vector<psgkit::Stage> stages) {
  psgkit::Hypnogram h;
  h.stages = std::move(stages);
  return h;
}

void add_sine(std::vector<double>& x, size_t begin, size_t end, double f_hz, double amplitude, double phase = 0) {
  for (size_t i = begin; i < end; ++i)
    x[i] += amplitude * std::sin(2 * kPi * f_hz * static_cast<double>(i - begin) / kFs + phase);
}

}  // namespace

TEST_CASE("SWA of sinusoids: A^2/2 inside 0.5-4.5 Hz, nothing outside") {
  std::vector<double> x(kEpoch, 0.0);
  add_sine(x, 0, kEpoch, 1.0, 40.0);
  CHECK(psgkit::slow_wave_activity(x, kFs) == doctest::Approx(800.0).epsilon(1e-9));
  std::vector<double> y(kEpoch, 0.0);
  add_sine(y, 0, kEpoch, 2.3, 40.0, 0.7);  // between bins: leakage stays inside the band
  CHECK(psgkit::slow_wave_activity(y, kFs) == doctest::Approx(800.0).epsilon(0.02));
  std::vector<double> z(kEpoch, 0.0);
  add_sine(z, 0, kEpoch, 10.0, 40.0);
  CHECK(psgkit::slow_wave_activity(z, kFs) < 1e-6);
  CHECK_THROWS_AS(psgkit::slow_wave_activity(std::vector<double>(240, 1.0), 8.0), psgkit::Error);  // 4.5 Hz > Nyquist
}

TEST_CASE("artefact flags: flat, clipped, huge, power outlier (NREM only), flat run") {
  using psgkit::Stage;
  const size_t n_epochs = 40;
  std::vector<Stage> stages(n_epochs, Stage::N2);
  stages[25] = Stage::W;
  std::vector<double> x(n_epochs * kEpoch);
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 20.0);
  for (double& v : x) v = noise(rng);
  auto epoch = [&](size_t i) { return x.begin() + static_cast<std::ptrdiff_t>(i * kEpoch); };
  std::fill(epoch(5), epoch(6), 0.0);                         // flat
  for (size_t i = 10 * kEpoch; i < 11 * kEpoch; ++i)           // 1 Hz, 200 µV, clipped at ±150
    x[i] = std::clamp(200 * std::sin(2 * kPi * static_cast<double>(i) / kFs), -150.0, 150.0);
  for (size_t k = 0; k < 10; ++k) x[15 * kEpoch + 1000 + k] = 90.0 * static_cast<double>(k < 5 ? k : 10 - k) + 500;  // spike
  for (size_t i = 20 * kEpoch; i < 21 * kEpoch; ++i) x[i] *= 3;  // 9x power, N2
  for (size_t i = 25 * kEpoch; i < 26 * kEpoch; ++i) x[i] *= 3;  // same in W: not a NREM outlier
  std::fill(x.begin() + static_cast<std::ptrdiff_t>(30 * kEpoch + 1000),
            x.begin() + static_cast<std::ptrdiff_t>(30 * kEpoch + 1600), 12.5);  // 6 s of a constant
  psgkit::ArtefactOptions options;
  options.clip_low_uv = -150;
  options.clip_high_uv = 150;
  std::vector<std::string> warnings;
  const auto flags = psgkit::detect_artefacts(x, kFs, hypnogram_of(stages), options, &warnings);
  REQUIRE(flags.size() == n_epochs);
  CHECK((flags[5] & psgkit::kArtefactFlat));
  CHECK((flags[10] & psgkit::kArtefactClipped));
  CHECK(!(flags[10] & psgkit::kArtefactAmplitude));
  CHECK(flags[15] == psgkit::kArtefactAmplitude);
  CHECK(flags[20] == psgkit::kArtefactPowerOutlier);
  CHECK(flags[25] == psgkit::kArtefactNone);
  CHECK(flags[30] == psgkit::kArtefactFlat);
  size_t n_flagged = 0;
  for (uint8_t f : flags) n_flagged += f != psgkit::kArtefactNone;
  CHECK(n_flagged == 5);
  CHECK(warnings.empty());

  // Default rails (the signal's own extremes) find the same clipping when nothing exceeds it.
  std::vector<double> clipped(4 * kEpoch);
  for (double& v : clipped) v = noise(rng);
  for (size_t i = 2 * kEpoch; i < 3 * kEpoch; ++i)
    clipped[i] = std::clamp(200 * std::sin(2 * kPi * static_cast<double>(i) / kFs), -150.0, 150.0);
  const auto f2 = psgkit::detect_artefacts(clipped, kFs, hypnogram_of(std::vector<Stage>(4, Stage::N3)));
  CHECK(f2 == std::vector<uint8_t>{0, 0, psgkit::kArtefactClipped, 0});
}

TEST_CASE("AASM slow-wave occupancy of a half-covered epoch") {
  std::vector<double> x(3 * kEpoch, 0.0);
  add_sine(x, kEpoch, kEpoch + kEpoch / 2, 1.0, 50.0);  // 100 µV p-p over 15 s of epoch 1
  const auto hyp = hypnogram_of(std::vector<psgkit::Stage>(3, psgkit::Stage::N3));
  const auto occupancy = psgkit::slow_wave_occupancy(x, kFs, hyp);
  REQUIRE(occupancy.size() == 3);
  MESSAGE("occupancy of the half-covered epoch: " << occupancy[1]);
  CHECK(occupancy[0] == 0.0);
  CHECK(occupancy[1] == doctest::Approx(0.5).epsilon(0.1));  // ±0.05
  CHECK(occupancy[2] == 0.0);
  std::vector<double> low(2 * kEpoch, 0.0);
  add_sine(low, 0, low.size(), 1.0, 35.0);  // 70 µV p-p: below 75
  CHECK(psgkit::slow_wave_occupancy(low, kFs, hypnogram_of({psgkit::Stage::N3, psgkit::Stage::N3}))[0] == 0.0);
  std::vector<double> slow(2 * kEpoch, 0.0);
  add_sine(slow, 0, slow.size(), 0.25, 200.0);  // 4-s waves: too slow for 0.5-2 Hz
  CHECK(psgkit::slow_wave_occupancy(slow, kFs, hypnogram_of({psgkit::Stage::N3, psgkit::Stage::N3}))[0] == 0.0);
  std::vector<double> full(2 * kEpoch, 0.0);
  add_sine(full, 0, full.size(), 1.0, 50.0);
  CHECK(psgkit::slow_wave_occupancy(full, kFs, hypnogram_of({psgkit::Stage::N3, psgkit::Stage::N3}))[0] > 0.95);
}

TEST_CASE("slow-wave detection on a 0.8 Hz wave train: count, amplitude, slope, density") {
  using psgkit::Stage;
  std::vector<Stage> stages(20, Stage::N3);
  for (size_t i = 0; i < 4; ++i) stages[i] = Stage::W;
  for (size_t i = 16; i < 20; ++i) stages[i] = Stage::N2;
  const auto hyp = hypnogram_of(stages);
  std::vector<double> x(21 * kEpoch, 0.0);  // one extra epoch so the last wave ends inside the signal
  add_sine(x, 0, x.size(), 0.8, 60.0, kPi);  // starts with the negative half-wave
  const auto result = psgkit::analyze_deep_sleep(x, kFs, hyp);
  // Negative peaks at 0.3125 + 1.25 k s; those in epochs 4..19 ([120, 600) s): k = 96..479.
  CHECK(result.slow_waves.size() == 384);
  CHECK(result.n_clean_n2n3_epochs == 16);
  CHECK(result.slow_wave_density_per_min == doctest::Approx(48.0).epsilon(1e-12));
  const auto band = psgkit::IirFilter::butter_bandpass(3, 0.3, 1.5, kFs);
  const double gain = band.magnitude(0.8) * band.magnitude(0.8);
  CHECK(result.slow_wave_mean_ptp_uv == doctest::Approx(120.0 * gain).epsilon(1e-3));
  CHECK(result.slow_wave_mean_up_slope_uv_per_s == doctest::Approx(120.0 * gain / 0.625).epsilon(0.02));
  const auto& w = result.slow_waves.front();
  CHECK(w.epoch == 4);
  CHECK(w.stage == Stage::N3);
  CHECK(w.onset_s == doctest::Approx(120.0).epsilon(1e-4));
  CHECK(w.duration_s == doctest::Approx(1.25).epsilon(1e-3));
  CHECK(w.neg_peak_uv == doctest::Approx(-60.0 * gain).epsilon(1e-3));
  CHECK(result.slow_waves.back().stage == Stage::N2);
  CHECK(result.n_epochs_occupancy_20pct == 20);  // 120 µV p-p 0.8 Hz everywhere (W included)

  std::vector<double> small(21 * kEpoch, 0.0);
  add_sine(small, 0, small.size(), 0.8, 30.0, kPi);  // 60 µV p-p: below 75
  const auto none = psgkit::analyze_deep_sleep(small, kFs, hyp);
  CHECK(none.slow_waves.empty());
  CHECK(none.slow_wave_density_per_min == 0.0);
  CHECK(std::isnan(none.slow_wave_mean_ptp_uv));
  CHECK(!none.warnings.empty());
}

TEST_CASE("SWA per NREM cycle: exponential decay, first/last ratio, delta sleep ratio") {
  using psgkit::Stage;
  const double rate_per_h = 2.0;
  std::vector<Stage> stages(40, Stage::N3);
  std::vector<double> x(40 * kEpoch, 0.0);
  std::vector<std::pair<size_t, size_t>> cycles;
  double swa_sum = 0;
  for (size_t c = 0; c < 4; ++c) {
    cycles.emplace_back(10 * c, 10 * c + 10);
    const double midpoint_h = (300.0 * static_cast<double>(c) + 150.0) / 3600.0;
    const double swa = 1000.0 * std::exp(-rate_per_h * midpoint_h);
    swa_sum += 10 * swa;
    add_sine(x, 10 * c * kEpoch, (10 * c + 10) * kEpoch, 1.0, std::sqrt(2 * swa));
  }
  const auto r = psgkit::analyze_deep_sleep(x, kFs, hypnogram_of(stages), cycles);
  REQUIRE(r.cycles.size() == 4);
  CHECK(r.cycles[0].n_epochs == 10);
  CHECK(r.swa_first_cycle_uv2 == doctest::Approx(1000.0 * std::exp(-rate_per_h * 150 / 3600)).epsilon(1e-9));
  CHECK(r.swa_decay_rate_per_h == doctest::Approx(rate_per_h).epsilon(1e-6));
  CHECK(r.swa_decay_time_constant_h == doctest::Approx(0.5).epsilon(1e-6));
  CHECK(r.delta_sleep_ratio == doctest::Approx(std::exp(1.0 / 6.0)).epsilon(1e-9));
  CHECK(r.swa_first_last_ratio == doctest::Approx(std::exp(0.5)).epsilon(1e-9));
  CHECK(r.mean_swa_n2n3_uv2 == doctest::Approx(swa_sum / 40).epsilon(1e-9));
  for (double v : r.swa_uv2) CHECK(std::isfinite(v));

  // One cycle only: decay and DSR are NaN with a warning, not a number.
  const auto one = psgkit::analyze_deep_sleep(x, kFs, hypnogram_of(stages), {{0, 10}});
  CHECK(std::isnan(one.delta_sleep_ratio));
  CHECK(std::isnan(one.swa_decay_rate_per_h));
  CHECK(!one.warnings.empty());
  CHECK_THROWS_AS(psgkit::analyze_deep_sleep(x, kFs, hypnogram_of(stages), {{5, 41}}), psgkit::Error);
}

TEST_CASE("deep-sleep input errors and uncovered epochs") {
  using psgkit::Stage;
  std::vector<double> x(3 * kEpoch, 0.0);
  add_sine(x, 0, x.size(), 1.0, 50.0);
  // Hypnogram longer than the signal: the missing epochs are flagged and NaN, with a warning.
  const auto r = psgkit::analyze_deep_sleep(x, kFs, hypnogram_of(std::vector<Stage>(5, Stage::N3)));
  CHECK(r.artefact_flags[3] == psgkit::kArtefactNotCovered);
  CHECK(std::isnan(r.swa_uv2[4]));
  CHECK(std::isnan(r.slow_wave_occupancy[4]));
  CHECK(r.n_clean_n2n3_epochs == 3);
  CHECK(!r.warnings.empty());
  // float input gives the same numbers
  const std::vector<float> xf(x.begin(), x.end());
  const auto rf = psgkit::analyze_deep_sleep(std::span<const float>(xf), kFs, hypnogram_of(std::vector<Stage>(3, Stage::N3)));
  CHECK(rf.mean_swa_n2n3_uv2 == doctest::Approx(1250.0).epsilon(1e-5));
  // A flat night: every epoch flagged, SWA NaN with a warning.
  const auto flat = psgkit::analyze_deep_sleep(std::vector<double>(3 * kEpoch, 3.0), kFs,
                                               hypnogram_of(std::vector<Stage>(3, Stage::N3)));
  CHECK(std::isnan(flat.mean_swa_n2n3_uv2));
  CHECK((flat.artefact_flags[0] & psgkit::kArtefactFlat));
  CHECK(!flat.warnings.empty());

  auto bad = x;
  bad[100] = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(psgkit::analyze_deep_sleep(bad, kFs, hypnogram_of({Stage::N3})), psgkit::Error);
  CHECK_THROWS_AS(psgkit::analyze_deep_sleep(std::span<const double>(x).first(2999), kFs, hypnogram_of({Stage::N3})),
                  psgkit::Error);
  CHECK_THROWS_AS(psgkit::analyze_deep_sleep(std::vector<double>(720, 1.0), 8.0, hypnogram_of({Stage::N3})),
                  psgkit::Error);  // SWA band above the 4-Hz Nyquist
  CHECK_THROWS_AS(psgkit::analyze_deep_sleep(x, 99.95, hypnogram_of({Stage::N3})), psgkit::Error);  // 2998.5 samples per epoch
}

TEST_CASE("real DREAMS excerpts: N3 has more SWA and slow-wave occupancy than N2") {
  if (!psgkit_test::have_shared_data()) return;
  using psgkit::Stage;
  // Excerpts with expert N3: 1 (C3-A1, 100 Hz), 3 (C3-A1, 50 Hz), 4 and 6 (Cz-A1, 200 Hz).
  for (int excerpt : {1, 3, 4, 6}) {
    CAPTURE(excerpt);
    const auto dir = psgkit_test::shared_data() / "dreams";
    const auto recording = psgkit::Recording::open(dir / ("excerpt" + std::to_string(excerpt) + ".edf"));
    const auto hypnogram = psgkit::read_hypnogram(dir / ("excerpt" + std::to_string(excerpt) + ".hypnogram.csv"));
    const auto raw = recording.read_double(0);
    const auto eeg = psgkit::resample(raw, recording.signals()[0].fs_hz, 100);
    CHECK(eeg.size() == 180000);
    const auto r = psgkit::analyze_deep_sleep(eeg, 100, hypnogram);
    double swa[2] = {0, 0}, occupancy[2] = {0, 0};
    int n[2] = {0, 0};
    for (size_t i = 0; i < hypnogram.size(); ++i) {
      const int k = hypnogram.stages[i] == Stage::N2 ? 0 : hypnogram.stages[i] == Stage::N3 ? 1 : -1;
      if (k < 0 || !std::isfinite(r.swa_uv2[i])) continue;
      swa[k] += r.swa_uv2[i];
      occupancy[k] += r.slow_wave_occupancy[i];
      ++n[k];
    }
    REQUIRE(n[0] > 0);
    REQUIRE(n[1] > 0);
    CHECK(swa[1] / n[1] > 1.5 * swa[0] / n[0]);
    CHECK(occupancy[1] / n[1] > 2 * occupancy[0] / n[0]);
    CHECK(r.slow_wave_density_per_min > 0.5);
    CHECK(r.slow_wave_mean_ptp_uv > 75);
  }
}

TEST_CASE("analyze_deep_sleep's spectrogram: the rows spectrogram() gives, the SWA unchanged") {
  const double fs = 100;
  std::vector<psgkit::Stage> stages(40, psgkit::Stage::N2);
  for (size_t i = 10; i < 20; ++i) stages[i] = psgkit::Stage::N3;
  const auto hypnogram = hypnogram_of(stages);
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0, 10);
  // 40.5 epochs: the spectrogram has the 40 whole ones; one flagged epoch (amplitude) still gets a row.
  std::vector<double> x(static_cast<size_t>(40.5 * 30 * fs));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = 60 * std::sin(2 * std::numbers::pi * 1.0 * static_cast<double>(i) / fs) + noise(rng);
  for (size_t i = 0; i < 50; ++i) x[5 * 3000 + 1000 + i] = 2000;
  psgkit::DeepSleepOptions options;
  const auto plain = psgkit::analyze_deep_sleep(std::span<const double>(x), fs, hypnogram, {}, options);
  options.spectrogram = true;
  const auto with = psgkit::analyze_deep_sleep(std::span<const double>(x), fs, hypnogram, {}, options);
  CHECK_FALSE(plain.spectrogram);
  REQUIRE(with.spectrogram);
  CHECK(with.artefact_flags[5] != psgkit::kArtefactNone);
  for (size_t i = 0; i < stages.size(); ++i)
    CHECK((with.swa_uv2[i] == plain.swa_uv2[i] || (std::isnan(with.swa_uv2[i]) && std::isnan(plain.swa_uv2[i]))));
  psgkit::WelchOptions welch;
  welch.fs_hz = fs;
  welch.nperseg = 400;
  const auto expected = psgkit::spectrogram(std::span<const double>(x), welch);
  CHECK(with.spectrogram->rows() == 40);
  CHECK(with.spectrogram->onset_s == expected.onset_s);
  CHECK(with.spectrogram->freq_hz == expected.freq_hz);
  CHECK(with.spectrogram->power == expected.power);
}

TEST_CASE("NativeArtefactScan fed in blocks flags what detect_artefacts flags (flat, flat run, clipped)") {
  using psgkit::Stage;
  // 6 epochs after a 1-s offset: epoch 1 has a 6-s flat run, epoch 3 is clipped at the signal's
  // maximum (runs of 5 samples), epoch 4 is flat (SD 0.1 uV), epoch 5 has one lone maximum.
  std::vector<double> x(100 + 6 * kEpoch + 250, 0.0);
  add_sine(x, 0, x.size(), 1.3, 40.0);
  add_sine(x, 0, x.size(), 9.1, 10.0);
  for (size_t i = 0; i < x.size(); ++i) x[i] += 0.002 * static_cast<double>(i);  // one minimum, near the start
  const auto at = [](size_t epoch, size_t j) { return 100 + epoch * kEpoch + j; };
  for (size_t j = 500; j < 1100; ++j) x[at(1, j)] = 7.25;
  for (size_t j = 0; j < kEpoch; j += 40)
    for (size_t r = 0; r < 5; ++r) x[at(3, j + r)] = 200.0;
  for (size_t j = 0; j < kEpoch; ++j) x[at(4, j)] = 0.1 * std::sin(0.3 * static_cast<double>(j));
  x[at(5, 10)] = 200.0;
  const std::vector<float> xf(x.begin(), x.end());
  const std::vector<double> widened(xf.begin(), xf.end());
  psgkit::Hypnogram hypnogram = hypnogram_of(std::vector<Stage>(7, Stage::N2));  // the 7th is not covered
  hypnogram.start_s = 1.0;
  const uint8_t native = psgkit::kArtefactFlat | psgkit::kArtefactClipped;
  const auto expected = psgkit::detect_artefacts(widened, kFs, hypnogram);

  psgkit::NativeArtefactScan scan(kFs, xf.size(), hypnogram);
  for (size_t begin = 0; begin < xf.size(); begin += 777)
    scan.add(std::span<const float>(xf).subspan(begin, std::min<size_t>(777, xf.size() - begin)));
  std::vector<size_t> read_again;
  const auto flags = scan.flags([&](size_t first, std::span<float> samples) {
    read_again.push_back(first);
    std::copy_n(xf.begin() + static_cast<std::ptrdiff_t>(first), samples.size(), samples.begin());
  });
  REQUIRE(flags.size() == 7);
  for (size_t i = 0; i < 6; ++i) {
    CAPTURE(i);
    CHECK(flags[i] == (expected[i] & native));
  }
  CHECK(flags[1] == psgkit::kArtefactFlat);
  CHECK(flags[3] == psgkit::kArtefactClipped);
  CHECK(flags[4] == psgkit::kArtefactFlat);
  CHECK(flags[5] == psgkit::kArtefactNone);
  CHECK(flags[6] == psgkit::kArtefactNotCovered);
  // Only the epochs reaching a rail are read again: 3 and 5 reach the maximum; the minimum lies in
  // the second before the first epoch (those samples count for the rails too).
  CHECK(std::find(read_again.begin(), read_again.end(), at(3, 0)) != read_again.end());
  CHECK(std::find(read_again.begin(), read_again.end(), at(5, 0)) != read_again.end());
  CHECK(read_again.size() == 2);
  // Too many samples, or too few before flags().
  CHECK_THROWS_AS(scan.add(std::span<const float>(xf).first(1)), psgkit::Error);
  psgkit::NativeArtefactScan partial(kFs, xf.size(), hypnogram);
  partial.add(std::span<const float>(xf).first(10));
  CHECK_THROWS_AS(partial.flags([](size_t, std::span<float>) {}), psgkit::Error);

  // The native flags replace the working signal's own flat and clipping checks.
  std::vector<uint8_t> given(7, psgkit::kArtefactNone);
  given[2] = psgkit::kArtefactClipped;
  const auto r = psgkit::analyze_deep_sleep(std::span<const float>(xf), kFs, hypnogram, {}, {}, given);
  CHECK(r.artefact_flags[1] == psgkit::kArtefactNone);
  CHECK(r.artefact_flags[2] == psgkit::kArtefactClipped);
  CHECK(r.artefact_flags[6] == psgkit::kArtefactNotCovered);
  CHECK(std::isnan(r.swa_uv2[2]));
  CHECK_THROWS_AS(psgkit::analyze_deep_sleep(std::span<const float>(xf), kFs, hypnogram, {}, {},
                                             std::span<const uint8_t>(given).first(6)),
                  psgkit::Error);
}
