// Sleep spindle detection (YASA's criteria), measures, coupling and by-event scoring (see spindles.hpp).
#include "psgkit/spindles.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <fstream>
#include <limits>
#include <numbers>
#include <sstream>

#include "psgkit/error.hpp"
#include "psgkit/preprocess.hpp"
#include "psgkit/recording.hpp"
#include "buffers_internal.hpp"

namespace psgkit {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool stage_in(Stage stage, const std::vector<Stage>& stages) {
  return std::find(stages.begin(), stages.end(), stage) != stages.end();
}

// Half-open sample range of hypnogram epoch i at rate fs_hz.
std::pair<size_t, size_t> epoch_samples(const Hypnogram& h, size_t i, double fs_hz) {
  const double a = std::max(0.0, h.onset_s(i) * fs_hz), b = std::max(0.0, h.onset_s(i + 1) * fs_hz);
  return {static_cast<size_t>(std::llround(a)), static_cast<size_t>(std::llround(b))};
}

// The signal at the processing rate: `x` itself when it is not faster than processing_fs_hz (no copy),
// else resampled once into `owned`.
std::span<const float> at_processing_rate(std::span<const float> x, double fs_hz, double processing_fs_hz, double& fs_out,
                                          std::vector<float>& owned) {
  if (fs_hz <= processing_fs_hz) {
    fs_out = fs_hz;
    return x;
  }
  const Resampler resampler(fs_hz, processing_fs_hz);
  fs_out = resampler.fs_out_hz();
  owned = resampler.process(x);
  return owned;
}

// Mean and SD after dropping `cut` of the values at each end (scipy.stats.trimboth, then mean / std).
std::pair<double, double> trimmed_mean_sd(std::vector<float> v, double cut) {
  if (v.empty()) return {kNaN, kNaN};
  const size_t drop = static_cast<size_t>(cut * static_cast<double>(v.size()));
  const auto first = v.begin() + static_cast<std::ptrdiff_t>(drop), last = v.end() - static_cast<std::ptrdiff_t>(drop);
  if (first >= last) return {kNaN, kNaN};
  // Selection instead of a sort: only which values fall between the cuts matters (floats: half the
  // memory traffic of doubles, the same selection).
  std::nth_element(v.begin(), first, v.end());
  std::nth_element(first, last - 1, v.end());
  double sum = 0;
  for (auto it = first; it != last; ++it) sum += *it;
  const double n = static_cast<double>(last - first), mean = sum / n;
  double ss = 0;
  for (auto it = first; it != last; ++it) ss += (*it - mean) * (*it - mean);
  return {mean, std::sqrt(ss / n)};
}

// Time of the zero crossing between samples j − 1 and j (in samples), linearly interpolated.
double crossing_at(std::span<const float> x, size_t j) {
  const double a = x[j - 1], b = x[j];
  return static_cast<double>(j - 1) + (a == b ? 0.0 : a / (a - b));
}

}  // namespace

struct SpindleDetector::Impl {
  SpindleCriteria criteria;
  std::string channel;
  double fs = 0;
  size_t n = 0, block = 1, n_blocks = 0;
  std::vector<float> broad, sigma;
  std::vector<std::pair<size_t, size_t>> searched;  // sorted, disjoint half-open sample ranges
  size_t n_searched = 0;
  std::vector<float> rel, corr, rms;      // per block centre
  double rms_mean = kNaN, rms_sd = kNaN;  // trimmed, over searched block centres
  double rel_mean = kNaN, rel_sd = kNaN;  // the same for the relative power
  std::optional<Hypnogram> hypnogram;

  // Whether samples are searched, asked in increasing order.
  struct SearchedCursor {
    std::vector<std::pair<size_t, size_t>>::const_iterator it, end;
    bool at(size_t i) {
      while (it != end && it->second <= i) ++it;
      return it != end && it->first <= i;
    }
  };
  SearchedCursor searched_cursor() const { return {searched.begin(), searched.end()}; }

  // Linear interpolation of a block series at sample i (held constant beyond the first/last centre).
  struct Lerp {
    size_t b = 0;
    float w = 0;
  };
  Lerp lerp_at(size_t i) const {
    const double centre0 = 0.5 * static_cast<double>(block - 1);
    const double pos = (static_cast<double>(i) - centre0) / static_cast<double>(block);
    if (pos <= 0) return {0, 0};
    const size_t b = static_cast<size_t>(pos);
    if (b + 1 >= n_blocks) return {n_blocks - 1, 0};
    return {b, static_cast<float>(pos - static_cast<double>(b))};
  }
  static float value(const std::vector<float>& v, Lerp l) {
    return l.w == 0 ? v[l.b] : v[l.b] + l.w * (v[l.b + 1] - v[l.b]);
  }
};

