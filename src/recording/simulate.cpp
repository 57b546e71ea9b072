#include "psgkit/simulate.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <string>

#include "psgkit/error.hpp"

namespace psgkit {
namespace {

constexpr double kTwoPi = 2.0 * std::numbers::pi;

// ---- Random numbers: splitmix64 seeding + xoshiro256** (Blackman & Vigna 2018), our own code so
// the stream is identical with every standard library.
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  // Independent stream per (seed, stream) pair, so adding draws to one component never shifts another.
  Rng(uint64_t seed, uint64_t stream) {
    uint64_t sm = seed ^ (stream * 0xD1B54A32D192ED03ULL);
    for (auto& word : s_) word = splitmix64(sm);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double exponential(double rate) { return -std::log1p(-uniform()) / rate; }
  double sign() { return (next() >> 63) ? 1.0 : -1.0; }
  // Box-Muller; exact Gaussian for the (rare) event-level draws.
  double gaussian() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double radius = std::sqrt(-2.0 * std::log1p(-uniform()));
    const double angle = kTwoPi * uniform();
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }
  // Per-sample noise: Irwin-Hall sum of the four 16-bit parts of one draw, unit variance. Every
  // consumer low-pass filters or resamples it, which makes it Gaussian in practice, at ~1/20 the cost.
  double fast_noise() {
    const uint64_t r = next();
    const double sum = static_cast<double>((r & 0xFFFF) + ((r >> 16) & 0xFFFF) + ((r >> 32) & 0xFFFF) + (r >> 48));
    constexpr double kMean = 4 * 32767.5;
    constexpr double kScale = 1.7320508075688772 / 65536.0;  // sqrt(3) / 65536: variance 4/12 -> 1
    return (sum - kMean) * kScale;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> s_{};
  double spare_ = 0;
  bool has_spare_ = false;
};

// ---- Stage physiology. Amplitudes are RMS in uV of the continuous components, rates in events/min.
struct Profile {
  double background_uv;  // 1/f EEG background below ~8 Hz, C4-M1
  double fast_uv;        // the same 1/f process above ~8 Hz: highest awake, lowest in N3 (steeper slope)
  double muscle_uv;      // high-pass muscle contamination of C4-M1 (wake, movement)
  double alpha_uv;       // 10-Hz rhythm
  double theta_uv;       // 6-Hz rhythm
  // Fpz-Cz, the channel `psgkit stage` picks, matched to the time-domain features of the Sleep-EDF
  // Fpz-Cz per stage (notes/simulate.md): its own continuous delta (1-Hz resonator) and 1/f parts, all
  // under a slowly varying amplitude envelope exp(am * g - am^2) (real EEG is not stationary within an
  // epoch: kurtosis ~1 outside N3), plus muscle.
  double fpz_delta_uv, fpz_slow_uv, fpz_fast_uv, fpz_muscle_uv, fpz_am;
  double sem_uv;         // slow rolling eye movements (EOG)
  double eog_slow_uv, eog_fast_uv;  // the EOG's own 1/f background (eye drift in wake), besides frontal EEG
  double emg_uv;         // chin EMG tone
  double slow_waves_per_min, spindles_per_min, kcomplexes_per_min, vertex_per_min;
  double blinks_per_min, saccades_per_min, rem_bursts_per_min, emg_bursts_per_min, twitches_per_min;
};
constexpr int kNumProfiles = 6;  // W, N1, N2, N3, REM, UNS (Stage values)
// clang-format off
constexpr std::array<Profile, kNumProfiles> kProfiles{{
  //  bg  fast musc alpha theta | Fpz: delta slow fast musc am | sem  EOG: slow fast | emg  SW  sp   KC   vx   blink sacc remB emgB twitch
  {   10, 14,  4,   14,   3,      0,    16,  7,   11,  0.3,   6,   30,  25,   22,  0,  0,   0,   0,   12,   25,  0,   3,   0},  // W (relaxed)
  {   12, 11,  2,   4,    9,      0,    7,   7,   6,   0.25,  12,  3,   6,    11,  0,  0.2, 0.1, 2.5, 1,    0,   0,   0.5, 0},  // N1
  {   15, 8,   1,   2,    4,      5,    12,  2,   0.5, 0.2,   3,   6,   0,    8,   1,  4,   1.2, 0.3, 0,    0,   0,   0.2, 0},  // N2
  {   18, 6,   0.5, 1,    6,      19,   8,   5,   0,   0.2,   2,   6,   3,    7,   48, 1.5, 0.3, 0,   0,    0,   0,   0,   0},  // N3
  {   11, 11,  1,   3,    7,      0,    8,   5,   1.5, 0.25,  20,  10,  0,    2.5, 0,  0,   0,   0,   0,    0,   4,   0,   5},  // REM
  {   16, 16,  10,  6,    4,      0,    16,  16,  15,  0.3,   10,  30,  10,   45,  0,  0,   0,   0,   10,   10,  0,   8,   0},  // UNS (movement)
}};
// clang-format on

// Stage at every instant, blended linearly over transition_s around each change of stage.
class Timeline {
 public:
  Timeline(const Hypnogram& h, double transition_s) : h_(h), half_width_s_(transition_s / 2) {}

