// Per-epoch EEG features (see features.hpp). One Welch PSD per epoch feeds every spectral feature; the
// time-domain statistics come from two fused passes over the samples. All buffers are allocated once
// per channel, none per epoch.
#include "psgkit/features.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "psgkit/error.hpp"
#include "psgkit/io.hpp"
#include "psgkit/preprocess.hpp"
#include "features_internal.hpp"

namespace psgkit {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string number_label(double v) {
  std::string s = format_double(v);
  std::replace(s.begin(), s.end(), '.', 'p');
  return s;
}

// Inclusive bin range [first, first + count) of the bins with lo <= f <= hi.
struct BinRange {
  size_t first = 0, count = 0;
  bool valid = false;  // false: band above Nyquist (NaN)
};

BinRange bins_in(const std::vector<double>& freq, double lo, double hi) {
  BinRange r;
  const auto a = std::lower_bound(freq.begin(), freq.end(), lo);
  const auto b = std::upper_bound(a, freq.end(), hi);
  r.first = static_cast<size_t>(a - freq.begin());
  r.count = static_cast<size_t>(b - a);
  r.valid = true;
  return r;
}

// Power of a bin range: Simpson (µV²) or mean density (µV²/Hz); `sum` receives the plain bin sum.
double integrate(std::span<const double> psd, const BinRange& r, BandIntegration integration, double df,
                 double* sum) {
  const auto y = psd.subspan(r.first, r.count);
  double s = 0.0;
  for (double v : y) s += v;
  if (sum) *sum = s;
  if (integration == BandIntegration::Simpson) return simpson(y, df);
  return s / static_cast<double>(r.count);
}

struct ChannelPlan {
  explicit ChannelPlan(const WelchOptions& options) : welch(options) {}
  WelchEstimator welch;
  double df = 0;
  std::vector<BinRange> bands;
  BinRange swa, total, aperiodic;
  double aperiodic_x_mean = 0, aperiodic_sxx = 0;
  std::vector<double> log_freq;  // log10 f over the aperiodic bins
};

}  // namespace

std::vector<Band> default_bands() {
  return {{"so", 0.5, 1.0},    {"delta", 0.5, 4.0}, {"theta", 4.0, 8.0}, {"alpha", 8.0, 12.0},
          {"sigma", 12.0, 16.0}, {"beta", 16.0, 30.0}, {"gamma", 30.0, 45.0}};
}

std::string column_prefix(std::string_view label) {
  std::string lower;
  for (char c : label) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!lower.empty() && lower.front() == ' ') lower.erase(lower.begin());
  if (lower.rfind("eeg ", 0) == 0) lower.erase(0, 4);
  std::string out;
  for (char c : lower) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (keep) out += c;
    else if (!out.empty() && out.back() != '_') out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "ch" : out;
}

namespace {
int band_index(const FeatureOptions& o, std::string_view name) {
  for (size_t i = 0; i < o.bands.size(); ++i)
    if (o.bands[i].name == name) return static_cast<int>(i);
  return -1;
}
struct Ratio {
  const char* name;
  int num, den;
};
std::vector<Ratio> ratios(const FeatureOptions& o) {
  std::vector<Ratio> out;
  const int delta = band_index(o, "delta"), theta = band_index(o, "theta"), alpha = band_index(o, "alpha"),
            beta = band_index(o, "beta");
  if (delta >= 0 && theta >= 0) out.push_back({"delta_theta_ratio", delta, theta});
  if (delta >= 0 && beta >= 0) out.push_back({"delta_beta_ratio", delta, beta});
  if (theta >= 0 && alpha >= 0) out.push_back({"theta_alpha_ratio", theta, alpha});
  return out;
}
}  // namespace

