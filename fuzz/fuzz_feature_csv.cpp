// Feature table reader: read_feature_csv. Anything but success or psgkit::Error naming the file is a finding.
#include <cstdint>

#include "fuzz_input.hpp"
#include "psgkit/feature_table.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static psgkit_fuzz::InputFile input(".csv");
  const auto& path = input.write(data, size);
  try {
    const psgkit::FeatureTable t = psgkit::read_feature_csv(path);
    psgkit_fuzz::require(t.values.size() == t.rows() * t.cols(), "values has rows x cols cells");
    psgkit_fuzz::require(t.stages.empty() || t.stages.size() == t.rows(), "one stage per row or none");
  } catch (const psgkit::Error& e) {
    psgkit_fuzz::check_refusal(e, path);
  }
  return 0;
}