SpindleDetector::SpindleDetector(std::span<const float> eeg_uv, double fs_hz, const SpindleSearch& search,
                                 const SpindleCriteria& c, std::string channel)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.criteria = c;
  m.channel = std::move(channel);
  // NaN/inf samples are refused by the resampler or by the filters, which check what they read (a
  // check here would scan the night once more).
  if (!std::isfinite(fs_hz) || fs_hz <= 0)
    throw Error("", "fs_hz", "sampling rate must be finite and positive, got " + std::to_string(fs_hz));
  std::vector<float> resampled;
  const std::span<const float> x = at_processing_rate(eeg_uv, fs_hz, c.processing_fs_hz, m.fs, resampled);
  m.n = x.size();
  m.block = std::max<size_t>(1, static_cast<size_t>(std::llround(c.step_s * m.fs)));
  const auto odd_blocks = [&](double window_s) {
    return 2 * static_cast<size_t>(std::llround(window_s * m.fs / static_cast<double>(m.block) / 2)) + 1;
  };
  const size_t w_short = odd_blocks(c.window_s), w_rel = odd_blocks(c.rel_pow_window_s);
  m.n_blocks = (m.n + m.block - 1) / m.block;
  if (m.n_blocks < w_rel)
    throw Error("", "eeg_uv", "signal of " + std::to_string(static_cast<double>(eeg_uv.size()) / fs_hz) +
                                  " s is shorter than the relative-power window");
  const double broad_high = std::min(c.broad_high_hz, 0.45 * m.fs);
  const IirFilter sigma_filter = IirFilter::butter_bandpass(4, c.sigma_low_hz, c.sigma_high_hz, m.fs);
  const IirFilter broad_filter = IirFilter::butter_bandpass(2, c.broad_low_hz, broad_high, m.fs);
  // Filtered in place in whole-night buffers on huge pages (4-kB page faults dominated otherwise).
  const auto filtered = [&](const IirFilter& filter, std::vector<float>& out) {
    detail::reserve_night_buffer(out, m.n);
    out.assign(x.begin(), x.end());
    filter.filtfilt_inplace_in_lanes(std::span<float>(out));
  };
  filtered(sigma_filter, m.sigma);
  if (resampled.empty()) {
    filtered(broad_filter, m.broad);
  } else {
    broad_filter.filtfilt_inplace_in_lanes(std::span<float>(resampled));
    m.broad = std::move(resampled);
  }

  if (search.hypnogram) {
    m.hypnogram = *search.hypnogram;
    for (size_t e = 0; e < search.hypnogram->size(); ++e) {
      if (!stage_in(search.hypnogram->stages[e], search.stages)) continue;
      auto [a, b] = epoch_samples(*search.hypnogram, e, m.fs);
      a = std::min(a, m.n), b = std::min(b, m.n);
      if (a < b) m.searched.emplace_back(a, b);
    }
    std::sort(m.searched.begin(), m.searched.end());
    std::vector<std::pair<size_t, size_t>> merged;
    for (const auto& r : m.searched)
      if (!merged.empty() && r.first <= merged.back().second)
        merged.back().second = std::max(merged.back().second, r.second);
      else
        merged.push_back(r);
    m.searched = std::move(merged);
  } else {
    m.searched = {{0, m.n}};
  }
  for (const auto& [a, b] : m.searched) m.n_searched += b - a;

  // Per-block sums, kept in a ring of the blocks the widest window needs, and the windows of whole
  // blocks centred on each block (no whole-night arrays of block sums).
  struct BlockSums {
    double ss = 0, bb = 0, s1 = 0, b1 = 0, sb = 0;
    size_t count = 0;
  };
  // Relative power is computed for kGroup blocks at a time: their sums over the window are
  // independent chains the CPU runs side by side (each still sums its blocks in order).
  constexpr size_t kGroup = 4;
  const size_t half_max = std::max(w_short, w_rel) / 2, half_rel = w_rel / 2;
  const size_t ring_size = std::bit_ceil(2 * half_max + kGroup), ring_mask = ring_size - 1;  // index by mask, not %
  std::vector<BlockSums> ring(ring_size);
  size_t computed = 0;  // blocks [0, computed) are (or were) in the ring
  const auto compute_block = [&](size_t k) {
    const size_t a = k * m.block, e = std::min(m.n, a + m.block);
    BlockSums v;
    for (size_t i = a; i < e; ++i) {
      const double s = m.sigma[i], b = m.broad[i];
      v.ss += s * s, v.bb += b * b, v.s1 += s, v.b1 += b, v.sb += s * b;
    }
    v.count = e - a;
    ring[k & ring_mask] = v;
  };
  const auto window = [&](size_t k, size_t w, auto&& f) {
    const size_t lo = k >= w / 2 ? k - w / 2 : 0, hi = std::min(m.n_blocks, k + w / 2 + 1);
    for (size_t j = lo; j < hi; ++j) f(ring[j & ring_mask]);
  };
  const auto ratio = [](double rs, double rb) { return rb > 0 ? static_cast<float>(rs / rb) : 0.0f; };
  m.rel.resize(m.n_blocks);
  m.corr.resize(m.n_blocks);
  m.rms.resize(m.n_blocks);
  std::vector<float> rms_searched, rel_searched;
  rms_searched.reserve(m.n_searched / m.block + 1);
  rel_searched.reserve(m.n_searched / m.block + 1);
  auto range = m.searched.begin();
  for (size_t k0 = 0; k0 < m.n_blocks; k0 += kGroup) {
    const size_t k_end = std::min(m.n_blocks, k0 + kGroup);
    for (const size_t need = std::min(m.n_blocks, k_end + half_max); computed < need; ++computed) compute_block(computed);
    if (k_end == k0 + kGroup && k0 >= half_rel && k_end + half_rel <= m.n_blocks) {
      double rs[kGroup] = {}, rb[kGroup] = {};
      for (size_t j = 0; j < w_rel; ++j)
        for (size_t q = 0; q < kGroup; ++q) {
          const BlockSums& v = ring[(k0 + q - half_rel + j) & ring_mask];
          rs[q] += v.ss, rb[q] += v.bb;
        }
      for (size_t q = 0; q < kGroup; ++q) m.rel[k0 + q] = ratio(rs[q], rb[q]);
    } else {
      for (size_t k = k0; k < k_end; ++k) {
        double rs = 0, rb = 0;
        window(k, w_rel, [&](const BlockSums& v) { rs += v.ss, rb += v.bb; });
        m.rel[k] = ratio(rs, rb);
      }
    }
    for (size_t k = k0; k < k_end; ++k) {
      double n = 0, vss = 0, vbb = 0, vs = 0, vb = 0, vsb = 0;
      window(k, w_short, [&](const BlockSums& v) {
        n += static_cast<double>(v.count), vss += v.ss, vbb += v.bb, vs += v.s1, vb += v.b1, vsb += v.sb;
      });
      const double inv_n = 1.0 / n, mean_s = vs * inv_n, mean_b = vb * inv_n, mean_ss = vss * inv_n;
      const double cov = vsb * inv_n - mean_s * mean_b, var_s = mean_ss - mean_s * mean_s, var_b = vbb * inv_n - mean_b * mean_b;
      m.corr[k] = var_s > 0 && var_b > 0 ? static_cast<float>(cov / std::sqrt(var_s * var_b)) : 0.0f;
      m.rms[k] = static_cast<float>(std::sqrt(mean_ss));
      const size_t centre = std::min(m.n - 1, k * m.block + m.block / 2);
      while (range != m.searched.end() && range->second <= centre) ++range;
      if (range != m.searched.end() && range->first <= centre) rms_searched.push_back(m.rms[k]), rel_searched.push_back(m.rel[k]);
    }
  }
  std::tie(m.rel_mean, m.rel_sd) = trimmed_mean_sd(std::move(rel_searched), c.z_trim);
  std::tie(m.rms_mean, m.rms_sd) = trimmed_mean_sd(std::move(rms_searched), c.z_trim);
}

