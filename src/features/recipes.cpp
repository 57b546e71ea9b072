// The Sleep-EDF feature recipes (see recipes.hpp), bit-faithful to numpy/scipy where it matters.
//
// The numpy.linspace bin edges below must be rounded as i*step, then + lo (no FMA): the scalar code is
// built for baseline x86-64 (no FMA), the vector kernels carry optimize("fp-contract=off").
#include "psgkit/recipes.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <future>
#include <limits>
#include <optional>
#include <regex>
#include <utility>
#include <string>
#include <thread>

#include "buffers_internal.hpp"
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

// Features per channel of a Sleep-EDF recipe.
size_t sleep_edf_feature_count(Recipe recipe) {
  return recipe == Recipe::SleepEdfBandpower ? bandpower_names().size() : timedomain_names().size();
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

// ---- sleepedf-timedomain: one epoch in a few vectorised passes -------------------------------------
// Moments, Hjorth, zero crossings and Petrosian sign changes come from detail::sample_moments; Higuchi
// lengths and histograms from the kernel below (W-lane vectors, compiled for AVX-512, AVX2 or the SSE2
// baseline and chosen at run time). Sums differ from a sequential sum only by rounding (~1e-15
// relative); everything discrete (histogram bins) uses exactly the original comparisons.

constexpr int kHiguchiKMax = 10;
constexpr int kHistogramBins[4] = {5, 10, 30, 60};

// Results of the vector passes beyond the shared moments: Higuchi lengths and histogram counts.
struct TimedomainSums {
  double higuchi_length[kHiguchiKMax + 1][kHiguchiKMax] = {};  // [k][m]: Σ |x[m+ik] - x[m+(i-1)k]|
  uint32_t counts[4][60] = {};             // histogram counts for kHistogramBins
  // The 60 bins are value intervals in order (the 60-bin index is the number of inner edges <= v):
  // true whenever the 30/5-bin counts were derived, see timedomain_sums.
  bool bins_ordered = false;
};

using detail::Lanes;
using detail::v4f;
using detail::v4i;
using detail::v8f;
using detail::v8i;

// Σ |x[i+K] - x[i]| over i in [0, n-K), bucketed by i mod K (= Higuchi's offset m). The vector
// accumulators span a multiple of K samples, so every lane belongs to one fixed bucket.
template <int W, int K>
[[gnu::always_inline]] inline void higuchi_lengths(const double* x, size_t n, double* bucket) {
  using V = Lanes<W>;
  constexpr int kVectors = K * ((4 + K - 1) / K);
  constexpr size_t kRow = static_cast<size_t>(kVectors) * W;
  typename V::D acc[kVectors] = {};
  const size_t count = n - K;
  size_t i = 0;
  for (; i + kRow <= count; i += kRow)
    for (int v = 0; v < kVectors; ++v) acc[v] += V::abs(V::load(x + i + v * W + K) - V::load(x + i + v * W));
  for (int m = 0; m < K; ++m) bucket[m] = 0.0;
  for (int v = 0; v < kVectors; ++v)
    for (int l = 0; l < W; ++l) bucket[(v * W + l) % K] += acc[v][l];
  for (; i < count; ++i) bucket[i % K] += std::abs(x[i + K] - x[i]);
}

template <int W, int... K>
[[gnu::always_inline]] inline void higuchi_all(const double* x, size_t n, TimedomainSums& s,
                                               std::integer_sequence<int, K...>) {
  (higuchi_lengths<W, K + 1>(x, n, s.higuchi_length[K + 1]), ...);
}

// numpy.histogram's uniform-bin index of each lane for `bins` bins on [lo, hi] (hi > lo): the guess
// floor((v - lo) · bins/(hi - lo)), B → B-1, then one correction each way against the linspace edges
// i·step + lo (as numpy; the last edge hi is only compared when the bin is not the last, where it is
// never reached). Callers are compiled with fp-contract=off, so i·step + lo is rounded twice as in numpy.
template <int W>
[[gnu::always_inline]] inline typename Lanes<W>::D histogram_index(typename Lanes<W>::D v, double lo, double norm,
                                                                  double step, double bins) {
  using V = Lanes<W>;
  using D = typename V::D;
  const D scaled = (v - lo) * norm;
  D index = __builtin_convertvector(__builtin_convertvector(scaled, typename V::I), D);
  // The guess is in [0, bins] (v <= hi), and the corrections never go below 0 (edge 0 is lo <= v), so
  // "B → B-1" and "raise only below the last bin" are both a clamp to bins - 1.
  const D last = D{} + (bins - 1.0);
  index = index < last ? index : last;
  index = v < index * step + lo ? index - 1.0 : index;
  const D raised = v >= (index + 1.0) * step + lo ? index + 1.0 : index;
  return raised < last ? raised : last;
}

// The same for one sample (the vector loop's remainder).
[[gnu::always_inline]] inline long histogram_index(double v, double lo, double norm, double step, int bins) {
  long index = static_cast<long>((v - lo) * norm);
  if (index == bins) --index;
  if (v < static_cast<double>(index) * step + lo) --index;
  if (index != bins - 1 && v >= static_cast<double>(index + 1) * step + lo) ++index;
  return index;
}

// Packed keys 64·bin₁₀ + bin₆₀ of kKeyChunk samples from a float guess, for when the bins are derived (see
// timedomain_sums). u = (v - lo)·60/(hi - lo) in float is within 2⁻¹⁹ of its real value, and every edge
// numpy computes is within `edge_error_bins` of its ideal place, so where u is at least `eps` (their sum
// with slack) away from an integer, floor(u) is exactly the number of inner edges <= v; likewise u/6 for
// 10 bins. Returns false when some sample is that close to an edge (or is lo or hi itself): the caller
// then uses the exact guess-and-correct index for the chunk.
constexpr size_t kKeyChunk = 64;
template <int W>
[[gnu::always_inline]] inline bool float_guess_keys(const double* x, double lo, double norm60, float eps, int32_t* keys) {
  using V = Lanes<W>;
  const v8f half = v8f{} + 0.5f, limit = v8f{} + (0.5f - eps), sixth = v8f{} + (1.0f / 6.0f);
  const v8i magnitude = v8i{} + 0x7fffffff;
  v8i near = {};
  auto distance_from_half = [&](v8f f) { return reinterpret_cast<v8f>(reinterpret_cast<v8i>(f - half) & magnitude); };
  for (size_t i = 0; i < kKeyChunk; i += 2 * W) {
    const v4f u0 = __builtin_convertvector((V::load(x + i) - lo) * norm60, v4f);
    const v4f u1 = __builtin_convertvector((V::load(x + i + W) - lo) * norm60, v4f);
    const v8f u60 = __builtin_shufflevector(u0, u1, 0, 1, 2, 3, 4, 5, 6, 7), u10 = u60 * sixth;
    const v8i bin60 = __builtin_convertvector(u60, v8i), bin10 = __builtin_convertvector(u10, v8i);
    near |= (distance_from_half(u60 - __builtin_convertvector(bin60, v8f)) > limit) |
            (distance_from_half(u10 - __builtin_convertvector(bin10, v8f)) > limit);
    const v8i key = (bin10 << 6) + bin60;
    std::memcpy(keys + i, &key, sizeof(key));
  }
  const v4i folded = __builtin_shufflevector(near, near, 0, 1, 2, 3) | __builtin_shufflevector(near, near, 4, 5, 6, 7);
  return (folded[0] | folded[1] | folded[2] | folded[3]) == 0;
}

template <int W>
[[gnu::always_inline]] inline void timedomain_sums(std::span<const double> xs, const detail::SampleMoments& moments,
                                                   TimedomainSums& s, std::vector<int32_t>& bin_index) {
  using V = Lanes<W>;
  using D = typename V::D;
  const double* x = xs.data();
  const size_t n = xs.size();
  // Pass 3: Higuchi curve lengths for k = 1..10.
  higuchi_all<W>(x, n, s, std::make_integer_sequence<int, kHiguchiKMax>{});
  // Pass 4: histogram bins. The bins of 60 and 10 are found for every sample and packed as
  // 64·bin₁₀ + bin₆₀; the 30- and 5-bin counts are pair sums of those when that is provably the same:
  // step₃₀ = fl(r/30) = 2·fl(r/60) exactly, so every 30-bin edge fl(fl(i·step₃₀) + lo) is bit for bit the
  // 60-bin edge 2i (likewise 5 vs 10), and when the range r is not tiny next to |lo|, |hi| (r > 1e-9·max,
  // far above the ~60·7·2⁻⁵³·max that rounding can reach) every computed edge is within a quarter bin of
  // its ideal place, so numpy's guess-and-correct-once rule gives exactly "the number of inner edges
  // <= v" for each bin count, and the 30-bin index is the 60-bin index halved. Otherwise all four are
  // counted directly.
  double lo = moments.min, hi = moments.max;
  if (lo == hi) {  // numpy widens an empty range to [lo - 0.5, hi + 0.5]
    lo -= 0.5;
    hi += 0.5;
  }
  double norm[4], step[4];
  for (int h = 0; h < 4; ++h) {
    norm[h] = kHistogramBins[h] / (hi - lo);
    step[h] = (hi - lo) / kHistogramBins[h];
  }
  const bool derive = hi - lo > 1e-9 * std::max(std::abs(lo), std::abs(hi)) && hi - lo > 1e-200;
  bin_index.resize(2 * n);
  int32_t* packed[2] = {bin_index.data(), bin_index.data() + n};  // [0]: 10 and 60 bins, [1]: 5 and 30
  const int n_packed = derive ? 1 : 2;
  // Edges are off their ideal places by at most ~5·max(|lo|, |hi|)·2⁻⁵³ (numpy.linspace's rounding), in
  // 60-bin units; the float guess adds 2⁻¹⁹. Both doubled, plus slack.
  const double edge_error_bins = 5.0 * std::max(std::abs(lo), std::abs(hi)) * 0x1p-53 * norm[3];
  const float eps = static_cast<float>(2.0 * edge_error_bins + 0x1p-16);
  for (int p = 0; p < n_packed; ++p) {
    const int coarse = p == 0 ? 1 : 0, fine = p == 0 ? 3 : 2;  // indices into kHistogramBins
    auto exact_keys = [&](size_t i, size_t end) __attribute__((always_inline)) {
      for (; i + W <= end; i += W) {
        const D v = V::load(x + i);
        const D key = histogram_index<W>(v, lo, norm[coarse], step[coarse], kHistogramBins[coarse]) * 64.0 +
                      histogram_index<W>(v, lo, norm[fine], step[fine], kHistogramBins[fine]);
        const auto keys = __builtin_convertvector(key, typename V::I);
        std::memcpy(packed[p] + i, &keys, sizeof(keys));
      }
      for (; i < end; ++i)
        packed[p][i] = static_cast<int32_t>(
            histogram_index(x[i], lo, norm[coarse], step[coarse], kHistogramBins[coarse]) * 64 +
            histogram_index(x[i], lo, norm[fine], step[fine], kHistogramBins[fine]));
    };
    size_t i = 0;
    if constexpr (W == 4)  // two 4-lane double vectors make one 8-lane float vector
      if (derive && eps < 0.01f)
        for (; i + kKeyChunk <= n; i += kKeyChunk)
          if (!float_guess_keys<W>(x + i, lo, norm[3], eps, packed[p] + i)) exact_keys(i, i + kKeyChunk);
    exact_keys(i, n);
    // One count per packed key: one increment per sample, and the two histograms are the key counts'
    // row and column sums. Two count arrays for even and odd samples: consecutive samples often share
    // a key, and separate arrays keep the increments from waiting on each other.
    constexpr int kKeys = 64 * 10;
    uint32_t key_counts[2][kKeys] = {};
    size_t j = 0;
    for (; j + 2 <= n; j += 2) {
      ++key_counts[0][packed[p][j]];
      ++key_counts[1][packed[p][j + 1]];
    }
    if (j < n) ++key_counts[0][packed[p][j]];
    for (int c = 0; c < kHistogramBins[coarse]; ++c)
      for (int f = 0; f < kHistogramBins[fine]; ++f) {
        const uint32_t count = key_counts[0][64 * c + f] + key_counts[1][64 * c + f];
        s.counts[coarse][c] += count;
        s.counts[fine][f] += count;
      }
  }
  s.bins_ordered = derive;
  if (derive)
    for (int h = 0; h < 4; h += 2)
      for (int bin = 0; bin < kHistogramBins[h]; ++bin)
        s.counts[h][bin] = s.counts[h + 1][2 * bin] + s.counts[h + 1][2 * bin + 1];
}

struct TimedomainKernel {
  template <int W>
  [[gnu::always_inline]] static void run(std::span<const double> x, const detail::SampleMoments& moments, TimedomainSums& s,
                                         std::vector<int32_t>& bin_index) {
    timedomain_sums<W>(x, moments, s, bin_index);
  }
};

// Higuchi (1988) fractal dimension with the recipe's normalisation (README: n / (k·c·(n-1))).
double higuchi_fd(const TimedomainSums& s, size_t n) {
  static const auto log_inverse_k = [] {  // ln(1/k), the same for every epoch
    std::array<double, kHiguchiKMax + 1> l{};
    for (int k = 1; k <= kHiguchiKMax; ++k) l[static_cast<size_t>(k)] = std::log(1.0 / k);
    return l;
  }();
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (int k = 1; k <= kHiguchiKMax; ++k) {
    double total = 0.0;
    for (int m = 0; m < k; ++m) {
      const size_t c = (n - 1 - static_cast<size_t>(m)) / static_cast<size_t>(k);
      total += s.higuchi_length[k][m] * static_cast<double>(n) /
               (static_cast<double>(k) * static_cast<double>(c) * static_cast<double>(n - 1));
    }
    const double lk = std::log(total / k);
    const double lx = log_inverse_k[static_cast<size_t>(k)];
    sx += lx;
    sy += lk;
    sxx += lx * lx;
    sxy += lx * lk;
  }
  const double nk = kHiguchiKMax;
  return (nk * sxy - sx * sy) / (nk * sxx - sx * sx);
}

// Entropy (bits) of histogram counts of n samples: −Σ p log2 p over the non-empty bins in bin order,
// p = count/n. The terms p·log2 p are tabulated per count (same expression, so the same bits).
double histogram_entropy(std::span<const uint32_t> counts, size_t n) {
  thread_local std::vector<double> term;
  thread_local size_t term_n = 0;
  if (term_n != n) {
    term.resize(n + 1);
    for (size_t c = 1; c <= n; ++c) {
      const double p = static_cast<double>(c) / static_cast<double>(n);
      term[c] = p * std::log2(p);
    }
    term_n = n;
  }
  double entropy = 0.0;
  for (uint32_t c : counts)
    if (c > 0) entropy -= term[c];
  return entropy;
}

// Appends the samples x[from..n) whose 60-bin index (packed & 63) is `bin` to out[m..), in order;
// returns the new m. Branch-free: every sample is written, and kept when it is in the bin.
size_t gather_bin(const double* x, const int32_t* packed, size_t from, size_t n, int bin, double* out, size_t m) {
  for (size_t i = from; i < n; ++i) {
    out[m] = x[i];
    m += (packed[i] & 63) == bin;
  }
  return m;
}

// The same for whole vectors of 8 samples on AVX-512 CPUs: register compress, then a full-width store
// (out needs 8 values of slack). Returns the number of samples done; m is advanced.
__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw"))) size_t gather_bin_avx512(const double* x, const int32_t* packed,
                                                                                    size_t n, int bin, double* out, size_t& m) {
  using A = detail::Avx512Lanes<double>;
  const __m256i want = _mm256_set1_epi32(bin), low6 = _mm256_set1_epi32(63);
  size_t i = 0;
  for (; i + A::kLanes <= n; i += A::kLanes) {
    const __m256i index = _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(packed + i)), low6);
    const unsigned keep = _mm256_cmpeq_epi32_mask(index, want);
    A::store_compressed(out + m, keep, A::load(x + i));
    m += static_cast<size_t>(__builtin_popcount(keep));
  }
  return i;
}

