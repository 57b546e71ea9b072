// Whole-night buffers: vectors of millions of samples, filled once.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace psgkit::detail {

// v.reserve(n), and when that needs fresh memory, transparent huge pages are asked for first (the
// kernel leaves THP to madvise on Debian): the first touch of a 30-MB night then takes 15 faults of
// 2 MB instead of 7500 of 4 kB. A hint only.
template <class T>
void reserve_night_buffer(std::vector<T>& v, size_t n) {
  if (v.capacity() < n) {
    v.clear();
    v.reserve(n);
    static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t first = (reinterpret_cast<uintptr_t>(v.data()) + page - 1) / page * page;
    const uintptr_t last = (reinterpret_cast<uintptr_t>(v.data()) + n * sizeof(T)) / page * page;
    if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
  }
}

// v.resize(n) on huge pages (reserve_night_buffer); the values are those of resize.
template <class T>
void resize_night_buffer(std::vector<T>& v, size_t n) {
  reserve_night_buffer(v, n);
  v.resize(n);
}

}  // namespace psgkit::detail
