// Deep-sleep measures: artefacts, SWA, slow-wave occupancy and detection (see deep_sleep.hpp).
#include "psgkit/deep_sleep.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <optional>

#include "buffers_internal.hpp"
#include "features_internal.hpp"
#include "psgkit/error.hpp"
#include "psgkit/preprocess.hpp"
#include "psgkit/spectral.hpp"

namespace psgkit {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Which samples each hypnogram epoch covers.
struct HypnogramCover {
  size_t first_sample = 0, samples_per_epoch = 0, n_covered = 0, n_total = 0;
  size_t begin(size_t epoch) const { return first_sample + epoch * samples_per_epoch; }
};

HypnogramCover hypnogram_cover(size_t n_samples, double fs_hz, const Hypnogram& hypnogram) {
  if (hypnogram.stages.empty()) throw Error("", "hypnogram", "has no epochs");
  const EpochGrid epochs = epoch_grid(n_samples, fs_hz, hypnogram.epoch_s, hypnogram.start_s);
  if (epochs.count == 0)
    throw Error("", "eeg_uv",
                "signal of " + std::to_string(static_cast<double>(n_samples) / fs_hz) +
                    " s does not cover one whole epoch of " + std::to_string(hypnogram.epoch_s) +
                    " s starting at " + std::to_string(hypnogram.start_s) + " s");
  return {epochs.first_sample, epochs.samples_per_epoch, std::min(epochs.count, hypnogram.size()), hypnogram.size()};
}

void check_band(double low_hz, double high_hz, double fs_hz, const char* field) {
  if (!(low_hz > 0 && low_hz < high_hz && high_hz < 0.5 * fs_hz))
    throw Error("", field,
                "band " + std::to_string(low_hz) + "-" + std::to_string(high_hz) + " Hz must satisfy 0 < low < high < " +
                    "Nyquist (" + std::to_string(0.5 * fs_hz) + " Hz)");
}

bool is_n2n3(Stage stage) { return stage == Stage::N2 || stage == Stage::N3; }
bool is_nrem(Stage stage) { return stage == Stage::N1 || is_n2n3(stage); }

template <class T>
double mean_of(std::span<const T> x) {
  double sum = 0;
  for (T v : x) sum += v;
  return sum / static_cast<double>(x.size());
}

template <class T>
double variance_of(std::span<const T> x) {
  const double mean = mean_of(x);
  double sum = 0;
  for (T v : x) sum += (v - mean) * (v - mean);
  return sum / static_cast<double>(x.size());
}

double median_of(std::vector<double> v) {
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  return 0.5 * (upper + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid)));
}

// Welch SWA with one estimator (FFTW plan) reused for every epoch.
class SwaMeter {
 public:
  SwaMeter(double fs_hz, const DeepSleepOptions& options) : estimator_(welch_options(fs_hz, options)) {
    check_band(options.swa_low_hz, options.swa_high_hz, fs_hz, "swa_low_hz/swa_high_hz");
    const auto& freq = estimator_.freq_hz();
    power_.resize(freq.size());
    lo_ = freq.size();
    for (size_t k = 0; k < freq.size(); ++k)
      if (freq[k] >= options.swa_low_hz && freq[k] <= options.swa_high_hz) {
        lo_ = std::min(lo_, k);
        hi_ = k;
      }
    if (lo_ >= freq.size() || hi_ <= lo_)
      throw Error("", "welch_window_s", "fewer than two Welch bins fall in the SWA band; use longer windows");
    df_ = freq[1] - freq[0];
  }
  size_t nperseg() const { return static_cast<size_t>(estimator_.options().nperseg); }
  const WelchEstimator& estimator() const { return estimator_; }
  template <class T>
  double operator()(std::span<const T> x) const {
    estimator_.compute(x, std::span<double>(power_));
    return integrate(power_);
  }
  // Trapezoid rule over the bins in the band of a spectrum from estimator().
  double integrate(std::span<const double> power) const {
    double sum = 0;
    for (size_t k = lo_; k < hi_; ++k) sum += 0.5 * (power[k] + power[k + 1]);
    return sum * df_;
  }

