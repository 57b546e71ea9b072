// Sleep staging inference: design features, boosted-tree prediction, HMM smoothing, model files.
#include "psgkit/staging.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <tuple>
#include <nlohmann/json.hpp>

#include "psgkit/error.hpp"
#include "boosted_trees_internal.hpp"
#include "buffers_internal.hpp"
#include "mapped_file_internal.hpp"
#include "psgkit/io.hpp"
#include "quantile_internal.hpp"
#include "staging_internal.hpp"

namespace psgkit {

namespace staging_detail {

const std::vector<std::string>& timedomain_channel_features() {
  static const std::vector<std::string> names = {
      "std",        "iqr",         "skew",           "kurtosis",        "zero_crossings",
      "hjorth_mobility", "hjorth_complexity", "higuchi_fd", "petrosian_fd", "hist_entropy_5",
      "hist_entropy_10", "hist_entropy_30", "hist_entropy_60"};
  return names;
}

const std::vector<std::string>& bandpower_channel_features() {
  static const std::vector<std::string> names = {"delta_psd", "theta_psd", "alpha_psd", "beta_psd",
                                                 "gamma_psd", "var",       "mobility"};
  return names;
}

const std::vector<std::string>& channel_features(const std::string& recipe) {
  if (recipe == kTimedomainRecipe) return timedomain_channel_features();
  if (recipe == kBandpowerRecipe) return bandpower_channel_features();
  throw Error("", "recipe", "unknown feature recipe '" + recipe + "'");
}

namespace {

constexpr int kCentredHalfEpochs = 7;  // 15-epoch (7.5 min) triangular window, as YASA
constexpr int kPastEpochs = 4;         // 2 min: the current and 3 previous epochs
constexpr int kSdHalfEpochs = 5;       // 5.5 min
constexpr int kLongHalfEpochs = 20;    // 20.5 min
const char* const kBandNames[] = {"delta", "theta", "alpha", "beta", "gamma"};

// Base (transformed) feature names of one channel.
std::vector<std::string> base_names(const std::string& recipe) {
  std::vector<std::string> out;
  if (recipe == kTimedomainRecipe) {
    for (const auto& f : timedomain_channel_features())
      out.push_back(f == "std" || f == "iqr" ? "ln_" + f : f);
  } else {
    for (const auto& f : bandpower_channel_features()) out.push_back(f == "mobility" ? f : "ln_" + f);
    for (const char* band : kBandNames) out.push_back(std::string("ln_rel_") + band);
  }
  return out;
}

double safe_log(double x) { return x > 0 ? std::log(x) : std::numeric_limits<double>::quiet_NaN(); }

// Transformed base features of one channel for every row: rows x base_names(recipe).size().
std::vector<double> base_features(const FeatureTable& table, const std::string& recipe, const std::string& prefix) {
  const auto& names = channel_features(recipe);
  std::vector<int> cols;
  for (const auto& name : names) {
    const std::string col = prefix + "_" + name;
    const int c = table.column(col);
    if (c < 0) throw Error("", col, "the feature table has no column '" + col + "' (needed by the " + recipe + " staging model)");
    cols.push_back(c);
  }
  const size_t n_base = base_names(recipe).size();
  std::vector<double> out(table.rows() * n_base);
  for (size_t r = 0; r < table.rows(); ++r) {
    double* row = &out[r * n_base];
    if (recipe == kTimedomainRecipe) {
      for (size_t k = 0; k < names.size(); ++k) {
        const double v = table.at(r, static_cast<size_t>(cols[k]));
        row[k] = (k < 2) ? safe_log(v) : v;  // std, iqr
      }
    } else {
      double band_sum = 0;
      for (size_t k = 0; k < 5; ++k) band_sum += table.at(r, static_cast<size_t>(cols[k]));
      for (size_t k = 0; k < 6; ++k) row[k] = safe_log(table.at(r, static_cast<size_t>(cols[k])));
      row[6] = table.at(r, static_cast<size_t>(cols[6]));
      for (size_t k = 0; k < 5; ++k) row[7 + k] = safe_log(table.at(r, static_cast<size_t>(cols[k])) / band_sum);
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> design_feature_names(const DesignSpec& spec) {
  const auto base = base_names(spec.recipe);
  std::vector<std::string> out;
  auto add_block = [&](const std::string& suffix) {
    for (const auto& slot : spec.slots)
      for (const auto& b : base) out.push_back(slot + "_" + b + suffix);
  };
  if (spec.raw) add_block("");
  add_block("_z");
  if (spec.centered) add_block("_z_c7.5min");
  if (spec.past) add_block("_z_p2min");
  if (spec.centered_sd) add_block("_z_sd5.5min");
  if (spec.raw_context) add_block("_c7.5min");
  if (spec.long_context) add_block("_z_c20min");
  if (spec.demographics) {
    out.push_back("age_years");
    out.push_back("sex_female");
  }
  return out;
}

std::pair<double, double> blended_location_scale(double median, double iqr, double ref_median, double ref_iqr,
                                                 size_t n_epochs) {
  if (!std::isfinite(ref_median) || !std::isfinite(ref_iqr)) return {median, iqr};
  const double w = std::min(1.0, static_cast<double>(n_epochs) / kFullNormalisationEpochs);
  if (!std::isfinite(median)) return {ref_median, ref_iqr};
  return {w * median + (1 - w) * ref_median, w * iqr + (1 - w) * ref_iqr};
}

namespace {
// Median and IQR of the finite values of a column (IQR 1 for a constant column: centre only).
std::pair<double, double> column_location_scale(const std::vector<double>& column, std::vector<double>& finite) {
  finite.clear();
  for (double v : column)
    if (std::isfinite(v)) finite.push_back(v);
  const double median = detail::linear_quantile(finite, 0.5);
  double iqr = detail::linear_quantile(finite, 0.75) - detail::linear_quantile(finite, 0.25);
  if (!(iqr > 0)) iqr = 1.0;
  return {median, iqr};
}
}  // namespace

void base_feature_location_scale(const FeatureTable& table, const std::string& recipe,
                                 const std::vector<std::string>& prefixes, std::vector<double>& median,
                                 std::vector<double>& iqr) {
  const size_t n_base = base_names(recipe).size(), rows = table.rows();
  median.clear();
  iqr.clear();
  std::vector<double> column(rows), finite;
  for (const auto& prefix : prefixes) {
    const std::vector<double> base = base_features(table, recipe, prefix);
    for (size_t k = 0; k < n_base; ++k) {
      for (size_t r = 0; r < rows; ++r) column[r] = base[r * n_base + k];
      const auto [m, s] = column_location_scale(column, finite);
      median.push_back(m);
      iqr.push_back(s);
    }
  }
}

std::vector<float> build_design(const FeatureTable& table, const DesignSpec& spec,
                                const std::vector<std::string>& prefixes, const std::vector<long>& epoch_index,
                                const Demographics& demographics) {
  if (prefixes.size() != spec.slots.size())
    throw Error("", "channels", "the model needs " + std::to_string(spec.slots.size()) + " channel(s), got " +
                                    std::to_string(prefixes.size()));
  const size_t rows = table.rows();
  const size_t n_base = base_names(spec.recipe).size();
  const size_t n_slot_cols = n_base * spec.slots.size();
  const size_t n_blocks = 1 + spec.raw + spec.centered + spec.past + spec.centered_sd + spec.raw_context + spec.long_context;
  const size_t n_cols = n_blocks * n_slot_cols + (spec.demographics ? 2 : 0);
  const bool has_reference = spec.reference_median.size() == n_slot_cols && spec.reference_iqr.size() == n_slot_cols;
  std::vector<float> design;
  detail::resize_populated(design, rows * n_cols, std::numeric_limits<float>::quiet_NaN());
  std::vector<double> column(rows), z(rows), finite;
  for (size_t s = 0; s < spec.slots.size(); ++s) {
    const std::vector<double> base = base_features(table, spec.recipe, prefixes[s]);
    for (size_t k = 0; k < n_base; ++k) {
      for (size_t r = 0; r < rows; ++r) column[r] = base[r * n_base + k];
      const size_t col_in_block = s * n_base + k;
      auto [median, iqr] = column_location_scale(column, finite);
      if (has_reference)
        std::tie(median, iqr) = blended_location_scale(median, iqr, spec.reference_median[col_in_block],
                                                       spec.reference_iqr[col_in_block], rows);
      for (size_t r = 0; r < rows; ++r) z[r] = (column[r] - median) / iqr;

      size_t block = 0;
      auto put = [&](size_t r, double v) {
        design[r * n_cols + block * n_slot_cols + col_in_block] = static_cast<float>(v);
      };
      if (spec.raw) {
        for (size_t r = 0; r < rows; ++r) put(r, column[r]);
        ++block;
      }
      for (size_t r = 0; r < rows; ++r) put(r, z[r]);
      ++block;
      // Windows in recording time: two pointers over the increasing epoch indices.
      auto windowed = [&](long before, long after, auto&& weight_of, bool sd, const std::vector<double>& x) {
        auto finish = [&](size_t r, double sw, double swx, double swxx) {
          double v = std::numeric_limits<double>::quiet_NaN();
          if (sw > 0) {
            const double mean = swx / sw;
            v = sd ? std::sqrt(std::max(0.0, swxx / sw - mean * mean)) : mean;
          }
          put(r, v);
        };
        // SSE2 (the baseline this file is built for): two rows per vector, two vectors per step.
        using v2d = double __attribute__((vector_size(16)));
        using v2l = int64_t __attribute__((vector_size(16)));
        auto masked = [](v2l keep, v2d v) {
          v2l bits;
          std::memcpy(&bits, &v, sizeof(v));
          bits &= keep;
          std::memcpy(&v, &bits, sizeof(v));
          return v;
        };
        constexpr size_t kLanes = 4;
        size_t lo = 0, hi = 0;
        for (size_t r = 0; r < rows;) {
          // Four rows whose whole windows are consecutive epochs: lane i sums row r + i's window, x[r + i + d]
          // for d = -before..after, with the same operations in the same order as the scalar sum below
          // (same bits), but as independent chains instead of one dependent chain per row. A non-finite
          // x adds +0.0 (its bits masked off), which leaves a sum unchanged: a sum that starts at +0.0
          // never becomes -0.0 when rounding to nearest.
          const auto span = static_cast<size_t>(before + after) + kLanes - 1;
          if (r >= static_cast<size_t>(before) && r - static_cast<size_t>(before) + span < rows &&
              epoch_index[r - static_cast<size_t>(before) + span] - epoch_index[r - static_cast<size_t>(before)] ==
                  static_cast<long>(span)) {
            v2d sw[2] = {}, swx[2] = {}, swxx[2] = {};
            for (long d = -before; d <= after; ++d) {
              const v2d w = v2d{} + weight_of(d);
              for (size_t h = 0; h < 2; ++h) {
                v2d xv;
                std::memcpy(&xv, &x[static_cast<size_t>(static_cast<long>(r + 2 * h) + d)], sizeof(xv));
                const v2l finite = (xv - xv) == 0.0;  // all ones, or 0 for NaN and ±inf
                const v2d wx = w * xv;
                sw[h] += masked(finite, w);
                swx[h] += masked(finite, wx);
                swxx[h] += masked(finite, wx * xv);
              }
            }
            for (size_t i = 0; i < kLanes; ++i) finish(r + i, sw[i / 2][i % 2], swx[i / 2][i % 2], swxx[i / 2][i % 2]);
            r += kLanes;
            continue;
          }
          while (epoch_index[lo] < epoch_index[r] - before) ++lo;
          while (hi < rows && epoch_index[hi] <= epoch_index[r] + after) ++hi;
          double sw = 0, swx = 0, swxx = 0;
          for (size_t j = lo; j < hi; ++j) {
            if (!std::isfinite(x[j])) continue;
            const double w = weight_of(epoch_index[j] - epoch_index[r]);
            sw += w;
            swx += w * x[j];
            swxx += w * x[j] * x[j];
          }
          finish(r, sw, swx, swxx);
          ++r;
        }
        ++block;
      };
      const auto triangular = [](long d) { return 1.0 - static_cast<double>(std::labs(d)) / (kCentredHalfEpochs + 1); };
      const auto flat = [](long) { return 1.0; };
      if (spec.centered) windowed(kCentredHalfEpochs, kCentredHalfEpochs, triangular, false, z);
      if (spec.past) windowed(kPastEpochs - 1, 0, flat, false, z);
      if (spec.centered_sd) windowed(kSdHalfEpochs, kSdHalfEpochs, flat, true, z);
      if (spec.raw_context) windowed(kCentredHalfEpochs, kCentredHalfEpochs, triangular, false, column);
      if (spec.long_context) windowed(kLongHalfEpochs, kLongHalfEpochs, flat, false, z);
    }
  }
  if (spec.demographics)
    for (size_t r = 0; r < rows; ++r) {
      design[r * n_cols + n_cols - 2] = static_cast<float>(demographics.age_years);
      design[r * n_cols + n_cols - 1] = static_cast<float>(demographics.sex_female);
    }
  return design;
}

size_t level2_columns(const StackSpec& spec) {
  return static_cast<size_t>(2 * spec.half_rows + 2) * kNumSleepStages;
}

std::vector<float> build_level2_design(const std::vector<StageProbabilities>& level1, const StackSpec& spec) {
  const long rows = static_cast<long>(level1.size()), k = spec.half_rows, K = spec.long_half_rows;
  const size_t n_cols = level2_columns(spec);
  std::vector<float> design(level1.size() * n_cols, std::numeric_limits<float>::quiet_NaN());
  // Prefix sums for the long window's means.
  std::vector<std::array<double, kNumSleepStages>> cum(level1.size() + 1);
  for (long r = 0; r < rows; ++r)
    for (int s = 0; s < kNumSleepStages; ++s) cum[r + 1][s] = cum[r][s] + level1[r][s];
  for (long r = 0; r < rows; ++r) {
    float* out = &design[static_cast<size_t>(r) * n_cols];
    for (long d = -k; d <= k; ++d)
      if (r + d >= 0 && r + d < rows) std::copy_n(level1[r + d].begin(), kNumSleepStages, out + (d + k) * kNumSleepStages);
    const long lo = std::max(0L, r - K), hi = std::min(rows, r + K + 1);
    for (int s = 0; s < kNumSleepStages; ++s)
      out[(2 * k + 1) * kNumSleepStages + s] = static_cast<float>((cum[hi][s] - cum[lo][s]) / static_cast<double>(hi - lo));
  }
  return design;
}

std::string base64_decode(std::string_view text, const std::string& field) {
  auto value = [&](char c) -> uint32_t {
    if (c >= 'A' && c <= 'Z') return static_cast<uint32_t>(c - 'A');
    if (c >= 'a' && c <= 'z') return static_cast<uint32_t>(c - 'a' + 26);
    if (c >= '0' && c <= '9') return static_cast<uint32_t>(c - '0' + 52);
    if (c == '+') return 62;
    if (c == '/') return 63;
    throw Error("", field, "not base64: character " + std::to_string(static_cast<int>(static_cast<unsigned char>(c))));
  };
  if (text.size() % 4 != 0) throw Error("", field, "not base64: length is not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const size_t pad = i + 4 == text.size() ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) v = (v << 6) | (j >= 4 - pad ? 0 : value(text[i + j]));
    out += static_cast<char>((v >> 16) & 255);
    if (pad < 2) out += static_cast<char>((v >> 8) & 255);
    if (pad < 1) out += static_cast<char>(v & 255);
  }
  return out;
}

}  // namespace staging_detail

using namespace staging_detail;

std::string_view to_string(StagingModelId id) {
  switch (id) {
    case StagingModelId::EegEog: return "a";
    case StagingModelId::Eeg2: return "b";
    case StagingModelId::Eeg1: return "c";
    case StagingModelId::Bandpower: return "d";
    case StagingModelId::Eeg1Eog: return "e";
  }
  return "?";
}

std::optional<StagingModelId> parse_staging_model_id(std::string_view text) {
  if (text == "a" || text == "eeg-eog") return StagingModelId::EegEog;
  if (text == "b" || text == "eeg2") return StagingModelId::Eeg2;
  if (text == "c" || text == "eeg1") return StagingModelId::Eeg1;
  if (text == "d" || text == "bandpower") return StagingModelId::Bandpower;
  if (text == "e" || text == "eeg1-eog") return StagingModelId::Eeg1Eog;
  return std::nullopt;
}

std::string staging_model_file_name(StagingModelId id) {
  switch (id) {
    case StagingModelId::EegEog: return "staging-a-eeg-eog.ubj";
    case StagingModelId::Eeg2: return "staging-b-eeg2.ubj";
    case StagingModelId::Eeg1: return "staging-c-eeg1.ubj";
    case StagingModelId::Bandpower: return "staging-d-bandpower.ubj";
    case StagingModelId::Eeg1Eog: return "staging-e-eeg1-eog.ubj";
  }
  return {};
}

std::filesystem::path staging_model_dir() {
  const std::string probe = staging_model_file_name(StagingModelId::EegEog);
  if (const char* env = std::getenv("PSGKIT_MODEL_DIR"); env && *env) {
    if (!std::filesystem::exists(std::filesystem::path(env) / probe))
      throw Error(env, "PSGKIT_MODEL_DIR", "no staging model " + probe + " in this folder");
    return env;
  }
  const std::filesystem::path source = std::filesystem::path(PSGKIT_SOURCE_DATA_DIR) / "models";
  const std::filesystem::path installed = std::filesystem::path(PSGKIT_DATA_DIR) / "models";
  for (const auto& dir : {source, installed})
    if (std::filesystem::exists(dir / probe)) return dir;
  throw Error(probe, "model folder",
              "no staging models found in " + source.string() + " or " + installed.string() +
                  " (set PSGKIT_MODEL_DIR, or rebuild them with `psgkit train`)");
}

// ---- HMM ----

std::vector<long> epoch_indices(const std::vector<double>& onset_s, double epoch_s) {
  std::vector<long> out(onset_s.size());
  for (size_t i = 0; i < onset_s.size(); ++i) {
    const double pos = (onset_s[i] - onset_s[0]) / epoch_s;
    out[i] = std::lround(pos);
    if (std::abs(pos - static_cast<double>(out[i])) * epoch_s > 1.0)
      throw Error("", "onset_s", "row " + std::to_string(i + 1) + ": onset " + format_double(onset_s[i]) +
                                     " s is not on the " + format_double(epoch_s) + "-s epoch grid of the first row");
    if (i > 0 && out[i] <= out[i - 1])
      throw Error("", "onset_s", "row " + std::to_string(i + 1) + ": onsets must increase by at least one epoch");
  }
  return out;
}

namespace {
using Matrix5 = std::array<std::array<double, kNumSleepStages>, kNumSleepStages>;

Matrix5 multiply(const Matrix5& a, const Matrix5& b) {
  Matrix5 c{};
  for (int i = 0; i < kNumSleepStages; ++i)
    for (int k = 0; k < kNumSleepStages; ++k)
      for (int j = 0; j < kNumSleepStages; ++j) c[i][j] += a[i][k] * b[k][j];
  return c;
}

// transition^steps, cached per step count (gaps repeat: mostly 1 and 2).
class TransitionPowers {
 public:
  explicit TransitionPowers(const Matrix5& a) : a_(a) {}
  const Matrix5& power(long steps) {
    auto it = cache_.find(steps);
    if (it != cache_.end()) return it->second;
    Matrix5 result{}, base = a_;
    for (int i = 0; i < kNumSleepStages; ++i) result[i][i] = 1.0;
    for (long e = steps; e > 0; e >>= 1) {
      if (e & 1) result = multiply(result, base);
      base = multiply(base, base);
    }
    return cache_.emplace(steps, result).first->second;
  }

 private:
  Matrix5 a_;
  std::map<long, Matrix5> cache_;
};

void normalise(std::array<double, kNumSleepStages>& v) {
  double s = 0;
  for (double x : v) s += x;
  if (!(s > 0) || !std::isfinite(s)) {
    v.fill(1.0 / kNumSleepStages);
    return;
  }
  for (double& x : v) x /= s;
}
}  // namespace

std::vector<StageProbabilities> hmm_posterior(const std::vector<StageProbabilities>& proba,
                                              const std::vector<long>& epoch_index, const StagingHmm& hmm) {
  const size_t n = proba.size();
  if (epoch_index.size() != n) throw Error("", "epoch_index", "needs one epoch index per probability row");
  for (size_t t = 1; t < n; ++t)
    if (epoch_index[t] <= epoch_index[t - 1]) throw Error("", "epoch_index", "must be strictly increasing");
  for (double p : hmm.prior)
    if (!(p > 0)) throw Error("", "prior", "HMM class priors must be positive");
  TransitionPowers powers(hmm.transition);
  using Vec = std::array<double, kNumSleepStages>;
  std::vector<Vec> emission(n), alpha(n), beta(n);
  for (size_t t = 0; t < n; ++t)
    for (int s = 0; s < kNumSleepStages; ++s)
      emission[t][s] = std::pow(static_cast<double>(proba[t][s]), hmm.evidence_exponent) /
                       std::pow(hmm.prior[s], hmm.prior_exponent);
  for (size_t t = 0; t < n; ++t) {
    Vec a{};
    if (t == 0) {
      for (int s = 0; s < kNumSleepStages; ++s) a[s] = hmm.prior[s];
    } else {
      const Matrix5& m = powers.power(epoch_index[t] - epoch_index[t - 1]);
      for (int i = 0; i < kNumSleepStages; ++i)
        for (int j = 0; j < kNumSleepStages; ++j) a[j] += alpha[t - 1][i] * m[i][j];
    }
    for (int s = 0; s < kNumSleepStages; ++s) a[s] *= emission[t][s];
    normalise(a);
    alpha[t] = a;
  }
  for (size_t t = n; t-- > 0;) {
    Vec b{};
    if (t + 1 == n) {
      b.fill(1.0);
    } else {
      const Matrix5& m = powers.power(epoch_index[t + 1] - epoch_index[t]);
      for (int i = 0; i < kNumSleepStages; ++i)
        for (int j = 0; j < kNumSleepStages; ++j) b[i] += m[i][j] * emission[t + 1][j] * beta[t + 1][j];
    }
    normalise(b);
    beta[t] = b;
  }
  std::vector<StageProbabilities> out(n);
  for (size_t t = 0; t < n; ++t) {
    Vec g{};
    for (int s = 0; s < kNumSleepStages; ++s) g[s] = alpha[t][s] * beta[t][s];
    normalise(g);
    for (int s = 0; s < kNumSleepStages; ++s) out[t][s] = static_cast<float>(g[s]);
  }
  return out;
}

// ---- Results ----

Hypnogram StagedEpochs::to_hypnogram() const {
  Hypnogram h;
  h.epoch_s = 30.0;
  if (onset_s.empty()) return h;
  h.start_s = onset_s.front();
  const std::vector<long> idx = epoch_indices(onset_s, h.epoch_s);
  const size_t n = static_cast<size_t>(idx.back()) + 1;
  h.stages.assign(n, Stage::UNS);
  StageProbabilities uniform;
  uniform.fill(1.0f / kNumSleepStages);
  h.probabilities.assign(n, uniform);
  for (size_t i = 0; i < idx.size(); ++i) {
    h.stages[static_cast<size_t>(idx[i])] = stages[i];
    h.probabilities[static_cast<size_t>(idx[i])] = probabilities[i];
  }
  return h;
}

std::string staged_epochs_csv(const StagedEpochs& staged) {
  const std::vector<long> idx = epoch_indices(staged.onset_s, 30.0);
  std::string out = "epoch,onset_s,stage,confidence,p_W,p_N1,p_N2,p_N3,p_REM\n";
  for (size_t i = 0; i < staged.onset_s.size(); ++i) {
    const auto& p = staged.probabilities[i];
    out += std::to_string(idx[i]) + ',' + format_double(staged.onset_s[i]) + ',' + std::string(to_string(staged.stages[i]));
    out += ',' + format_double(*std::max_element(p.begin(), p.end()));
    for (float v : p) out += ',' + format_double(v);
    out += '\n';
  }
  return out;
}

void write_staged_epochs_csv(const std::filesystem::path& path, const StagedEpochs& staged) {
  write_file_atomic(path, staged_epochs_csv(staged));
}

// ---- Model ----

struct StagingModel::Impl {
  std::filesystem::path path;
  StagingModelId id = StagingModelId::EegEog;
  DesignSpec spec;
  std::vector<std::string> channel_features;
  StagingHmm hmm;
  double n3_variance_inflation = 1.0;
  detail::BoostedTrees trees;
  StackSpec stack;
  detail::BoostedTrees level2;  // only when stack.enabled()
};

StagingModel::StagingModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StagingModel::StagingModel(StagingModel&&) noexcept = default;
StagingModel& StagingModel::operator=(StagingModel&&) noexcept = default;
StagingModel::~StagingModel() = default;

StagingModel StagingModel::load(const std::filesystem::path& file) {
  if (!std::filesystem::is_regular_file(file))
    throw Error(file.string(), "model file", "staging model file not found (rebuild with `psgkit train`)");
  auto impl = std::make_unique<Impl>();
  impl->path = file;
  impl->trees = detail::BoostedTrees::from_ubjson(detail::MappedFile(file).bytes(), file.string());
  const auto meta_text = impl->trees.attributes().find(kMetaAttribute);
  if (meta_text == impl->trees.attributes().end())
    throw Error(file.string(), kMetaAttribute, "not a psgkit staging model (no metadata)");
  try {
    const auto meta = nlohmann::json::parse(meta_text->second);
    if (meta.at("format").get<std::string>() != kFormat)
      throw Error(file.string(), "format", "unsupported staging model format " + meta.at("format").dump());
    const auto id = parse_staging_model_id(meta.at("id").get<std::string>());
    if (!id) throw Error(file.string(), "id", "unknown model id " + meta.at("id").dump());
    impl->id = *id;
    impl->spec.recipe = meta.at("recipe").get<std::string>();
    if (impl->spec.recipe != kTimedomainRecipe && impl->spec.recipe != kBandpowerRecipe)
      throw Error(file.string(), "recipe", "unknown feature recipe '" + impl->spec.recipe + "'");
    impl->spec.slots = meta.at("slots").get<std::vector<std::string>>();
    const auto& design = meta.at("design");
    impl->spec.raw = design.at("raw").get<bool>();
    impl->spec.centered = design.at("centered").get<bool>();
    impl->spec.past = design.at("past").get<bool>();
    impl->spec.centered_sd = design.at("centered_sd").get<bool>();
    // Fields added after format 1's first files: absent = off.
    impl->spec.raw_context = design.value("raw_context", false);
    impl->spec.long_context = design.value("long_context", false);
    impl->spec.demographics = design.value("demographics", false);
    if (meta.contains("reference")) {
      impl->spec.reference_median = meta.at("reference").at("median").get<std::vector<double>>();
      impl->spec.reference_iqr = meta.at("reference").at("iqr").get<std::vector<double>>();
      if (impl->spec.reference_median.size() != impl->spec.reference_iqr.size())
        throw Error(file.string(), "reference", "median and iqr need one value per base feature and slot");
    }
    if (meta.contains("level2")) {
      const auto& l2 = meta.at("level2");
      impl->stack.half_rows = l2.at("half_rows").get<int>();
      impl->stack.long_half_rows = l2.at("long_half_rows").get<int>();
      if (impl->stack.half_rows < 1 || impl->stack.long_half_rows < 0)
        throw Error(file.string(), "level2", "half_rows must be positive, long_half_rows non-negative");
      const std::string bytes = base64_decode(l2.at("ubj_base64").get<std::string>(), "level2.ubj_base64");
      impl->level2 = detail::BoostedTrees::from_ubjson(bytes, file.string() + " (level2)");
      if (impl->level2.n_features() != level2_columns(impl->stack) || impl->level2.n_classes() != kNumSleepStages)
        throw Error(file.string(), "level2", "the second level's trees expect " + std::to_string(impl->level2.n_features()) +
                                                 " inputs, its window gives " + std::to_string(level2_columns(impl->stack)));
    }
    impl->n3_variance_inflation = meta.value("n3_variance_inflation", 1.0);
    if (!(impl->n3_variance_inflation > 0) || !std::isfinite(impl->n3_variance_inflation))
      throw Error(file.string(), "n3_variance_inflation", "must be positive and finite");
    impl->channel_features = staging_detail::channel_features(impl->spec.recipe);
    const size_t n_features = design_feature_names(impl->spec).size();
    if (meta.at("n_features").get<size_t>() != n_features || impl->trees.n_features() != n_features ||
        impl->trees.n_classes() != kNumSleepStages)
      throw Error(file.string(), "n_features", "design has " + std::to_string(n_features) + " columns, model expects " +
                                                   meta.at("n_features").dump() + " (trees: " +
                                                   std::to_string(impl->trees.n_features()) + " features, " +
                                                   std::to_string(impl->trees.n_classes()) + " classes)");
    const auto& hmm = meta.at("hmm");
    impl->hmm.evidence_exponent = hmm.at("evidence_exponent").get<double>();
    impl->hmm.prior_exponent = hmm.at("prior_exponent").get<double>();
    for (int i = 0; i < kNumSleepStages; ++i) {
      impl->hmm.prior[i] = hmm.at("prior").at(i).get<double>();
      for (int j = 0; j < kNumSleepStages; ++j) impl->hmm.transition[i][j] = hmm.at("transition").at(i).at(j).get<double>();
    }
    // Checked here, where the file can be named, rather than as NaN posteriors later.
    const auto& h = impl->hmm;
    bool valid = std::isfinite(h.evidence_exponent) && std::isfinite(h.prior_exponent);
    for (int i = 0; i < kNumSleepStages; ++i) {
      valid = valid && h.prior[i] > 0 && std::isfinite(h.prior[i]);
      double row = 0;
      for (double a : h.transition[i]) {
        valid = valid && a >= 0 && std::isfinite(a);
        row += a;
      }
      valid = valid && row > 0;
    }
    if (!valid)
      throw Error(file.string(), "hmm",
                  "priors must be positive, transitions non-negative with a positive sum per row, exponents finite");
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string(), kMetaAttribute, std::string("bad staging metadata: ") + e.what());
  }
  return StagingModel(std::move(impl));
}

StagingModel StagingModel::load(StagingModelId id) { return load(staging_model_dir() / staging_model_file_name(id)); }

const std::filesystem::path& StagingModel::path() const { return impl_->path; }
const std::string& StagingModel::recipe() const { return impl_->spec.recipe; }
const std::vector<std::string>& StagingModel::channel_slots() const { return impl_->spec.slots; }
const std::vector<std::string>& StagingModel::channel_features() const { return impl_->channel_features; }
const StagingHmm& StagingModel::hmm() const { return impl_->hmm; }
double StagingModel::n3_variance_inflation() const { return impl_->n3_variance_inflation; }
bool StagingModel::takes_demographics() const { return impl_->spec.demographics; }
bool StagingModel::has_second_level() const { return impl_->stack.enabled(); }

std::vector<std::string> StagingModel::design_columns() const { return design_feature_names(impl_->spec); }

std::vector<float> StagingModel::design_matrix(const FeatureTable& table, const StagingOptions& options) const {
  std::vector<std::string> prefixes = options.channels;
  if (prefixes.empty()) {
    prefixes = impl_->spec.slots;
    if (prefixes == std::vector<std::string>{"eeg"}) prefixes = {"fpz_cz"};
    if (prefixes == std::vector<std::string>{"eeg", "eog"}) prefixes = {"fpz_cz", "eog"};
  }
  Demographics demographics;
  if (options.age_years) {
    if (!(*options.age_years >= 0 && *options.age_years <= 130))
      throw Error("", "age", "age must be in years, 0 to 130 (got " + format_double(*options.age_years) + ")");
    demographics.age_years = *options.age_years;
  }
  if (options.sex) {
    if (*options.sex != 'F' && *options.sex != 'M') throw Error("", "sex", "sex must be F or M");
    demographics.sex_female = *options.sex == 'F' ? 1.0 : 0.0;
  }
  return build_design(table, impl_->spec, prefixes, epoch_indices(table.onset_s), demographics);
}

std::vector<StageProbabilities> StagingModel::predict_proba(const FeatureTable& table, const StagingOptions& options) const {
  const std::vector<float> design = design_matrix(table, options);
  std::vector<float> flat(table.rows() * kNumSleepStages);
  impl_->trees.predict_proba(design.data(), table.rows(), flat.data());
  std::vector<StageProbabilities> out(table.rows());
  for (size_t r = 0; r < table.rows(); ++r) std::copy_n(&flat[r * kNumSleepStages], kNumSleepStages, out[r].begin());
  if (!impl_->stack.enabled()) return out;
  const std::vector<float> level2 = build_level2_design(out, impl_->stack);
  impl_->level2.predict_proba(level2.data(), table.rows(), flat.data());
  for (size_t r = 0; r < table.rows(); ++r) std::copy_n(&flat[r * kNumSleepStages], kNumSleepStages, out[r].begin());
  return out;
}

StagedEpochs StagingModel::stage_rows(const FeatureTable& table, const StagingOptions& options) const {
  StagedEpochs out;
  out.onset_s = table.onset_s;
  out.probabilities = predict_proba(table, options);
  if (options.hmm) out.probabilities = hmm_posterior(out.probabilities, epoch_indices(table.onset_s), impl_->hmm);
  out.stages.reserve(table.rows());
  for (const auto& p : out.probabilities)
    out.stages.push_back(static_cast<Stage>(std::max_element(p.begin(), p.end()) - p.begin()));
  return out;
}

Hypnogram StagingModel::stage(const FeatureTable& table, const StagingOptions& options) const {
  return stage_rows(table, options).to_hypnogram();
}

StagingModelId detect_staging_model(const FeatureTable& table) {
  auto has_channel = [&](const std::string& prefix, const std::vector<std::string>& names) {
    for (const auto& n : names)
      if (table.column(prefix + "_" + n) < 0) return false;
    return true;
  };
  const auto& td = timedomain_channel_features();
  const bool fpz = has_channel("fpz_cz", td), pz = has_channel("pz_oz", td), eog = has_channel("eog", td);
  if (fpz && pz && eog) return StagingModelId::EegEog;
  if (fpz && pz) return StagingModelId::Eeg2;
  if ((fpz || pz) && eog) return StagingModelId::Eeg1Eog;
  if (fpz || pz) return StagingModelId::Eeg1;
  const auto& bp = bandpower_channel_features();
  if (has_channel("fpz_cz", bp) && has_channel("pz_oz", bp)) return StagingModelId::Bandpower;
  throw Error("", "columns",
              "not a staging feature table: expected sleepedf-timedomain columns fpz_cz_*/pz_oz_*[/eog_*] "
              "(std, iqr, ..., hist_entropy_60) or sleepedf-bandpower columns fpz_cz_*/pz_oz_* "
              "(delta_psd, ..., mobility)");
}

}  // namespace psgkit