// percentile(q) of x (numpy's linear method) from its 60-bin histogram, whose bins are value intervals in
// order: the order statistics needed lie in the bin where the cumulative count passes their rank, so
// only that bin's samples (bin60[i] = packed index & 63) are gathered and selected. Exact: the same
// order statistics as a selection over all of x. `scratch` holds n + 8 values.
double histogram_percentile(std::span<const double> x, const int32_t* packed, const uint32_t (&counts60)[60], double q,
                            std::vector<double>& scratch) {
  const size_t n = x.size();
  const double position = q / 100.0 * static_cast<double>(n - 1);
  const size_t k = static_cast<size_t>(std::floor(position));
  const double t = position - static_cast<double>(k);
  scratch.resize(n + 8);
  // The bin holding rank r, and the number of samples in the bins before it.
  auto locate = [&](size_t r) {
    size_t below = 0;
    int bin = 0;
    while (below + counts60[bin] <= r) below += counts60[bin++];
    return std::pair{bin, below};
  };
  auto gather = [&](int bin) {
    size_t m = 0;
    const size_t done = detail::cpu_level() == 2 ? gather_bin_avx512(x.data(), packed, n, bin, scratch.data(), m) : 0;
    m = gather_bin(x.data(), packed, done, n, bin, scratch.data(), m);
    return std::span<double>(scratch.data(), m);
  };
  const auto [bin, below] = locate(k);
  const std::span<double> part = gather(bin);
  if (t == 0.0 || k + 1 >= n || k + 1 < below + part.size())
    return detail::interpolated_order_statistic(part, position - static_cast<double>(below));
  // Rank k is the largest value of its bin, rank k + 1 the smallest of the next non-empty one.
  const double a = *std::max_element(part.begin(), part.end());
  const std::span<double> next = gather(locate(k + 1).first);
  return detail::numpy_lerp(a, *std::min_element(next.begin(), next.end()), t);
}

