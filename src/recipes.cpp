// The Sleep-EDF feature recipes (see recipes.hpp), bit-faithful to numpy/scipy where it matters.
//
// Built with -std=c++20 (ISO mode), GCC does not contract a*b+c into FMA (-ffp-contract=off), which the
// numpy.linspace bin edges below rely on.
#include "psgkit/recipes.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>
#include <string>

#include "features_internal.hpp"
#include "psgkit/error.hpp"
#include "psgkit/io.hpp"
#include "psgkit/preprocess.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/spectral.hpp"

namespace psgkit {
namespace {

const std::vector<std::string>& bandpower_names() {
  static const std::vector<std::string> names = {"delta_psd", "theta_psd", "alpha_psd", "beta_psd",
                                                 "gamma_psd", "var",       "mobility"};
  return names;
}
const std::vector<std::string>& timedomain_names() {
  static const std::vector<std::string> names = {
      "std",         "iqr",          "skew",           "kurtosis",        "zero_crossings",
      "hjorth_mobility", "hjorth_complexity", "higuchi_fd", "petrosian_fd", "hist_entropy_5",
      "hist_entropy_10", "hist_entropy_30", "hist_entropy_60"};
  return names;
}

struct BandEdges {
  double lo_hz, hi_hz;
};
constexpr BandEdges kBandpowerBands[] = {{0.5, 4.0}, {4.0, 8.0}, {8.0, 13.0}, {13.0, 30.0}, {30.0, 50.0}};

double population_variance(std::span<const double> x) {
  double sum = 0.0;
  for (double v : x) sum += v;
  const double mean = sum / static_cast<double>(x.size());
  double ss = 0.0;
  for (double v : x) ss += (v - mean) * (v - mean);
  return ss / static_cast<double>(x.size());
}

void bandpower_epoch(std::span<const double> epoch_uv, std::span<double> out) {
  static const WelchEstimator welch([] {
    WelchOptions o;
    o.fs_hz = kSleepEdfFsHz;
    o.nperseg = 256;
    return o;
  }());
  thread_local std::vector<double> volts, diff, psd;
  const size_t n = epoch_uv.size();
  volts.resize(n);
  diff.resize(n - 1);
  psd.resize(welch.freq_hz().size());
  for (size_t i = 0; i < n; ++i) volts[i] = epoch_uv[i] * 1e-6;
  welch.compute(std::span<const double>(volts), std::span<double>(psd));
  size_t col = 0;
  for (const auto& band : kBandpowerBands)
    out[col++] = band_power(welch.freq_hz(), psd, band.lo_hz, band.hi_hz, BandIntegration::MeanOverBins);
  const double var = population_variance(volts);
  for (size_t i = 0; i + 1 < n; ++i) diff[i] = volts[i + 1] - volts[i];
  out[col++] = var;
  out[col++] = std::sqrt(population_variance(diff) / (var + 1e-10));
}

int sign(double v) { return (v > 0) - (v < 0); }

// Higuchi (1988) fractal dimension with the recipe's normalisation (README: n / (k·c·(n-1))).
double higuchi_fd(std::span<const double> x) {
  const size_t n = x.size();
  constexpr int kMax = 10;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (int k = 1; k <= kMax; ++k) {
    double total = 0.0;
    for (int m = 0; m < k; ++m) {
      const size_t c = (n - 1 - static_cast<size_t>(m)) / static_cast<size_t>(k);
      double length = 0.0;
      for (size_t i = 1; i <= c; ++i)
        length += std::abs(x[static_cast<size_t>(m) + i * static_cast<size_t>(k)] -
                           x[static_cast<size_t>(m) + (i - 1) * static_cast<size_t>(k)]);
      total += length * static_cast<double>(n) / (static_cast<double>(k) * static_cast<double>(c) * static_cast<double>(n - 1));
    }
    const double lk = std::log(total / k);
    const double lx = std::log(1.0 / k);
    sx += lx;
    sy += lk;
    sxx += lx * lx;
    sxy += lx * lk;
  }
  const double nk = kMax;
  return (nk * sxy - sx * sy) / (nk * sxx - sx * sx);
}

double petrosian_fd(std::span<const double> x) {
  const size_t n = x.size();
  size_t changes = 0;
  for (size_t i = 0; i + 2 < n; ++i) changes += ((x[i + 1] - x[i]) * (x[i + 2] - x[i + 1]) < 0);
  const double log_n = std::log10(static_cast<double>(n));
  return log_n / (log_n + std::log10(1.0 + 0.4 * static_cast<double>(changes)));
}

// Entropy (bits) of numpy.histogram(x, bins) with the range [min, max].
double histogram_entropy(std::span<const double> x, double lo, double hi, int bins, std::vector<size_t>& counts,
                         std::vector<double>& edges) {
  if (lo == hi) {  // numpy widens an empty range to [lo - 0.5, hi + 0.5]
    lo -= 0.5;
    hi += 0.5;
  }
  // numpy.linspace(lo, hi, bins + 1): i * ((hi - lo) / bins) + lo, last edge = hi exactly.
  edges.resize(static_cast<size_t>(bins) + 1);
  const double step = (hi - lo) / bins;
  for (int i = 0; i < bins; ++i) {
    const double scaled = static_cast<double>(i) * step;
    edges[static_cast<size_t>(i)] = scaled + lo;
  }
  edges[static_cast<size_t>(bins)] = hi;
  counts.assign(static_cast<size_t>(bins), 0);
  const double norm = bins / (hi - lo);  // numpy 1.24; newer numpy divides first — the edge fix-up below makes both agree
  for (double v : x) {
    // numpy's uniform-bin fast path: floor((v - lo) · bins / (hi - lo)), then fixed against the edges.
    const double scaled = (v - lo) * norm;
    long index = static_cast<long>(scaled);
    if (index == bins) --index;
    if (v < edges[static_cast<size_t>(index)]) --index;
    if (v >= edges[static_cast<size_t>(index) + 1] && index != bins - 1) ++index;
    ++counts[static_cast<size_t>(index)];
  }
  const double n = static_cast<double>(x.size());
  double entropy = 0.0;
  for (size_t c : counts)
    if (c > 0) {
      const double p = static_cast<double>(c) / n;
      entropy -= p * std::log2(p);
    }
  return entropy;
}

void timedomain_epoch(std::span<const double> x, std::span<double> out) {
  const size_t n = x.size();
  thread_local std::vector<double> scratch, d1, d2, edges;
  thread_local std::vector<size_t> counts;
  double sum = 0.0;
  for (double v : x) sum += v;
  const double mean = sum / static_cast<double>(n);
  double m2 = 0, m3 = 0, m4 = 0;
  for (double v : x) {
    const double dev = v - mean;
    m2 += dev * dev;
    m3 += dev * dev * dev;
    m4 += dev * dev * dev * dev;
  }
  m2 /= static_cast<double>(n);
  m3 /= static_cast<double>(n);
  m4 /= static_cast<double>(n);
  const double iqr = detail::inter_percentile_range_fast(x, 25.0, 75.0, scratch);
  size_t crossings = 0;
  for (size_t i = 0; i + 1 < n; ++i) crossings += sign(x[i + 1]) != sign(x[i]);
  d1.resize(n - 1);
  d2.resize(n - 2);
  for (size_t i = 0; i + 1 < n; ++i) d1[i] = x[i + 1] - x[i];
  for (size_t i = 0; i + 2 < n; ++i) d2[i] = d1[i + 1] - d1[i];
  const double var_d1 = population_variance(d1), var_d2 = population_variance(d2);
  const double mobility = std::sqrt(var_d1 / m2);
  const auto [min_it, max_it] = std::minmax_element(x.begin(), x.end());
  size_t col = 0;
  out[col++] = std::sqrt(m2);
  out[col++] = iqr;
  out[col++] = m3 / std::pow(m2, 1.5);
  out[col++] = m4 / (m2 * m2) - 3.0;
  out[col++] = static_cast<double>(crossings);
  out[col++] = mobility;
  out[col++] = std::sqrt(var_d2 / var_d1) / mobility;
  out[col++] = higuchi_fd(x);
  out[col++] = petrosian_fd(x);
  for (int bins : {5, 10, 30, 60}) out[col++] = histogram_entropy(x, *min_it, *max_it, bins, counts, edges);
}

}  // namespace

std::string_view to_string(Recipe recipe) {
  switch (recipe) {
    case Recipe::Default: return "default";
    case Recipe::SleepEdfBandpower: return "sleepedf-bandpower";
    case Recipe::SleepEdfTimedomain: return "sleepedf-timedomain";
  }
  return "default";
}

Recipe parse_recipe(std::string_view name) {
  for (Recipe r : {Recipe::Default, Recipe::SleepEdfBandpower, Recipe::SleepEdfTimedomain})
    if (name == to_string(r)) return r;
  throw Error("", "recipe", "unknown recipe '" + std::string(name) +
                                "' (expected default, sleepedf-bandpower or sleepedf-timedomain)");
}

std::vector<std::string> recipe_feature_names(Recipe recipe) {
  switch (recipe) {
    case Recipe::SleepEdfBandpower: return bandpower_names();
    case Recipe::SleepEdfTimedomain: return timedomain_names();
    case Recipe::Default: return feature_names(FeatureOptions{});
  }
  return {};
}

std::string recipe_prefix(std::string_view label) {
  std::string lower;
  for (char c : label) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "eog horizontal") return "eog";
  return column_prefix(label);
}