SpindleDetector::~SpindleDetector() = default;
SpindleDetector::SpindleDetector(SpindleDetector&&) noexcept = default;
SpindleDetector& SpindleDetector::operator=(SpindleDetector&&) noexcept = default;

double SpindleDetector::processing_fs_hz() const { return impl_->fs; }
double SpindleDetector::searched_min() const { return static_cast<double>(impl_->n_searched) / impl_->fs / 60.0; }
std::vector<Spindle> SpindleDetector::detect() const { return detect(impl_->criteria.thresholds); }

std::vector<Spindle> SpindleDetector::detect(const SpindleThresholds& t) const {
  const Impl& m = *impl_;
  const SpindleCriteria& c = m.criteria;
  std::vector<Spindle> events;
  if (m.n_searched == 0 || !std::isfinite(m.rms_mean) || !std::isfinite(m.rel_mean)) return events;
  const float thr_rel = static_cast<float>(std::max(t.rel_pow, m.rel_mean + t.rel_z * m.rel_sd)), thr_corr = static_cast<float>(t.corr);
  const float thr_rms = static_cast<float>(std::min(m.rms_mean + t.rms_z * m.rms_sd, c.rms_cap_uv));
  // Criteria met at sample i (0 outside the searched stages and outside the signal).
  Impl::SearchedCursor met_cursor = m.searched_cursor(), spindle_cursor = m.searched_cursor();
  const auto met = [&](size_t i) -> size_t {
    if (i >= m.n || !met_cursor.at(i)) return 0;
    const Impl::Lerp l = m.lerp_at(i);
    return static_cast<size_t>(Impl::value(m.rel, l) >= thr_rel) + (Impl::value(m.corr, l) >= thr_corr) +
           (Impl::value(m.rms, l) >= thr_rms);
  };
  // numpy.convolve(met, ones(w), "same") / w > 2: the window of sample i is [i + ahead − w + 1, i + ahead].
  // A window sums above 2w only if one of its samples meets all three criteria, and an interpolated
  // value lies between its two block values, so only block intervals where every criterion reaches
  // its threshold at one end (less a margin for float rounding) are evaluated sample by sample.
  const size_t w = std::max<size_t>(1, static_cast<size_t>(c.smooth_s * m.fs));
  const size_t ahead = (w - 1) / 2;
  const auto reaches = [](const std::vector<float>& v, size_t b, float thr) {
    const float v0 = v[b], v1 = v[std::min(b + 1, v.size() - 1)];
    return std::max(v0, v1) + 1e-5f * (std::fabs(v0) + std::fabs(v1)) >= thr;
  };
  std::vector<std::pair<size_t, size_t>> regions;  // merged half-open sample ranges to evaluate
  for (size_t b = 0; b < m.n_blocks; ++b) {
    if (!(reaches(m.rel, b, thr_rel) && reaches(m.corr, b, thr_corr) && reaches(m.rms, b, thr_rms))) continue;
    // Samples interpolated from centres b and b + 1, i.e. from b·block + (block − 1)/2 to the next
    // centre (those before the first and after the last centre are held at its value), widened by
    // the smoothing window on both sides.
    const size_t a = b == 0 ? 0 : b * m.block + (m.block - 1) / 2;
    const size_t e = b + 2 >= m.n_blocks ? m.n : (b + 1) * m.block + m.block / 2 + 1;
    const size_t lo = a > w ? a - w : 0, hi = std::min(m.n, e + w);
    if (!regions.empty() && lo <= regions.back().second)
      regions.back().second = std::max(regions.back().second, hi);
    else
      regions.emplace_back(lo, hi);
  }
  std::vector<std::pair<size_t, size_t>> runs;  // [first, last] spindle samples
  std::vector<uint8_t> ring(w, 0);
  for (const auto& [lo, hi] : regions) {
    // The window's values are kept in a ring of w entries (slot (j + w) % w for sample j); it starts
    // with samples [lo + ahead − w, lo + ahead), those before the first sample counting 0.
    size_t sum = 0;
    for (size_t j = lo + ahead; j < lo + ahead + w; ++j) sum += ring[j % w] = j >= w ? static_cast<uint8_t>(met(j - w)) : 0;
    for (size_t i = lo; i < hi; ++i) {
      uint8_t& slot = ring[(i + ahead + w) % w];
      sum -= slot;
      slot = static_cast<uint8_t>(met(i + ahead));
      sum += slot;
      if (sum > 2 * w && spindle_cursor.at(i)) {
        // Join to the previous run when the gap is shorter than min_distance_s (YASA _merge_close).
        if (!runs.empty() && static_cast<double>(i - runs.back().second) / m.fs * 1000.0 < t.min_distance_s * 1000.0)
          runs.back().second = i;
        else
          runs.emplace_back(i, i);
      }
    }
  }
  const std::span<const float> sigma(m.sigma), broad(m.broad);
  for (const auto& [first, last] : runs) {
    const double duration_s = static_cast<double>(last - first) / m.fs;
    if (!(duration_s > c.min_duration_s && duration_s < c.max_duration_s)) continue;
    Spindle sp;
    sp.channel = m.channel;
    sp.start_s = static_cast<double>(first) / m.fs;
    sp.end_s = static_cast<double>(last) / m.fs;
    sp.duration_s = duration_s;
    const size_t len = last - first + 1;
    // Linear detrend of the broadband signal (least squares on sample index), then ptp and RMS.
    const double mid = 0.5 * static_cast<double>(len - 1);
    double sy = 0, sty = 0, stt = 0;
    for (size_t j = 0; j < len; ++j) {
      const double tj = static_cast<double>(j) - mid;
      sy += broad[first + j], sty += tj * broad[first + j], stt += tj * tj;
    }
    const double intercept = sy / static_cast<double>(len), slope = stt > 0 ? sty / stt : 0;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo, sq = 0;
    for (size_t j = 0; j < len; ++j) {
      const double r = broad[first + j] - intercept - slope * (static_cast<double>(j) - mid);
      lo = std::min(lo, r), hi = std::max(hi, r), sq += r * r;
    }
    sp.amplitude_uv = hi - lo;
    sp.rms_uv = std::sqrt(sq / static_cast<double>(len));
    size_t peak = first;
    for (size_t i = first; i <= last; ++i) {
      if (std::fabs(sigma[i]) > std::fabs(sigma[peak])) peak = i;
      if (i > first && i < last && sigma[i] > 0 && sigma[i] > sigma[i - 1] && sigma[i] >= sigma[i + 1]) ++sp.oscillations;
    }
    // Frequency from the crossings where the spindle stands out: between the first and last sample
    // reaching half the peak |sigma| (the event's edges are mostly background sigma noise).
    size_t core_first = first, core_last = last;
    const float half_peak = 0.5f * std::fabs(sigma[peak]);
    while (std::fabs(sigma[core_first]) < half_peak) ++core_first;
    while (std::fabs(sigma[core_last]) < half_peak) --core_last;
    size_t n_cross = 0;
    double first_cross = 0, last_cross = 0;
    for (size_t i = core_first + 1; i <= core_last; ++i)
      if ((sigma[i - 1] < 0) != (sigma[i] < 0)) {
        last_cross = crossing_at(sigma, i);
        if (n_cross++ == 0) first_cross = last_cross;
      }
    sp.peak_s = static_cast<double>(peak) / m.fs;
    sp.symmetry = (sp.peak_s - sp.start_s) / duration_s;
    sp.frequency_hz = n_cross >= 2 && last_cross > first_cross
                          ? static_cast<double>(n_cross - 1) / (2 * (last_cross - first_cross) / m.fs)
                          : kNaN;
    if (m.hypnogram) {
      const double e = std::floor((sp.start_s - m.hypnogram->start_s) / m.hypnogram->epoch_s);
      if (e >= 0 && e < static_cast<double>(m.hypnogram->size())) sp.stage = m.hypnogram->stages[static_cast<size_t>(e)];
    }
    events.push_back(std::move(sp));
  }
  return events;
}