  Profile at(double t_s) const {
    const double rel = (t_s - h_.start_s) / h_.epoch_s;
    const auto k = static_cast<int64_t>(std::floor(rel));
    const int s = stage(k);
    const double begin_s = h_.start_s + static_cast<double>(k) * h_.epoch_s;
    const double end_s = begin_s + h_.epoch_s;
    if (half_width_s_ > 0) {
      if (t_s - begin_s < half_width_s_ && stage(k - 1) != s)
        return mix(stage(k - 1), s, 0.5 + (t_s - begin_s) / (2 * half_width_s_));
      if (end_s - t_s < half_width_s_ && stage(k + 1) != s)
        return mix(s, stage(k + 1), 0.5 - (end_s - t_s) / (2 * half_width_s_));
    }
    return kProfiles[static_cast<size_t>(s)];
  }

 private:
  int stage(int64_t k) const {
    if (k < 0) return static_cast<int>(Stage::W);  // before the first scored epoch: awake
    const size_t i = std::min(static_cast<size_t>(k), h_.stages.size() - 1);
    return static_cast<int>(h_.stages[i]);
  }
  static Profile mix(int a, int b, double w) {
    const auto& pa = kProfiles[static_cast<size_t>(a)];
    const auto& pb = kProfiles[static_cast<size_t>(b)];
    auto lerp = [w](double x, double y) { return x + w * (y - x); };
    return {lerp(pa.background_uv, pb.background_uv), lerp(pa.fast_uv, pb.fast_uv), lerp(pa.muscle_uv, pb.muscle_uv),
            lerp(pa.alpha_uv, pb.alpha_uv), lerp(pa.theta_uv, pb.theta_uv),
            lerp(pa.fpz_delta_uv, pb.fpz_delta_uv), lerp(pa.fpz_slow_uv, pb.fpz_slow_uv), lerp(pa.fpz_fast_uv, pb.fpz_fast_uv),
            lerp(pa.fpz_muscle_uv, pb.fpz_muscle_uv), lerp(pa.fpz_am, pb.fpz_am),
            lerp(pa.sem_uv, pb.sem_uv), lerp(pa.eog_slow_uv, pb.eog_slow_uv), lerp(pa.eog_fast_uv, pb.eog_fast_uv),
            lerp(pa.emg_uv, pb.emg_uv), lerp(pa.slow_waves_per_min, pb.slow_waves_per_min),
            lerp(pa.spindles_per_min, pb.spindles_per_min), lerp(pa.kcomplexes_per_min, pb.kcomplexes_per_min),
            lerp(pa.vertex_per_min, pb.vertex_per_min), lerp(pa.blinks_per_min, pb.blinks_per_min),
            lerp(pa.saccades_per_min, pb.saccades_per_min), lerp(pa.rem_bursts_per_min, pb.rem_bursts_per_min),
            lerp(pa.emg_bursts_per_min, pb.emg_bursts_per_min), lerp(pa.twitches_per_min, pb.twitches_per_min)};
  }
  const Hypnogram& h_;
  double half_width_s_;
};

// 1/f noise: five one-pole low-passes with corners 0.25, 1, 4, 16, 64 Hz fed by the same white noise,
// weighted 1/sqrt(corner) so their Lorentzians tile a 1/f spectrum; scaled to unit variance in
// closed form (cross-covariance of two one-poles on one input: c_i c_j / (1 - a_i a_j)).
class PinkNoise {
 public:
  explicit PinkNoise(double fs_hz) {
    for (size_t k = 0; k < kPoles; ++k) {
      const double corner_hz = 0.25 * std::pow(4.0, static_cast<double>(k));
      a_[k] = std::exp(-kTwoPi * corner_hz / fs_hz);
      c_[k] = 1.0 - a_[k];
      g_[k] = 1.0 / std::sqrt(corner_hz);
    }
    double variance = 0;
    for (size_t i = 0; i < kPoles; ++i)
      for (size_t j = 0; j < kPoles; ++j) variance += g_[i] * g_[j] * c_[i] * c_[j] / (1.0 - a_[i] * a_[j]);
    for (auto& g : g_) g /= std::sqrt(variance);
  }
  // Unit-variance output split in two: the 0.25-4 Hz poles (slow) and the 16-64 Hz poles (fast), so
  // stages can change the spectral slope (steeper in deep sleep) and not only the level.
  struct Parts {
    double slow, fast;
  };
  Parts next(double white) {
    Parts out{0, 0};
    for (size_t k = 0; k < kPoles; ++k) {
      y_[k] = a_[k] * y_[k] + c_[k] * white;
      (k < kSlowPoles ? out.slow : out.fast) += g_[k] * y_[k];
    }
    return out;
  }