void recipe_epoch_features(Recipe recipe, std::span<const double> epoch_uv, std::span<double> out) {
  if (recipe == Recipe::Default) throw Error("", "recipe", "the default feature set has no fixed epoch form; use compute_features");
  if (epoch_uv.size() != kSleepEdfEpochSamples)
    throw Error("", "epoch", "Sleep-EDF recipes take " + std::to_string(kSleepEdfEpochSamples) +
                                 " samples (30 s at 100 Hz), got " + std::to_string(epoch_uv.size()));
  const size_t n_out = recipe == Recipe::SleepEdfBandpower ? bandpower_names().size() : timedomain_names().size();
  if (out.size() != n_out)
    throw Error("", "out", "needs " + std::to_string(n_out) + " values, got " + std::to_string(out.size()));
  if (recipe == Recipe::SleepEdfBandpower) bandpower_epoch(epoch_uv, out);
  else timedomain_epoch(epoch_uv, out);
}

FeatureTable compute_recipe_100hz(std::span<const RecipeChannel> channels, Recipe recipe, const RecipeOptions& options,
                                  std::vector<std::string>* notes) {
  if (recipe == Recipe::Default)
    throw Error("", "recipe", "compute_recipe_100hz computes the Sleep-EDF recipes; use compute_features for the default set");
  if (channels.empty()) throw Error("", "channels", "no channel given");
  const size_t n = channels[0].samples_uv.size();
  for (const auto& ch : channels)
    if (ch.samples_uv.size() != n)
      throw Error("", "channels", "channel " + ch.prefix + " has " + std::to_string(ch.samples_uv.size()) +
                                      " samples, " + channels[0].prefix + " has " + std::to_string(n));
  std::vector<size_t> starts;
  std::vector<double> onsets;
  if (options.onsets_s.empty()) {
    const auto epochs = make_epochs(channels[0].samples_uv, kSleepEdfFsHz, 30.0, options.offset_s);
    for (size_t e = 0; e < epochs.size(); ++e) {
      starts.push_back(epochs.first_sample + e * kSleepEdfEpochSamples);
      onsets.push_back(static_cast<double>(starts.back()) / kSleepEdfFsHz);
    }
    if (epochs.dropped_samples > 0 && notes)
      notes->push_back("the last " + format_double(epochs.dropped_s()) + " s form a partial epoch and were dropped");
  } else {
    for (double onset : options.onsets_s) {
      const double sample = onset * kSleepEdfFsHz;
      if (!(sample >= 0) || std::lround(sample) + kSleepEdfEpochSamples > n)
        throw Error("", "onsets_s", "epoch at " + format_double(onset) + " s does not fit in the " +
                                        format_double(static_cast<double>(n) / kSleepEdfFsHz) + "-s signal");
      starts.push_back(static_cast<size_t>(std::lround(sample)));
      onsets.push_back(onset);
    }
  }
  const auto names = recipe_feature_names(recipe);
  FeatureTable table;
  for (const auto& ch : channels)
    for (const auto& name : names) table.columns.push_back(ch.prefix + "_" + name);
  table.onset_s = onsets;
  table.values.resize(onsets.size() * table.columns.size());
  for (size_t e = 0; e < starts.size(); ++e)
    for (size_t c = 0; c < channels.size(); ++c)
      recipe_epoch_features(recipe, channels[c].samples_uv.subspan(starts[e], kSleepEdfEpochSamples),
                            std::span<double>(table.values).subspan(e * table.columns.size() + c * names.size(), names.size()));
  return table;
}