std::vector<Spindle> detect_spindles(std::span<const float> eeg_uv, double fs_hz, const SpindleSearch& search,
                                     const SpindleCriteria& criteria, const std::string& channel) {
  return SpindleDetector(eeg_uv, fs_hz, search, criteria, channel).detect();
}

std::vector<std::vector<Spindle>> keep_multichannel(const std::vector<std::vector<Spindle>>& per_channel,
                                                    size_t min_channels) {
  std::vector<std::vector<Spindle>> kept(per_channel.size());
  for (size_t c = 0; c < per_channel.size(); ++c)
    for (const Spindle& sp : per_channel[c]) {
      size_t agree = 1;
      for (size_t o = 0; o < per_channel.size(); ++o)
        if (o != c && std::any_of(per_channel[o].begin(), per_channel[o].end(), [&](const Spindle& q) {
              return q.start_s <= sp.end_s && sp.start_s <= q.end_s;
            }))
          ++agree;
      if (agree >= min_channels) kept[c].push_back(sp);
    }
  return kept;
}

std::vector<SpindleSummary> summarize_spindles(const std::vector<Spindle>& events, const std::vector<std::string>& channels,
                                               const SpindleSearch& search, double signal_duration_s) {
  std::vector<std::pair<std::string, double>> stage_minutes;  // label, minutes
  if (search.hypnogram) {
    const Hypnogram& h = *search.hypnogram;
    double all = 0;
    for (const Stage s : search.stages) {
      double minutes = 0;
      for (size_t e = 0; e < h.size(); ++e)
        if (h.stages[e] == s && h.onset_s(e + 1) <= signal_duration_s + 1e-9) minutes += h.epoch_s / 60.0;
      stage_minutes.emplace_back(std::string(to_string(s)), minutes);
      all += minutes;
    }
    stage_minutes.emplace_back("all", all);
  } else {
    stage_minutes.emplace_back("all", signal_duration_s / 60.0);
  }
  std::vector<SpindleSummary> rows;
  for (const auto& channel : channels)
    for (const auto& [label, minutes] : stage_minutes) {
      SpindleSummary r{channel, label, 0, minutes, 0, 0, 0, 0};
      for (const Spindle& sp : events) {
        if (sp.channel != channel || (label != "all" && (!sp.stage || to_string(*sp.stage) != label))) continue;
        ++r.count;
        r.mean_duration_s += sp.duration_s, r.mean_frequency_hz += sp.frequency_hz, r.mean_amplitude_uv += sp.amplitude_uv;
      }
      const double n = static_cast<double>(r.count);
      r.density_per_min = minutes > 0 ? n / minutes : kNaN;
      r.mean_duration_s = r.count ? r.mean_duration_s / n : kNaN;
      r.mean_frequency_hz = r.count ? r.mean_frequency_hz / n : kNaN;
      r.mean_amplitude_uv = r.count ? r.mean_amplitude_uv / n : kNaN;
      rows.push_back(std::move(r));
    }
  return rows;
}