 private:
  static WelchOptions welch_options(double fs_hz, const DeepSleepOptions& options) {
    if (!std::isfinite(fs_hz) || fs_hz <= 0)
      throw Error("", "fs_hz", "sampling rate must be finite and positive, got " + std::to_string(fs_hz));
    if (!(options.welch_window_s > 0))
      throw Error("", "welch_window_s", "must be positive, got " + std::to_string(options.welch_window_s));
    WelchOptions welch;
    welch.fs_hz = fs_hz;
    welch.nperseg = static_cast<int>(std::lround(options.welch_window_s * fs_hz));
    return welch;
  }
  WelchEstimator estimator_;
  mutable std::vector<double> power_;
  size_t lo_ = 0, hi_ = 0;
  double df_ = 0;
};

// Downward (>= 0 to < 0) zero crossings, as the index of the first negative sample.
template <class T>
std::vector<size_t> downward_crossings(std::span<const T> x) {
  std::vector<size_t> crossings;
  for (size_t j = 1; j < x.size(); ++j)
    if (x[j - 1] >= 0 && x[j] < 0) crossings.push_back(j);
  return crossings;
}

// Time (s) of the zero crossing between samples j − 1 and j, linearly interpolated.
template <class T>
double crossing_time_s(std::span<const T> x, size_t j, double fs_hz) {
  const double a = x[j - 1], b = x[j];
  const double frac = a == b ? 0.0 : a / (a - b);
  return (static_cast<double>(j - 1) + frac) / fs_hz;
}

// `x` through `filter` forwards and backwards, in `work`.
std::span<const double> filtered(const IirFilter& filter, std::span<const double> x, std::vector<double>& work) {
  work.assign(x.begin(), x.end());
  filter.filtfilt_inplace(std::span<double>(work));
  return work;
}

// Variance, minimum and maximum of one epoch (the library's vector kernel).
struct EpochSpread {
  double variance = 0, min = 0, max = 0;
};
template <class T>
EpochSpread spread_of(std::span<const T> x) {
  if (x.size() < 2) return {0.0, static_cast<double>(x[0]), static_cast<double>(x[0])};
  const detail::SampleMoments m = detail::sample_moments(x);
  return {m.variance(x.size()), m.min, m.max};
}

// The flat checks of one epoch: SD below flat_sd_uv, or a run of flat_run samples changing less than
// flat_step_uv.
template <class T>
bool is_flat(std::span<const T> x, double variance, const ArtefactOptions& options, size_t flat_run) {
  if (std::sqrt(variance) < options.flat_sd_uv) return true;
  const auto small_step = [&](size_t j) {
    return std::abs(static_cast<double>(x[j]) - static_cast<double>(x[j - 1])) < options.flat_step_uv;
  };
  // A run needs flat_run − 1 small steps: count them first (a loop without a carried chain), and walk
  // the runs only in the rare epoch that has enough.
  size_t small = 0;
  for (size_t j = 1; j < x.size(); ++j) small += small_step(j);
  if (small + 1 < flat_run) return false;
  size_t run = 1, longest = 1;
  for (size_t j = 1; j < x.size(); ++j) {
    run = small_step(j) ? run + 1 : 1;
    longest = std::max(longest, run);
  }
  return longest >= flat_run;
}

size_t flat_run_samples(const ArtefactOptions& options, double fs_hz) {
  return std::max<size_t>(2, static_cast<size_t>(std::lround(options.flat_run_s * fs_hz)));
}

// The clipping rails and how close to them a sample counts as on them.
struct Rails {
  double low = 0, high = 0, tolerance = 0;
  Rails(const ArtefactOptions& options, double signal_min, double signal_max)
      : low(options.clip_low_uv.value_or(signal_min)), high(options.clip_high_uv.value_or(signal_max)),
        tolerance(1e-6 * std::max(high - low, 1e-9)) {}
  bool reached(double lo, double hi) const { return hi >= high - tolerance || lo <= low + tolerance; }
};

// Whether an epoch is clipped: >= clip_fraction of its samples in runs of >= 3 on the rails
// (isolated extreme samples are not clipping).
template <class T>
bool is_clipped(std::span<const T> x, const Rails& rails, const ArtefactOptions& options) {
  size_t at_rail = 0, rail_run = 0;
  for (const T v : x) {
    rail_run = rails.reached(v, v) ? rail_run + 1 : 0;
    if (rail_run == 3) at_rail += 3;
    else if (rail_run > 3) ++at_rail;
  }
  return static_cast<double>(at_rail) >= options.clip_fraction * static_cast<double>(x.size());
}

