// Read-only mapping of a whole file (not installed): EDF recordings and staging model files are read
// in place, without a copy into fresh (kernel-zeroed) memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>

namespace psgkit::detail {

class MappedFile {
 public:
  MappedFile() = default;
  // Throws psgkit::Error naming the file if it cannot be opened, is not a regular file, is empty or
  // cannot be mapped.
  explicit MappedFile(const std::filesystem::path& path);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::string_view bytes() const { return {reinterpret_cast<const char*>(data_), size_}; }
  // Drops the whole pages inside [begin, end) from this process: a walk over every data record
  // (annotations, one signal) would otherwise keep the entire file resident. Read-only file pages
  // come back from the page cache on the next access, so this is safe while other threads read.
  void release(size_t begin, size_t end) const;
  // Maps the pages of bytes [begin, end) in one call (MADV_POPULATE_READ, Linux 5.14+; a no-op before)
  // instead of one page fault per 16 pages: a file cached in 4-KB pages (as EDFlib writes it) otherwise
  // costs a fault, and its system time, every 64 KB.
  void populate(size_t begin, size_t end) const;

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace psgkit::detail
