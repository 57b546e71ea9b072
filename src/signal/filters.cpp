// Butterworth / notch design (bilinear transform with prewarping) and zero-phase sosfiltfilt.
#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <string>
#include <type_traits>

#include "lanes_internal.hpp"
#include "psgkit/error.hpp"
#include "psgkit/preprocess.hpp"

namespace psgkit {
namespace {

using cplx = std::complex<double>;

void check_rate(double fs_hz) {
  if (!std::isfinite(fs_hz) || fs_hz <= 0)
    throw Error("", "fs_hz", "sampling rate must be finite and positive, got " + std::to_string(fs_hz));
}

void check_frequency(double f_hz, double fs_hz, const char* field) {
  if (!std::isfinite(f_hz) || f_hz <= 0 || f_hz >= 0.5 * fs_hz)
    throw Error("", field, std::to_string(f_hz) + " Hz is not strictly between 0 and the Nyquist frequency " +
                               std::to_string(0.5 * fs_hz) + " Hz");
}

void check_order(int order) {
  if (order < 1 || order > 20) throw Error("", "order", "Butterworth order must be 1..20, got " + std::to_string(order));
}

// Analog frequency for the bilinear transform so that f_hz maps exactly onto itself (prewarping).
double prewarp(double f_hz, double fs_hz) { return 2 * fs_hz * std::tan(M_PI * f_hz / fs_hz); }

cplx bilinear(cplx s, double fs_hz) { return (2 * fs_hz + s) / (2 * fs_hz - s); }

// Normalised Butterworth prototype poles (cutoff 1 rad/s), left half-plane.
std::vector<cplx> prototype_poles(int order) {
  std::vector<cplx> poles;
  for (int k = 0; k < order; ++k)
    poles.push_back(std::polar(1.0, M_PI * (2.0 * k + order + 1) / (2.0 * order)));
  return poles;
}

cplx response(const std::vector<Biquad>& sections, double f_hz, double fs_hz) {
  const cplx z1 = std::polar(1.0, -2 * M_PI * f_hz / fs_hz);  // z^-1
  const cplx z2 = z1 * z1;
  cplx h = 1.0;
  for (const Biquad& s : sections) h *= (s.b0 + s.b1 * z1 + s.b2 * z2) / (1.0 + s.a1 * z1 + s.a2 * z2);
  return h;
}

// Pairs conjugate digital poles into sections with numerator `zeros2` (two zeros) or `zeros1` for a
// lone real pole; then scales to unit gain at ref_hz.
std::vector<Biquad> to_sections(const std::vector<cplx>& poles, Biquad zeros2, Biquad zeros1, double ref_hz,
                                double fs_hz) {
  std::vector<cplx> upper;
  std::vector<double> real;
  for (const cplx& p : poles) {
    const double tol = 1e-10 * std::max(1.0, std::abs(p));
    if (p.imag() > tol) upper.push_back(p);
    else if (std::abs(p.imag()) <= tol) real.push_back(p.real());
  }
  std::vector<Biquad> sections;
  for (const cplx& p : upper) {
    Biquad s = zeros2;
    s.a1 = -2 * p.real();
    s.a2 = std::norm(p);
    sections.push_back(s);
  }
  std::sort(real.begin(), real.end());
  size_t i = 0;
  for (; i + 1 < real.size(); i += 2) {
    Biquad s = zeros2;
    s.a1 = -(real[i] + real[i + 1]);
    s.a2 = real[i] * real[i + 1];
    sections.push_back(s);
  }
  if (i < real.size()) {
    Biquad s = zeros1;
    s.a1 = -real[i];
    s.a2 = 0;
    sections.push_back(s);
  }
  const double gain = std::abs(response(sections, ref_hz, fs_hz));
  sections[0].b0 /= gain;
  sections[0].b1 /= gain;
  sections[0].b2 /= gain;
  return sections;
}

struct SectionState {
  double s1 = 0, s2 = 0;
};

// Transposed direct form II, all sections per sample (the sections' recurrences overlap in the CPU).
template <class Sections, class State>
inline double step(const Sections& sections, State& state, double x) {
  for (size_t k = 0; k < sections.size(); ++k) {
    const Biquad& s = sections[k];
    auto& st = state[k];
    const double y = s.b0 * x + st.s1;
    st.s1 = s.b1 * x - s.a1 * y + st.s2;
    st.s2 = s.b2 * x - s.a2 * y;
    x = y;
  }
  return x;
}

// scipy.signal.sosfilt_zi: steady state of each section for a unit step at the cascade input.
std::vector<SectionState> steady_state(const std::vector<Biquad>& sections, double level) {
  std::vector<SectionState> zi(sections.size());
  double scale = level;
  for (size_t k = 0; k < sections.size(); ++k) {
    const Biquad& s = sections[k];
    const double gain = (s.b0 + s.b1 + s.b2) / (1 + s.a1 + s.a2);
    zi[k].s2 = (s.b2 - s.a2 * gain) * scale;
    zi[k].s1 = (s.b1 - s.a1 * gain) * scale + zi[k].s2;
    scale *= gain;
  }
  return zi;
}

// Samples after which a cascade started from the wrong state has forgotten it: the transient of its
// slowest pole (radius r) through K sections is below t^(2K) · r^t, taken < 1e-17 (double rounding).
// 0 when the filter is not stable.
size_t settle_samples(const std::vector<Biquad>& sections) {
  double r = 0;
  for (const Biquad& s : sections) {
    const double disc = s.a1 * s.a1 - 4 * s.a2;
    r = std::max(r, disc < 0 ? std::sqrt(s.a2) : 0.5 * (std::fabs(s.a1) + std::sqrt(disc)));
  }
  if (!(r < 1)) return 0;
  const double two_k = 2.0 * static_cast<double>(sections.size());
  size_t t = 1;
  while (two_k * std::log(static_cast<double>(t)) + static_cast<double>(t) * std::log(r) > std::log(1e-17)) ++t;
  return t;
}

template <size_t K>
using FixedSections = std::array<Biquad, K>;
template <size_t K>
using FixedState = std::array<SectionState, K>;

// One pass of a K-section cascade over the first lanes·m + warm samples of z (z[t] = base[dir · t]), in
// lanes that run side by side: lane l covers z[l·m + t] for t < warm + m, lane 0 from `state`
// (exact), the others from zero state, writing only after their first `warm` samples. Lane l
// writes z[l·m + warm ...] after every other lane has read it (see the index ranges), so it runs in
// place. Returns the last lane's end state (z continues from there).
template <size_t K>
struct LanePassKernel {
  template <int W, class T>
  [[gnu::always_inline]] static FixedState<K> run(const FixedSections<K>& sec, const FixedState<K>& state, T* base,
                                                  std::ptrdiff_t dir, size_t m, size_t warm) {
    using D = typename detail::Lanes<W>::D;
    D b0[K], b1[K], b2[K], a1[K], a2[K], s1[K], s2[K];
    for (size_t k = 0; k < K; ++k) {
      b0[k] = D{} + sec[k].b0, b1[k] = D{} + sec[k].b1, b2[k] = D{} + sec[k].b2;
      a1[k] = D{} + sec[k].a1, a2[k] = D{} + sec[k].a2;
      s1[k] = D{}, s2[k] = D{};
      s1[k][0] = state[k].s1, s2[k][0] = state[k].s2;
    }
    T* lane[W];
    for (int l = 0; l < W; ++l) lane[l] = base + dir * static_cast<std::ptrdiff_t>(static_cast<size_t>(l) * m);
    const auto step = [&](size_t t) {
      D v;
      for (int l = 0; l < W; ++l) v[l] = static_cast<double>(lane[l][dir * static_cast<std::ptrdiff_t>(t)]);
      for (size_t k = 0; k < K; ++k) {
        const D y = b0[k] * v + s1[k];
        s1[k] = b1[k] * v - a1[k] * y + s2[k];
        s2[k] = b2[k] * v - a2[k] * y;
        v = y;
      }
      return v;
    };
    for (size_t t = 0; t < warm; ++t) lane[0][dir * static_cast<std::ptrdiff_t>(t)] = static_cast<T>(step(t)[0]);
    for (size_t t = warm; t < warm + m; ++t) {
      const D y = step(t);
      for (int l = 0; l < W; ++l) lane[l][dir * static_cast<std::ptrdiff_t>(t)] = static_cast<T>(y[l]);
    }
    FixedState<K> end;
    for (size_t k = 0; k < K; ++k) end[k] = {s1[k][W - 1], s2[k][W - 1]};
    return end;
  }
};

// One pass over z[t] = base[dir · t], t < n, from `state`: sequentially, or (warm > 0) in SIMD lanes
// where the signal is long enough for them to pay, the rest sequentially from the last lane's state.
template <size_t K, class T>
void cascade_pass(const FixedSections<K>& sec, FixedState<K>& state, T* base, std::ptrdiff_t dir, size_t n, size_t warm) {
  size_t done = 0;
  if (warm > 0) {
    const size_t lanes = detail::cpu_level() == 2 ? 8 : 4;
    const size_t m = n > warm ? (n - warm) / lanes : 0;
    if (m >= 4 * warm) {
      state = detail::run_for_cpu<LanePassKernel<K>>(sec, state, base, dir, m, warm);
      done = lanes * m + warm;
    }
  }
  for (size_t t = done; t < n; ++t) {
    T& v = base[dir * static_cast<std::ptrdiff_t>(t)];
    v = static_cast<T>(step(sec, state, static_cast<double>(v)));
  }
}

// K > 0: coefficients and state in fixed-size arrays, which the compiler keeps in registers (with
// vectors the state round-trips through memory every sample, 2-3x slower); K = 0: any section count.
// The arithmetic is the same either way. warm > 0: the main passes run in lanes (cascade_pass).
template <size_t K, class T>
void filtfilt_impl(const std::vector<Biquad>& sections, size_t pad_length, std::span<T> x, size_t warm) {
  using Sections = std::conditional_t<K == 0, std::vector<Biquad>, FixedSections<K>>;
  using State = std::conditional_t<K == 0, std::vector<SectionState>, FixedState<K>>;
  Sections sec{};
  State state{};
  if constexpr (K == 0) sec = sections, state.resize(sections.size());
  else std::copy(sections.begin(), sections.end(), sec.begin());
  const auto start = [&](double level) {
    const std::vector<SectionState> zi = steady_state(sections, level);
    std::copy(zi.begin(), zi.end(), state.begin());
  };
  const auto pass = [&](T* base, std::ptrdiff_t dir) {
    const size_t n = x.size();
    if constexpr (K == 0) {
      for (size_t t = 0; t < n; ++t) {
        T& v = base[dir * static_cast<std::ptrdiff_t>(t)];
        v = static_cast<T>(step(sec, state, static_cast<double>(v)));
      }
    } else {
      cascade_pass<K>(sec, state, base, dir, n, warm);
    }
  };
  const size_t n = x.size();
  const size_t pad = std::min(pad_length, n - 1);
  const double first = x[0], last = x[n - 1];
  // Odd-reflected right pad, taken before x is overwritten; then holds the forward output there.
  std::vector<double> right(pad);
  for (size_t j = 0; j < pad; ++j) right[j] = 2 * last - static_cast<double>(x[n - 2 - j]);
  // Forward pass over [left pad, x, right pad], started in steady state at the first padded value.
  start(pad > 0 ? 2 * first - static_cast<double>(x[pad]) : first);
  for (size_t i = pad; i >= 1; --i) step(sec, state, 2 * first - static_cast<double>(x[i]));
  pass(x.data(), 1);
  for (size_t j = 0; j < pad; ++j) right[j] = step(sec, state, right[j]);
  // Backward pass, started in steady state at the last forward output.
  start(pad > 0 ? right[pad - 1] : static_cast<double>(x[n - 1]));
  for (size_t j = pad; j >= 1; --j) step(sec, state, right[j - 1]);
  pass(x.data() + (n - 1), -1);
}

template <class T>
void filtfilt_impl(const std::vector<Biquad>& sections, size_t pad_length, std::span<T> x, bool lanes = false) {
  require_finite(std::span<const T>(x.data(), x.size()), "x");
  if (x.empty()) return;
  const size_t warm = lanes ? settle_samples(sections) : 0;
  switch (sections.size()) {
    case 1: return filtfilt_impl<1>(sections, pad_length, x, warm);
    case 2: return filtfilt_impl<2>(sections, pad_length, x, warm);
    case 3: return filtfilt_impl<3>(sections, pad_length, x, warm);
    case 4: return filtfilt_impl<4>(sections, pad_length, x, warm);
    case 5: return filtfilt_impl<5>(sections, pad_length, x, warm);
    case 6: return filtfilt_impl<6>(sections, pad_length, x, warm);
    default: return filtfilt_impl<0>(sections, pad_length, x, warm);
  }
}

// Filters run side by side, one per lane of a 4-double vector, each cascade padded to kBankSections
// sections with identity sections (b0 = 1, rest 0: y = x exactly, state stays 0).
constexpr size_t kBankLanes = 4, kBankSections = 4;

struct BankCoefficients {
  detail::v4d b0[kBankSections], b1[kBankSections], b2[kBankSections], a1[kBankSections], a2[kBankSections];
};

// One pass over the interior samples for every lane: in[k][i] (read as double) through lane k's
// cascade into out[k][i], i ascending (forward) or descending (backward). The same operations per
// lane, in the same order, as step(): the results are those of filtfilt_impl bit for bit.
template <size_t S>
struct BankKernel {
  template <int W, class T>
  [[gnu::always_inline]] static void run(const BankCoefficients& c, detail::v4d* s1_io, detail::v4d* s2_io,
                                         const T* const* in, T* const* out, size_t n_lanes, size_t n, bool backward) {
    using V = detail::v4d;
    V s1[S], s2[S];
    for (size_t k = 0; k < S; ++k) {
      s1[k] = s1_io[k];
      s2[k] = s2_io[k];
    }
    for (size_t t = 0; t < n; ++t) {
      const size_t i = backward ? n - 1 - t : t;
      V x;
      for (size_t l = 0; l < kBankLanes; ++l) x[l] = static_cast<double>(in[l][i]);
      for (size_t k = 0; k < S; ++k) {
        const V y = c.b0[k] * x + s1[k];
        s1[k] = c.b1[k] * x - c.a1[k] * y + s2[k];
        s2[k] = c.b2[k] * x - c.a2[k] * y;
        x = y;
      }
      for (size_t l = 0; l < n_lanes; ++l) out[l][i] = static_cast<T>(x[l]);
    }
    for (size_t k = 0; k < S; ++k) {
      s1_io[k] = s1[k];
      s2_io[k] = s2[k];
    }
  }
};

template <class T>
void run_bank(size_t sections, const BankCoefficients& c, detail::v4d* s1, detail::v4d* s2, const T* const* in,
              T* const* out, size_t n_lanes, size_t n, bool backward) {
  // Entry points for AVX2 and the baseline only: 4 lanes are all the kernel has.
  switch (sections) {
    case 1: return detail::run_for_cpu<BankKernel<1>, 1>(c, s1, s2, in, out, n_lanes, n, backward);
    case 2: return detail::run_for_cpu<BankKernel<2>, 1>(c, s1, s2, in, out, n_lanes, n, backward);
    case 3: return detail::run_for_cpu<BankKernel<3>, 1>(c, s1, s2, in, out, n_lanes, n, backward);
    default: return detail::run_for_cpu<BankKernel<4>, 1>(c, s1, s2, in, out, n_lanes, n, backward);
  }
}

// filtfilt_impl for up to kBankLanes filters of at most kBankSections sections at once: the short
// padded ends per filter with step(), the interior in the vector kernel.
template <class T>
void filtfilt_bank(std::span<const IirFilter* const> filters, std::span<const T> x, std::span<const std::span<T>> y) {
  const size_t n = x.size(), n_lanes = filters.size();
  BankCoefficients c;
  size_t sections = 1;
  for (const IirFilter* f : filters) sections = std::max(sections, f->sections().size());
  for (size_t k = 0; k < kBankSections; ++k) {
    for (size_t l = 0; l < kBankLanes; ++l) {
      const Biquad s = l < n_lanes && k < filters[l]->sections().size() ? filters[l]->sections()[k] : Biquad{};
      c.b0[k][l] = s.b0;
      c.b1[k][l] = s.b1;
      c.b2[k][l] = s.b2;
      c.a1[k][l] = s.a1;
      c.a2[k][l] = s.a2;
    }
  }
  detail::v4d s1[kBankSections] = {}, s2[kBankSections] = {};
  const auto load_state = [&](size_t l, const std::vector<SectionState>& state) {
    for (size_t k = 0; k < state.size(); ++k) {
      s1[k][l] = state[k].s1;
      s2[k][l] = state[k].s2;
    }
  };
  const auto saved_state = [&](size_t l) {
    std::vector<SectionState> state(filters[l]->sections().size());
    for (size_t k = 0; k < state.size(); ++k) state[k] = {s1[k][l], s2[k][l]};
    return state;
  };
  std::vector<std::vector<double>> right(n_lanes);
  std::vector<size_t> pad(n_lanes);
  const double first = x[0], last = x[n - 1];
  const T* in[kBankLanes];
  T* out[kBankLanes];
  for (size_t l = 0; l < kBankLanes; ++l) {
    in[l] = x.data();
    out[l] = l < n_lanes ? y[l].data() : nullptr;
  }
  // Forward: each filter's left pad, then the interior of all at once, then each right pad.
  for (size_t l = 0; l < n_lanes; ++l) {
    const auto& sec = filters[l]->sections();
    pad[l] = std::min(filters[l]->pad_length(), n - 1);
    right[l].resize(pad[l]);
    for (size_t j = 0; j < pad[l]; ++j) right[l][j] = 2 * last - static_cast<double>(x[n - 2 - j]);
    auto state = steady_state(sec, pad[l] > 0 ? 2 * first - static_cast<double>(x[pad[l]]) : first);
    for (size_t i = pad[l]; i >= 1; --i) step(sec, state, 2 * first - static_cast<double>(x[i]));
    load_state(l, state);
  }
  run_bank(sections, c, s1, s2, in, out, n_lanes, n, false);
  for (size_t l = 0; l < n_lanes; ++l) {
    const auto& sec = filters[l]->sections();
    auto state = saved_state(l);
    for (size_t j = 0; j < pad[l]; ++j) right[l][j] = step(sec, state, right[l][j]);
    // Backward, started in steady state at the last forward output.
    state = steady_state(sec, pad[l] > 0 ? right[l][pad[l] - 1] : static_cast<double>(y[l][n - 1]));
    for (size_t j = pad[l]; j >= 1; --j) step(sec, state, right[l][j - 1]);
    load_state(l, state);
    in[l] = y[l].data();
  }
  for (size_t l = n_lanes; l < kBankLanes; ++l) in[l] = y[0].data();
  run_bank(sections, c, s1, s2, in, out, n_lanes, n, true);
}

template <class T>
void filtfilt_each_impl(std::span<const IirFilter* const> filters, std::span<const T> x, std::span<const std::span<T>> y) {
  if (filters.size() != y.size())
    throw Error("", "y", "needs one output per filter (" + std::to_string(filters.size()) + "), got " +
                             std::to_string(y.size()));
  for (const std::span<T>& out : y)
    if (out.size() != x.size())
      throw Error("", "y", "outputs must hold " + std::to_string(x.size()) + " samples, got " + std::to_string(out.size()));
  require_finite(x, "x");
  if (x.empty()) return;
  for (size_t begin = 0; begin < filters.size(); begin += kBankLanes) {
    const size_t end = std::min(filters.size(), begin + kBankLanes);
    const auto group = filters.subspan(begin, end - begin);
    if (std::all_of(group.begin(), group.end(), [](const IirFilter* f) { return f->sections().size() <= kBankSections; })) {
      filtfilt_bank(group, x, y.subspan(begin, end - begin));
      continue;
    }
    for (size_t k = begin; k < end; ++k) {
      std::copy(x.begin(), x.end(), y[k].begin());
      filtfilt_impl(filters[k]->sections(), filters[k]->pad_length(), y[k]);
    }
  }
}

}  // namespace

IirFilter IirFilter::butter_lowpass(int order, double cutoff_hz, double fs_hz) {
  check_rate(fs_hz);
  check_order(order);
  check_frequency(cutoff_hz, fs_hz, "cutoff_hz");
  const double wc = prewarp(cutoff_hz, fs_hz);
  std::vector<cplx> poles;
  for (const cplx& p : prototype_poles(order)) poles.push_back(bilinear(wc * p, fs_hz));
  return IirFilter(FilterKind::LowPass, fs_hz,
                   to_sections(poles, Biquad{1, 2, 1, 0, 0}, Biquad{1, 1, 0, 0, 0}, 0.0, fs_hz));
}

IirFilter IirFilter::butter_highpass(int order, double cutoff_hz, double fs_hz) {
  check_rate(fs_hz);
  check_order(order);
  check_frequency(cutoff_hz, fs_hz, "cutoff_hz");
  const double wc = prewarp(cutoff_hz, fs_hz);
  std::vector<cplx> poles;
  for (const cplx& p : prototype_poles(order)) poles.push_back(bilinear(wc / p, fs_hz));
  return IirFilter(FilterKind::HighPass, fs_hz,
                   to_sections(poles, Biquad{1, -2, 1, 0, 0}, Biquad{1, -1, 0, 0, 0}, 0.5 * fs_hz, fs_hz));
}

IirFilter IirFilter::butter_bandpass(int order, double low_hz, double high_hz, double fs_hz) {
  check_rate(fs_hz);
  check_order(order);
  check_frequency(low_hz, fs_hz, "low_hz");
  check_frequency(high_hz, fs_hz, "high_hz");
  if (!(low_hz < high_hz))
    throw Error("", "low_hz", "band-pass low edge " + std::to_string(low_hz) + " Hz must be below the high edge " +
                                  std::to_string(high_hz) + " Hz");
  const double wl = prewarp(low_hz, fs_hz), wh = prewarp(high_hz, fs_hz);
  const double w0 = std::sqrt(wl * wh), bw = wh - wl;
  std::vector<cplx> poles;
  for (const cplx& p : prototype_poles(order)) {
    const cplx half = p * bw / 2.0;
    const cplx root = std::sqrt(half * half - w0 * w0);
    poles.push_back(bilinear(half + root, fs_hz));
    poles.push_back(bilinear(half - root, fs_hz));
  }
  const double center_hz = fs_hz / M_PI * std::atan(w0 / (2 * fs_hz));
  return IirFilter(FilterKind::BandPass, fs_hz,
                   to_sections(poles, Biquad{1, 0, -1, 0, 0}, Biquad{1, 0, -1, 0, 0}, center_hz, fs_hz));
}

IirFilter IirFilter::notch(double f0_hz, double quality, double fs_hz) {
  check_rate(fs_hz);
  check_frequency(f0_hz, fs_hz, "f0_hz");
  if (!std::isfinite(quality) || quality <= 0)
    throw Error("", "quality", "notch quality factor must be finite and positive, got " + std::to_string(quality));
  const double w0 = 2 * M_PI * f0_hz / fs_hz;
  const double bw = w0 / quality;
  const double beta = std::tan(bw / 2);
  const double gain = 1 / (1 + beta);
  const double c = std::cos(w0);
  return IirFilter(FilterKind::Notch, fs_hz, {Biquad{gain, -2 * gain * c, gain, -2 * gain * c, 2 * gain - 1}});
}

double IirFilter::magnitude(double f_hz) const { return std::abs(response(sections_, f_hz, fs_hz_)); }

void IirFilter::filtfilt_inplace(std::span<double> x) const { filtfilt_impl(sections_, pad_length(), x); }
void IirFilter::filtfilt_inplace(std::span<float> x) const { filtfilt_impl(sections_, pad_length(), x); }
void IirFilter::filtfilt_inplace_in_lanes(std::span<float> x) const { filtfilt_impl(sections_, pad_length(), x, true); }

void IirFilter::filtfilt_each(std::span<const IirFilter* const> filters, std::span<const double> x,
                              std::span<const std::span<double>> y) {
  filtfilt_each_impl(filters, x, y);
}
void IirFilter::filtfilt_each(std::span<const IirFilter* const> filters, std::span<const float> x,
                              std::span<const std::span<float>> y) {
  filtfilt_each_impl(filters, x, y);
}

std::vector<double> IirFilter::filtfilt(std::span<const double> x) const {
  std::vector<double> y(x.begin(), x.end());
  filtfilt_inplace(std::span<double>(y));
  return y;
}
std::vector<float> IirFilter::filtfilt(std::span<const float> x) const {
  std::vector<float> y(x.begin(), x.end());
  filtfilt_inplace(std::span<float>(y));
  return y;
}

std::vector<double> IirFilter::filter(std::span<const double> x) const {
  require_finite(x, "x");
  std::vector<SectionState> state(sections_.size());
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = step(sections_, state, x[i]);
  return y;
}

}  // namespace psgkit
