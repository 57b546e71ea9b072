// Invariants every successfully read hypnogram must satisfy (hypnogram.hpp).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "psgkit/hypnogram.hpp"

namespace psgkit_fuzz {

inline void check_hypnogram(const psgkit::Hypnogram& h) {
  require(std::isfinite(h.epoch_s) && h.epoch_s > 0, "epoch_s finite and > 0");
  require(std::isfinite(h.start_s), "start_s finite");
  require(h.probabilities.empty() || h.probabilities.size() == h.stages.size(), "one probability row per epoch");
  for (const auto s : h.stages) require(static_cast<int>(s) <= static_cast<int>(psgkit::Stage::UNS), "stage in range");
  for (const auto& e : h.events) require(!std::isnan(e.onset_s), "event onset not NaN");
}

// One fuzz input through `read` (a hypnogram reader taking a path): a read must give a hypnogram
// that passes check_hypnogram, a refusal must be a psgkit::Error naming the file.
template <class Read>
int fuzz_hypnogram_reader(InputFile& input, const uint8_t* data, size_t size, Read read) {
  const auto& path = input.write(data, size);
  try {
    check_hypnogram(read(path));
  } catch (const psgkit::Error& e) {
    check_refusal(e, path);
  }
  return 0;
}

}  // namespace psgkit_fuzz