 private:
  static constexpr size_t kPoles = 5, kSlowPoles = 3;
  std::array<double, kPoles> a_{}, c_{}, g_{}, y_{};
};

// Narrow-band rhythm: AR(2) resonator with poles r*exp(+-i*w) (r from the -3 dB bandwidth), input
// scaled so the output has unit variance: var = (1 - a2) / ((1 + a2)((1 - a2)^2 - a1^2)).
class Resonator {
 public:
  Resonator(double centre_hz, double bandwidth_hz, double fs_hz) {
    const double r = std::exp(-std::numbers::pi * bandwidth_hz / fs_hz);
    a1_ = 2 * r * std::cos(kTwoPi * centre_hz / fs_hz);
    a2_ = -r * r;
    gain_ = 1.0 / std::sqrt((1 - a2_) / ((1 + a2_) * ((1 - a2_) * (1 - a2_) - a1_ * a1_)));
  }
  double next(double white) {
    const double y = a1_ * y1_ + a2_ * y2_ + gain_ * white;
    y2_ = y1_;
    y1_ = y;
    return y;
  }

 private:
  double a1_ = 0, a2_ = 0, gain_ = 0, y1_ = 0, y2_ = 0;
};

// Slowly varying Gaussian: one-pole low-pass of white noise, unit variance (var = c^2 / (1 - a^2)).
class SlowGaussian {
 public:
  SlowGaussian(double corner_hz, double fs_hz) : a_(std::exp(-kTwoPi * corner_hz / fs_hz)) {
    gain_ = std::sqrt(1 - a_ * a_) / (1 - a_);
  }
  double next(double white) { return gain_ * (y_ = a_ * y_ + (1 - a_) * white); }