template <class T>
std::vector<uint8_t> artefacts_of(std::span<const T> eeg_uv, std::span<const T> highpassed, double fs_hz,
                                  const Hypnogram& hypnogram, const HypnogramCover& grid, const ArtefactOptions& options,
                                  std::span<const uint8_t> native_flags, std::vector<std::string>* warnings);
template <class T>
std::vector<double> occupancy_of(std::span<const T> band, double fs_hz, const HypnogramCover& grid,
                                 const DeepSleepOptions& options);
template <class T>
std::vector<SlowWave> slow_waves_of(std::span<const T> band, double fs_hz, const Hypnogram& hypnogram,
                                    const HypnogramCover& grid, const SlowWaveCriteria& c, const std::vector<bool>& keep);

}  // namespace

NativeArtefactScan::NativeArtefactScan(double fs_hz, size_t n_samples, const Hypnogram& hypnogram,
                                       const ArtefactOptions& options)
    : options_(options), flat_run_(flat_run_samples(options, fs_hz)) {
  const HypnogramCover grid = hypnogram_cover(n_samples, fs_hz, hypnogram);
  first_sample_ = grid.first_sample;
  samples_per_epoch_ = grid.samples_per_epoch;
  n_covered_ = grid.n_covered;
  n_samples_ = n_samples;
  flags_.assign(grid.n_total, kArtefactNone);
  for (size_t i = grid.n_covered; i < grid.n_total; ++i) flags_[i] = kArtefactNotCovered;
  epoch_min_.resize(n_covered_);
  epoch_max_.resize(n_covered_);
  epoch_.reserve(samples_per_epoch_);
}

void NativeArtefactScan::add(std::span<const float> samples_uv) {
  require_finite(samples_uv, "eeg_uv");
  if (samples_uv.size() > n_samples_ - seen_)
    throw Error("", "eeg_uv", "more samples than the " + std::to_string(n_samples_) + " announced");
  const size_t covered_end = first_sample_ + n_covered_ * samples_per_epoch_;
  for (size_t j = 0; j < samples_uv.size();) {
    const size_t at = seen_ + j;
    if (at < first_sample_ || at >= covered_end) {
      // Outside every epoch: only the rails (the whole channel's extremes) see these samples.
      const size_t stop = at < first_sample_ ? std::min(samples_uv.size(), j + first_sample_ - at) : samples_uv.size();
      for (; j < stop; ++j) {
        signal_min_ = std::min(signal_min_, static_cast<double>(samples_uv[j]));
        signal_max_ = std::max(signal_max_, static_cast<double>(samples_uv[j]));
      }
      continue;
    }
    // An epoch inside the block is checked in place; one split between blocks is gathered first.
    const size_t take = std::min(samples_uv.size() - j, samples_per_epoch_ - epoch_.size());
    const auto part = samples_uv.subspan(j, take);
    j += take;
    std::span<const float> x = part;
    if (!epoch_.empty() || take < samples_per_epoch_) {
      epoch_.insert(epoch_.end(), part.begin(), part.end());
      if (epoch_.size() < samples_per_epoch_) continue;
      x = epoch_;
    }
    const size_t e = (at + take - 1 - first_sample_) / samples_per_epoch_;
    const EpochSpread spread = spread_of(x);
    epoch_min_[e] = spread.min;
    epoch_max_[e] = spread.max;
    signal_min_ = std::min(signal_min_, spread.min);
    signal_max_ = std::max(signal_max_, spread.max);
    if (is_flat(x, spread.variance, options_, flat_run_)) flags_[e] |= kArtefactFlat;
    epoch_.clear();
  }
  seen_ += samples_uv.size();
}

std::vector<uint8_t> NativeArtefactScan::flags(const std::function<void(size_t, std::span<float>)>& read) const {
  if (seen_ != n_samples_)
    throw Error("", "eeg_uv", "got " + std::to_string(seen_) + " of the " + std::to_string(n_samples_) + " samples announced");
  std::vector<uint8_t> flags = flags_;
  const Rails rails(options_, signal_min_, signal_max_);
  std::vector<float> samples(samples_per_epoch_);
  for (size_t e = 0; e < n_covered_; ++e) {
    // Only epochs that reach a rail can hold samples on it: read those again.
    if (!rails.reached(epoch_min_[e], epoch_max_[e])) continue;
    read(first_sample_ + e * samples_per_epoch_, std::span<float>(samples));
    if (is_clipped(std::span<const float>(samples), rails, options_)) flags[e] |= kArtefactClipped;
  }
  return flags;
}

