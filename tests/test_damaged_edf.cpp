// Damaged EDF/BDF files: every case ends in psgkit::Error naming the file, or in a tolerant read
// with a warning; never a crash or an out-of-bounds read (run under -DPSGKIT_SANITIZE=ON to be sure).
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "psgkit/error.hpp"
#include "psgkit/recording.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using psgkit::Recording;

namespace {

constexpr int kSignals = 2;  // EEG, EOG; plus EDFlib's annotation signal = 3 in the header
constexpr int kHeaderSignals = kSignals + 1;
constexpr size_t kHeaderBytes = 256 * (kHeaderSignals + 1);

// Byte offset of a per-signal header field: columns of ns entries each (EDF spec order).
size_t signal_field(size_t column_offset_per_signal, size_t width, int signal) {
  return 256 + column_offset_per_signal * kHeaderSignals + width * static_cast<size_t>(signal);
}
constexpr size_t kLabel = 0, kTransducer = 16, kDimension = 96, kPhysMin = 104, kPhysMax = 112, kDigMin = 120,
                 kDigMax = 128, kSamples = 216;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}
std::string field8(const std::string& text) {
  std::string f = text;
  f.resize(8, ' ');
  return f;
}

// A small valid EDF+C: 10 records of 1 s, EEG at 20 Hz, EOG at 10 Hz, one annotation.
std::string valid_file(const psgkit_test::TempDir& dir) {
  std::vector<float> eeg(200), eog(100);
  for (size_t i = 0; i < eeg.size(); ++i) eeg[i] = static_cast<float>(i % 17) - 8.0f;
  for (size_t i = 0; i < eog.size(); ++i) eog[i] = static_cast<float>(i % 5) * 3.0f;
  psgkit::SignalToWrite a{"EEG", "", "uV", "", 20, eeg, -100, 100};
  psgkit::SignalToWrite b{"EOG", "", "uV", "", 10, eog, -100, 100};
  const fs::path path = dir / "valid.edf";
  psgkit::write_edf(path, {a, b}, {{2.5, 1.0, "Arousal"}});
  return read_bytes(path);
}

size_t record_bytes(const std::string& file) {
  size_t total = 0;
  for (int s = 0; s < kHeaderSignals; ++s) total += 2 * std::stoul(file.substr(signal_field(kSamples, 8, s), 8));
  return total;
}

enum class Outcome { Error, Tolerated };

struct Case {
  std::string name;
  std::function<void(std::string&)> damage;
  Outcome outcome;
  std::string message;  // substring of the error, or of one warning
};

// Opens the damaged bytes; checks the outcome and that every signal can be read.
void check_case(const psgkit_test::TempDir& dir, const std::string& valid, const Case& c) {
  CAPTURE(c.name);
  std::string bytes = valid;
  c.damage(bytes);
  const fs::path path = dir / "damaged.edf";
  write_bytes(path, bytes);
  try {
    const Recording rec = Recording::open(path);
    for (int i = 0; i < static_cast<int>(rec.signals().size()); ++i) {
      CHECK(rec.read(i).size() == static_cast<size_t>(rec.signals()[static_cast<size_t>(i)].n_samples));
    }
    CHECK(c.outcome == Outcome::Tolerated);
    bool found = false;
    for (const std::string& w : rec.warnings()) found = found || w.find(c.message) != std::string::npos;
    CHECK_MESSAGE(found, "no warning containing '" << c.message << "'");
  } catch (const psgkit::Error& e) {
    CHECK(c.outcome == Outcome::Error);
    const std::string what = e.what();
    CHECK(what.find(path.string()) != std::string::npos);
    CHECK_MESSAGE(what.find(c.message) != std::string::npos, what);
  }
}

// A string literal with embedded NULs, all of it.
template <size_t N>
std::string literal(const char (&text)[N]) {
  return std::string(text, N - 1);
}

std::function<void(std::string&)> put(size_t offset, std::string text) {
  return [offset, text](std::string& b) { b.replace(offset, text.size(), text); };
}
std::function<void(std::string&)> cut(size_t size) {
  return [size](std::string& b) { b.resize(std::min(size, b.size())); };
}

}  // namespace

