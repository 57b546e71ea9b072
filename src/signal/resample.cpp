// Rational polyphase resampling with a Kaiser-windowed sinc (design notes in preprocess.hpp).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "psgkit/error.hpp"
#include "psgkit/preprocess.hpp"
#include "buffers_internal.hpp"
#include "lanes_internal.hpp"

namespace psgkit {
namespace {

// Simplest fraction (smallest denominator) in [lo, hi], 0 < lo <= hi, by continued fractions.
bool simplest_fraction(long double lo, long double hi, int64_t max_term, int depth, int64_t& p, int64_t& q) {
  if (depth > 64) return false;
  const long double fl = std::floor(lo);
  if (fl > static_cast<long double>(max_term)) return false;
  if (fl == lo) {
    p = static_cast<int64_t>(fl);
    q = 1;
    return true;
  }
  if (fl + 1 <= hi) {
    p = static_cast<int64_t>(fl) + 1;
    q = 1;
    return true;
  }
  int64_t pp = 0, qq = 0;
  if (!simplest_fraction(1.0L / (hi - fl), 1.0L / (lo - fl), max_term, depth + 1, pp, qq)) return false;
  // fl + qq / pp
  const long double num = fl * static_cast<long double>(pp) + static_cast<long double>(qq);
  if (num > static_cast<long double>(max_term) || pp > max_term) return false;
  p = static_cast<int64_t>(num);
  q = pp;
  return true;
}

double bessel_i0(double x) {
  double sum = 1.0, term = 1.0;
  const double half_sq = 0.25 * x * x;
  for (int k = 1; k < 500; ++k) {
    term *= half_sq / (static_cast<double>(k) * static_cast<double>(k));
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

// Window starts aligned to kStartAlignment samples (a 32-byte vector of floats): when `down` is a multiple
// of it, every output of a phase has its newest input at the same offset modulo kStartAlignment, so each
// phase's tap row can be shifted once (into its leading zeros) to start its window on an aligned sample.
// Neighbouring outputs then often share a window start and, in the kernel, every input load.
constexpr int64_t kStartAlignment = 8;
bool aligned_starts(int64_t up, int64_t down) { return up != down && down % kStartAlignment == 0; }
// How far a window that would start at sample `first` moves to start on a multiple of kStartAlignment:
// the constructor shifts each phase's tap row by it, and the kernel moves the window by the same amount.
int64_t start_shift(int64_t first) { return (-first) & (kStartAlignment - 1); }

double kaiser_beta(double attenuation_db) {
  if (attenuation_db > 50) return 0.1102 * (attenuation_db - 8.7);
  if (attenuation_db >= 21) return 0.5842 * std::pow(attenuation_db - 21, 0.4) + 0.07886 * (attenuation_db - 21);
  return 0.0;
}

using detail::v4d;
using detail::v8f;

// Sample i of a signal of n samples extended by odd reflection about its end samples (2·x[0] − x[−i]),
// reflected index clamped into the signal; `window` holds samples [window_first, window_first + size).
template <class T>
T extended(std::span<const T> window, int64_t window_first, int64_t n, int64_t i) {
  auto at = [&](int64_t j) { return window[static_cast<size_t>(j - window_first)]; };
  if (i < 0) return 2 * at(0) - at(std::min<int64_t>(-i, n - 1));
  if (i >= n) return 2 * at(n - 1) - at(std::max<int64_t>(2 * (n - 1) - i, 0));
  return at(i);
}

// G·P dot products of n taps (n a multiple of W: the bank is padded): G tap rows (outputs whose windows
// start at the same sample, see aligned_starts) times P input windows `down` apart (the same outputs
// `up` later). Each tap vector and each input vector is loaded once for all the products it enters,
// since the kernel is bound by loads: G = 3, P = 4 loads 7 vectors per 12 multiply-adds and holds its 12
// accumulators, 3 taps and an input in AVX2's 16 registers. An output's arithmetic (one accumulator,
// taps in order, lanes summed as a tree) is the same in every shape, so it has the same bits whichever
// path computes it. Always inlined so that each target-specific function below compiles it for its
// instruction set.
template <class V, class T, int W, int G, int P, class U>
[[gnu::always_inline]] inline void dot_block(const T* const (&taps)[G], const T* in, int64_t down, size_t n,
                                             U* const (&out)[G], int64_t up) {
  V acc[G][P];
#pragma GCC unroll 16
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) acc[g][p] = V{};
  auto load = [](const T* p) {
    V v;
    std::memcpy(&v, p, sizeof(V));
    return v;
  };
  for (size_t i = 0; i < n; i += W) {
    V t[G];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) t[g] = load(taps[g] + i);
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      const V x = load(in + p * down + static_cast<int64_t>(i));
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) acc[g][p] += t[g] * x;
    }
  }
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) {
    if constexpr (P == 4) {
      const auto sums = detail::sum_lanes4(acc[g][0], acc[g][1], acc[g][2], acc[g][3]);
#pragma GCC unroll 4
      for (int p = 0; p < P; ++p) out[g][p * up] = sums[p];
    } else {
#pragma GCC unroll 4
      for (int p = 0; p < P; ++p) out[g][p * up] = detail::sum_lanes(acc[g][p]);
    }
  }
}