std::vector<uint8_t> detect_artefacts(std::span<const double> eeg_uv, double fs_hz, const Hypnogram& hypnogram,
                                      const ArtefactOptions& options, std::vector<std::string>* warnings) {
  require_finite(eeg_uv, "eeg_uv");
  const HypnogramCover grid = hypnogram_cover(eeg_uv.size(), fs_hz, hypnogram);
  std::vector<double> work;
  return artefacts_of(eeg_uv, filtered(IirFilter::butter_highpass(2, options.highpass_hz, fs_hz), eeg_uv, work), fs_hz,
                      hypnogram, grid, options, {}, warnings);
}

namespace {

template <class T>
std::vector<uint8_t> artefacts_of(std::span<const T> eeg_uv, std::span<const T> highpassed, double fs_hz,
                                  const Hypnogram& hypnogram, const HypnogramCover& grid, const ArtefactOptions& options,
                                  std::span<const uint8_t> native_flags, std::vector<std::string>* warnings) {
  std::vector<uint8_t> flags(grid.n_total, kArtefactNone);
  if (!native_flags.empty()) {
    // The flat and clipping checks ran on the native samples (NativeArtefactScan), which may cover
    // a different number of epochs than this signal by a rounding of the last sample.
    for (size_t i = 0; i < grid.n_total; ++i) flags[i] = native_flags[i] & (kArtefactFlat | kArtefactClipped);
  }
  if (grid.n_covered < grid.n_total) {
    for (size_t i = grid.n_covered; i < grid.n_total; ++i) flags[i] |= kArtefactNotCovered;
    if (warnings)
      warnings->push_back("signal ends before hypnogram epoch " + std::to_string(grid.n_covered) + " of " +
                          std::to_string(grid.n_total) + "; later epochs are flagged not covered");
  }
  std::optional<Rails> rails;
  if (native_flags.empty()) {
    const auto [min_it, max_it] = std::minmax_element(eeg_uv.begin(), eeg_uv.end());
    rails.emplace(options, *min_it, *max_it);
  }
  const size_t flat_run = flat_run_samples(options, fs_hz);

  std::vector<double> log_power(grid.n_covered, kNaN);
  for (size_t i = 0; i < grid.n_covered; ++i) {
    const auto x = eeg_uv.subspan(grid.begin(i), grid.samples_per_epoch);
    const auto hp = highpassed.subspan(grid.begin(i), grid.samples_per_epoch);
    if (rails) {
      if (is_flat(x, spread_of(x).variance, options, flat_run)) flags[i] |= kArtefactFlat;
      if (is_clipped(x, *rails, options)) flags[i] |= kArtefactClipped;
    }
    double peak = 0;
    for (T v : hp) peak = std::max(peak, std::abs(static_cast<double>(v)));
    if (peak > options.amplitude_uv) flags[i] |= kArtefactAmplitude;
    log_power[i] = std::log(variance_of(hp));
  }

  std::vector<double> reference;
  for (size_t i = 0; i < grid.n_covered; ++i)
    if (flags[i] == kArtefactNone && is_nrem(hypnogram.stages[i]) && std::isfinite(log_power[i]))
      reference.push_back(log_power[i]);
  if (reference.size() < 10) {
    if (warnings)
      warnings->push_back("power-outlier check skipped: only " + std::to_string(reference.size()) +
                          " clean NREM epochs (need 10)");
    return flags;
  }
  const double median = median_of(reference);
  for (double& v : reference) v = std::abs(v - median);
  const double scale = 1.4826 * median_of(reference);
  if (!(scale > 0)) {
    if (warnings) warnings->push_back("power-outlier check skipped: NREM log power has zero spread");
    return flags;
  }
  for (size_t i = 0; i < grid.n_covered; ++i)
    if (flags[i] == kArtefactNone && is_nrem(hypnogram.stages[i]) &&
        std::abs(log_power[i] - median) / scale > options.power_robust_z)
      flags[i] |= kArtefactPowerOutlier;
  return flags;
}

}  // namespace

