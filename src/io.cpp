#include "psgkit/io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "psgkit/error.hpp"

namespace psgkit {
namespace fs = std::filesystem;

namespace {
fs::path temp_name_for(const fs::path& target) {
  static std::atomic<unsigned> counter{0};
  fs::path temp = target;
  temp += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  return temp;
}
void write_all(const fs::path& path, const fs::path& written, std::string_view content) {
  const int fd = ::open(written.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path.string(), "", std::string("cannot create output: ") + std::strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw Error(path.string(), "", std::string("write failed: ") + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) throw Error(path.string(), "", std::string("close failed: ") + std::strerror(errno));
}
}  // namespace

AtomicOutput::AtomicOutput(fs::path target) : target_(std::move(target)), temp_(temp_name_for(target_)) {}

AtomicOutput::~AtomicOutput() {
  if (!committed_) {
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void AtomicOutput::commit() {
  std::error_code ec;
  // A device or pipe (/dev/null, /dev/stdout, a FIFO) is written into: renaming over it would
  // replace the device itself.
  if (fs::exists(target_, ec) && !fs::is_regular_file(target_, ec)) {
    write_all(target_, target_, read_file(temp_));
    fs::remove(temp_, ec);
    committed_ = true;
    return;
  }
  fs::rename(temp_, target_, ec);
  if (ec) throw Error(target_.string(), "", "cannot move finished output into place: " + ec.message());
  committed_ = true;
}


void write_file_atomic(const fs::path& path, std::string_view content) {
  AtomicOutput out(path);
  write_all(path, out.temp_path(), content);
  out.commit();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string(), "", "cannot open file (" + std::string(std::strerror(errno)) + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int CsvTable::column(std::string_view name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

int CsvTable::require_column(std::string_view name) const {
  const int c = column(name);
  if (c < 0) throw Error(path.string(), "column " + std::string(name), "missing from the CSV header");
  return c;
}

double CsvTable::number(size_t row, int col) const {
  const std::string& cell = rows.at(row).at(static_cast<size_t>(col));
  const std::string where = "line " + std::to_string(row + 2) + ", column " + header.at(static_cast<size_t>(col));
  std::string_view s = cell;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s == "nan" || s == "NaN" || s == "NA" || s.empty()) {
    if (s.empty()) throw Error(path.string(), where, "empty cell where a number belongs");
    return std::nan("");
  }
  double value = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size())
    throw Error(path.string(), where, "'" + cell + "' is not a number");
  if (std::isinf(value)) throw Error(path.string(), where, "'" + cell + "' is not a finite number");
  return value;
}

CsvTable parse_csv(std::string_view text, const fs::path& source_name) {
  CsvTable table;
  table.path = source_name;
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<std::string> row;
  std::string cell;
  bool in_quotes = false, row_has_content = false;
  size_t line = 1;
  auto end_row = [&] {
    row.push_back(std::move(cell));
    cell.clear();
    if (row_has_content || row.size() > 1 || !row.front().empty()) {
      if (table.header.empty()) {
        table.header = std::move(row);
      } else {
        if (row.size() != table.header.size())
          throw Error(source_name.string(), "line " + std::to_string(line),
                      "has " + std::to_string(row.size()) + " cells, the header has " +
                          std::to_string(table.header.size()));
        table.rows.push_back(std::move(row));
      }
    }
    row.clear();
    row_has_content = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        cell += c;
      }
    } else if (c == '"') {
      in_quotes = true;
      row_has_content = true;
    } else if (c == ',') {
      row.push_back(std::move(cell));
      cell.clear();
      row_has_content = true;
    } else if (c == '\n') {
      end_row();
      ++line;
    } else if (c != '\r') {
      cell += c;
    }
  }
  if (in_quotes) throw Error(source_name.string(), "line " + std::to_string(line), "unterminated quoted cell");
  if (!cell.empty() || !row.empty()) end_row();
  if (table.header.empty()) throw Error(source_name.string(), "", "empty CSV file (no header)");
  for (auto& name : table.header) {
    while (!name.empty() && name.back() == ' ') name.pop_back();
    while (!name.empty() && name.front() == ' ') name.erase(name.begin());
  }
  return table;
}

CsvTable read_csv(const fs::path& path) { return parse_csv(read_file(path), path); }

std::string format_double(double value) {
  if (std::isnan(value)) return "nan";
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);  // shortest round-trip form
  return std::string(buffer, result.ptr);
}

}  // namespace psgkit