namespace {

// Hilbert phase at each time of a signal already band-passed to the slow-oscillation band.
std::vector<double> phase_of_band(std::span<const float> so, double fs_hz, std::span<const double> times_s) {
  const size_t half = static_cast<size_t>(std::llround(4.0 * fs_hz));
  std::vector<double> kernel(half + 1, 0.0);  // kernel[k] for odd k, 1 <= k <= half
  for (size_t k = 1; k <= half; k += 2)
    kernel[k] = 2.0 / (std::numbers::pi * static_cast<double>(k)) *
                (0.54 + 0.46 * std::cos(std::numbers::pi * static_cast<double>(k) / static_cast<double>(half)));
  std::vector<double> phases;
  phases.reserve(times_s.size());
  for (const double t : times_s) {
    const double pos = std::round(t * fs_hz);
    if (!(pos >= 0 && pos < static_cast<double>(so.size()))) {
      phases.push_back(kNaN);
      continue;
    }
    const size_t i = static_cast<size_t>(pos);
    double h = 0;
    for (size_t k = 1; k <= half; k += 2) {
      const double before = k <= i ? so[i - k] : 0.0, after = i + k < so.size() ? so[i + k] : 0.0;
      h += kernel[k] * (before - after);
    }
    phases.push_back(std::atan2(h, static_cast<double>(so[i])));
  }
  return phases;
}

}  // namespace