void timedomain_epoch(std::span<const double> x, std::span<double> out) {
  const size_t n = x.size();
  const double nd = static_cast<double>(n);
  thread_local std::vector<double> scratch;
  thread_local std::vector<int32_t> bin_index;
  const detail::SampleMoments m = detail::sample_moments(x);
  if (!std::isfinite(m.sum)) throw Error("", "epoch", "the epoch holds a non-finite sample (NaN or infinity)");
  TimedomainSums s;
  detail::run_for_cpu<TimedomainKernel, 1>(x, m, s, bin_index);
  size_t col = 0;
  out[col++] = std::sqrt(m.variance(n));
  out[col++] = s.bins_ordered ? histogram_percentile(x, bin_index.data(), s.counts[3], 75.0, scratch) -
                                   histogram_percentile(x, bin_index.data(), s.counts[3], 25.0, scratch)
                             : detail::inter_percentile_range_fast(x, 25.0, 75.0, scratch);
  out[col++] = m.skewness(n);
  out[col++] = m.excess_kurtosis(n);
  out[col++] = static_cast<double>(m.crossings);
  out[col++] = m.hjorth_mobility(n);
  out[col++] = m.hjorth_complexity(n);
  out[col++] = higuchi_fd(s, n);
  const double log_n = std::log10(nd);
  out[col++] = log_n / (log_n + std::log10(1.0 + 0.4 * static_cast<double>(m.slope_sign_changes)));
  for (int h = 0; h < 4; ++h)
    out[col++] = histogram_entropy(std::span<const uint32_t>(s.counts[h], static_cast<size_t>(kHistogramBins[h])), n);
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
  const size_t n_out = sleep_edf_feature_count(recipe);
  if (out.size() != n_out)
    throw Error("", "out", "needs " + std::to_string(n_out) + " values, got " + std::to_string(out.size()));
  if (recipe == Recipe::SleepEdfBandpower) bandpower_epoch(epoch_uv, out);
  else timedomain_epoch(epoch_uv, out);
}