 private:
  double a_, gain_ = 1, y_ = 0;
};

// Fixed recording properties of the Sleep-EDF-like channels (notes/simulate.md).
constexpr double kFpzFloorUv = 0.45;   // white amplifier/electrode noise on Fpz-Cz
constexpr double kEogFloorUv = 0.5;   // and on the EOG
constexpr double kEogFromFpz = 0.8;   // frontal EEG seen by the EOG electrodes (most of its NREM signal)
constexpr double kEnvelopeHz = 0.3;   // corner of the amplitude envelope's log

enum Channel { kC4 = 0, kFpz = 1, kEog = 2, kEmg = 3, kNumChannels = 4 };
using Gains = std::array<double, kNumChannels>;

class Night {
 public:
  Night(const Timeline& timeline, double fs_hz, size_t n_samples)
      : timeline_(timeline), fs_hz_(fs_hz), duration_s_(static_cast<double>(n_samples) / fs_hz) {
    for (auto& x : x_) x.assign(n_samples, 0.0f);
  }

  std::array<std::vector<float>, kNumChannels>& channels() { return x_; }

  // Continuous components, one pass; the stage blend is evaluated once per ~1/32 s block.
  void add_continuous(uint64_t seed) {
    Rng rng(seed, 1);
    PinkNoise c4_background(fs_hz_), fpz_background(fs_hz_), eog_background(fs_hz_);
    Resonator alpha(10.0, 1.5, fs_hz_), theta(6.0, 2.0, fs_hz_), sem(0.3, 0.25, fs_hz_), delta(1.0, 1.0, fs_hz_);
    SlowGaussian log_envelope(kEnvelopeHz, fs_hz_);
    double previous_emg_white = 0, previous_c4_muscle = 0, previous_fpz_muscle = 0;
    const size_t n = x_[0].size();
    const size_t block = std::max<size_t>(1, static_cast<size_t>(std::lround(fs_hz_ / 32)));
    for (size_t start = 0; start < n; start += block) {
      const Profile p = timeline_.at((static_cast<double>(start) + 0.5 * static_cast<double>(block)) / fs_hz_);
      const size_t stop = std::min(n, start + block);
      for (size_t i = start; i < stop; ++i) {
        const double a = p.alpha_uv * alpha.next(rng.fast_noise());
        const double th = p.theta_uv * theta.next(rng.fast_noise());
        const double emg_white = rng.fast_noise(), c4_muscle = rng.fast_noise(), fpz_muscle = rng.fast_noise();
        const auto c4 = c4_background.next(rng.fast_noise()), fpz = fpz_background.next(rng.fast_noise());
        const auto eog = eog_background.next(rng.fast_noise());
        x_[kC4][i] = static_cast<float>(p.background_uv * c4.slow + p.fast_uv * c4.fast + a + th +
                                        p.muscle_uv * (c4_muscle - previous_c4_muscle));
        const double envelope = std::exp(p.fpz_am * log_envelope.next(rng.fast_noise()) - p.fpz_am * p.fpz_am);
        const double frontal = envelope * (p.fpz_delta_uv * delta.next(rng.fast_noise()) + p.fpz_slow_uv * fpz.slow +
                                           p.fpz_fast_uv * fpz.fast + 0.5 * a + 0.8 * th);
        x_[kFpz][i] = static_cast<float>(frontal + p.fpz_muscle_uv * (fpz_muscle - previous_fpz_muscle) +
                                         kFpzFloorUv * rng.fast_noise());
        x_[kEog][i] = static_cast<float>(kEogFromFpz * frontal +
                                         envelope * (p.eog_slow_uv * eog.slow + p.eog_fast_uv * eog.fast +
                                                         p.sem_uv * sem.next(rng.fast_noise())) +
                                         kEogFloorUv * rng.fast_noise());
        previous_c4_muscle = c4_muscle;
        previous_fpz_muscle = fpz_muscle;
        // First difference: EMG power rises with frequency like a high-passed muscle signal.
        x_[kEmg][i] = static_cast<float>(p.emg_uv * (emg_white - previous_emg_white) * std::numbers::sqrt2 / 2);
        previous_emg_white = emg_white;
      }
    }
  }

