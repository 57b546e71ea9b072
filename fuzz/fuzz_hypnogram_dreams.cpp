// Hypnogram parser: DREAMS 5-s text hypnogram (read_hypnogram_dreams).
// Anything but success or psgkit::Error naming the file is a finding.
#include <cstdint>

#include "fuzz_hypnogram_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static psgkit_fuzz::InputFile input(".txt");
  const auto& path = input.write(data, size);
  try {
    psgkit_fuzz::check_hypnogram(psgkit::read_hypnogram_dreams(path));
  } catch (const psgkit::Error& e) {
    psgkit_fuzz::check_refusal(e, path);
  }
  return 0;
}