namespace {

// Epoch starts (samples at 100 Hz) and onsets of a Sleep-EDF recipe on n samples: every 30 s from
// options.offset_s, or exactly options.onsets_s.
struct RecipeEpochs {
  std::vector<size_t> starts;
  std::vector<double> onsets_s;
};

RecipeEpochs recipe_epochs(size_t n, const RecipeOptions& options, std::vector<std::string>* notes) {
  RecipeEpochs epochs;
  if (options.onsets_s.empty()) {
    const EpochGrid grid = epoch_grid(n, kSleepEdfFsHz, 30.0, options.offset_s);
    for (size_t e = 0; e < grid.size(); ++e) {
      epochs.starts.push_back(grid.first_sample + e * kSleepEdfEpochSamples);
      epochs.onsets_s.push_back(static_cast<double>(epochs.starts.back()) / kSleepEdfFsHz);
    }
    if (grid.dropped_samples > 0 && notes)
      notes->push_back("the last " + format_double(grid.dropped_s()) + " s form a partial epoch and were dropped");
    return epochs;
  }
  for (double onset : options.onsets_s) {
    const double sample = onset * kSleepEdfFsHz;
    if (!(sample >= 0) || std::lround(sample) + kSleepEdfEpochSamples > n)
      throw Error("", "onsets_s", "epoch at " + format_double(onset) + " s does not fit in the " +
                                      format_double(static_cast<double>(n) / kSleepEdfFsHz) + "-s signal");
    epochs.starts.push_back(static_cast<size_t>(std::lround(sample)));
    epochs.onsets_s.push_back(onset);
  }
  return epochs;
}

FeatureTable recipe_table(Recipe recipe, std::span<const std::string> prefixes, const RecipeEpochs& epochs) {
  FeatureTable table;
  for (const auto& prefix : prefixes)
    for (const auto& name : recipe_feature_names(recipe)) table.columns.push_back(prefix + "_" + name);
  table.onset_s = epochs.onsets_s;
  detail::resize_populated(table.values, epochs.onsets_s.size() * table.columns.size());
  return table;
}

// Channel c's features of epochs [e_begin, e_end), from `samples` = its 100-Hz samples from `first` on.
void fill_recipe_rows(FeatureTable& table, Recipe recipe, size_t c, const std::vector<size_t>& starts, size_t e_begin,
                      size_t e_end, std::span<const double> samples, size_t first) {
  const size_t n_features = sleep_edf_feature_count(recipe);
  for (size_t e = e_begin; e < e_end; ++e)
    recipe_epoch_features(recipe, samples.subspan(starts[e] - first, kSleepEdfEpochSamples),
                          std::span<double>(table.values).subspan(e * table.columns.size() + c * n_features, n_features));
}

}  // namespace

