// Hypnogram parser: format detection and the staging CSV
// `epoch,onset_s,stage,confidence,p_W..p_REM` (read_hypnogram).
// Anything but success or psgkit::Error naming the file is a finding.
#include <cstdint>

#include "fuzz_hypnogram_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static psgkit_fuzz::InputFile input(".csv");
  return psgkit_fuzz::fuzz_hypnogram_reader(input, data, size,
                                            [](const std::filesystem::path& p) { return psgkit::read_hypnogram(p); });
}
