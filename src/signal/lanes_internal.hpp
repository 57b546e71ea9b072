// W-lane double vectors (GCC vector extensions) for kernels compiled several times — AVX-512 (W = 8),
// AVX2 (W = 4) and the SSE2 baseline (W = 4) — and chosen once at run time (cpu_level()).
#pragma once

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <utility>

// The lane helpers are always inlined, so the vector-argument ABI GCC notes about (-Wpsabi, off for
// the library in CMakeLists.txt) never applies.

namespace psgkit::detail {

// GCC ignores vector_size on template-dependent types, so the lane types are spelled out per width.
using v4d = double __attribute__((vector_size(32)));
using v4l = long long __attribute__((vector_size(32)));
using v4i = int __attribute__((vector_size(16)));
using v4f = float __attribute__((vector_size(16)));
using v4s = short __attribute__((vector_size(8)));
using v8d = double __attribute__((vector_size(64)));
using v8l = long long __attribute__((vector_size(64)));
using v8i = int __attribute__((vector_size(32)));
using v8f = float __attribute__((vector_size(32)));
using v8s = short __attribute__((vector_size(16)));
template <int W>
struct LaneTypes {
  static_assert(W == 4 || W == 8, "kernels run 4 or 8 double lanes");
  template <class Four, class Eight>
  using pick = std::conditional_t<W == 4, Four, Eight>;
  using D = pick<v4d, v8d>;
  using L = pick<v4l, v8l>;
  using I = pick<v4i, v8i>;
  using F = pick<v4f, v8f>;
  using S = pick<v4s, v8s>;
};

template <int W>
struct Lanes {
  using D = typename LaneTypes<W>::D;
  using L = typename LaneTypes<W>::L;
  using I = typename LaneTypes<W>::I;
  using F = typename LaneTypes<W>::F;
  using S = typename LaneTypes<W>::S;  // int16
  [[gnu::always_inline]] static D load(const double* p) {
    D v;
    std::memcpy(&v, p, sizeof(D));
    return v;
  }
  // W floats widened to double (exact).
  [[gnu::always_inline]] static D load(const float* p) {
    F v;
    std::memcpy(&v, p, sizeof(F));
    return __builtin_convertvector(v, D);
  }
  [[gnu::always_inline]] static D splat(double s) { return D{} + s; }
  [[gnu::always_inline]] static D abs(D v) { return reinterpret_cast<D>(reinterpret_cast<L>(v) & (L{} + 0x7fffffffffffffffLL)); }
  [[gnu::always_inline]] static double sum(D v) {
    double s = 0;
    for (int l = 0; l < W; ++l) s += v[l];
    return s;
  }
  [[gnu::always_inline]] static long long sum(L v) {
    long long s = 0;
    for (int l = 0; l < W; ++l) s += v[l];
    return s;
  }
  // sign(v) in {-1, 0, 1} as lanes (comparisons give -1 for true).
  [[gnu::always_inline]] static L sign(D v) { return (v < 0.0) - (v > 0.0); }
};

// Sum of the lanes as a tree of half-vector adds (log2 W steps, no scalar chain).
[[gnu::always_inline]] inline float sum_lanes(v4f v) {
  const auto h = __builtin_shufflevector(v, v, 0, 1) + __builtin_shufflevector(v, v, 2, 3);
  return h[0] + h[1];
}
[[gnu::always_inline]] inline float sum_lanes(v8f v) {
  return sum_lanes(__builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7));
}
[[gnu::always_inline]] inline double sum_lanes(v4d v) {
  const auto h = __builtin_shufflevector(v, v, 0, 1) + __builtin_shufflevector(v, v, 2, 3);
  return h[0] + h[1];
}

