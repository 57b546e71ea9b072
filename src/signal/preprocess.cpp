// Re-referencing, epoching and input checks (see preprocess.hpp).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <string>

#include "psgkit/error.hpp"
#include "psgkit/preprocess.hpp"
#include "lanes_internal.hpp"

namespace psgkit {
namespace {

// Whole chunks are checked without a branch per sample (integer and/add/or, which vectorise): a sample
// is NaN or infinite exactly when its exponent bits are all ones, and adding one exponent unit then
// carries into the sign bit. Returns where the chunk holding the first bad sample starts (or the start
// of the incomplete last chunk).
struct FiniteChunksKernel {
  static constexpr size_t kChunk = 256;
  template <int W, class T>
  [[gnu::always_inline]] static size_t run(const T* x, size_t n) {
    using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
    const Bits exponent = std::bit_cast<Bits>(std::numeric_limits<T>::infinity());
    const Bits exponent_unit = exponent & (~exponent + 1), sign = ~(~Bits{0} >> 1);
    size_t i = 0;
    for (; i + kChunk <= n; i += kChunk) {
      Bits carried = 0;
      for (size_t j = 0; j < kChunk; ++j) carried |= (std::bit_cast<Bits>(x[i + j]) & exponent) + exponent_unit;
      if (carried & sign) break;
    }
    return i;
  }
};

template <class T>
void require_finite_impl(std::span<const T> x, const char* what) {
  // The first bad sample's index is looked up one by one from the chunk that holds it.
  for (size_t i = detail::run_for_cpu<FiniteChunksKernel>(x.data(), x.size()); i < x.size(); ++i)
    if (!std::isfinite(x[i]))
      throw Error("", what, "sample " + std::to_string(i) + " is " + (std::isnan(x[i]) ? "NaN" : "infinite"));
}

template <class T>
std::vector<T> rereference_impl(std::span<const T> a, double a_fs_hz, std::span<const T> b, double b_fs_hz) {
  if (a_fs_hz != b_fs_hz)
    throw Error("", "fs_hz", "cannot re-reference signals sampled at " + std::to_string(a_fs_hz) + " and " +
                                 std::to_string(b_fs_hz) + " Hz; resample one first");
  if (a.size() != b.size())
    throw Error("", "n_samples", "cannot re-reference signals of " + std::to_string(a.size()) + " and " +
                                     std::to_string(b.size()) + " samples");
  std::vector<T> out(a.size());
  for (size_t i = 0; i < a.size(); ++i) out[i] = a[i] - b[i];
  return out;
}

template <class T>
Epochs<T> make_epochs_impl(std::span<const T> x, double fs_hz, double epoch_s, double offset_s) {
  Epochs<T> epochs;
  static_cast<EpochGrid&>(epochs) = epoch_grid(x.size(), fs_hz, epoch_s, offset_s);
  epochs.signal = x;
  return epochs;
}

}  // namespace

EpochGrid epoch_grid(size_t n_samples, double fs_hz, double epoch_s, double offset_s) {
  if (!std::isfinite(fs_hz) || fs_hz <= 0)
    throw Error("", "fs_hz", "sampling rate must be finite and positive, got " + std::to_string(fs_hz));
  if (!std::isfinite(epoch_s) || epoch_s <= 0)
    throw Error("", "epoch_s", "epoch length must be finite and positive, got " + std::to_string(epoch_s));
  if (!std::isfinite(offset_s) || offset_s < 0)
    throw Error("", "offset_s", "epoch offset must be finite and >= 0, got " + std::to_string(offset_s));
  const double samples = epoch_s * fs_hz;
  const double rounded = std::round(samples);
  if (rounded < 1 || std::abs(samples - rounded) > 1e-6)
    throw Error("", "epoch_s", std::to_string(epoch_s) + " s at " + std::to_string(fs_hz) +
                                   " Hz is not a whole number of samples; resample the signal first");
  EpochGrid grid;
  grid.fs_hz = fs_hz;
  grid.samples_per_epoch = static_cast<size_t>(rounded);
  grid.first_sample = static_cast<size_t>(std::llround(offset_s * fs_hz));
  const size_t available = n_samples > grid.first_sample ? n_samples - grid.first_sample : 0;
  grid.count = available / grid.samples_per_epoch;
  grid.dropped_samples = available - grid.count * grid.samples_per_epoch;
  return grid;
}

void require_finite(std::span<const double> x, const char* what) { require_finite_impl(x, what); }
void require_finite(std::span<const float> x, const char* what) { require_finite_impl(x, what); }

std::vector<double> rereference(std::span<const double> a, double a_fs_hz, std::span<const double> b,
                                double b_fs_hz) {
  return rereference_impl(a, a_fs_hz, b, b_fs_hz);
}
std::vector<float> rereference(std::span<const float> a, double a_fs_hz, std::span<const float> b,
                               double b_fs_hz) {
  return rereference_impl(a, a_fs_hz, b, b_fs_hz);
}

Epochs<double> make_epochs(std::span<const double> x, double fs_hz, double epoch_s, double offset_s) {
  return make_epochs_impl(x, fs_hz, epoch_s, offset_s);
}
Epochs<float> make_epochs(std::span<const float> x, double fs_hz, double epoch_s, double offset_s) {
  return make_epochs_impl(x, fs_hz, epoch_s, offset_s);
}

}  // namespace psgkit