double slow_wave_activity(std::span<const double> eeg_uv, double fs_hz, const DeepSleepOptions& options) {
  require_finite(eeg_uv, "eeg_uv");
  const SwaMeter meter(fs_hz, options);
  if (eeg_uv.size() < meter.nperseg())
    throw Error("", "eeg_uv", "SWA needs at least one Welch window of " + std::to_string(meter.nperseg()) +
                                  " samples, got " + std::to_string(eeg_uv.size()));
  return meter(eeg_uv);
}

std::vector<double> slow_wave_occupancy(std::span<const double> eeg_uv, double fs_hz, const Hypnogram& hypnogram,
                                        const DeepSleepOptions& options) {
  require_finite(eeg_uv, "eeg_uv");
  const HypnogramCover grid = hypnogram_cover(eeg_uv.size(), fs_hz, hypnogram);
  check_band(options.occupancy_low_hz, options.occupancy_high_hz, fs_hz, "occupancy_low_hz/occupancy_high_hz");
  std::vector<double> work;
  return occupancy_of(
      filtered(IirFilter::butter_bandpass(3, options.occupancy_low_hz, options.occupancy_high_hz, fs_hz), eeg_uv, work),
      fs_hz, grid, options);
}

namespace {

template <class T>
std::vector<double> occupancy_of(std::span<const T> band, double fs_hz, const HypnogramCover& grid,
                                 const DeepSleepOptions& options) {
  const std::vector<size_t> crossings = downward_crossings(band);
  const double min_samples = fs_hz / options.occupancy_high_hz, max_samples = fs_hz / options.occupancy_low_hz;
  const size_t covered_end = grid.begin(grid.n_covered);
  std::vector<size_t> covered(grid.n_covered, 0);
  for (size_t k = 0; k + 1 < crossings.size(); ++k) {
    const size_t a = crossings[k], b = crossings[k + 1];
    const double length = static_cast<double>(b - a);
    if (length < min_samples || length > max_samples) continue;
    const auto [lo, hi] = std::minmax_element(band.begin() + static_cast<std::ptrdiff_t>(a),
                                              band.begin() + static_cast<std::ptrdiff_t>(b));
    if (static_cast<double>(*hi) - static_cast<double>(*lo) < options.occupancy_ptp_uv) continue;
    // Spread the wave's samples [a, b) over the epochs it overlaps.
    for (size_t s = std::max(a, grid.first_sample); s < std::min(b, covered_end);) {
      const size_t epoch = (s - grid.first_sample) / grid.samples_per_epoch;
      const size_t stop = std::min(b, grid.begin(epoch + 1));
      covered[epoch] += stop - s;
      s = stop;
    }
  }
  std::vector<double> occupancy(grid.n_total, kNaN);
  for (size_t i = 0; i < grid.n_covered; ++i)
    occupancy[i] = static_cast<double>(covered[i]) / static_cast<double>(grid.samples_per_epoch);
  return occupancy;
}

}  // namespace

std::vector<SlowWave> detect_slow_waves(std::span<const double> eeg_uv, double fs_hz, const Hypnogram& hypnogram,
                                        const SlowWaveCriteria& c, const std::vector<bool>& keep) {
  require_finite(eeg_uv, "eeg_uv");
  const HypnogramCover grid = hypnogram_cover(eeg_uv.size(), fs_hz, hypnogram);
  check_band(c.low_hz, c.high_hz, fs_hz, "slow_waves.low_hz/high_hz");
  if (!keep.empty() && keep.size() != grid.n_total)
    throw Error("", "keep", "needs one entry per hypnogram epoch (" + std::to_string(grid.n_total) + "), got " +
                                std::to_string(keep.size()));
  std::vector<double> work;
  return slow_waves_of(filtered(IirFilter::butter_bandpass(c.filter_order, c.low_hz, c.high_hz, fs_hz), eeg_uv, work),
                       fs_hz, hypnogram, grid, c, keep);
}