// sum_lanes of four vectors at once: out[r] = sum_lanes(a_r) bit for bit (the same half-vector adds
// per vector), with the four trees sharing their shuffles and adds.
template <class V>
[[gnu::always_inline]] inline auto sum_lanes4(V a0, V a1, V a2, V a3) {
  constexpr int W = sizeof(V) / sizeof(a0[0]);
  static_assert(W == 4 || W == 8);
  // t: 16 lanes, four per vector, each four holding that vector's sum_lanes tree at width 4.
  const auto t = [&] {
    if constexpr (W == 8) {
      const auto s01 = __builtin_shufflevector(a0, a1, 0, 1, 2, 3, 8, 9, 10, 11) +
                       __builtin_shufflevector(a0, a1, 4, 5, 6, 7, 12, 13, 14, 15);
      const auto s23 = __builtin_shufflevector(a2, a3, 0, 1, 2, 3, 8, 9, 10, 11) +
                       __builtin_shufflevector(a2, a3, 4, 5, 6, 7, 12, 13, 14, 15);
      return __builtin_shufflevector(s01, s23, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    } else {
      const auto s01 = __builtin_shufflevector(a0, a1, 0, 1, 2, 3, 4, 5, 6, 7);
      const auto s23 = __builtin_shufflevector(a2, a3, 0, 1, 2, 3, 4, 5, 6, 7);
      return __builtin_shufflevector(s01, s23, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    }
  }();
  const auto u = __builtin_shufflevector(t, t, 0, 1, 4, 5, 8, 9, 12, 13) + __builtin_shufflevector(t, t, 2, 3, 6, 7, 10, 11, 14, 15);
  return __builtin_shufflevector(u, u, 0, 2, 4, 6) + __builtin_shufflevector(u, u, 1, 3, 5, 7);
}

// 2: AVX-512 (F, DQ, BW, VL), 1: AVX2 with FMA, 0: baseline. Detected once.
inline int cpu_level() {
  static const int level = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                                   __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
                               ? 2
                               : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0);
  return level;
}

}  // namespace psgkit::detail

// Target attributes of the kernels' entry points. fp-contract=off: compilers contract a·b + c into
// FMA when the target has FMA, which would make results depend on the CPU (and move samples across
// histogram edges in the recipes). GCC takes it per function; clang only as a pragma, which then holds
// for the rest of every file that includes this header.
#if defined(__clang__)
#pragma clang fp contract(off)
#define PSGKIT_TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))
#define PSGKIT_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define PSGKIT_TARGET_AVX512 \
  __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"), optimize("fp-contract=off")))
#define PSGKIT_TARGET_AVX2 __attribute__((target("avx2,fma"), optimize("fp-contract=off")))
#endif

namespace psgkit::detail {

// Kernel::run<W>(args...) compiled for the best instruction set of this CPU up to kMaxLevel (see
// cpu_level), without FMA contraction: W = 8 with AVX-512, W = 4 with AVX2/FMA or the SSE2 baseline.
// Kernel::run must be always_inline, so that each entry point below compiles it for its own
// instruction set. kMaxLevel = 1 for kernels full of comparisons: GCC 12 builds 8-lane comparison
// masks lane by lane (vcomisd, setcc, insert), which makes their AVX-512 form slower than AVX2.
template <class Kernel, class... Args>
PSGKIT_TARGET_AVX512 decltype(auto) run_avx512(Args&&... args) {
  return Kernel::template run<8>(std::forward<Args>(args)...);
}
template <class Kernel, class... Args>
PSGKIT_TARGET_AVX2 decltype(auto) run_avx2(Args&&... args) {
  return Kernel::template run<4>(std::forward<Args>(args)...);
}
template <class Kernel, int kMaxLevel = 2, class... Args>
decltype(auto) run_for_cpu(Args&&... args) {
  switch (std::min(cpu_level(), kMaxLevel)) {
    case 2: return run_avx512<Kernel>(std::forward<Args>(args)...);
    case 1: return run_avx2<Kernel>(std::forward<Args>(args)...);
    default: return Kernel::template run<4>(std::forward<Args>(args)...);
  }
}

}  // namespace psgkit::detail
