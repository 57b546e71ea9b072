// Damaged and hostile input for every hypnogram and feature-table reader. Each one either reads the
// file (only where hypnogram.hpp / feature_table.hpp document a tolerant read) or throws psgkit::Error
// whose message names the file and, where it can, the line; never a crash, a hang, a huge allocation
// or another exception type.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "psgkit/error.hpp"
#include "psgkit/feature_table.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/io.hpp"
#include "psgkit/recording.hpp"
#include "support.hpp"

using namespace psgkit;
namespace fs = std::filesystem;

namespace {

// One garbage input: a file name, its bytes, and what the error message must contain.
struct Case {
  std::string name;
  std::string text;
  std::vector<std::string> needles;
};

using Reader = std::function<void(const fs::path&)>;

struct NamedReader {
  std::string name;
  Reader read;
};

// Every entry point that reads a hypnogram-like file from a path.
const std::vector<NamedReader>& all_readers() {
  static const std::vector<NamedReader> readers = {
      {"read_hypnogram", [](const fs::path& p) { (void)read_hypnogram(p); }},
      {"read_hypnogram_csv", [](const fs::path& p) { (void)read_hypnogram_csv(p); }},
      {"read_hypnogram_dreams", [](const fs::path& p) { (void)read_hypnogram_dreams(p); }},
      {"read_feature_csv", [](const fs::path& p) { (void)read_feature_csv(p); }},
  };
  return readers;
}

std::string write_bytes(const psgkit_test::TempDir& dir, const std::string& name, const std::string& bytes) {
  const fs::path path = dir / name;
  write_file_atomic(path, bytes);
  return path.string();
}

// The reader must throw psgkit::Error naming `path` and containing every `needle`.
void expect_refusal(const Reader& read, const std::string& path, const std::vector<std::string>& needles = {}) {
  try {
    read(path);
    FAIL_CHECK("accepted " << path);
  } catch (const Error& e) {
    const std::string what = e.what();
    CHECK_MESSAGE(what.find(path) != std::string::npos, "message does not name the file: " << what);
    for (const auto& needle : needles)
      CHECK_MESSAGE(what.find(needle) != std::string::npos, "message lacks '" << needle << "': " << what);
  } catch (const std::exception& e) {
    FAIL_CHECK("not a psgkit::Error for " << path << ": " << std::string(e.what()));
  }
}

// Deterministic junk: bytes 0..255 from a fixed LCG, NULs and 0xFF included.
std::string junk_bytes(size_t n, uint32_t seed) {
  std::string out(n, '\0');
  for (auto& c : out) {
    seed = seed * 1664525u + 1013904223u;
    c = static_cast<char>(seed >> 24);
  }
  return out;
}

// An annotation-only EDF+C file with one 1-s data record holding `tals` (Kemp & Olivan 2003), built by
// hand so that onsets and durations beyond what write_edf accepts can be tried.
std::string annotation_edf(const std::string& tals) {
  const auto field = [](std::string value, size_t width) {
    value.resize(width, ' ');
    return value;
  };
  const std::string record = "+0\x14\x14" + std::string(1, '\0') + tals;
  const size_t samples = (record.size() + 1) / 2;  // 2 bytes per sample
  std::string out = field("0", 8) + field("X X X X", 80) + field("Startdate X X X X", 80) + "01.01.8500.00.00" +
                    field("512", 8) + field("EDF+C", 44) + field("1", 8) + field("1", 8) + field("1", 4);
  out += field("EDF Annotations", 16) + field("", 80) + field("", 8) + field("-1", 8) + field("1", 8) +
         field("-32768", 8) + field("32767", 8) + field("", 80) + field(std::to_string(samples), 8) + field("", 32);
  out += record;
  out.resize(512 + samples * 2, '\0');
  return out;
}

const std::string kIntervalHeader = "onset_s,duration_s,stage\n";
const std::string kStagingHeader = "epoch,onset_s,stage,confidence,p_W,p_N1,p_N2,p_N3,p_REM\n";

}  // namespace