TEST_CASE("damaged EDF: every damage has a defined outcome") {
  psgkit_test::TempDir dir("damaged");
  const std::string valid = valid_file(dir);
  REQUIRE(valid.size() > kHeaderBytes);
  const size_t record = record_bytes(valid);
  REQUIRE(valid.size() == kHeaderBytes + 10 * record);
  const size_t ns = kHeaderSignals;

  const std::vector<Case> cases = {
      {"empty file", cut(0), Outcome::Error, "empty"},
      {"cut inside the fixed header", cut(100), Outcome::Error, "truncated header"},
      {"cut at 255", cut(255), Outcome::Error, "truncated header"},
      {"cut at 256 (no signal fields)", cut(256), Outcome::Error, "truncated header"},
      {"cut after labels", cut(256 + 16 * ns), Outcome::Error, "truncated header"},
      {"cut after transducers", cut(256 + 96 * ns), Outcome::Error, "truncated header"},
      {"cut after physical dimensions", cut(256 + 104 * ns), Outcome::Error, "truncated header"},
      {"cut after digital ranges", cut(256 + 136 * ns), Outcome::Error, "truncated header"},
      {"cut after prefilters", cut(256 + 216 * ns), Outcome::Error, "truncated header"},
      {"cut after samples per record", cut(256 + 224 * ns), Outcome::Error, "truncated header"},
      {"cut one byte before the data", cut(kHeaderBytes - 1), Outcome::Error, "truncated header"},
      {"header only", cut(kHeaderBytes), Outcome::Error, "no complete data record"},
      {"cut inside data record 6", cut(kHeaderBytes + 5 * record + record / 2), Outcome::Tolerated,
       "holds only 5 complete records"},
      {"trailing bytes", [](std::string& b) { b += "xyz"; }, Outcome::Tolerated, "3 bytes after the last"},
      {"header size field wrong", put(184, field8("999")), Outcome::Tolerated, "number of bytes in header"},
      {"header size field text", put(184, field8("abc")), Outcome::Error, "number of bytes in header"},
      {"records -1", put(236, field8("-1")), Outcome::Tolerated, "-1 (recording not finalised)"},
      {"records 0", put(236, field8("0")), Outcome::Error, "number of data records"},
      {"records -7", put(236, field8("-7")), Outcome::Error, "number of data records"},
      {"records too many", put(236, field8("99999999")), Outcome::Tolerated, "declared but the file holds only 10"},
      {"records text", put(236, field8("ten")), Outcome::Error, "number of data records: 'ten' is not an integer"},
      {"signals 0", put(252, "0   "), Outcome::Error, "number of signals"},
      {"signals huge", put(252, "9999"), Outcome::Error, "truncated header"},
      {"signals negative", put(252, "-3  "), Outcome::Error, "number of signals"},
      {"signals text", put(252, "x   "), Outcome::Error, "number of signals"},
      {"samples per record 0", put(signal_field(kSamples, 8, 0), field8("0")), Outcome::Error,
       "signal 1 number of samples in each data record"},
      {"samples per record negative", put(signal_field(kSamples, 8, 1), field8("-20")), Outcome::Error,
       "signal 2 number of samples in each data record"},
      {"samples per record larger than the data", put(signal_field(kSamples, 8, 0), field8("2000")), Outcome::Error,
       "no complete data record"},
      {"digital min = max", put(signal_field(kDigMin, 8, 0), field8("32767")), Outcome::Error,
       "is not below digital maximum"},
      {"digital min > max", put(signal_field(kDigMax, 8, 1), field8("-32768")), Outcome::Error,
       "is not below digital maximum"},
      {"physical min = max", put(signal_field(kPhysMin, 8, 0), field8("100")), Outcome::Error,
       "physical minimum equals physical maximum"},
      {"physical min NaN", put(signal_field(kPhysMin, 8, 0), field8("nan")), Outcome::Error, "not a finite number"},
      {"physical max inf", put(signal_field(kPhysMax, 8, 1), field8("inf")), Outcome::Error, "not a finite number"},
      {"physical max 1e999", put(signal_field(kPhysMax, 8, 1), field8("1e999")), Outcome::Error, "is not a number"},
      {"digital max text", put(signal_field(kDigMax, 8, 0), field8("max")), Outcome::Error,
       "signal 1 digital maximum: 'max' is not an integer"},
      {"digital range beyond 16 bits", put(signal_field(kDigMax, 8, 0), field8("99999")), Outcome::Tolerated,
       "exceeds the 16-bit sample range"},
      {"record duration 0", put(244, field8("0")), Outcome::Error, "duration of a data record"},
      {"record duration negative", put(244, field8("-1")), Outcome::Error, "duration of a data record"},
      {"record duration absurd", put(244, field8("1e300")), Outcome::Error, "duration of a data record"},
      {"record duration NaN", put(244, field8("NaN")), Outcome::Error, "duration of a data record"},
      {"record duration text", put(244, field8("one")), Outcome::Error, "duration of a data record"},
      {"non-ASCII label (Latin-1)", put(signal_field(kLabel, 16, 0), "EEG \xe9t\xe9"), Outcome::Tolerated,
       "signal 1 label: non-ASCII bytes ('EEG été')"},
      {"non-ASCII patient", put(8, "Gr\xfc\xdf"), Outcome::Tolerated, "patient identification: non-ASCII"},
      {"control byte in transducer", put(signal_field(kTransducer, 80, 1), "\x01\x02"), Outcome::Tolerated,
       "signal 2 transducer: non-ASCII"},
      {"non-ASCII unit", put(signal_field(kDimension, 8, 0), "\xb5V"), Outcome::Tolerated,
       "signal 1 physical dimension: non-ASCII"},
      {"bad start date", put(168, "32.13.xx"), Outcome::Tolerated, "start date"},
      {"bad start time", put(176, "25.61.61"), Outcome::Tolerated, "start time"},
      {"unknown version", put(0, "X"), Outcome::Error, "version"},
      {"right-aligned number", put(236, "      10"), Outcome::Tolerated, "not left-aligned"},
      {"EDF+C without annotation signal", put(signal_field(kLabel, 16, 2), "Other signal    "), Outcome::Tolerated,
       "no 'EDF Annotations' signal"},
  };
  for (const Case& c : cases) check_case(dir, valid, c);
}

