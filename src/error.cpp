#include "psgkit/error.hpp"

namespace psgkit {
namespace {
std::string compose(const std::string& file, const std::string& field, const std::string& what) {
  std::string message;
  if (!file.empty()) message += file + ": ";
  if (!field.empty()) message += field + ": ";
  return message + what;
}
}  // namespace

Error::Error(std::string file, std::string field, const std::string& what)
    : std::runtime_error(compose(file, field, what)), file_(std::move(file)), field_(std::move(field)) {}

}  // namespace psgkit