FeatureTable compute_recipe_100hz(std::span<const RecipeChannel> channels, Recipe recipe, const RecipeOptions& options,
                                  std::vector<std::string>* notes) {
  if (recipe == Recipe::Default)
    throw Error("", "recipe", "compute_recipe_100hz computes the Sleep-EDF recipes; use compute_features for the default set");
  if (channels.empty()) throw Error("", "channels", "no channel given");
  const size_t n = channels[0].samples_uv.size();
  std::vector<std::string> prefixes;
  for (const auto& ch : channels) {
    if (ch.samples_uv.size() != n)
      throw Error("", "channels", "channel " + ch.prefix + " has " + std::to_string(ch.samples_uv.size()) +
                                      " samples, " + channels[0].prefix + " has " + std::to_string(n));
    prefixes.push_back(ch.prefix);
  }
  const RecipeEpochs epochs = recipe_epochs(n, options, notes);
  FeatureTable table = recipe_table(recipe, prefixes, epochs);
  for (size_t c = 0; c < channels.size(); ++c)
    fill_recipe_rows(table, recipe, c, epochs.starts, 0, epochs.starts.size(), channels[c].samples_uv, 0);
  return table;
}

namespace {

// Column prefixes: options.prefixes when given (one per channel), else from the labels.
std::vector<std::string> channel_prefixes(const std::vector<std::string>& labels, Recipe recipe,
                                          const RecipeOptions& options, const std::string& source = "") {
  if (!options.prefixes.empty() && options.prefixes.size() != labels.size())
    throw Error(source, "prefixes", "one prefix per channel needed");
  std::vector<std::string> prefixes;
  for (size_t i = 0; i < labels.size(); ++i)
    prefixes.push_back(options.prefixes.empty()
                           ? (recipe == Recipe::Default ? column_prefix(labels[i]) : recipe_prefix(labels[i]))
                           : options.prefixes[i]);
  return prefixes;
}

std::string resampling_note(const std::string& label, const Resampler& resampler, Recipe recipe) {
  return label + ": resampled from " + format_double(resampler.fs_in_hz()) + " Hz to " +
         format_double(resampler.fs_out_hz()) + " Hz (psgkit::Resampler, ratio " + std::to_string(resampler.up()) +
         "/" + std::to_string(resampler.down()) + ") before the " + std::string(to_string(recipe)) + " recipe" +
         (recipe == Recipe::SleepEdfTimedomain
              ? "; the histogram entropies depend on exact sample values, so they are not those of a native 100-Hz recording"
              : "");
}

}  // namespace

