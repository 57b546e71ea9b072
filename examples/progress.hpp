// Progress of a command over many items (nights of a cohort, of a training manifest) on stderr.
// On a terminal: one line rewritten in place, "cohort: 12/40 nights, 1 failed, 0:34 left"; otherwise
// (a log file, a pipe, a cluster job) one line per item, so the log shows which night ended when.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

#include <fmt/format.h>

namespace psgkit_cli {

class Progress {
 public:
  Progress(std::string task, size_t total, bool terminal = ::isatty(STDERR_FILENO) == 1)
      : task_(std::move(task)), total_(total), terminal_(terminal), start_(std::chrono::steady_clock::now()) {}
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress() {
    if (terminal_ && done_ > 0) std::fputc('\n', stderr);
  }

  // One item ended; `item` names it ("s3 after"), `error` is empty when it succeeded. Thread-safe.
  void item_done(const std::string& item, const std::string& error = {}) {
    const std::lock_guard lock(mutex_);
    ++done_;
    if (!error.empty()) ++failed_;
    const double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double left_s = elapsed_s / static_cast<double>(done_) * static_cast<double>(total_ - done_);
    const std::string left = fmt::format("{}:{:02d} left", static_cast<long>(left_s) / 60, static_cast<long>(left_s) % 60);
    if (terminal_)
      std::fprintf(stderr, "\r%s: %zu/%zu nights, %zu failed, %s\033[K", task_.c_str(), done_, total_, failed_,
                   left.c_str());
    else
      std::fprintf(stderr, "%s: %zu/%zu %s %s (%zu failed, %s)\n", task_.c_str(), done_, total_, item.c_str(),
                   error.empty() ? "done" : ("failed: " + error).c_str(), failed_, left.c_str());
    std::fflush(stderr);
  }

 private:
  std::string task_;
  size_t total_, done_ = 0, failed_ = 0;
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
};

}  // namespace psgkit_cli
