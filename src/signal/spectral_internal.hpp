// Internal to the spectral sources: FFTW's planner is not thread-safe, so every plan in psgkit is made
// while holding this mutex (execution needs no lock).
#pragma once

#include <mutex>

namespace psgkit {
std::mutex& fftw_planner_mutex();
}  // namespace psgkit