FeatureTable compute_recipe(std::span<const SignalSamples> signals, Recipe recipe, const RecipeOptions& options,
                            std::vector<std::string>* notes, const std::string& source) {
  if (signals.empty()) throw Error(source, "channels", "no channel given");
  std::vector<std::string> labels;
  for (const auto& s : signals) {
    if (!(s.fs_hz > 0) || !std::isfinite(s.fs_hz))
      throw Error(source, "fs_hz", s.label + ": sampling rate must be positive, got " + format_double(s.fs_hz));
    labels.push_back(s.label);
  }
  const std::vector<std::string> prefixes = channel_prefixes(labels, recipe, options, source);
  std::vector<std::vector<float>> floats(signals.size());
  if (recipe == Recipe::Default) {
    std::vector<ChannelSamples> inputs;
    for (size_t i = 0; i < signals.size(); ++i) {
      floats[i].assign(signals[i].samples_uv.begin(), signals[i].samples_uv.end());
      inputs.push_back({prefixes[i], floats[i], signals[i].fs_hz});
    }
    return compute_features(inputs, options.features, notes);
  }
  // As compute_recipe(Recording) reads them: 100 Hz in double, other rates resampled from float.
  std::vector<std::vector<double>> resampled(signals.size());
  std::vector<std::span<const double>> at_100hz;
  size_t n = std::numeric_limits<size_t>::max();
  for (size_t i = 0; i < signals.size(); ++i) {
    if (signals[i].fs_hz == kSleepEdfFsHz) {
      at_100hz.push_back(signals[i].samples_uv);
    } else {
      const Resampler resampler(signals[i].fs_hz, kSleepEdfFsHz);
      floats[i].assign(signals[i].samples_uv.begin(), signals[i].samples_uv.end());
      const std::vector<float> y = resampler.process(std::span<const float>(floats[i]));
      resampled[i].assign(y.begin(), y.end());
      at_100hz.push_back(resampled[i]);
      if (notes) notes->push_back(resampling_note(signals[i].label, resampler, recipe));
    }
    n = std::min(n, at_100hz.back().size());
  }
  std::vector<RecipeChannel> channels;
  for (size_t i = 0; i < signals.size(); ++i) channels.push_back({prefixes[i], at_100hz[i].first(n)});
  return compute_recipe_100hz(channels, recipe, options, notes);
}