TEST_CASE("every reader refuses missing, empty, blank, directory and binary input, naming the file") {
  psgkit_test::TempDir dir("hypgarbage");
  fs::create_directories(dir / "a_directory.csv");
  const std::vector<std::pair<std::string, std::string>> files = {
      {"empty.csv", ""},
      {"blank.csv", "\n \r\n\t\n"},
      {"junk.bin", junk_bytes(4096, 1)},
      {"nul.csv", std::string(64, '\0')},
      {"png.csv", "\x89PNG\r\n\x1a\n" + junk_bytes(200, 2)},
      {"utf16.csv", std::string("\xFF\xFEo\0n\0s\0e\0t\0_\0s\0,\0", 18) + junk_bytes(40, 3)},
      {"fake_edf.edf", "0       " + junk_bytes(500, 4)},
      {"fake_bdf.bdf",
       "\xFF"
       "BIOSEMI" +
           std::string(300, ' ')},
      {"unterminated_quote.csv", kIntervalHeader + "\"0,30,W\n30,30,N2\n"},
  };
  for (const auto& reader : all_readers()) {
    CAPTURE(reader.name);
    expect_refusal(reader.read, (dir / "missing.csv").string());
    expect_refusal(reader.read, (dir / "a_directory.csv").string());
    for (const auto& [name, bytes] : files) {
      CAPTURE(name);
      expect_refusal(reader.read, write_bytes(dir, name, bytes));
    }
  }
}

TEST_CASE("interval CSV: missing columns, unknown stages, bad numbers and overlaps name the line") {
  psgkit_test::TempDir dir("hypgarbage");
  const std::vector<Case> cases = {
      {"header_only", kIntervalHeader, {}},
      {"no_stage_column", "onset_s,duration_s\n0,30\n", {"stage"}},
      {"unknown_stage", kIntervalHeader + "0,30,W\n30,30,N5\n", {"line 3", "N5"}},
      {"unknown_sleep_stage_text", kIntervalHeader + "0,30,Sleep stage X\n", {"line 2"}},
      {"negative_onset", kIntervalHeader + "-30,30,W\n0,30,N2\n", {"line 2"}},
      {"overlap", kIntervalHeader + "0,60,W\n30,30,N2\n", {"line 3"}},
      {"unsorted", kIntervalHeader + "30,30,W\n0,30,N2\n", {"line 3"}},
      {"nan_onset", kIntervalHeader + "nan,30,W\n", {"line 2"}},
      {"inf_onset", kIntervalHeader + "inf,30,W\n", {"line 2"}},
      {"nan_duration", kIntervalHeader + "0,NaN,W\n", {"line 2"}},
      {"minus_inf_duration", kIntervalHeader + "0,-inf,W\n", {"line 2"}},
      {"zero_duration", kIntervalHeader + "0,0,W\n", {"line 2"}},
      {"negative_duration", kIntervalHeader + "0,-30,W\n", {"line 2"}},
      {"text_onset", kIntervalHeader + "zero,30,W\n", {"line 2", "onset_s"}},
      {"empty_cell", kIntervalHeader + "0,,W\n", {"line 2", "duration_s"}},
      {"overflowing_number", kIntervalHeader + "1e999,30,W\n", {"line 2"}},
      {"extra_cell", kIntervalHeader + "0,30,W,extra\n", {"line 2"}},
      {"missing_cell", kIntervalHeader + "0,30\n", {"line 2"}},
      {"embedded_nul", kIntervalHeader + std::string("0,30,W\0\n", 8), {"line 2"}},
      {"off_grid", kIntervalHeader + "0,7,W\n7,7,N2\n", {}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const std::string path = write_bytes(dir, c.name + ".csv", c.text);
    expect_refusal([](const fs::path& p) { (void)read_hypnogram_csv(p); }, path, c.needles);
    expect_refusal([](const fs::path& p) { (void)read_hypnogram(p); }, path, c.needles);
  }
  const std::string good = write_bytes(dir, "good.csv", kIntervalHeader + "0,30,W\n30,30,N2\n");
  for (const double epoch_s : {0.0, -30.0, std::nan(""), HUGE_VAL}) {
    CAPTURE(epoch_s);
    expect_refusal([epoch_s](const fs::path& p) { (void)read_hypnogram_csv(p, epoch_s); }, good, {"epoch_s"});
    expect_refusal([epoch_s](const fs::path& p) { (void)read_hypnogram(p, epoch_s); }, good, {"epoch_s"});
  }
}

// Found by fuzz/fuzz_hypnogram_csv and fuzz_staging_csv: times beyond ~9.2e12 s overflowed the
// microsecond grid arithmetic (llround, then std::gcd negating LLONG_MIN: undefined behaviour), and
// smaller huge times asked for billions of epochs (std::bad_alloc instead of psgkit::Error).
TEST_CASE("interval CSV: huge onsets and durations are refused, not allocated") {
  psgkit_test::TempDir dir("hypgarbage");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"fuzz_huge_duration", kIntervalHeader + "0,9999999999999,3"},  // fuzz finding, minimized
      {"fuzz_huge_onset", kIntervalHeader + "0,3,2\n7e70,0,2"},       // fuzz finding, minimized
      {"huge_onset_1e308", kIntervalHeader + "0,30,W\n1e308,30,W\n"},
      {"onset_1e12", kIntervalHeader + "0,30,W\n1e12,30,N2\n"},
      {"duration_1e12", kIntervalHeader + "0,1e12,W\n"},
  };
  for (const auto& [name, text] : cases) {
    CAPTURE(name);
    const std::string path = write_bytes(dir, name + ".csv", text);
    expect_refusal([](const fs::path& p) { (void)read_hypnogram_csv(p); }, path);
    expect_refusal([](const fs::path& p) { (void)read_hypnogram(p); }, path);
  }
}