// The samples a block of outputs reads: `window` holds input samples [window_first, ...) of a signal of
// n samples, y receives outputs [first_output, first_output + y.size()) (U: T, or double for float T:
// computed in float, stored widened).
template <class T, class U = T>
struct Block {
  std::span<const T> window;
  int64_t window_first, n;
  int64_t first_output;
  std::span<U> y;
};

template <class V, class T, int W, class U>
[[gnu::always_inline]] inline void polyphase(const T* bank, size_t taps_per_phase, size_t half_len, int64_t up,
                                             int64_t down, const Block<T, U>& b) {
  const int64_t n = b.n;
  const int64_t k = static_cast<int64_t>(taps_per_phase);
  const std::span<U> y = b.y;
  auto input = [&b](int64_t i) { return b.window.data() + (i - b.window_first); };
  std::vector<T> edge(taps_per_phase);
  // Output m sits at t = m·down + half_len on the upsampled grid: phase t % up, newest input t / up.
  // Both advance incrementally (no division per sample).
  const int64_t step_last = down / up, step_phase = down % up;
  const int64_t t0 = b.first_output * down + static_cast<int64_t>(half_len);
  int64_t phase = t0 % up, last = t0 / up;
  auto advance = [&] {
    phase += step_phase;
    last += step_last;
    if (phase >= up) {
      phase -= up;
      ++last;
    }
  };
  // The first input of the output's window: with aligned starts, its phase's tap row is shifted to the
  // next multiple of kStartAlignment (see Resampler::Resampler).
  const bool aligned = aligned_starts(up, down);
  auto start = [&] {
    const int64_t first = last - k + 1;
    return aligned ? first + start_shift(first) : first;
  };
  // Inlined by force: compiled out of line (as an instrumented sanitizer build did) it is built for the
  // baseline target, without FMA, and the edge outputs' last bits then depend on the block boundaries.
  auto single = [&](size_t m) __attribute__((always_inline)) {
    const int64_t first = start();
    const T* taps = bank + static_cast<size_t>(phase) * taps_per_phase;
    if (first < 0 || first + k > n)
      for (int64_t r = 0; r < k; ++r) edge[static_cast<size_t>(r)] = extended(b.window, b.window_first, n, first + r);
    const T* in = first >= 0 && first + k <= n ? input(first) : edge.data();
    dot_block<V, T, W, 1, 1>({taps}, in, down, taps_per_phase, {&y[m]}, up);
  };
  size_t m = 0;
  // Leading edge one by one; then blocks of kPeriods·up outputs: one period of `up` outputs in groups
  // whose windows start at the same sample, each group with the same outputs 1..kPeriods-1 periods later
  // (`up` outputs later the phase is the same and the window `down` samples on); then the trailing edge.
  constexpr int kPeriods = 4, kMaxGroup = 3;
  for (; m < y.size() && last - k + 1 < 0; ++m, advance()) single(m);
  const size_t block = kPeriods * static_cast<size_t>(up);
  // Windows never start before last - k + 1, and end at most kStartAlignment - 1 past the newest input,
  // which grows by `down` per `up` outputs: so this keeps every window of the block inside the signal.
  while (m + block <= y.size() && last + kPeriods * down + kStartAlignment - 1 < n) {
    for (size_t j = 0; j < static_cast<size_t>(up);) {
      const int64_t first = start();
      const T* taps[kMaxGroup];
      U* out[kMaxGroup];
      int group = 0;
      do {
        taps[group] = bank + static_cast<size_t>(phase) * taps_per_phase;
        out[group] = &y[m + j + static_cast<size_t>(group)];
        ++group;
        advance();
      } while (group < kMaxGroup && j + static_cast<size_t>(group) < static_cast<size_t>(up) && start() == first);
      const T* in = input(first);
      switch (group) {
        case 1: dot_block<V, T, W, 1, kPeriods>({taps[0]}, in, down, taps_per_phase, {out[0]}, up); break;
        case 2: dot_block<V, T, W, 2, kPeriods>({taps[0], taps[1]}, in, down, taps_per_phase, {out[0], out[1]}, up); break;
        default:
          dot_block<V, T, W, 3, kPeriods>({taps[0], taps[1], taps[2]}, in, down, taps_per_phase, {out[0], out[1], out[2]}, up);
      }
      j += static_cast<size_t>(group);
    }
    // The block's other (kPeriods - 1)·up outputs were written above; `up` steps move t by up·down,
    // which keeps the phase and moves the newest input by exactly `down`.
    last += (kPeriods - 1) * down;
    m += block;
  }
  for (; m < y.size(); ++m, advance()) single(m);
}