FeatureTable compute_recipe(const Recording& recording, const std::vector<std::string>& channels, Recipe recipe,
                            const RecipeOptions& options, std::vector<std::string>* notes) {
  if (channels.empty()) throw Error(recording.path().string(), "channels", "no channel given");
  const std::vector<std::string> prefixes = channel_prefixes(channels, recipe, options, recording.path().string());
  std::vector<int> indices;
  for (const auto& label : channels) indices.push_back(recording.require_signal(label));
  if (recipe == Recipe::Default) {
    const std::vector<std::vector<float>> data = recording.read(indices);  // one pass over the file
    std::vector<ChannelSamples> inputs;
    for (size_t i = 0; i < channels.size(); ++i)
      inputs.push_back({prefixes[i], data[i], recording.signals()[static_cast<size_t>(indices[i])].fs_hz});
    return compute_features(inputs, options.features, notes);
  }
  // Native 100-Hz channels are read in double (EDFlib's exact values: the recipe's definition); other
  // rates in float (it holds every 16-bit sample exactly) and resampled to 100 Hz.
  std::vector<std::optional<Resampler>> resamplers;
  size_t n = std::numeric_limits<size_t>::max();
  for (size_t i = 0; i < channels.size(); ++i) {
    const SignalInfo& info = recording.signals()[static_cast<size_t>(indices[i])];
    if (info.unit != "uV" && notes)
      notes->push_back(channels[i] + ": unit '" + info.unit + "' is not an EEG voltage; used as is");
    const size_t n_in = static_cast<size_t>(info.n_samples);
    if (info.fs_hz == kSleepEdfFsHz) {
      resamplers.emplace_back();
      n = std::min(n, n_in);
      continue;
    }
    const Resampler& resampler = resamplers.emplace_back(std::in_place, info.fs_hz, kSleepEdfFsHz).value();
    n = std::min(n, resampler.output_length(n_in));  // rates resampled differently may differ by a sample
    if (notes) notes->push_back(resampling_note(channels[i], resampler, recipe));
  }
  const RecipeEpochs epochs = recipe_epochs(n, options, notes);
  FeatureTable table = recipe_table(recipe, prefixes, epochs);
  // Blocks of a few epochs, read, resampled and reduced to features while they are in cache: no
  // whole-night buffer, so memory does not grow with the night. block_first[b] is block b's first epoch.
  constexpr size_t kBlockSamples = 8 * kSleepEdfEpochSamples;
  std::vector<size_t> block_first;
  for (size_t e = 0; e < epochs.starts.size();) {
    block_first.push_back(e);
    const size_t first = epochs.starts[e];
    for (++e; e < epochs.starts.size() && epochs.starts[e] >= first &&
              epochs.starts[e] + kSleepEdfEpochSamples - first <= kBlockSamples;
         ++e) {
    }
  }
  block_first.push_back(epochs.starts.size());
  const size_t n_blocks = block_first.size() - 1;
  // Blocks [b_begin, b_end): every channel of a block in one pass over its data records (the records
  // interleave the channels, so a second pass would map and decode the same pages again).
  auto run_blocks = [&](size_t b_begin, size_t b_end) {
    // One buffer of 100-Hz samples and one of native-rate windows for all channels, populated at once.
    std::vector<double> samples;
    std::vector<float> windows;
    std::vector<size_t> in_first(channels.size()), in_size(channels.size());
    std::vector<int> float_signals, double_signals;
    std::vector<int64_t> float_first, double_first;
    std::vector<std::span<float>> float_out;
    std::vector<std::span<double>> double_out;
    for (size_t b = b_begin; b < b_end; ++b) {
      const size_t e_begin = block_first[b], e_end = block_first[b + 1];
      const size_t first = epochs.starts[e_begin];
      size_t last = first;
      for (size_t e = e_begin; e < e_end; ++e) last = std::max(last, epochs.starts[e] + kSleepEdfEpochSamples);
      const size_t len = last - first;
      size_t window_total = 0;
      for (size_t c = 0; c < channels.size(); ++c) {
        if (!resamplers[c]) continue;
        const size_t n_in = static_cast<size_t>(recording.signals()[static_cast<size_t>(indices[c])].n_samples);
        const auto [in_begin, in_end] = resamplers[c]->input_range(n_in, first, len);
        in_first[c] = in_begin;
        in_size[c] = in_end - in_begin;
        window_total += in_size[c];
      }
      detail::resize_populated(samples, channels.size() * len);
      detail::resize_populated(windows, window_total);
      float_signals.clear(), double_signals.clear(), float_first.clear(), double_first.clear();
      float_out.clear(), double_out.clear();
      for (size_t c = 0, w = 0; c < channels.size(); ++c) {
        if (resamplers[c]) {
          float_signals.push_back(indices[c]);
          float_first.push_back(static_cast<int64_t>(in_first[c]));
          float_out.emplace_back(windows.data() + w, in_size[c]);
          w += in_size[c];
        } else {
          double_signals.push_back(indices[c]);
          double_first.push_back(static_cast<int64_t>(first));
          double_out.emplace_back(samples.data() + c * len, len);
        }
      }
      if (!float_signals.empty()) recording.read(float_signals, float_first, float_out);
      if (!double_signals.empty()) recording.read_double(double_signals, double_first, double_out);
      for (size_t c = 0, f = 0; c < channels.size(); ++c) {
        const std::span<double> block(samples.data() + c * len, len);
        if (resamplers[c]) {
          const size_t n_in = static_cast<size_t>(recording.signals()[static_cast<size_t>(indices[c])].n_samples);
          resamplers[c]->process_block(std::span<const float>(float_out[f++]), in_first[c], n_in, first, block);
        }
        fill_recipe_rows(table, recipe, c, epochs.starts, e_begin, e_end, block, first);
      }
    }
  };
  // Contiguous shares of the blocks, one per thread (disjoint rows of the table, disjoint records).
  const size_t n_threads =
      std::max<size_t>(1, std::min<size_t>(n_blocks, options.threads > 0 ? options.threads
                                                                           : std::min<size_t>(channels.size(), std::max(1u, std::thread::hardware_concurrency()))));
  std::vector<std::future<void>> others;
  for (size_t t = 1; t < n_threads; ++t)
    others.push_back(std::async(std::launch::async, run_blocks, t * n_blocks / n_threads, (t + 1) * n_blocks / n_threads));
  run_blocks(0, n_blocks / n_threads);
  for (auto& other : others) other.get();
  return table;
}