std::vector<double> slow_oscillation_phase(std::span<const float> eeg_uv, double fs_hz, std::span<const double> times_s,
                                           double so_low_hz, double so_high_hz) {
  std::vector<float> so;
  detail::reserve_night_buffer(so, eeg_uv.size());
  so.assign(eeg_uv.begin(), eeg_uv.end());
  IirFilter::butter_bandpass(2, so_low_hz, so_high_hz, fs_hz).filtfilt_inplace_in_lanes(std::span<float>(so));
  return phase_of_band(so, fs_hz, times_s);
}

SpindleCoupling circular_coupling(std::span<const double> phases_rad) {
  SpindleCoupling c;
  double sc = 0, ss = 0;
  for (const double p : phases_rad)
    if (std::isfinite(p)) sc += std::cos(p), ss += std::sin(p), ++c.n;
  if (c.n == 0) return {0, kNaN, kNaN};
  c.mean_phase_rad = std::atan2(ss, sc);
  c.vector_length = std::hypot(sc, ss) / static_cast<double>(c.n);
  return c;
}

NightSpindles night_spindles(std::span<const float> eeg_uv, double fs_hz, const Hypnogram& hypnogram) {
  const SpindleCriteria criteria;
  double fs = 0;
  std::vector<float> resampled;
  const std::span<const float> x = at_processing_rate(eeg_uv, fs_hz, criteria.processing_fs_hz, fs, resampled);
  SpindleSearch search{&hypnogram, {Stage::N2, Stage::N3}};
  const std::vector<Spindle> events = detect_spindles(x, fs, search, criteria);
  const double duration_s = static_cast<double>(x.size()) / fs;
  const std::vector<SpindleSummary> rows = summarize_spindles(events, {""}, search, duration_s);
  NightSpindles r;
  r.density_n2_per_min = rows[0].density_per_min;
  r.density_n2n3_per_min = rows[2].density_per_min;
  r.mean_frequency_hz = rows[2].mean_frequency_hz;
  r.mean_amplitude_uv = rows[2].mean_amplitude_uv;
  r.count_n2n3 = rows[2].count;
  std::vector<double> peaks;
  for (const Spindle& sp : events) peaks.push_back(sp.peak_s);
  r.coupling = circular_coupling(slow_oscillation_phase(x, fs, peaks));
  return r;
}