TEST_CASE("staging CSV: bad probabilities, epochs and huge epoch numbers are refused") {
  psgkit_test::TempDir dir("hypgarbage");
  const std::string row0 = "0,0,W,0.9,0.9,0.05,0.03,0.01,0.01\n";
  const std::vector<Case> cases = {
      {"header_only", kStagingHeader, {}},
      {"no_p_REM", "epoch,onset_s,stage,confidence,p_W,p_N1,p_N2,p_N3\n0,0,W,1,1,0,0,0\n", {"p_REM"}},
      {"probability_above_one", kStagingHeader + row0 + "1,30,N2,1,0,0,1.5,0,0\n", {"line 3", "p_N2"}},
      {"probability_nan", kStagingHeader + row0 + "1,30,N2,1,0,0,nan,0,0\n", {"line 3", "p_N2"}},
      {"probability_negative", kStagingHeader + "0,0,W,1,-0.1,0,0,0,0\n", {"line 2", "p_W"}},
      {"fractional_epoch", kStagingHeader + row0 + "1.5,45,N2,1,0,0,1,0,0\n", {"line 3", "epoch"}},
      {"negative_epoch", kStagingHeader + "-1,0,W,1,1,0,0,0,0\n", {"line 2", "epoch"}},
      {"repeated_epoch", kStagingHeader + row0 + row0, {"line 3"}},
      {"decreasing_onsets", kStagingHeader + "0,60,W,1,1,0,0,0,0\n1,30,W,1,1,0,0,0,0\n", {}},
      {"off_grid_onset", kStagingHeader + row0 + "1,30,W,1,1,0,0,0,0\n2,75,W,1,1,0,0,0,0\n", {"off the"}},
      {"unknown_stage", kStagingHeader + "0,0,N7,1,1,0,0,0,0\n", {"line 2", "N7"}},
      {"inf_onset", kStagingHeader + "0,inf,W,1,1,0,0,0,0\n", {}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const std::string path = write_bytes(dir, c.name + ".csv", c.text);
    expect_refusal([](const fs::path& p) { (void)read_hypnogram_csv(p); }, path, c.needles);
    expect_refusal([](const fs::path& p) { (void)read_hypnogram(p); }, path, c.needles);
  }
}

// Epoch numbers are doubles in the file: 1e300 passed the integer check, and its cast to long long
// (undefined behaviour) then sized the hypnogram; 1e12 asked for a terabyte.
TEST_CASE("staging CSV: huge epoch numbers are refused, not allocated") {
  psgkit_test::TempDir dir("hypgarbage");
  for (const std::string epoch : {"1e300", "1e12", "9223372036854775807"}) {
    CAPTURE(epoch);
    const std::string path =
        write_bytes(dir, "huge_epoch.csv", kStagingHeader + "0,0,W,1,1,0,0,0,0\n" + epoch + ",30,W,1,1,0,0,0,0\n");
    expect_refusal([](const fs::path& p) { (void)read_hypnogram_csv(p); }, path);
  }
}

TEST_CASE("DREAMS text: missing header, bad codes and junk name the line") {
  psgkit_test::TempDir dir("hypgarbage");
  const std::vector<Case> cases = {
      {"no_header", "5\n5\n4\n", {"line 1"}},
      {"header_only", "[Hypnogram]\n", {}},
      {"code_6", "[Hypnogram]\n5\n6\n", {"line 3"}},
      {"code_minus_2", "[Hypnogram]\n5\n-2\n", {"line 3"}},
      {"letter", "[Hypnogram]\nW\n", {"line 2"}},
      {"fraction", "[Hypnogram]\n5\n1.5\n", {"line 3"}},
      {"overflowing_code", "[Hypnogram]\n99999999999999999999\n", {"line 2"}},
      {"nan_code", "[Hypnogram]\nnan\n", {"line 2"}},
      {"binary_after_header", "[Hypnogram]\n" + junk_bytes(100, 5), {}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const std::string path = write_bytes(dir, c.name + ".txt", c.text);
    expect_refusal([](const fs::path& p) { (void)read_hypnogram_dreams(p); }, path, c.needles);
    expect_refusal([](const fs::path& p) { (void)read_hypnogram(p); }, path, c.needles);
  }
  // Documented tolerant read: re-epoching to 30 s drops a trailing partial epoch (hypnogram.hpp).
  const std::string seven = write_bytes(dir, "seven.txt", "[Hypnogram]\r\n5\r\n5\r\n5\r\n5\r\n2\r\n2\r\n2\r\n");
  const Hypnogram h = read_hypnogram(seven);
  CHECK(h.epoch_s == 30.0);
  REQUIRE(h.size() == 1);
  CHECK(h.stages[0] == Stage::W);
  CHECK(read_hypnogram_dreams(seven).size() == 7);
}

TEST_CASE("feature CSV: missing onset_s, text in numbers and unknown stages name line and column") {
  psgkit_test::TempDir dir("hypgarbage");
  const std::vector<Case> cases = {
      {"no_onset", "stage,a\nW,1\n", {"onset_s"}},
      {"text_value", "onset_s,a\n0,1\n30,abc\n", {"line 3", "column a"}},
      {"empty_value", "onset_s,a\n0,\n", {"line 2", "column a"}},
      {"unknown_stage", "onset_s,stage,a\n0,W,1\n30,N9,1\n", {"line 3", "N9"}},
      {"overflowing_value", "onset_s,a\n0,1e999\n", {"line 2", "column a"}},
      {"ragged_row", "onset_s,a\n0,1,2\n", {"line 2"}},
      // io.hpp: CsvTable::number gives "a finite or NaN double", so infinities are refused.
      {"inf_value", "onset_s,a\n0,inf\n", {"line 2", "column a"}},
      {"inf_onset", "onset_s,a\n-infinity,1\n", {"line 2", "column onset_s"}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    expect_refusal([](const fs::path& p) { (void)read_feature_csv(p); }, write_bytes(dir, c.name + ".csv", c.text),
                   c.needles);
  }
  // Documented tolerant read: NaN is a number (a feature that could not be computed).
  const FeatureTable t = read_feature_csv(write_bytes(dir, "nan.csv", "onset_s,a\n0,nan\n30,NaN\n"));
  REQUIRE(t.rows() == 2);
  CHECK(std::isnan(t.at(0, 0)));
  CHECK(std::isnan(t.at(1, 0)));
}

TEST_CASE("EDF+ annotation hypnograms: unknown stages, overlaps, no stages and truncation are refused") {
  psgkit_test::TempDir dir("hypgarbage");
  const auto edf = [&](const std::string& name, const std::vector<Annotation>& annotations) {
    const fs::path path = dir / name;
    write_edf(path, {}, annotations);
    return path.string();
  };
  const Reader read = [](const fs::path& p) { (void)read_hypnogram(p); };
  expect_refusal(read, edf("unknown_stage.edf", {{0, 30, "Sleep stage W"}, {30, 30, "Sleep stage 9"}}),
                 {"Sleep stage 9"});
  expect_refusal(read, edf("overlap.edf", {{0, 60, "Sleep stage W"}, {30, 30, "Sleep stage 2"}}), {"overlaps"});
  expect_refusal(read, edf("no_stages.edf", {{0, 0, "Lights off"}, {10, 0, "Lights on"}}));
  expect_refusal(read, edf("no_annotations.edf", {}));

  // Documented tolerant read: a stretch without a stage becomes UNS, "Lights off" is kept as an event.
  const Hypnogram h =
      read_hypnogram(edf("gap.edf", {{0, 30, "Sleep stage W"}, {5, -1, "Lights off"}, {90, 30, "Sleep stage 2"}}));
  REQUIRE(h.size() == 4);
  CHECK(h.stages[0] == Stage::W);
  CHECK(h.stages[1] == Stage::UNS);
  CHECK(h.stages[2] == Stage::UNS);
  CHECK(h.stages[3] == Stage::N2);
  REQUIRE(h.events.size() == 1);
  CHECK(h.events[0].text == "Lights off");

  // A real hypnogram file cut short: inside the header, at its end, before the annotation record.
  if (!psgkit_test::have_shared_data()) return;
  const std::string whole = read_file(psgkit_test::shared_data() / "sleep-edf/SC4001EC-Hypnogram.edf");
  for (const size_t keep : {size_t{100}, size_t{256}, size_t{384}, size_t{512}}) {
    CAPTURE(keep);
    expect_refusal(read, write_bytes(dir, "cut.edf", whole.substr(0, keep)));
  }
}

// Reads `path` in a child process limited to `seconds` of wall time, so that a reader that hangs or
// allocates without bound fails this test instead of stalling the suite. Returns "refused: <what>",
// "accepted", "other exception: <what>" or "killed by signal N" (SIGALRM: timed out).
std::string outcome_in_child(const Reader& read, const std::string& path, unsigned seconds) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    ::alarm(seconds);
    std::string result;
    try {
      read(path);
      result = "accepted";
    } catch (const Error& e) {
      result = std::string("refused: ") + e.what();
    } catch (const std::exception& e) {
      result = std::string("other exception: ") + e.what();
    }
    [[maybe_unused]] const auto n = ::write(fds[1], result.data(), result.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string result;
  char buffer[512];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) result.append(buffer, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return result;
}

// Like the CSV times above: a stage annotation lasting 3e9 years, or one 3e7 years after the first,
// must not size a hypnogram of billions of epochs (found hanging for minutes at 3 GB) but be refused.
// The third case is fuzz_hypnogram_edf's finding (crash-f9e11bad..., minimized): a stage at
// +2556055555555555555555555555 s made epochs_from_intervals cast 8.5e25 epochs to size_t (UBSan:
// float-cast-overflow, hypnogram.cpp "n_epochs").
TEST_CASE("EDF+ annotation hypnograms with absurd durations or spans are refused quickly") {
  psgkit_test::TempDir dir("hypgarbage");
  // One TAL: +onset, 0x15, duration, 0x14, text, 0x14, NUL.
  const auto tal = [](const std::string& onset, const std::string& duration, const std::string& label) {
    return "+" + onset + "\x15" + duration + "\x14Sleep stage " + label + "\x14" + std::string(1, '\0');
  };
  CHECK(read_hypnogram(write_bytes(dir, "sane.edf", annotation_edf(tal("0", "30", "W")))).size() == 1);
  const Reader read = [](const fs::path& p) { (void)read_hypnogram(p); };
  const std::vector<std::string> records = {
      tal("0", "100000000000000000", "W"),
      tal("0", "30", "W") + tal("1000000000000000", "30", "W"),
      tal("0", "30", "W") + tal("2556055555555555555555555555", "150", "1"),
  };
  for (const std::string& record : records) {
    CAPTURE(record);
    const std::string path = write_bytes(dir, "absurd.edf", annotation_edf(record));
    const std::string outcome = outcome_in_child(read, path, 5);
    CHECK_MESSAGE(outcome.starts_with("refused: " + path), outcome);
  }
}