std::vector<std::string> pick_feature_channels(const Recording& recording, Recipe recipe) {
  return pick_feature_channels(recording.signals(), recipe, recording.path().string());
}

std::vector<std::string> pick_feature_channels(const std::vector<SignalInfo>& signals, Recipe recipe,
                                               const std::string& source) {
  static const std::regex electrode(R"(^(fp[z12]|af[z3-8]|f[z1-8]|ft[7-9]|ft10|fc[z1-6]|c[z1-6]|t[3-8]|tp[7-9]|tp10|cp[z1-6]|p[z1-8]|po[z3-8]|o[z12]|m[12]|a[12])([^a-z0-9].*)?$)",
                                    std::regex::icase);
  std::vector<std::string> picked;
  std::string eog;
  for (const auto& s : signals) {
    std::string lower;
    for (char c : s.label) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool eeg = lower.rfind("eeg", 0) == 0 || std::regex_match(lower, electrode);
    if (eeg && s.fs_hz >= 50.0) picked.push_back(s.label);
    if (eog.empty() && lower.find("eog") != std::string::npos) eog = s.label;
  }
  if (recipe == Recipe::SleepEdfTimedomain && !eog.empty()) picked.push_back(eog);
  if (picked.empty())
    throw Error(source, "channels", "no EEG channel found by label; name them with --channels");
  return picked;
}

}  // namespace psgkit