// ---- Scoring ----

double EventCounts::precision() const { return detected ? static_cast<double>(matched) / static_cast<double>(detected) : kNaN; }
double EventCounts::recall() const { return reference ? static_cast<double>(matched) / static_cast<double>(reference) : kNaN; }
double EventCounts::f1() const {
  return detected + reference ? 2.0 * static_cast<double>(matched) / static_cast<double>(detected + reference) : kNaN;
}
EventCounts& EventCounts::operator+=(const EventCounts& o) {
  detected += o.detected, reference += o.reference, matched += o.matched;
  return *this;
}

EventCounts match_events(const std::vector<TimeInterval>& detected, const std::vector<TimeInterval>& reference,
                         double min_iou, std::vector<std::pair<size_t, size_t>>* pairs) {
  struct Candidate {
    double iou;
    size_t d, r;
  };
  std::vector<Candidate> candidates;
  for (size_t d = 0; d < detected.size(); ++d)
    for (size_t r = 0; r < reference.size(); ++r) {
      const TimeInterval& a = detected[d];
      const TimeInterval& b = reference[r];
      const double inter = std::min(a.end_s, b.end_s) - std::max(a.start_s, b.start_s);
      if (inter <= 0) continue;
      const double iou = inter / (std::max(a.end_s, b.end_s) - std::min(a.start_s, b.start_s));
      if (iou >= min_iou) candidates.push_back({iou, d, r});
    }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& x, const Candidate& y) {
    if (x.iou != y.iou) return x.iou > y.iou;
    return x.r != y.r ? x.r < y.r : x.d < y.d;
  });
  std::vector<bool> used_d(detected.size()), used_r(reference.size());
  EventCounts counts{detected.size(), reference.size(), 0};
  for (const Candidate& c : candidates) {
    if (used_d[c.d] || used_r[c.r]) continue;
    used_d[c.d] = used_r[c.r] = true;
    ++counts.matched;
    if (pairs) pairs->emplace_back(c.d, c.r);
  }
  return counts;
}

std::vector<TimeInterval> to_intervals(const std::vector<Spindle>& events) {
  std::vector<TimeInterval> out;
  out.reserve(events.size());
  for (const Spindle& sp : events) out.push_back({sp.start_s, sp.end_s});
  return out;
}

std::vector<TimeInterval> read_dreams_events(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(path.string(), "", "cannot open file");
  std::vector<TimeInterval> events;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos || (line_no == 1 && line.find('[') != std::string::npos))
      continue;
    std::istringstream fields(line);
    double onset = 0, duration = 0;
    std::string rest;
    if (!(fields >> onset >> duration) || (fields >> rest) || !std::isfinite(onset) || !std::isfinite(duration) ||
        onset < 0 || duration <= 0)
      throw Error(path.string(), "line " + std::to_string(line_no),
                  "expected \"onset duration\" in seconds (onset >= 0, duration > 0), got \"" + line + "\"");
    events.push_back({onset, onset + duration});
  }
  return events;
}

std::vector<size_t> leave_one_out_choice(const std::vector<std::vector<EventCounts>>& counts) {
  if (counts.size() < 2) throw Error("", "counts", "leave-one-out needs at least two excerpts");
  const size_t n_grid = counts.front().size();
  for (const auto& row : counts)
    if (row.size() != n_grid || n_grid == 0) throw Error("", "counts", "every excerpt needs the same non-empty grid");
  std::vector<size_t> choice;
  for (size_t held = 0; held < counts.size(); ++held) {
    size_t best = 0;
    double best_f1 = -1;
    for (size_t g = 0; g < n_grid; ++g) {
      EventCounts pooled;
      for (size_t e = 0; e < counts.size(); ++e)
        if (e != held) pooled += counts[e][g];
      const double f1 = std::isfinite(pooled.f1()) ? pooled.f1() : -1;
      if (f1 > best_f1) best_f1 = f1, best = g;
    }
    choice.push_back(best);
  }
  return choice;
}