// The vector width for T: 8 floats or 4 doubles (32 bytes).
template <class T, class U>
[[gnu::always_inline]] inline void polyphase_of(const T* bank, size_t taps_per_phase, size_t half_len, int64_t up,
                                                int64_t down, const Block<T, U>& b) {
  if constexpr (std::is_same_v<T, float>) polyphase<v8f, float, 8>(bank, taps_per_phase, half_len, up, down, b);
  else polyphase<v4d, double, 4>(bank, taps_per_phase, half_len, up, down, b);
}
// Instruction set chosen once per call: AVX2/FMA or the SSE2 baseline. Not AVX-512: the kernel is
// bound by multiply-adds, and on the AMD EPYC (Zen 4) this was measured on, 16-lane float gave no more
// than 8-lane (17.7 vs 17.0 ms for the 8-h night) while needing the taps padded to 16; nor did AVX-512VL's
// 32 registers with groups of 4 (4 × 4 accumulators): 11.8-12.5 vs 11.7 ms.
template <class T, class U>
__attribute__((target("avx2,fma"))) void run_avx2(const T* bank, size_t taps_per_phase, size_t half_len, int64_t up,
                                                  int64_t down, const Block<T, U>& b) {
  polyphase_of(bank, taps_per_phase, half_len, up, down, b);
}
template <class T, class U>
void run_polyphase(const T* bank, size_t taps_per_phase, size_t half_len, int64_t up, int64_t down, const Block<T, U>& b) {
  if (detail::cpu_level() >= 1) return run_avx2(bank, taps_per_phase, half_len, up, down, b);
  polyphase_of(bank, taps_per_phase, half_len, up, down, b);
}

}  // namespace

Rational rational_approximation(double ratio, double rel_tolerance, int64_t max_term) {
  if (!std::isfinite(ratio) || ratio <= 0)
    throw Error("", "ratio", "resampling ratio must be finite and positive, got " + std::to_string(ratio));
  if (!(rel_tolerance >= 0) || rel_tolerance >= 0.5)
    throw Error("", "rel_tolerance", "must be in [0, 0.5), got " + std::to_string(rel_tolerance));
  const long double r = ratio;
  int64_t p = 0, q = 0;
  if (!simplest_fraction(r * (1 - static_cast<long double>(rel_tolerance)),
                         r * (1 + static_cast<long double>(rel_tolerance)), max_term, 0, p, q))
    throw Error("", "rel_tolerance",
                "no fraction up/down with terms <= " + std::to_string(max_term) + " approximates " +
                    std::to_string(ratio) + " within relative " + std::to_string(rel_tolerance) +
                    "; loosen the tolerance");
  return {p, q};
}