TEST_CASE("damaged EDF: malformed TAL bytes are skipped with a warning") {
  psgkit_test::TempDir dir("damaged-tal");
  const std::string valid = valid_file(dir);
  const size_t record = record_bytes(valid);
  const size_t annotation_offset = 2 * (20 + 10);  // EEG and EOG samples come first in each record
  const size_t annotation_bytes = record - annotation_offset;
  auto in_record = [&](int r, std::string tal) {
    tal.resize(annotation_bytes, '\0');
    return put(kHeaderBytes + static_cast<size_t>(r) * record + annotation_offset, tal);
  };
  const std::vector<Case> cases = {
      {"onset not a number", in_record(0, literal("+0\x14\x14\0+abc\x14text\x14")), Outcome::Tolerated,
       "malformed TAL"},
      {"no separator", in_record(1, literal("+1\x14\x14\0+1.5 no separator")), Outcome::Tolerated,
       "malformed TAL"},
      {"missing time-keeping TAL", in_record(3, ""), Outcome::Tolerated, "without a time-keeping TAL"},
      {"time-keeping TAL contradicts EDF+C", in_record(4, literal("+7\x14\x14\0")), Outcome::Tolerated,
       "disagree with contiguous records"},
      {"duration not closed", in_record(5, literal("+5\x14\x14\0+5.5\x15" "2")), Outcome::Tolerated,
       "malformed TAL"},
      {"Latin-1 annotation text", in_record(6, literal("+6\x14\x14\0+6.5\x14\xc9veil\x14")), Outcome::Tolerated,
       "read as Latin-1"},
      {"first record starts 3 s late", in_record(0, literal("+3\x14\x14")), Outcome::Tolerated,
       "first data record starts at 3"},
      {"all 0xFF", in_record(2, std::string(annotation_bytes, '\xff')), Outcome::Tolerated, "malformed TAL"},
  };
  for (const Case& c : cases) check_case(dir, valid, c);

  // The Latin-1 text arrives as UTF-8.
  std::string bytes = valid;
  in_record(6, literal("+6\x14\x14\0+6.5\x14\xc9veil\x14"))(bytes);
  write_bytes(dir / "latin1.edf", bytes);
  const Recording rec = Recording::open(dir / "latin1.edf");
  bool found = false;
  for (const psgkit::Annotation& a : rec.annotations()) found = found || (a.text == "Éveil" && a.onset_s == 6.5);
  CHECK(found);
}

