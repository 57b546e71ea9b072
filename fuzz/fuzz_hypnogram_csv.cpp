// Hypnogram parser: interval CSV `onset_s,duration_s,stage` (read_hypnogram_csv).
// Anything but success or psgkit::Error naming the file is a finding.
#include <cstdint>

#include "fuzz_hypnogram_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static psgkit_fuzz::InputFile input(".csv");
  return psgkit_fuzz::fuzz_hypnogram_reader(input, data, size,
                                            [](const std::filesystem::path& p) { return psgkit::read_hypnogram_csv(p); });
}
