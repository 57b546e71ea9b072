// Shared by the libFuzzer harnesses: the library reads paths, not buffers, so each input is written to
// a per-process file under /dev/shm (RAM, no disk wear) and the harness opens that path.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "psgkit/error.hpp"

namespace psgkit_fuzz {

class InputFile {
 public:
  explicit InputFile(const std::string& extension) {
    std::filesystem::path dir = "/dev/shm";
    if (!std::filesystem::is_directory(dir)) dir = std::filesystem::temp_directory_path();
    path_ = dir / ("psgkit-fuzz-" + std::to_string(::getpid()) + extension);
  }
  ~InputFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  const std::filesystem::path& write(const uint8_t* data, size_t size) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.close();
    if (!out) {
      std::fprintf(stderr, "fuzz harness: cannot write %s\n", path_.c_str());
      std::abort();
    }
    return path_;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A refusal is fine, but it must say which file was refused (the psgkit::Error contract).
inline void check_refusal(const psgkit::Error& error, const std::filesystem::path& path) {
  if (std::string(error.what()).find(path.string()) == std::string::npos) {
    std::fprintf(stderr, "psgkit::Error does not name the file %s: %s\n", path.c_str(), error.what());
    std::abort();
  }
}

// A broken invariant of a successful read is as bad as a crash: stop with a message.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace psgkit_fuzz