  // Poisson events with a stage-dependent rate (thinning, Lewis & Shedler 1979); `place(t)` draws and
  // adds one event and returns how long it lasts, during which no other event of the kind starts.
  template <class RateOf, class Place>
  void events(Rng& rng, RateOf rate_per_min, Place place) {
    double max_per_min = 0;
    for (const auto& p : kProfiles) max_per_min = std::max(max_per_min, rate_per_min(p));
    if (max_per_min <= 0) return;
    const double max_per_s = max_per_min / 60.0;
    for (double t = rng.exponential(max_per_s); t < duration_s_; t += rng.exponential(max_per_s))
      if (rng.uniform() * max_per_min < rate_per_min(timeline_.at(t))) t += place(t);
  }

  // Adds gains[c] * shape(t - t0) for t in [t0, t0 + length_s) to every channel with a nonzero gain.
  template <class Shape>
  void add(double t0, double length_s, const Gains& gains, Shape shape) {
    const auto n = static_cast<int64_t>(x_[0].size());
    const int64_t first = std::max<int64_t>(0, static_cast<int64_t>(std::ceil(t0 * fs_hz_)));
    const int64_t last = std::min<int64_t>(n, static_cast<int64_t>(std::ceil((t0 + length_s) * fs_hz_)));
    for (int64_t i = first; i < last; ++i) {
      const double v = shape(static_cast<double>(i) / fs_hz_ - t0);
      for (size_t c = 0; c < kNumChannels; ++c)
        if (gains[c] != 0) x_[c][static_cast<size_t>(i)] += static_cast<float>(gains[c] * v);
    }
  }

  void add_spindle(Rng& rng, double t0) {
    const double freq_hz = rng.uniform(11.5, 15.5), length_s = rng.uniform(0.5, 2.0);
    const double peak_uv = rng.uniform(15, 35), phase = rng.uniform(0, kTwoPi);
    add(t0, length_s, {1.0, 0.3, 0.0, 0.0}, [=](double t) {
      const double envelope = std::sin(std::numbers::pi * t / length_s);
      return peak_uv * envelope * envelope * std::sin(kTwoPi * freq_hz * t + phase);
    });
  }

  double fs_hz() const { return fs_hz_; }
  const Timeline& timeline() const { return timeline_; }