Resampler::Resampler(double fs_in_hz, double fs_out_hz, const ResampleOptions& options) : fs_in_hz_(fs_in_hz) {
  if (!std::isfinite(fs_in_hz) || fs_in_hz <= 0)
    throw Error("", "fs_in_hz", "input sampling rate must be finite and positive, got " + std::to_string(fs_in_hz));
  if (!std::isfinite(fs_out_hz) || fs_out_hz <= 0)
    throw Error("", "fs_out_hz", "output sampling rate must be finite and positive, got " + std::to_string(fs_out_hz));
  if (!(options.passband_fraction > 0 && options.passband_fraction < options.stopband_fraction &&
        options.stopband_fraction <= 2.0))
    throw Error("", "passband_fraction/stopband_fraction", "need 0 < passband < stopband <= 2");
  if (!(options.stopband_attenuation_db >= 21 && options.stopband_attenuation_db <= 200))
    throw Error("", "stopband_attenuation_db", "must be within [21, 200] dB");
  const Rational ratio = rational_approximation(fs_out_hz / fs_in_hz, options.rel_tolerance);
  up_ = ratio.up;
  down_ = ratio.down;
  if (up_ == down_) return;  // identity: copy

  const double fs_up_hz = fs_in_hz * static_cast<double>(up_);
  const double nyquist_hz = 0.5 * std::min(fs_in_hz, this->fs_out_hz());
  passband_hz_ = options.passband_fraction * nyquist_hz;
  stopband_hz_ = options.stopband_fraction * nyquist_hz;
  const double transition = (stopband_hz_ - passband_hz_) / fs_up_hz;  // cycles per sample
  const double cutoff = 0.5 * (stopband_hz_ + passband_hz_) / fs_up_hz;
  const double a_db = options.stopband_attenuation_db;
  const double taps_real = std::ceil((a_db - 7.95) / (14.36 * transition)) + 1;
  if (taps_real > 5e7)
    throw Error("", "rel_tolerance",
                "resampling " + std::to_string(fs_in_hz) + " -> " + std::to_string(fs_out_hz) + " Hz as " +
                    std::to_string(up_) + "/" + std::to_string(down_) + " needs a filter of " +
                    std::to_string(taps_real) + " taps; loosen the tolerance or the transition band");
  half_len_ = static_cast<size_t>(taps_real) / 2;
  n_taps_ = 2 * half_len_ + 1;
  const double beta = kaiser_beta(a_db);
  const double i0_beta = bessel_i0(beta);
  std::vector<double> h(n_taps_);
  for (size_t i = 0; i < n_taps_; ++i) {
    const double k = static_cast<double>(i) - static_cast<double>(half_len_);
    const double arg = 2 * cutoff * k;
    const double sinc = k == 0 ? 1.0 : std::sin(M_PI * arg) / (M_PI * arg);
    const double u = k / static_cast<double>(half_len_);
    const double window = bessel_i0(beta * std::sqrt(std::max(0.0, 1 - u * u))) / i0_beta;
    h[i] = 2 * cutoff * sinc * window;
  }
  const size_t up = static_cast<size_t>(up_);
  const bool aligned = aligned_starts(up_, down_);
  // Rounded up to a multiple of 8 (SIMD width); the extra leading taps are zero. With aligned starts
  // every phase keeps at least kStartAlignment - 1 of them to shift its row into.
  const size_t longest_phase = (n_taps_ + up - 1) / up + (aligned ? kStartAlignment - 1 : 0);
  taps_per_phase_ = (longest_phase + 7) / 8 * 8;
  const int64_t k = static_cast<int64_t>(taps_per_phase_);
  // Per phase, the shift that starts its windows on an aligned sample: outputs 0..up-1 have every phase
  // once, and all outputs of a phase have their newest input at the same offset modulo kStartAlignment.
  std::vector<size_t> shift(up, 0);
  if (aligned)
    for (int64_t m = 0; m < up_; ++m) {
      const int64_t t = m * down_ + static_cast<int64_t>(half_len_), first = t / up_ - k + 1;
      shift[static_cast<size_t>(t % up_)] = static_cast<size_t>(start_shift(first));
    }
  bank_.assign(up * taps_per_phase_, 0.0);
  for (size_t p = 0; p < up; ++p) {
    // Each phase normalised to DC gain exactly 1 (the whole filter's sum is then `up`), so a constant
    // comes out exactly constant instead of with a ripple-sized pattern repeating every `up` outputs.
    double phase_sum = 0;
    for (size_t i = p; i < n_taps_; i += up) phase_sum += h[i];
    for (size_t j = 0; j < taps_per_phase_; ++j) {
      const size_t i = p + j * up;
      if (i < n_taps_) bank_[p * taps_per_phase_ + (taps_per_phase_ - 1 - j) - shift[p]] = h[i] / phase_sum;
    }
  }
  bank_float_.assign(bank_.begin(), bank_.end());
}

size_t Resampler::output_length(size_t n_in) const {
  const auto n = static_cast<unsigned __int128>(n_in);
  const auto up = static_cast<unsigned __int128>(up_), down = static_cast<unsigned __int128>(down_);
  return static_cast<size_t>((n * up + down - 1) / down);
}

