// Helpers shared by the test executables.
#pragma once
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "psgkit/error.hpp"

namespace psgkit_test {

// ../shared/data next to the source tree; absent on a user's fresh clone.
inline std::filesystem::path shared_data() { return PSGKIT_SHARED_DATA_DIR; }

// Use as `if (!have_shared_data()) return;` at the top of a test that needs real data.
inline bool have_shared_data() {
  if (std::filesystem::is_directory(shared_data())) return true;
  MESSAGE("SKIPPED: ../shared/data is absent (" << shared_data().string() << ")");
  return false;
}

// One file or folder under ../shared/data (e.g. "sleep-edf-st/design.csv"); says so when it is absent.
inline bool have_shared_file(const std::filesystem::path& relative) {
  if (!have_shared_data()) return false;
  if (std::filesystem::exists(shared_data() / relative)) return true;
  MESSAGE("SKIPPED: " << (shared_data() / relative).string() << " is absent");
  return false;
}

inline std::filesystem::path source_dir() { return PSGKIT_SOURCE_DIR; }
inline std::string cli_path() { return PSGKIT_CLI_PATH; }

// Use as `if (!have_cli()) return;` in a test that runs the psgkit binary.
inline bool have_cli() {
  if (!cli_path().empty()) return true;
  MESSAGE("SKIPPED: the psgkit CLI is not built (PSGKIT_BUILD_CLI=OFF)");
  return false;
}

// A fresh empty directory under the system temp dir, removed when the object dies.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return path / name; }
};

inline TempDir::TempDir(const std::string& tag) {
  static int counter = 0;
  path = std::filesystem::temp_directory_path() /
         ("psgkit-test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
}
inline TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

// Runs a shell command; returns its exit status and captured stdout (stderr merged when asked).
struct CommandResult {
  int exit_code;
  std::string output;
};
inline CommandResult run_command(const std::string& command) {
  CommandResult result{-1, {}};
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

// The message of the psgkit::Error that `f` throws, or "(no error)".
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const psgkit::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace psgkit_test