 private:
  const Timeline& timeline_;
  double fs_hz_, duration_s_;
  std::array<std::vector<float>, kNumChannels> x_;
};

double gauss_bump(double t, double centre_s, double width_s) {
  const double z = (t - centre_s) / width_s;
  return std::exp(-0.5 * z * z);
}

void add_events(Night& night, uint64_t seed, double swa_gain) {
  {  // Slow waves: one cycle, surface-negative half first; peak-to-peak 90-180 uV times swa_gain.
    Rng rng(seed, 11);
    night.events(rng, [](const Profile& p) { return p.slow_waves_per_min; }, [&](double t0) {
      const double period_s = rng.uniform(0.6, 1.6), half_ptp_uv = rng.uniform(45, 90) * swa_gain;
      night.add(t0, period_s, {1.0, 0.4, 0.4 * kEogFromFpz, 0.0},
                [=](double t) { return -half_ptp_uv * std::sin(kTwoPi * t / period_s); });
      return period_s;
    });
  }
  {  // Spindles.
    Rng rng(seed, 12);
    night.events(rng, [](const Profile& p) { return p.spindles_per_min; }, [&](double t0) {
      night.add_spindle(rng, t0);
      return 2.0;
    });
  }
  {  // K-complexes: sharp negative then slower positive component; half are followed by a spindle.
    Rng rng(seed, 13);
    night.events(rng, [](const Profile& p) { return p.kcomplexes_per_min; }, [&](double t0) {
      const double negative_uv = rng.uniform(60, 110), positive_uv = negative_uv * rng.uniform(0.5, 0.8);
      // Cz carries the K-complex, so it shows inverted in Fpz-Cz.
      night.add(t0, 1.4, {1.0, -0.3, 0.25 * kEogFromFpz, 0.0}, [=](double t) {
        return -negative_uv * gauss_bump(t, 0.3, 0.09) + positive_uv * gauss_bump(t, 0.75, 0.17);
      });
      if (rng.uniform() < 0.5) night.add_spindle(rng, t0 + 0.9);
      return 3.0;
    });
  }
  {  // Vertex sharp waves (N1).
    Rng rng(seed, 14);
    night.events(rng, [](const Profile& p) { return p.vertex_per_min; }, [&](double t0) {
      const double peak_uv = rng.uniform(40, 80);
      night.add(t0, 0.6, {1.0, 0.7, 0.0, 0.0}, [=](double t) {
        return -peak_uv * gauss_bump(t, 0.15, 0.045) + 0.3 * peak_uv * gauss_bump(t, 0.35, 0.08);
      });
      return 1.0;
    });
  }
  {  // Blinks: 0.25-0.45 s positive bump in EOG, strong in the frontal EEG.
    Rng rng(seed, 15);
    night.events(rng, [](const Profile& p) { return p.blinks_per_min; }, [&](double t0) {
      const double peak_uv = rng.uniform(80, 200), length_s = rng.uniform(0.25, 0.45);
      night.add(t0, length_s, {0.05, 0.15, 0.3, 0.0}, [=](double t) {
        const double s = std::sin(std::numbers::pi * t / length_s);
        return peak_uv * s * s;
      });
      return length_s;
    });
  }
  // Eye movement: fast rise (rise_s), exponential return of the AC-coupled EOG (decay_s).
  auto eye_movement = [](double amplitude_uv, double rise_s, double decay_s) {
    return [=](double t) { return amplitude_uv * (1 - std::exp(-t / rise_s)) * std::exp(-t / decay_s); };
  };
  {  // Saccades while awake.
    Rng rng(seed, 16);
    night.events(rng, [](const Profile& p) { return p.saccades_per_min; }, [&](double t0) {
      night.add(t0, 3.0, {0.0, 0.1, 1.0, 0.0}, eye_movement(rng.sign() * rng.uniform(60, 225), 0.025, 0.8));
      return 0.5;
    });
  }
  {  // Rapid eye movements of REM sleep, in bursts of 1-5.
    Rng rng(seed, 17);
    night.events(rng, [](const Profile& p) { return p.rem_bursts_per_min; }, [&](double t0) {
      const int count = 1 + static_cast<int>(rng.uniform() * 5);
      double t = t0;
      for (int k = 0; k < count; ++k) {
        night.add(t, 2.0, {0.03, 0.1, 1.0, 0.0}, eye_movement(rng.sign() * rng.uniform(60, 180), 0.035, 0.35));
        t += rng.uniform(0.25, 0.9);
      }
      return t - t0;
    });
  }
  // Muscle activity: extra noise under a sin^2 envelope, scaled by the current tone (bursts) or fixed.
  auto add_muscle = [&night](Rng& rng, double t0, double length_s, double rms_uv) {
    std::vector<double> noise(static_cast<size_t>(std::ceil(length_s * night.fs_hz())) + 2);
    for (auto& v : noise) v = rng.fast_noise();
    night.add(t0, length_s, {0.0, 0.0, 0.0, 1.0}, [&](double t) {
      const double s = std::sin(std::numbers::pi * t / length_s);
      return rms_uv * s * s * noise[static_cast<size_t>(std::lround(t * night.fs_hz()))];
    });
  };
  {  // EMG bursts (wake, movement).
    Rng rng(seed, 18);
    night.events(rng, [](const Profile& p) { return p.emg_bursts_per_min; }, [&](double t0) {
      const double length_s = rng.uniform(0.5, 2.5);
      add_muscle(rng, t0, length_s, rng.uniform(2, 5) * night.timeline().at(t0).emg_uv);
      return length_s;
    });
  }
  {  // Phasic twitches of REM sleep.
    Rng rng(seed, 19);
    night.events(rng, [](const Profile& p) { return p.twitches_per_min; }, [&](double t0) {
      const double length_s = rng.uniform(0.08, 0.25);
      add_muscle(rng, t0, length_s, rng.uniform(10, 30));
      return length_s;
    });
  }
}

// Extra EEG derivations (SimulationOptions::extra_eeg), in this order: C4-M1's activity (rhythms and
// events) at a regional gain plus an independent 1/f background and, occipitally, an independent alpha
// rhythm, so they resemble neighbouring derivations of one brain without being copies of C4-M1.
struct ExtraEeg {
  const char* label;
  double c4_gain, background_gain, alpha_gain;
};
constexpr std::array<ExtraEeg, 4> kExtraEeg{{{"C3-M2", 0.9, 0.6, 0.0},
                                             {"O2-M1", 0.7, 0.6, 1.0},
                                             {"F4-M1", 0.9, 0.6, 0.0},
                                             {"O1-M2", 0.7, 0.6, 1.0}}};

// Own random stream per extra channel (stream 100 + k): the four base channels are the same with or
// without extra ones.
std::vector<float> extra_eeg_channel(const Timeline& timeline, const std::vector<float>& c4, double fs_hz,
                                     uint64_t seed, size_t k) {
  const ExtraEeg& spec = kExtraEeg[k];
  Rng rng(seed, 100 + k);
  PinkNoise background(fs_hz);
  Resonator alpha(10.0, 1.5, fs_hz);
  std::vector<float> x(c4.size());
  const size_t block = std::max<size_t>(1, static_cast<size_t>(std::lround(fs_hz / 32)));
  for (size_t start = 0; start < x.size(); start += block) {
    const Profile p = timeline.at((static_cast<double>(start) + 0.5 * static_cast<double>(block)) / fs_hz);
    const size_t stop = std::min(x.size(), start + block);
    for (size_t i = start; i < stop; ++i) {
      const auto bg = background.next(rng.fast_noise());
      x[i] = static_cast<float>(spec.c4_gain * c4[i] +
                                spec.background_gain * (p.background_uv * bg.slow + p.fast_uv * bg.fast) +
                                spec.alpha_gain * p.alpha_uv * alpha.next(rng.fast_noise()));
    }
  }
  return x;
}

std::string_view annotation_code(Stage s) {
  switch (s) {
    case Stage::W: return "W";
    case Stage::N1: return "N1";
    case Stage::N2: return "N2";
    case Stage::N3: return "N3";
    case Stage::REM: return "R";
    case Stage::UNS: break;
  }
  return "?";
}

}  // namespace

std::vector<Annotation> stage_annotations(const Hypnogram& hypnogram, double until_s) {
  std::vector<Annotation> out;
  const size_t n = hypnogram.size();
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && hypnogram.stages[j] == hypnogram.stages[i]) ++j;
    const double onset_s = hypnogram.onset_s(i);
    double end_s = hypnogram.onset_s(j);
    if (until_s > 0) {
      if (onset_s >= until_s) break;
      end_s = std::min(end_s, until_s);
    }
    out.push_back({onset_s, end_s - onset_s, "Sleep stage " + std::string(annotation_code(hypnogram.stages[i]))});
    i = j;
  }
  return out;
}