std::pair<size_t, size_t> Resampler::input_range(size_t n_in, size_t first_output, size_t n_outputs) const {
  if (n_in == 0 || n_outputs == 0) return {0, 0};
  if (up_ == down_) return {std::min(first_output, n_in), std::min(first_output + n_outputs, n_in)};
  const int64_t n = static_cast<int64_t>(n_in), k = static_cast<int64_t>(taps_per_phase_);
  const auto newest = [this](size_t m) { return (static_cast<int64_t>(m) * down_ + static_cast<int64_t>(half_len_)) / up_; };
  // Aligned starts read up to kStartAlignment - 1 samples past the newest input (with zero taps).
  const int64_t lo = newest(first_output) - k + 1,
                hi = newest(first_output + n_outputs - 1) + (aligned_starts(up_, down_) ? kStartAlignment - 1 : 0);
  // Inclusive bounds; the edge reflection reads x[0..-lo] and x[2(n-1)-hi..n-1].
  int64_t begin = std::max<int64_t>(lo, 0), end = std::min(hi, n - 1);
  if (lo < 0) end = std::max(end, std::min(-lo, n - 1));
  if (hi >= n) {
    begin = std::min(begin, std::max<int64_t>(2 * (n - 1) - hi, 0));
    end = n - 1;
  }
  return {static_cast<size_t>(begin), static_cast<size_t>(std::max(begin, end + 1))};
}

namespace {
// Every form of Resampler::process, for float and double alike (U: the output type).
template <class T, class U>
void resample_block(const Resampler& resampler, std::span<const T> window, size_t window_first, size_t n_in,
                    size_t first_output, std::span<U> y, const T* bank, size_t taps_per_phase, size_t half_len) {
  const size_t n_out = resampler.output_length(n_in);
  if (first_output > n_out || y.size() > n_out - first_output)
    throw Error("", "y", "outputs [" + std::to_string(first_output) + ", " + std::to_string(first_output + y.size()) +
                             ") are outside the " + std::to_string(n_out) + " of a " + std::to_string(n_in) + "-sample input");
  const auto [begin, end] = resampler.input_range(n_in, first_output, y.size());
  if (window_first > begin || window_first + window.size() < end || window_first + window.size() > n_in)
    throw Error("", "window", "input samples [" + std::to_string(window_first) + ", " +
                                  std::to_string(window_first + window.size()) + ") must cover [" + std::to_string(begin) +
                                  ", " + std::to_string(end) + ") within the " + std::to_string(n_in) + "-sample input");
  require_finite(window, "x");
  if (y.empty()) return;
  if (resampler.up() == resampler.down()) {
    std::copy_n(window.begin() + static_cast<std::ptrdiff_t>(first_output - window_first), y.size(), y.begin());
    return;
  }
  run_polyphase(bank, taps_per_phase, half_len, resampler.up(), resampler.down(),
                Block<T, U>{window, static_cast<int64_t>(window_first), static_cast<int64_t>(n_in),
                            static_cast<int64_t>(first_output), y});
}
template <class T>
void resample_whole(const Resampler& resampler, std::span<const T> x, std::span<T> y) {
  const size_t expected = resampler.output_length(x.size());
  if (y.size() != expected) throw Error("", "y", "output span must hold " + std::to_string(expected) + " samples");
  resampler.process_block(x, 0, x.size(), 0, y);
}
template <class T>
std::vector<T> resampled(const Resampler& resampler, std::span<const T> x) {
  std::vector<T> y;
  detail::resize_night_buffer(y, resampler.output_length(x.size()));
  resampler.process(x, std::span<T>(y));
  return y;
}
}  // namespace

void Resampler::process_block(std::span<const double> window, size_t window_first, size_t n_in, size_t first_output,
                              std::span<double> y) const {
  resample_block(*this, window, window_first, n_in, first_output, y, bank_.data(), taps_per_phase_, half_len_);
}
void Resampler::process_block(std::span<const float> window, size_t window_first, size_t n_in, size_t first_output,
                              std::span<float> y) const {
  resample_block(*this, window, window_first, n_in, first_output, y, bank_float_.data(), taps_per_phase_, half_len_);
}
void Resampler::process_block(std::span<const float> window, size_t window_first, size_t n_in, size_t first_output,
                              std::span<double> y) const {
  resample_block(*this, window, window_first, n_in, first_output, y, bank_float_.data(), taps_per_phase_, half_len_);
}
void Resampler::process(std::span<const double> x, std::span<double> y) const { resample_whole(*this, x, y); }
void Resampler::process(std::span<const float> x, std::span<float> y) const { resample_whole(*this, x, y); }
std::vector<double> Resampler::process(std::span<const double> x) const { return resampled(*this, x); }
std::vector<float> Resampler::process(std::span<const float> x) const { return resampled(*this, x); }

std::vector<double> resample(std::span<const double> x, double fs_in_hz, double fs_out_hz,
                             const ResampleOptions& options) {
  return Resampler(fs_in_hz, fs_out_hz, options).process(x);
}

std::vector<float> resample(std::span<const float> x, double fs_in_hz, double fs_out_hz,
                            const ResampleOptions& options) {
  return Resampler(fs_in_hz, fs_out_hz, options).process(x);
}

}  // namespace psgkit
