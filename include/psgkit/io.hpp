// Small file utilities shared by every module: atomic output and CSV reading.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace psgkit {

// Writes `content` to a temporary file in the same folder and renames it over `path`, so an
// interrupted run leaves the old file or none, never half of one. Throws psgkit::Error.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Writes through a temporary file in the target's folder; commit() renames it into place.
// Destroyed without commit() (e.g. by an exception) the temporary is removed.
// For writers that need a path (EDFlib) rather than a string.
class AtomicOutput {
 public:
  explicit AtomicOutput(std::filesystem::path target);
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  bool committed_ = false;
};

// Whole file as bytes. Throws psgkit::Error if it cannot be opened.
std::string read_file(const std::filesystem::path& path);

// A parsed CSV table: header names and rows of raw cell text. Accepts LF or CRLF, a UTF-8 BOM,
// and double-quoted cells with "" escapes. Empty lines are skipped.
struct CsvTable {
  std::filesystem::path path;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  // Index of a header column, or -1.
  int column(std::string_view name) const;
  // Index of a header column; throws psgkit::Error naming the file and column if absent.
  int require_column(std::string_view name) const;
  // Cell `col` of row `row` as a finite double, or NaN for "nan"/"NaN"/"NA"; throws psgkit::Error with
  // file, line and column for anything else (text, empty, infinite, out of range).
  double number(size_t row, int col) const;
};

// Throws psgkit::Error if the file is missing, empty, or a row has a different number of cells.
CsvTable read_csv(const std::filesystem::path& path);
CsvTable parse_csv(std::string_view text, const std::filesystem::path& source_name);

// Shortest text that reads back as the same double (std::to_chars), "nan" for NaN.
std::string format_double(double value);

}  // namespace psgkit
