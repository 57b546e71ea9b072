// Staging model reader: StagingModel::load (psgkit's own UBJSON reader, src/staging/boosted_trees.cpp, and the
// psgkit metadata), then a prediction on a small table with missing cells. Loading: anything but success
// or psgkit::Error naming the file is a finding. Predicting: a psgkit::Error is a fine refusal (the
// metadata may name channel slots the table does not have); anything else is a finding.
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

#include "fuzz_input.hpp"
#include "psgkit/feature_table.hpp"
#include "psgkit/staging.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static psgkit_fuzz::InputFile input(".ubj");
  const auto& path = input.write(data, size);
  std::optional<psgkit::StagingModel> loaded;
  try {
    loaded.emplace(psgkit::StagingModel::load(path));
  } catch (const psgkit::Error& e) {
    psgkit_fuzz::check_refusal(e, path);
    return 0;
  }
  const psgkit::StagingModel& model = *loaded;
  try {
    psgkit::FeatureTable table;
    for (const char* slot : {"fpz_cz", "pz_oz", "eog"})
      for (const auto& f : model.channel_features()) table.columns.push_back(std::string(slot) + "_" + f);
    constexpr size_t kRows = 24;
    for (size_t r = 0; r < kRows; ++r) {
      table.onset_s.push_back(30.0 * static_cast<double>(r));
      for (size_t c = 0; c < table.cols(); ++c)
        table.values.push_back((r + c) % 7 == 0 ? std::numeric_limits<double>::quiet_NaN()
                                                : std::ldexp(1.0 + static_cast<double>((r * 31 + c * 17) % 13), static_cast<int>(r % 9) - 4));
    }
    const auto proba = model.predict_proba(table);
    psgkit_fuzz::require(proba.size() == kRows, "one probability row per table row");
    const auto staged = model.stage_rows(table);
    psgkit_fuzz::require(staged.stages.size() == kRows, "one stage per table row");
  } catch (const psgkit::Error&) {
  }
  return 0;
}
