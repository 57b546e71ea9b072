// A per-epoch feature table: one row per epoch, `onset_s` first, named feature columns.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "psgkit/hypnogram.hpp"

namespace psgkit {

struct FeatureTable {
  std::vector<std::string> columns;  // feature names, units in the name where they have one
  std::vector<double> onset_s;       // one per row, seconds from the recording start (gaps allowed)
  std::vector<double> values;        // row-major, rows() x cols()
  std::vector<Stage> stages;         // empty, or the expert stage per row (from a `stage` column)

  size_t rows() const { return onset_s.size(); }
  size_t cols() const { return columns.size(); }
  double at(size_t row, size_t col) const { return values[row * columns.size() + col]; }
  double& at(size_t row, size_t col) { return values[row * columns.size() + col]; }
  // Index of a column, or -1.
  int column(std::string_view name) const;
};

// Reads `onset_s,[stage,]feature...`. Throws psgkit::Error on a missing onset_s column, a non-numeric
// cell (naming line and column) or an unknown stage label.
FeatureTable read_feature_csv(const std::filesystem::path& path);
// Writes `onset_s,[stage,]feature...` with round-trip precision (atomic write).
void write_feature_csv(const std::filesystem::path& path, const FeatureTable& table);

}  // namespace psgkit