TEST_CASE("damaged EDF: truncation at every byte and garbage in every header byte never crash") {
  psgkit_test::TempDir dir("damaged-sweep");
  const std::string valid = valid_file(dir);
  const fs::path path = dir / "sweep.edf";
  int errors = 0, tolerated = 0;
  auto attempt = [&](const std::string& bytes) {
    write_bytes(path, bytes);
    try {
      const Recording rec = Recording::open(path);
      for (int i = 0; i < static_cast<int>(rec.signals().size()); ++i) (void)rec.read_double(i);
      ++tolerated;
    } catch (const psgkit::Error& e) {
      ++errors;
      if (std::string(e.what()).find(path.string()) == std::string::npos) FAIL("error without the file name: " << e.what());
    }
  };
  // Every byte of the header, every 7th byte of the data (the file is rewritten for each attempt).
  for (size_t size = 0; size < valid.size(); size += size < kHeaderBytes ? 1 : 7) attempt(valid.substr(0, size));
  for (size_t at = 0; at < kHeaderBytes; ++at) {
    for (char garbage : {at % 2 ? '\xff' : '-', at % 3 ? '9' : 'x'}) {
      std::string bytes = valid;
      bytes[at] = garbage;
      attempt(bytes);
    }
  }
  CHECK(errors > 0);
  CHECK(tolerated > 0);
  MESSAGE("sweep: " << errors << " errors, " << tolerated << " tolerated reads");
}

TEST_CASE("BDF: 24-bit samples at their limits are sign-extended exactly") {
  psgkit_test::TempDir dir("bdf");
  const std::vector<int32_t> values = {8388607, -8388608, 0, -1, 1, 4660, -4660, 8388606};
  auto pad = [](std::string s, size_t width) {
    s.resize(width, ' ');
    return s;
  };
  std::string h;
  h += '\xff';
  h += pad("BIOSEMI", 7) + pad("X", 80) + pad("X", 80) + "01.01.20" + "00.00.00" + pad("512", 8) + pad("24BIT", 44);
  h += pad("1", 8) + pad("1", 8) + pad("1", 4);
  h += pad("Status", 16) + pad("", 80) + pad("uV", 8) + pad("-8388608", 8) + pad("8388607", 8) + pad("-8388608", 8) +
       pad("8388607", 8) + pad("", 80) + pad(std::to_string(values.size()), 8) + pad("", 32);
  REQUIRE(h.size() == 512);
  for (int32_t v : values) {
    const auto u = static_cast<uint32_t>(v);
    h += static_cast<char>(u & 0xFF);
    h += static_cast<char>((u >> 8) & 0xFF);
    h += static_cast<char>((u >> 16) & 0xFF);
  }
  write_bytes(dir / "limits.bdf", h);
  const Recording rec = Recording::open(dir / "limits.bdf");
  CHECK(rec.file_type() == psgkit::FileType::BDF);
  CHECK(rec.read_digital(0) == values);
  const std::vector<double> physical = rec.read_double(0);
  for (size_t i = 0; i < values.size(); ++i) CHECK(physical[i] == static_cast<double>(values[i]));

  // The same bytes cut inside the last sample: 7 whole samples are not a whole record.
  write_bytes(dir / "short.bdf", h.substr(0, h.size() - 1));
  try {
    (void)Recording::open(dir / "short.bdf");
    FAIL("expected an error");
  } catch (const psgkit::Error& e) {
    CHECK(std::string(e.what()).find("no complete data record") != std::string::npos);
  }
}