namespace {

template <class T>
std::vector<SlowWave> slow_waves_of(std::span<const T> v, double fs_hz, const Hypnogram& hypnogram,
                                    const HypnogramCover& grid, const SlowWaveCriteria& c, const std::vector<bool>& keep) {
  const std::vector<size_t> downs = downward_crossings(v);
  const size_t covered_end = grid.begin(grid.n_covered);
  std::vector<SlowWave> waves;
  for (size_t k = 0; k + 1 < downs.size(); ++k) {
    const size_t d = downs[k], d2 = downs[k + 1];
    // The upward crossing between them: first non-negative sample after d.
    size_t u = d;
    while (u < d2 && v[u] < 0) ++u;
    if (u >= d2) continue;
    const size_t neg = static_cast<size_t>(std::min_element(v.begin() + static_cast<std::ptrdiff_t>(d),
                                                            v.begin() + static_cast<std::ptrdiff_t>(u)) - v.begin());
    const size_t pos = static_cast<size_t>(std::max_element(v.begin() + static_cast<std::ptrdiff_t>(u),
                                                            v.begin() + static_cast<std::ptrdiff_t>(d2)) - v.begin());
    SlowWave w;
    w.onset_s = crossing_time_s(v, d, fs_hz);
    w.mid_crossing_s = crossing_time_s(v, u, fs_hz);
    w.end_s = crossing_time_s(v, d2, fs_hz);
    w.neg_peak_s = static_cast<double>(neg) / fs_hz;
    w.pos_peak_s = static_cast<double>(pos) / fs_hz;
    w.neg_peak_uv = static_cast<double>(v[neg]);
    w.pos_peak_uv = static_cast<double>(v[pos]);
    w.ptp_uv = w.pos_peak_uv - w.neg_peak_uv;
    w.duration_s = w.end_s - w.onset_s;
    const double neg_s = w.mid_crossing_s - w.onset_s, pos_s = w.end_s - w.mid_crossing_s;
    if (neg_s < c.neg_min_s || neg_s > c.neg_max_s || pos_s < c.pos_min_s || pos_s > c.pos_max_s) continue;
    if (-w.neg_peak_uv < c.neg_min_uv || -w.neg_peak_uv > c.neg_max_uv) continue;
    if (w.pos_peak_uv < c.pos_min_uv || w.pos_peak_uv > c.pos_max_uv) continue;
    if (w.ptp_uv < c.ptp_min_uv || w.ptp_uv > c.ptp_max_uv) continue;
    if (neg < grid.first_sample || neg >= covered_end) continue;
    w.epoch = (neg - grid.first_sample) / grid.samples_per_epoch;
    if (!keep.empty() && !keep[w.epoch]) continue;
    w.stage = hypnogram.stages[w.epoch];
    w.up_slope_uv_per_s = w.ptp_uv / (w.pos_peak_s - w.neg_peak_s);
    w.mid_slope_uv_per_s = -w.neg_peak_uv / (w.mid_crossing_s - w.neg_peak_s);
    waves.push_back(w);
  }
  return waves;
}

}  // namespace

