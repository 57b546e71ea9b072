#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include "psgkit/error.hpp"
#include "psgkit/io.hpp"
#include "support.hpp"

using namespace psgkit;

TEST_CASE("CSV parsing handles quotes, CRLF, BOM and reports bad rows") {
  const auto t = parse_csv("\xEF\xBB\xBF" "a,b\r\n1,\"x,\"\"y\"\"\"\r\n\r\n2,3\n", "mem.csv");
  REQUIRE(t.header == std::vector<std::string>{"a", "b"});
  REQUIRE(t.rows.size() == 2);
  CHECK(t.rows[0][1] == "x,\"y\"");
  CHECK(t.number(1, 1) == 3.0);
  CHECK_THROWS_WITH_AS(t.number(0, 1), doctest::Contains("line 2, column b"), Error);
  CHECK_THROWS_WITH_AS(parse_csv("a,b\n1\n", "bad.csv"), doctest::Contains("bad.csv: line 2"), Error);
  CHECK_THROWS_AS(parse_csv("", "empty.csv"), Error);
  CHECK(t.require_column("b") == 1);
  CHECK_THROWS_WITH_AS(t.require_column("zz"), doctest::Contains("column zz"), Error);
}

TEST_CASE("format_double round-trips") {
  for (double v : {0.1, 1.0 / 3.0, 1e-300, -2.5e17, 6.0}) CHECK(std::strtod(format_double(v).c_str(), nullptr) == v);
  CHECK(format_double(6.0) == "6");
}

TEST_CASE("atomic output leaves the old file or the new one, never a temporary") {
  psgkit_test::TempDir dir("io");
  const auto target = dir / "out.txt";
  write_file_atomic(target, "old");
  {
    AtomicOutput out(target);
    write_file_atomic(out.temp_path(), "partial");
    // destroyed without commit: the temporary goes, the old file stays
  }
  CHECK(read_file(target) == "old");
  write_file_atomic(target, "new");
  CHECK(read_file(target) == "new");
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path)) ++files;
  CHECK(files == 1);
  CHECK_THROWS_AS(write_file_atomic(dir / "no/such/dir/x.txt", "x"), Error);
  CHECK_THROWS_WITH_AS(read_file(dir / "missing.txt"), doctest::Contains("missing.txt"), Error);
}

TEST_CASE("output to a pipe or device is written into it, not renamed over it") {
  psgkit_test::TempDir dir("io-fifo");
  const auto fifo = dir / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::string received;
  std::thread reader([&] { received = read_file(fifo); });
  write_file_atomic(fifo, "through the pipe");
  reader.join();
  CHECK(received == "through the pipe");
  CHECK(std::filesystem::is_fifo(fifo));
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path)) ++files;
  CHECK(files == 1);  // no temporary left behind
}
