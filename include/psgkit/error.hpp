// Errors: every failure is a psgkit::Error naming the file, the field (or byte offset) and what was wrong.
#pragma once

#include <stdexcept>
#include <string>

namespace psgkit {

class Error : public std::runtime_error {
 public:
  // `file` may be empty for in-memory input; `field` names the header field, column, option or
  // "byte N" where the problem is.
  Error(std::string file, std::string field, const std::string& what);

  const std::string& file() const noexcept { return file_; }
  const std::string& field() const noexcept { return field_; }

 private:
  std::string file_;
  std::string field_;
};

}  // namespace psgkit