FeatureTable compute_recipe(const Recording& recording, const std::vector<std::string>& channels, Recipe recipe,
                            const RecipeOptions& options, std::vector<std::string>* notes) {
  if (channels.empty()) throw Error(recording.path().string(), "channels", "no channel given");
  if (!options.prefixes.empty() && options.prefixes.size() != channels.size())
    throw Error(recording.path().string(), "prefixes", "one prefix per channel needed");
  auto prefix_of = [&](size_t i) {
    return options.prefixes.empty() ? (recipe == Recipe::Default ? column_prefix(channels[i]) : recipe_prefix(channels[i]))
                                    : options.prefixes[i];
  };
  if (recipe == Recipe::Default) {
    std::vector<std::vector<float>> data;
    std::vector<ChannelSamples> inputs;
    for (size_t i = 0; i < channels.size(); ++i) {
      const int index = recording.require_signal(channels[i]);
      data.push_back(recording.read(index));
      inputs.push_back({prefix_of(i), {}, recording.signals()[static_cast<size_t>(index)].fs_hz});
    }
    for (size_t i = 0; i < inputs.size(); ++i) inputs[i].samples_uv = data[i];
    return compute_features(inputs, options.features, notes);
  }
  std::vector<std::vector<double>> data;
  for (const auto& label : channels) {
    const int index = recording.require_signal(label);
    const auto& info = recording.signals()[static_cast<size_t>(index)];
    std::vector<double> samples = recording.read_double(index);
    if (info.unit != "uV" && notes)
      notes->push_back(label + ": unit '" + info.unit + "' is not an EEG voltage; used as is");
    if (info.fs_hz != kSleepEdfFsHz) {
      const Resampler resampler(info.fs_hz, kSleepEdfFsHz);
      samples = resampler.process(std::span<const double>(samples));
      if (notes)
        notes->push_back(label + ": resampled from " + format_double(info.fs_hz) + " Hz to " +
                         format_double(resampler.fs_out_hz()) + " Hz (psgkit::Resampler, ratio " +
                         std::to_string(resampler.up()) + "/" + std::to_string(resampler.down()) +
                         ") before the " + std::string(to_string(recipe)) + " recipe" +
                         (recipe == Recipe::SleepEdfTimedomain
                              ? "; the histogram entropies depend on exact sample values, so they are not those of a native 100-Hz recording"
                              : ""));
    }
    data.push_back(std::move(samples));
  }
  // Channels resampled from different rates may differ by a sample: use the common length.
  size_t n = data[0].size();
  for (const auto& d : data) n = std::min(n, d.size());
  std::vector<RecipeChannel> inputs;
  for (size_t i = 0; i < channels.size(); ++i) inputs.push_back({prefix_of(i), std::span<const double>(data[i]).first(n)});
  return compute_recipe_100hz(inputs, recipe, options, notes);
}

std::vector<std::string> pick_feature_channels(const Recording& recording, Recipe recipe) {
  static const std::regex electrode(R"(^(fp[z12]|af[z3-8]|f[z1-8]|ft[7-9]|ft10|fc[z1-6]|c[z1-6]|t[3-8]|tp[7-9]|tp10|cp[z1-6]|p[z1-8]|po[z3-8]|o[z12]|m[12]|a[12])([^a-z0-9].*)?$)",
                                    std::regex::icase);
  std::vector<std::string> picked;
  std::string eog;
  for (const auto& s : recording.signals()) {
    std::string lower;
    for (char c : s.label) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool eeg = lower.rfind("eeg", 0) == 0 || std::regex_match(lower, electrode);
    if (eeg && s.fs_hz >= 50.0) picked.push_back(s.label);
    if (eog.empty() && lower.find("eog") != std::string::npos) eog = s.label;
  }
  if (recipe == Recipe::SleepEdfTimedomain && !eog.empty()) picked.push_back(eog);
  if (picked.empty())
    throw Error(recording.path().string(), "channels", "no EEG channel found by label; name them with --channels");
  return picked;
}

}  // namespace psgkit