namespace {

template <class T>
DeepSleepResult analyze(std::span<const T> eeg_uv, double fs_hz, const Hypnogram& hypnogram,
                        const std::vector<std::pair<size_t, size_t>>& nrem_cycles, const DeepSleepOptions& options,
                        std::span<const uint8_t> native_flags) {
  DeepSleepResult r;
  r.fs_hz = fs_hz;
  r.epoch_s = hypnogram.epoch_s;
  require_finite(eeg_uv, "eeg_uv");
  const HypnogramCover grid = hypnogram_cover(eeg_uv.size(), fs_hz, hypnogram);
  check_band(options.occupancy_low_hz, options.occupancy_high_hz, fs_hz, "occupancy_low_hz/occupancy_high_hz");
  check_band(options.slow_waves.low_hz, options.slow_waves.high_hz, fs_hz, "slow_waves.low_hz/high_hz");
  if (!native_flags.empty() && native_flags.size() != grid.n_total)
    throw Error("", "native_flags", "needs one entry per hypnogram epoch (" + std::to_string(grid.n_total) + "), got " +
                                        std::to_string(native_flags.size()));
  for (const auto& [begin, end] : nrem_cycles)
    if (!(begin < end && end <= grid.n_total))
      throw Error("", "nrem_cycles", "cycle [" + std::to_string(begin) + ", " + std::to_string(end) +
                                         ") is empty or beyond the hypnogram's " + std::to_string(grid.n_total) +
                                         " epochs");
  // The three zero-phase filters in one pass (their recurrences side by side), designed once.
  const SlowWaveCriteria& c = options.slow_waves;
  const IirFilter highpass = IirFilter::butter_highpass(2, options.artefacts.highpass_hz, fs_hz),
                  occupancy_band = IirFilter::butter_bandpass(3, options.occupancy_low_hz, options.occupancy_high_hz, fs_hz),
                  slow_wave_band = IirFilter::butter_bandpass(c.filter_order, c.low_hz, c.high_hz, fs_hz);
  std::vector<T> highpassed, occupancy_signal, slow_wave_signal;
  for (std::vector<T>* v : {&highpassed, &occupancy_signal, &slow_wave_signal}) detail::resize_night_buffer(*v, eeg_uv.size());
  const IirFilter* filters[] = {&highpass, &occupancy_band, &slow_wave_band};
  const std::span<T> outputs[] = {highpassed, occupancy_signal, slow_wave_signal};
  IirFilter::filtfilt_each(filters, eeg_uv, outputs);
  r.artefact_flags = artefacts_of(eeg_uv, std::span<const T>(highpassed), fs_hz, hypnogram, grid, options.artefacts,
                                  native_flags, &r.warnings);
  highpassed = std::vector<T>();
  const auto clean = [&](size_t i) { return r.artefact_flags[i] == kArtefactNone; };

  const SwaMeter meter(fs_hz, options);
  if (grid.samples_per_epoch < meter.nperseg())
    throw Error("", "welch_window_s", "Welch window longer than the epoch");
  r.swa_uv2.assign(grid.n_total, kNaN);
  if (options.spectrogram) {
    // Every whole epoch's spectrum once: the spectrogram's row, and the SWA of a clean epoch.
    const auto epochs = make_epochs(eeg_uv, fs_hz, hypnogram.epoch_s, hypnogram.start_s);
    Spectrogram& sg = r.spectrogram.emplace();
    sg.freq_hz = meter.estimator().freq_hz();
    sg.onset_s.resize(epochs.size());
    sg.power.resize(epochs.size() * sg.cols());
    for (size_t e = 0; e < epochs.size(); ++e) {
      sg.onset_s[e] = static_cast<double>(epochs.first_sample + e * epochs.samples_per_epoch) / fs_hz;
      const std::span<double> row = std::span<double>(sg.power).subspan(e * sg.cols(), sg.cols());
      meter.estimator().compute(epochs[e], row);
      if (e < grid.n_covered && clean(e)) r.swa_uv2[e] = meter.integrate(row);
    }
  } else {
    for (size_t i = 0; i < grid.n_covered; ++i)
      if (clean(i)) r.swa_uv2[i] = meter(eeg_uv.subspan(grid.begin(i), grid.samples_per_epoch));
  }

  r.slow_wave_occupancy = occupancy_of(std::span<const T>(occupancy_signal), fs_hz, grid, options);
  occupancy_signal = std::vector<T>();
  std::vector<bool> clean_n2n3(grid.n_total, false);
  double swa_sum = 0;
  for (size_t i = 0; i < grid.n_total; ++i) {
    if (!clean(i)) {
      r.slow_wave_occupancy[i] = kNaN;
      continue;
    }
    if (r.slow_wave_occupancy[i] >= 0.2) ++r.n_epochs_occupancy_20pct;
    if (is_n2n3(hypnogram.stages[i])) {
      clean_n2n3[i] = true;
      ++r.n_clean_n2n3_epochs;
      swa_sum += r.swa_uv2[i];
    }
  }
  r.clean_n2n3_min = static_cast<double>(r.n_clean_n2n3_epochs) * hypnogram.epoch_s / 60.0;
  r.mean_swa_n2n3_uv2 = r.n_clean_n2n3_epochs ? swa_sum / static_cast<double>(r.n_clean_n2n3_epochs) : kNaN;
  if (r.n_clean_n2n3_epochs == 0) r.warnings.push_back("no artefact-free N2/N3 epoch: SWA and slow-wave density are NaN");

  // Per cycle.
  for (const auto& [begin, end] : nrem_cycles) {
    CycleSwa cycle;
    cycle.begin = begin;
    cycle.end = end;
    cycle.midpoint_h = (hypnogram.start_s + 0.5 * static_cast<double>(begin + end) * hypnogram.epoch_s) / 3600.0;
    double sum = 0;
    for (size_t i = begin; i < end; ++i)
      if (clean_n2n3[i]) {
        sum += r.swa_uv2[i];
        ++cycle.n_epochs;
      }
    cycle.mean_swa_uv2 = cycle.n_epochs ? sum / static_cast<double>(cycle.n_epochs) : kNaN;
    if (!cycle.n_epochs)
      r.warnings.push_back("cycle [" + std::to_string(begin) + ", " + std::to_string(end) +
                           ") has no artefact-free N2/N3 epoch: its SWA is NaN");
    r.cycles.push_back(cycle);
  }
  r.swa_first_cycle_uv2 = r.cycles.empty() ? kNaN : r.cycles[0].mean_swa_uv2;
  r.delta_sleep_ratio = r.cycles.size() >= 2 ? r.cycles[0].mean_swa_uv2 / r.cycles[1].mean_swa_uv2 : kNaN;
  std::vector<const CycleSwa*> usable;
  for (const CycleSwa& c : r.cycles)
    if (c.mean_swa_uv2 > 0) usable.push_back(&c);
  r.swa_decay_rate_per_h = r.swa_decay_time_constant_h = r.swa_first_last_ratio = kNaN;
  if (usable.size() >= 2) {
    r.swa_first_last_ratio = usable.front()->mean_swa_uv2 / usable.back()->mean_swa_uv2;
    double mt = 0, my = 0;
    for (const CycleSwa* c : usable) {
      mt += c->midpoint_h;
      my += std::log(c->mean_swa_uv2);
    }
    mt /= static_cast<double>(usable.size());
    my /= static_cast<double>(usable.size());
    double sxy = 0, sxx = 0;
    for (const CycleSwa* c : usable) {
      sxy += (c->midpoint_h - mt) * (std::log(c->mean_swa_uv2) - my);
      sxx += (c->midpoint_h - mt) * (c->midpoint_h - mt);
    }
    r.swa_decay_rate_per_h = -sxy / sxx;
    if (r.swa_decay_rate_per_h > 0) r.swa_decay_time_constant_h = 1 / r.swa_decay_rate_per_h;
    else r.warnings.push_back("SWA does not decay across cycles: time constant is NaN");
  } else {
    r.warnings.push_back("fewer than two NREM cycles with SWA: decay, first/last ratio" +
                         std::string(r.cycles.size() >= 2 ? "" : " and delta sleep ratio") + " are NaN");
  }

  r.slow_waves = slow_waves_of(std::span<const T>(slow_wave_signal), fs_hz, hypnogram, grid, c, clean_n2n3);
  r.slow_wave_density_per_min = r.clean_n2n3_min > 0 ? static_cast<double>(r.slow_waves.size()) / r.clean_n2n3_min : kNaN;
  double ptp = 0, slope = 0;
  for (const SlowWave& w : r.slow_waves) {
    ptp += w.ptp_uv;
    slope += w.up_slope_uv_per_s;
  }
  const double n_waves = static_cast<double>(r.slow_waves.size());
  r.slow_wave_mean_ptp_uv = r.slow_waves.empty() ? kNaN : ptp / n_waves;
  r.slow_wave_mean_up_slope_uv_per_s = r.slow_waves.empty() ? kNaN : slope / n_waves;
  if (r.slow_waves.empty() && r.n_clean_n2n3_epochs > 0)
    r.warnings.push_back("no slow wave detected: mean amplitude and slope are NaN");
  return r;
}

}  // namespace

DeepSleepResult analyze_deep_sleep(std::span<const double> eeg_uv, double fs_hz, const Hypnogram& hypnogram,
                                   const std::vector<std::pair<size_t, size_t>>& nrem_cycles,
                                   const DeepSleepOptions& options) {
  return analyze(eeg_uv, fs_hz, hypnogram, nrem_cycles, options, {});
}

DeepSleepResult analyze_deep_sleep(std::span<const float> eeg_uv, double fs_hz, const Hypnogram& hypnogram,
                                   const std::vector<std::pair<size_t, size_t>>& nrem_cycles,
                                   const DeepSleepOptions& options) {
  return analyze(eeg_uv, fs_hz, hypnogram, nrem_cycles, options, {});
}

DeepSleepResult analyze_deep_sleep(std::span<const float> eeg_uv, double fs_hz, const Hypnogram& hypnogram,
                                   const std::vector<std::pair<size_t, size_t>>& nrem_cycles,
                                   const DeepSleepOptions& options, std::span<const uint8_t> native_flags) {
  if (native_flags.empty()) throw Error("", "native_flags", "is empty; use the overload without it");
  return analyze(eeg_uv, fs_hz, hypnogram, nrem_cycles, options, native_flags);
}

}  // namespace psgkit
