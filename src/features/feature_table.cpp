#include "psgkit/feature_table.hpp"

#include <string>

#include "psgkit/error.hpp"
#include "psgkit/io.hpp"

namespace psgkit {

int FeatureTable::column(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return static_cast<int>(i);
  return -1;
}

FeatureTable read_feature_csv(const std::filesystem::path& path) {
  const CsvTable csv = read_csv(path);
  const int onset_col = csv.require_column("onset_s");
  const int stage_col = csv.column("stage");
  FeatureTable table;
  std::vector<int> feature_cols;
  for (size_t c = 0; c < csv.header.size(); ++c) {
    if (static_cast<int>(c) == onset_col || static_cast<int>(c) == stage_col) continue;
    feature_cols.push_back(static_cast<int>(c));
    table.columns.push_back(csv.header[c]);
  }
  table.onset_s.reserve(csv.rows.size());
  table.values.reserve(csv.rows.size() * feature_cols.size());
  for (size_t r = 0; r < csv.rows.size(); ++r) {
    table.onset_s.push_back(csv.number(r, onset_col));
    if (stage_col >= 0) {
      const std::string& label = csv.rows[r][static_cast<size_t>(stage_col)];
      const auto stage = parse_stage(label);
      if (!stage)
        throw Error(path.string(), "line " + std::to_string(r + 2) + ", column stage",
                    "unknown stage '" + label + "'");
      table.stages.push_back(*stage);
    }
    for (const int c : feature_cols) table.values.push_back(csv.number(r, c));
  }
  return table;
}

void write_feature_csv(const std::filesystem::path& path, const FeatureTable& table) {
  std::string out = "onset_s";
  const bool with_stage = !table.stages.empty();
  if (with_stage) out += ",stage";
  for (const auto& name : table.columns) out += "," + name;
  out += '\n';
  for (size_t r = 0; r < table.rows(); ++r) {
    out += format_double(table.onset_s[r]);
    if (with_stage) {
      out += ',';
      out += to_string(table.stages[r]);
    }
    for (size_t c = 0; c < table.cols(); ++c) {
      out += ',';
      out += format_double(table.at(r, c));
    }
    out += '\n';
  }
  write_file_atomic(path, out);
}

}  // namespace psgkit