std::vector<std::string> feature_names(const FeatureOptions& options) {
  const std::string abs_unit = options.integration == BandIntegration::Simpson ? "_abs_uv2" : "_abs_uv2_per_hz";
  std::vector<std::string> names;
  for (const auto& band : options.bands) names.push_back(band.name + abs_unit);
  for (const auto& band : options.bands) names.push_back(band.name + "_rel");
  names.push_back(options.swa.name + (options.integration == BandIntegration::Simpson ? "_uv2" : "_uv2_per_hz"));
  for (const auto& r : ratios(options)) names.push_back(r.name);
  for (const char* n : {"sef50_hz", "sef95_hz", "spectral_entropy", "aperiodic_slope", "var_uv2",
                        "hjorth_activity_uv2", "hjorth_mobility", "hjorth_complexity", "zero_crossings",
                        "line_length_uv", "skewness", "kurtosis"})
    names.emplace_back(n);
  names.push_back("ipr_" + number_label(options.percentile_lo) + "_" + number_label(options.percentile_hi) + "_uv");
  return names;
}

FeatureTable compute_features(std::span<const ChannelSamples> channels, const FeatureOptions& options,
                              std::vector<std::string>* warnings) {
  auto warn = [&](std::string text) {
    if (warnings) warnings->push_back(std::move(text));
  };
  if (channels.empty()) throw Error("", "channels", "no channel given");
  if (!(options.percentile_lo >= 0 && options.percentile_lo <= options.percentile_hi && options.percentile_hi <= 100))
    throw Error("", "percentile", "need 0 <= percentile_lo <= percentile_hi <= 100");
  for (const auto& band : options.bands)
    if (!(band.lo_hz >= 0 && band.lo_hz < band.hi_hz))
      throw Error("", "band " + band.name, "need 0 <= lo < hi, got " + format_double(band.lo_hz) + "-" +
                                              format_double(band.hi_hz) + " Hz");
  const auto per_channel = feature_names(options);
  const auto ratio_list = ratios(options);
  const size_t n_per = per_channel.size();

  // Epoch grids per channel; the table has as many rows as the shortest channel allows.
  std::vector<Epochs<float>> epochs;
  size_t n_rows = std::numeric_limits<size_t>::max();
  for (const auto& ch : channels) {
    epochs.push_back(make_epochs(ch.samples_uv, ch.fs_hz, options.epoch_s, options.offset_s));
    const auto& e = epochs.back();
    if (e.dropped_samples > 0)
      warn(ch.prefix + ": the last " + format_double(e.dropped_s()) + " s after epoch " + std::to_string(e.count) +
           " form a partial epoch and were dropped");
    n_rows = std::min(n_rows, e.count);
  }
  if (n_rows == 0) throw Error("", "epoch_s", "no whole " + format_double(options.epoch_s) + "-s epoch in the signal");
  for (size_t c = 0; c < channels.size(); ++c)
    if (epochs[c].count != n_rows)
      warn(channels[c].prefix + ": " + std::to_string(epochs[c].count - n_rows) +
           " epoch(s) beyond the shortest channel were not used");

  FeatureTable table;
  for (const auto& ch : channels)
    for (const auto& name : per_channel) table.columns.push_back(ch.prefix + "_" + name);
  table.onset_s.resize(n_rows);
  for (size_t e = 0; e < n_rows; ++e)
    table.onset_s[e] = static_cast<double>(epochs[0].first_sample + e * epochs[0].samples_per_epoch) / channels[0].fs_hz;
  const size_t n_cols = table.columns.size();
  table.values.assign(n_rows * n_cols, kNaN);

  for (size_t c = 0; c < channels.size(); ++c) {
    const auto& ch = channels[c];
    const auto& ep = epochs[c];
    const double nyquist = ch.fs_hz / 2.0;
    WelchOptions wo;
    wo.fs_hz = ch.fs_hz;
    wo.nperseg = static_cast<int>(std::lround(options.welch_window_s * ch.fs_hz));
    if (wo.nperseg < 2 || static_cast<size_t>(wo.nperseg) > ep.samples_per_epoch)
      throw Error("", "welch_window_s", "Welch window of " + format_double(options.welch_window_s) +
                                            " s must hold at least 2 samples and fit in one epoch");
    ChannelPlan plan(wo);
    const auto& freq = plan.welch.freq_hz();
    plan.df = freq[1] - freq[0];
    const size_t min_bins = options.integration == BandIntegration::Simpson ? 2 : 1;
    auto band_bins = [&](const Band& band) {
      if (band.hi_hz > nyquist) {
        warn(ch.prefix + ": band " + band.name + " (" + format_double(band.lo_hz) + "-" + format_double(band.hi_hz) +
             " Hz) exceeds the Nyquist frequency " + format_double(nyquist) + " Hz: its features are NaN");
        return BinRange{};
      }
      BinRange r = bins_in(freq, band.lo_hz, band.hi_hz);
      if (r.count < min_bins) {
        warn(ch.prefix + ": band " + band.name + " holds fewer than " + std::to_string(min_bins) +
             " frequency bins at " + format_double(plan.df) + " Hz resolution: its features are NaN");
        r.valid = false;
      }
      return r;
    };
    for (const auto& band : options.bands) plan.bands.push_back(band_bins(band));
    plan.swa = band_bins(options.swa);
    Band total = options.total;
    if (total.hi_hz > nyquist) {
      warn(ch.prefix + ": the reference band for relative power, SEF and entropy (" + format_double(total.lo_hz) + "-" +
           format_double(total.hi_hz) + " Hz) is clipped to the Nyquist frequency " + format_double(nyquist) + " Hz");
      total.hi_hz = nyquist;
    }
    plan.total = band_bins(total);
    double ap_hi = options.aperiodic_hi_hz;
    if (ap_hi > nyquist) {
      warn(ch.prefix + ": the aperiodic fit range is clipped to the Nyquist frequency " + format_double(nyquist) + " Hz");
      ap_hi = nyquist;
    }
    plan.aperiodic = bins_in(freq, std::max(options.aperiodic_lo_hz, plan.df), ap_hi);  // f > 0 for the log
    plan.aperiodic.valid = plan.aperiodic.count >= 2;
    for (size_t k = 0; k < plan.aperiodic.count; ++k) plan.log_freq.push_back(std::log10(freq[plan.aperiodic.first + k]));
    if (plan.aperiodic.valid) {
      double s = 0;
      for (double v : plan.log_freq) s += v;
      plan.aperiodic_x_mean = s / static_cast<double>(plan.log_freq.size());
      for (double v : plan.log_freq) plan.aperiodic_sxx += (v - plan.aperiodic_x_mean) * (v - plan.aperiodic_x_mean);
    }

    std::vector<double> psd(freq.size());
    std::vector<double> band_abs(options.bands.size()), band_sum(options.bands.size());
    std::vector<float> scratch(3 * ep.samples_per_epoch);
    const size_t n = ep.samples_per_epoch;
    for (size_t e = 0; e < n_rows; ++e) {
      const auto x = ep[e];
      double* out = table.values.data() + e * n_cols + c * n_per;
      size_t col = 0;
      // ---- spectral
      plan.welch.compute(x, std::span<double>(psd));
      double total_sum = 0.0;
      const double total_power = plan.total.valid ? integrate(psd, plan.total, options.integration, plan.df, &total_sum) : kNaN;
      for (size_t b = 0; b < options.bands.size(); ++b)
        band_abs[b] = plan.bands[b].valid ? integrate(psd, plan.bands[b], options.integration, plan.df, &band_sum[b]) : kNaN;
      for (size_t b = 0; b < options.bands.size(); ++b) out[col++] = band_abs[b];
      for (size_t b = 0; b < options.bands.size(); ++b) {
        const bool mean = options.integration == BandIntegration::MeanOverBins;
        out[col++] = plan.bands[b].valid ? (mean ? band_sum[b] / total_sum : band_abs[b] / total_power) : kNaN;
      }
      out[col++] = plan.swa.valid ? integrate(psd, plan.swa, options.integration, plan.df, nullptr) : kNaN;
      for (const auto& r : ratio_list) out[col++] = band_abs[static_cast<size_t>(r.num)] / band_abs[static_cast<size_t>(r.den)];
      // SEF50/95 and entropy over the total band.
      if (plan.total.valid && total_sum > 0) {
        const auto y = std::span<const double>(psd).subspan(plan.total.first, plan.total.count);
        const double* f = freq.data() + plan.total.first;
        for (double fraction : {0.5, 0.95}) {
          const double target = fraction * total_sum;
          double cum = 0.0, edge = f[y.size() - 1];
          for (size_t k = 0; k < y.size(); ++k) {
            if (cum + y[k] >= target) {
              edge = f[k] - plan.df + plan.df * (target - cum) / y[k];
              break;
            }
            cum += y[k];
          }
          out[col++] = edge;
        }
        double entropy = 0.0;
        const double inv = 1.0 / total_sum;
        for (double v : y)
          if (v > 0) entropy -= v * inv * std::log2(v * inv);
        out[col++] = entropy / std::log2(static_cast<double>(y.size()));
      } else {
        col += 3;
      }
      if (plan.aperiodic.valid) {
        double sxy = 0.0;
        for (size_t k = 0; k < plan.aperiodic.count; ++k)
          sxy += (plan.log_freq[k] - plan.aperiodic_x_mean) * std::log10(psd[plan.aperiodic.first + k]);
        out[col] = sxy / plan.aperiodic_sxx;
      }
      ++col;
      // ---- time domain
      const detail::SampleMoments m = detail::sample_moments(x);
      if (!std::isfinite(m.sum))
        throw Error("", ch.prefix, "epoch " + std::to_string(e + 1) + " (onset " + format_double(table.onset_s[e]) +
                                       " s) holds a non-finite sample (NaN or infinity)");
      out[col++] = m.variance(n);
      out[col++] = m.variance(n);
      out[col++] = m.hjorth_mobility(n);
      out[col++] = m.hjorth_complexity(n);
      out[col++] = static_cast<double>(m.crossings);
      out[col++] = m.line_length;
      out[col++] = m.skewness(n);
      out[col++] = m.excess_kurtosis(n);
      out[col++] = detail::inter_percentile_range_fast(x, options.percentile_lo, options.percentile_hi, scratch);
    }
  }
  return table;
}