SimulatedNight simulate_night(const Hypnogram& hypnogram, const SimulationOptions& options) {
  if (!(options.fs_hz >= 1 && options.fs_hz <= 65536 && options.fs_hz == std::floor(options.fs_hz)))
    throw Error("", "fs_hz", "must be a positive whole number of Hz (1-s EDF data records), got " +
                                 std::to_string(options.fs_hz));
  if (!(options.swa_gain >= 0 && options.swa_gain <= 20))
    throw Error("", "swa_gain", "must be in [0, 20], got " + std::to_string(options.swa_gain));
  if (hypnogram.stages.empty()) throw Error("", "hypnogram", "has no epochs to simulate");
  if (!(hypnogram.epoch_s > 0) || !(hypnogram.start_s >= 0))
    throw Error("", "hypnogram", "needs epoch_s > 0 and start_s >= 0");
  if (!(options.transition_s >= 0 && options.transition_s <= hypnogram.epoch_s))
    throw Error("", "transition_s", "must be in [0, epoch_s]");
  if (!(options.extra_eeg >= 0 && options.extra_eeg <= static_cast<int>(kExtraEeg.size())))
    throw Error("", "extra_eeg", "must be in [0, " + std::to_string(kExtraEeg.size()) + "], got " +
                                     std::to_string(options.extra_eeg));
  const double full_s = hypnogram.start_s + hypnogram.duration_s();
  if (!(options.duration_s >= 0) || options.duration_s > full_s + 1e-9)
    throw Error("", "duration_s",
                "must be in [0, " + std::to_string(full_s) + "] s (the hypnogram's end), got " +
                    std::to_string(options.duration_s));
  const double duration_s = options.duration_s > 0 ? options.duration_s : full_s;
  const auto n_samples = static_cast<size_t>(std::llround(duration_s * options.fs_hz));

  const Timeline timeline(hypnogram, options.transition_s);
  Night night(timeline, options.fs_hz, n_samples);
  night.add_continuous(options.seed);
  add_events(night, options.seed, options.swa_gain);

  // Fixed physical ranges (clipping beyond them) so the EDF header does not depend on the data.
  const double eeg_range_uv = 500 + 250 * std::max(1.0, options.swa_gain), emg_range_uv = 1000;
  std::vector<const char*> labels{"C4-M1", "Fpz-Cz", "EOG E1-M2", "EMG Chin"};
  std::vector<std::vector<float>> channels(std::make_move_iterator(night.channels().begin()),
                                           std::make_move_iterator(night.channels().end()));
  for (size_t k = 0; k < static_cast<size_t>(options.extra_eeg); ++k) {
    labels.push_back(kExtraEeg[k].label);
    channels.push_back(extra_eeg_channel(timeline, channels[kC4], options.fs_hz, options.seed, k));
  }
  SimulatedNight out;
  for (size_t c = 0; c < channels.size(); ++c) {
    const double range = c == kEmg ? emg_range_uv : eeg_range_uv;
    SignalToWrite s;
    s.label = labels[c];
    s.transducer = "simulated electrode";
    s.unit = "uV";
    s.prefilter = "none (simulated)";
    s.fs_hz = options.fs_hz;
    s.physical_min = -range;
    s.physical_max = range;
    s.samples = std::move(channels[c]);
    for (auto& v : s.samples) v = std::clamp(v, static_cast<float>(-range), static_cast<float>(range));
    out.signals.push_back(std::move(s));
  }
  out.annotations = stage_annotations(hypnogram, duration_s);
  out.write_options.patient = "X X X Simulated";
  out.write_options.recording = "Startdate X X X psgkit_simulate_seed_" + std::to_string(options.seed);
  out.write_options.start = DateTime{2025, 1, 1, 23, 0, 0, 0.0};
  out.write_options.record_duration_s = 1.0;
  return out;
}

void write_simulated_night(const std::filesystem::path& path, const Hypnogram& hypnogram,
                           const SimulationOptions& options) {
  const SimulatedNight night = simulate_night(hypnogram, options);
  write_edf(path, night.signals, night.annotations, night.write_options);
}

}  // namespace psgkit