std::vector<SpindleThresholds> default_threshold_grid() {
  std::vector<SpindleThresholds> grid;
  for (const double min_distance_s : {0.3, 0.5, 0.7, 1.0})
    for (int r = 0; r <= 4; ++r)
      for (int c = 0; c <= 10; ++c)
        for (int z = 0; z <= 10; ++z) grid.push_back({0, 0.5 * r, 0.3 + 0.05 * c, 1.5 + 0.25 * z, min_distance_s});
  return grid;
}

DreamsValidation validate_dreams(const std::filesystem::path& dir, const SpindleCriteria& criteria,
                                 const std::vector<SpindleThresholds>& grid, double min_iou, double expert1_scored_s) {
  DreamsValidation v;
  std::vector<std::vector<EventCounts>> counts, counts2;
  std::vector<std::vector<TimeInterval>> expert2;
  std::vector<SpindleDetector> detectors;
  std::vector<std::vector<TimeInterval>> expert1;
  // Events starting within the stretch expert 1 scored.
  const auto scored = [&](std::vector<TimeInterval> events) {
    std::erase_if(events, [&](const TimeInterval& e) { return !(e.start_s < expert1_scored_s); });
    return events;
  };
  for (int e = 1; e <= 8; ++e) {
    const std::string name = "excerpt" + std::to_string(e);
    const auto edf = dir / (name + ".edf"), marks1 = dir / (name + ".spindles-expert1.txt"),
               marks2 = dir / (name + ".spindles-expert2.txt"), hyp = dir / (name + ".hypnogram.csv");
    if (!std::filesystem::exists(edf) || !std::filesystem::exists(marks1)) continue;
    const Recording recording = Recording::open(edf);
    const Hypnogram hypnogram = read_hypnogram(hyp);
    const SpindleSearch search{&hypnogram, {Stage::N1, Stage::N2, Stage::N3}};
    detectors.emplace_back(recording.read(0), recording.signals()[0].fs_hz, search, criteria, name);
    expert1.push_back(scored(read_dreams_events(marks1)));
    expert2.push_back(std::filesystem::exists(marks2) ? read_dreams_events(marks2) : std::vector<TimeInterval>{});
    DreamsExcerptScore score;
    score.excerpt = name;
    score.defaults_vs_expert1 = match_events(scored(to_intervals(detectors.back().detect())), expert1.back(), min_iou);
    if (std::filesystem::exists(marks2))
      score.expert2_vs_expert1 = match_events(scored(expert2.back()), expert1.back(), min_iou);
    v.excerpts.push_back(score);
    std::vector<EventCounts> row, row2;
    for (const SpindleThresholds& t : grid) {
      const auto detected = to_intervals(detectors.back().detect(t));
      row.push_back(match_events(scored(detected), expert1.back(), min_iou));
      row2.push_back(match_events(detected, expert2.back(), min_iou));
    }
    counts.push_back(std::move(row));
    counts2.push_back(std::move(row2));
  }
  if (v.excerpts.size() < 2) throw Error(dir.string(), "", "fewer than two DREAMS excerpts with expert-1 marks");
  const std::vector<size_t> choice = leave_one_out_choice(counts);
  for (size_t e = 0; e < v.excerpts.size(); ++e) {
    DreamsExcerptScore& s = v.excerpts[e];
    s.loo_thresholds = grid[choice[e]];
    s.loo_vs_expert1 = counts[e][choice[e]];
    v.pooled_defaults += s.defaults_vs_expert1;
    v.pooled_loo += s.loo_vs_expert1;
    if (s.expert2_vs_expert1) {
      s.loo_vs_expert2 = counts2[e][choice[e]];
      v.pooled_loo_vs_expert2 += *s.loo_vs_expert2;
      v.pooled_expert2_vs_expert1 += *s.expert2_vs_expert1;
    }
  }
  // In-sample best: leave nothing out (an extra all-zero excerpt makes leave_one_out_choice pool all).
  counts.emplace_back(grid.size());
  const size_t best = leave_one_out_choice(counts).back();
  v.best_all = grid[best];
  for (size_t e = 0; e + 1 < counts.size(); ++e) v.pooled_best_all += counts[e][best];
  return v;
}

}  // namespace psgkit