Spectrum average_psd(std::span<const float> x_uv, double fs_hz, const std::vector<bool>& use_epoch,
                     const AveragePsdOptions& options, size_t* n_used) {
  const auto epochs = make_epochs(x_uv, fs_hz, options.epoch_s, options.offset_s);
  std::optional<WelchEstimator> welch;
  std::optional<MultitaperEstimator> multitaper;
  std::vector<double> freq;
  if (options.method == PsdMethod::Welch) {
    WelchOptions wo;
    wo.fs_hz = fs_hz;
    wo.nperseg = static_cast<int>(std::lround(options.welch_window_s * fs_hz));
    welch.emplace(wo);
    freq = welch->freq_hz();
  } else {
    MultitaperOptions mo;
    mo.fs_hz = fs_hz;
    mo.time_halfbandwidth = options.time_halfbandwidth;
    multitaper.emplace(static_cast<int>(epochs.samples_per_epoch), mo);
    freq = multitaper->freq_hz();
  }
  Spectrum mean{freq, std::vector<double>(freq.size(), 0.0)};
  std::vector<double> psd(freq.size());
  size_t used = 0;
  for (size_t e = 0; e < epochs.size(); ++e) {
    if (!use_epoch.empty() && (e >= use_epoch.size() || !use_epoch[e])) continue;
    if (welch) welch->compute(epochs[e], std::span<double>(psd));
    else psd = multitaper->compute(epochs[e]).power;
    for (size_t k = 0; k < psd.size(); ++k) mean.power[k] += psd[k];
    ++used;
  }
  if (used == 0) throw Error("", "epochs", "no epoch selected for the average spectrum");
  for (auto& p : mean.power) p /= static_cast<double>(used);
  if (n_used) *n_used = used;
  return mean;
}

}  // namespace psgkit
