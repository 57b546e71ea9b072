// Hypnogram parser: EDF+ annotation hypnograms through format detection (read_hypnogram).
// Anything but success or psgkit::Error naming the file is a finding.
#include <cstdint>

#include "fuzz_hypnogram_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static psgkit_fuzz::InputFile input(".edf");
  return psgkit_fuzz::fuzz_hypnogram_reader(input, data, size,
                                            [](const std::filesystem::path& p) { return psgkit::read_hypnogram(p); });
}
