// Whole-night buffers: vectors of millions of samples, filled once.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace psgkit::detail {

// Makes v hold at least n elements' memory; when that needs fresh memory, gives the kernel `advice`
// (madvise) on the whole pages of it before anything touches them.
template <class T>
void reserve_advised(std::vector<T>& v, size_t n, int advice) {
  if (v.capacity() >= n) return;
  v.clear();
  v.reserve(n);
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = (reinterpret_cast<uintptr_t>(v.data()) + page - 1) / page * page;
  const uintptr_t last = (reinterpret_cast<uintptr_t>(v.data()) + n * sizeof(T)) / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, advice);
}

// v.reserve(n), and when that needs fresh memory, transparent huge pages are asked for first (the
// kernel leaves THP to madvise on Debian): the first touch of a 30-MB night then takes 15 faults of
// 2 MB instead of 7500 of 4 kB. A hint only.
template <class T>
void reserve_night_buffer(std::vector<T>& v, size_t n) {
  reserve_advised(v, n, MADV_HUGEPAGE);
}

// v.resize(n) on huge pages (reserve_night_buffer); the values are those of resize.
template <class T>
void resize_night_buffer(std::vector<T>& v, size_t n) {
  reserve_night_buffer(v, n);
  v.resize(n);
}

// v.resize(n, value) for a buffer about to be filled, with fresh memory mapped in one call
// (MADV_POPULATE_WRITE, Linux 5.14+; refused before) instead of a page fault per 4 kB on first touch:
// in a VM each fault is a trip through the hypervisor (≈ 17 µs on the 2-core test VM: a fresh 1-MB
// buffer cost 4.5 ms by faults, 0.5 ms populated). A hint only; the values are those of resize.
template <class T>
void resize_populated(std::vector<T>& v, size_t n, const T& value = T{}) {
#ifndef MADV_POPULATE_WRITE
  constexpr int MADV_POPULATE_WRITE = 23;
#endif
  reserve_advised(v, n, MADV_POPULATE_WRITE);
  v.resize(n, value);
}

}  // namespace psgkit::detail
