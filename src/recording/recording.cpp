// Recording: EDFlib for the header when it accepts the file, psgkit's tolerant parser otherwise;
// sample data always decoded here from the memory-mapped data records.
#include "psgkit/recording.hpp"

#include <edflib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <type_traits>

#include "buffers_internal.hpp"
#include "edf_text.hpp"
#include "lanes_internal.hpp"
#include "mapped_file_internal.hpp"
#include "psgkit/error.hpp"

namespace psgkit {
namespace fs = std::filesystem;

std::string_view to_string(FileType type) {
  switch (type) {
    case FileType::EDF: return "EDF";
    case FileType::EDFPlusC: return "EDF+C";
    case FileType::EDFPlusD: return "EDF+D";
    case FileType::BDF: return "BDF";
    case FileType::BDFPlusC: return "BDF+C";
    case FileType::BDFPlusD: return "BDF+D";
  }
  return "?";
}

std::string DateTime::iso8601() const {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d", year, month, day, hour, minute, second);
  std::string text = buffer;
  if (subsecond_s > 0) {
    std::snprintf(buffer, sizeof buffer, "%.7f", subsecond_s);
    std::string fraction = buffer;  // "0.xxxxxxx"
    while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
    if (fraction.size() > 2) text += fraction.substr(1);
  }
  return text;
}

std::mutex& edflib_mutex() {
  static std::mutex mutex;
  return mutex;
}

namespace {

using detail::MappedFile;

// One signal as laid out in the data record, annotation channels included.
struct RawSignal {
  SignalInfo info;
  bool is_annotation = false;
  int64_t offset_in_record = 0;  // bytes
};

struct UnitScale {
  std::string unit;
  double scale;
};

// V, mV and µV (any letter case, µ as micro sign, Greek mu or 'u') become µV.
UnitScale normalise_unit(const std::string& file_unit) {
  std::string lower;
  for (char c : file_unit) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "v") return {"uV", 1e6};
  if (lower == "mv") return {"uV", 1e3};
  if (lower == "uv" || lower == "\xc2\xb5v" || lower == "\xce\xbcv") return {"uV", 1.0};
  return {file_unit, 1.0};
}

}  // namespace

struct Recording::Impl {
  fs::path path;
  MappedFile file;
  FileType type = FileType::EDF;
  std::string patient, recording_id;
  DateTime start;
  int64_t n_records = 0;
  double record_duration_s = 0;
  int bytes_per_sample = 2;
  int64_t header_bytes = 0, record_bytes = 0;
  std::vector<RawSignal> raw;         // every signal of the record
  std::vector<int> ordinary;          // indices into raw of the ordinary signals
  std::vector<SignalInfo> signals;    // ordinary signals, as returned
  std::vector<Annotation> annotations;
  std::vector<double> record_onsets_s;
  std::vector<std::string> warnings;
  bool by_edflib = false;

  void warn(std::string text) { warnings.push_back(std::move(text)); }
  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error(path.string(), field, what);
  }
  const RawSignal& signal_raw(int signal) const {
    if (signal < 0 || signal >= static_cast<int>(ordinary.size()))
      throw Error(path.string(), "signal " + std::to_string(signal),
                  "no such signal (the file has " + std::to_string(ordinary.size()) + ")");
    return raw[static_cast<size_t>(ordinary[static_cast<size_t>(signal)])];
  }
  bool is_bdf() const { return bytes_per_sample == 3; }

  void parse_header();
  void parse_annotations();
  // The walk over every record's TALs is done on first use of what it yields (annotations, record
  // onsets, the sub-second start, its warnings), once: reading samples does not need it.
  std::once_flag annotations_parsed;
  const Impl& with_annotations() {
    std::call_once(annotations_parsed, [this] { parse_annotations(); });
    return *this;
  }
  // See MappedFile::release; batches keep the madvise calls rare.
  static constexpr int64_t kRecordsPerRelease = 256;
  static constexpr int64_t kPrefetchRecords = 4;
  void release_records(int64_t from, int64_t to) const {
    file.release(static_cast<size_t>(header_bytes + from * record_bytes), static_cast<size_t>(header_bytes + to * record_bytes));
  }
  bool take_from_edflib();
  void finish();
  // Samples [first, first + count) of one ordinary signal, decoded to dst.
  template <class T>
  struct Slice {
    int signal;
    int64_t first;
    size_t count;
    T* dst;
  };
  // Whole signals into *out[i] (resized); every index is checked before anything is decoded.
  template <class T>
  std::vector<Slice<T>> whole(std::span<const int> signals, std::span<std::vector<T>* const> out) const;
  // One slice of a signal; throws when the range is outside the signal.
  template <class T>
  Slice<T> part(int signal, int64_t first, std::span<T> out) const;
  // Several slices; throws when the spans differ in length or a range is outside its signal.
  template <class T>
  std::vector<Slice<T>> parts(std::span<const int> signals, std::span<const int64_t> first,
                              std::span<const std::span<T>> out) const;
  // One pass over the data records holding the slices: decode_record(i, bytes, n, destination) for
  // slices[i]'s part of each record.
  template <class T, class DecodeRecord>
  void decode(std::span<const Slice<T>> slices, DecodeRecord decode_record) const;
  template <class T>
  void physical(std::span<const Slice<T>> slices) const;
};

namespace {

// Number in a fixed-width header field: trimmed, decimal, finite. Leading spaces are a deviation
// (EDF fields are left-aligned) that other readers accept, so they earn a warning, not an error.
template <class T>
T header_number(Recording::Impl& impl, std::string_view field, const std::string& name) {
  const std::string_view trimmed = edf_text::trim(field);
  if (trimmed.empty()) impl.fail(name, "empty where a number belongs");
  T value{};
  const char* first = trimmed.data();
  const char* last = trimmed.data() + trimmed.size();
  if (*first == '+') ++first;
  const auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || ptr != last)
    impl.fail(name, "'" + edf_text::printable(trimmed) + "' is not " +
                        (std::is_integral_v<T> ? "an integer" : "a number"));
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(value)) impl.fail(name, "'" + edf_text::printable(trimmed) + "' is not a finite number");
  }
  if (!field.empty() && field.front() == ' ')
    impl.warn(name + ": value '" + std::string(trimmed) + "' is not left-aligned (leading spaces)");
  return value;
}

// Text field: trimmed; non-ASCII bytes are a deviation, kept as UTF-8 (Latin-1 converted).
std::string header_text(Recording::Impl& impl, std::string_view field, const std::string& name) {
  if (edf_text::has_non_ascii(field))
    impl.warn(name + ": non-ASCII bytes ('" + edf_text::to_utf8(edf_text::trim(field)) +
              "'); EDF allows printable ASCII only");
  return edf_text::to_utf8(edf_text::trim(field));
}

}  // namespace

void Recording::Impl::parse_header() {
  const uint8_t* bytes = file.data();
  const size_t size = file.size();
  if (size < 256)
    fail("byte " + std::to_string(size),
         "truncated header: the fixed header needs 256 bytes, the file has " + std::to_string(size));
  auto field = [&](size_t offset, size_t width) {
    return std::string_view(reinterpret_cast<const char*>(bytes) + offset, width);
  };

  const std::string_view version = field(0, 8);
  if (bytes[0] == 0xFF && field(1, 7) == "BIOSEMI") {
    bytes_per_sample = 3;
  } else if (edf_text::trim(version) != "0") {
    if (version.substr(1) == "BIOSEMI") {
      bytes_per_sample = 3;
      warn("version: BDF marker without the leading 0xFF byte");
    } else {
      fail("version (byte 0)", "'" + edf_text::printable(version) + "' is neither EDF ('0') nor BDF (0xFF 'BIOSEMI')");
    }
  } else if (version.front() != '0') {
    warn("version: '0' is not left-aligned");
  }
  patient = header_text(*this, field(8, 80), "patient identification");
  recording_id = header_text(*this, field(88, 80), "recording identification");

  // Start date dd.mm.yy and time hh.mm.ss; years 85-99 are 19xx (EDF clipping date 1985).
  {
    const std::string_view date = field(168, 8), time = field(176, 8);
    int d = 0, mo = 0, y = 0, h = 0, mi = 0, s = 0;
    auto two = [](std::string_view t, size_t at, int& out) {
      if (!std::isdigit(static_cast<unsigned char>(t[at])) || !std::isdigit(static_cast<unsigned char>(t[at + 1])))
        return false;
      out = (t[at] - '0') * 10 + (t[at + 1] - '0');
      return true;
    };
    const bool date_ok = two(date, 0, d) && two(date, 3, mo) && two(date, 6, y) && date[2] == '.' &&
                         date[5] == '.' && d >= 1 && d <= 31 && mo >= 1 && mo <= 12;
    const bool time_ok = two(time, 0, h) && two(time, 3, mi) && two(time, 6, s) && time[2] == '.' &&
                         time[5] == '.' && h <= 23 && mi <= 59 && s <= 59;
    if (date_ok) {
      start.day = d;
      start.month = mo;
      start.year = y >= 85 ? 1900 + y : 2000 + y;
    } else {
      warn("start date: '" + edf_text::printable(date) + "' is not a valid dd.mm.yy date; using 01.01.85");
    }
    if (time_ok) {
      start.hour = h;
      start.minute = mi;
      start.second = s;
    } else {
      warn("start time: '" + edf_text::printable(time) + "' is not a valid hh.mm.ss time; using 00.00.00");
    }
  }

  const std::string_view reserved = edf_text::trim(field(192, 44));
  bool plus = false, discontinuous = false;
  if (reserved.starts_with("EDF+C") || reserved.starts_with("BDF+C")) {
    plus = true;
  } else if (reserved.starts_with("EDF+D") || reserved.starts_with("BDF+D")) {
    plus = discontinuous = true;
  }

  const int64_t ns = header_number<int64_t>(*this, field(252, 4), "number of signals");
  if (ns < 1) fail("number of signals", std::to_string(ns) + " (a file needs at least one signal)");
  const int64_t header_needed = 256 * (ns + 1);
  if (static_cast<int64_t>(size) < header_needed)
    fail("byte " + std::to_string(size), "truncated header: " + std::to_string(ns) + " signals need a " +
                                             std::to_string(header_needed) + "-byte header, the file has " +
                                             std::to_string(size) + " bytes");
  const int64_t declared_header = header_number<int64_t>(*this, field(184, 8), "number of bytes in header");
  if (declared_header != header_needed)
    warn("number of bytes in header: " + std::to_string(declared_header) + " but " + std::to_string(ns) +
         " signals make " + std::to_string(header_needed) + "; using " + std::to_string(header_needed));
  header_bytes = header_needed;

  const int64_t declared_records = header_number<int64_t>(*this, field(236, 8), "number of data records");
  record_duration_s = header_number<double>(*this, field(244, 8), "duration of a data record");
  if (record_duration_s < 0 || record_duration_s > 1e7)
    fail("duration of a data record", "'" + std::string(edf_text::trim(field(244, 8))) +
                                          "' s is outside 0..1e7 s");

  // Signal fields: ns x 16 label, 80 transducer, 8 dimension, 8 x4 ranges, 80 prefilter, 8 samples, 32 reserved.
  const size_t n = static_cast<size_t>(ns);
  raw.resize(n);
  size_t offset = 256;
  auto column = [&](size_t width, auto&& assign) {
    for (size_t i = 0; i < n; ++i) assign(i, field(offset + i * width, width));
    offset += n * width;
  };
  auto where = [&](size_t i, const char* what) { return "signal " + std::to_string(i + 1) + " " + what; };
  column(16, [&](size_t i, std::string_view f) { raw[i].info.label = header_text(*this, f, where(i, "label")); });
  column(80, [&](size_t i, std::string_view f) {
    raw[i].info.transducer = header_text(*this, f, where(i, "transducer"));
  });
  column(8, [&](size_t i, std::string_view f) {
    raw[i].info.file_unit = header_text(*this, f, where(i, "physical dimension"));
  });
  column(8, [&](size_t i, std::string_view f) {
    raw[i].info.physical_min = header_number<double>(*this, f, where(i, "physical minimum"));
  });
  column(8, [&](size_t i, std::string_view f) {
    raw[i].info.physical_max = header_number<double>(*this, f, where(i, "physical maximum"));
  });
  column(8, [&](size_t i, std::string_view f) {
    raw[i].info.digital_min = header_number<int32_t>(*this, f, where(i, "digital minimum"));
  });
  column(8, [&](size_t i, std::string_view f) {
    raw[i].info.digital_max = header_number<int32_t>(*this, f, where(i, "digital maximum"));
  });
  column(80, [&](size_t i, std::string_view f) {
    raw[i].info.prefilter = header_text(*this, f, where(i, "prefilter"));
  });
  column(8, [&](size_t i, std::string_view f) {
    const int64_t spr = header_number<int64_t>(*this, f, where(i, "number of samples in each data record"));
    if (spr < 1 || spr > 100'000'000)
      fail(where(i, "number of samples in each data record"), std::to_string(spr) + " is not in 1..1e8");
    raw[i].info.samples_per_record = static_cast<int>(spr);
  });

  const std::string annotation_label = is_bdf() ? "BDF Annotations" : "EDF Annotations";
  int64_t record = 0;
  int n_annotation_channels = 0;
  const int32_t limit_hi = is_bdf() ? 8388607 : 32767, limit_lo = is_bdf() ? -8388608 : -32768;
  for (size_t i = 0; i < n; ++i) {
    RawSignal& s = raw[i];
    s.offset_in_record = record;
    record += int64_t{s.info.samples_per_record} * bytes_per_sample;
    const bool annotation_label_found = s.info.label == "EDF Annotations" || s.info.label == "BDF Annotations";
    // Like EDFlib, only EDF+/BDF+ files have annotation signals; elsewhere the label is just a label.
    s.is_annotation = plus && annotation_label_found;
    if (annotation_label_found && !plus)
      warn(where(i, "label") + ": '" + s.info.label + "' in a file not marked EDF+/BDF+; kept as an ordinary signal");
    if (s.is_annotation) {
      ++n_annotation_channels;
      if (s.info.label != annotation_label)
        warn(where(i, "label") + ": '" + s.info.label + "' in a " + (is_bdf() ? "BDF+" : "EDF+") + " file");
      if (!s.info.transducer.empty() || !s.info.file_unit.empty() || !s.info.prefilter.empty())
        warn(where(i, "") + "(annotations): transducer, physical dimension and prefilter must be blank, found '" +
             s.info.transducer + "', '" + s.info.file_unit + "', '" + s.info.prefilter + "'");
      continue;
    }
    ordinary.push_back(static_cast<int>(i));
    SignalInfo& info = s.info;
    if (info.digital_min >= info.digital_max)
      fail(where(i, "digital minimum"), "digital minimum " + std::to_string(info.digital_min) +
                                            " is not below digital maximum " + std::to_string(info.digital_max));
    if (info.physical_min == info.physical_max)
      fail(where(i, "physical minimum"), "physical minimum equals physical maximum (" +
                                             std::to_string(info.physical_min) + "): no scale can be derived");
    if (info.digital_min < limit_lo || info.digital_max > limit_hi)
      warn(where(i, "digital minimum/maximum") + ": " + std::to_string(info.digital_min) + ".." +
           std::to_string(info.digital_max) + " exceeds the " + (is_bdf() ? "24" : "16") +
           "-bit sample range; samples are still read as stored");
  }
  if (plus && n_annotation_channels == 0) {
    warn("reserved: '" + std::string(reserved) + "' but no '" + annotation_label +
         "' signal; read as plain " + (is_bdf() ? "BDF" : "EDF"));
    plus = discontinuous = false;
  }
  type = is_bdf() ? (plus ? (discontinuous ? FileType::BDFPlusD : FileType::BDFPlusC) : FileType::BDF)
                  : (plus ? (discontinuous ? FileType::EDFPlusD : FileType::EDFPlusC) : FileType::EDF);
  if (record_duration_s == 0 && !ordinary.empty())
    fail("duration of a data record", "0 s in a file with ordinary signals");

  record_bytes = record;
  const int64_t data_bytes = static_cast<int64_t>(size) - header_bytes;
  const int64_t available = data_bytes / record_bytes;
  if (declared_records <= 0 && declared_records != -1)
    fail("number of data records", std::to_string(declared_records) + " (must be positive, or -1 while recording)");
  if (available == 0)
    fail("byte " + std::to_string(size), "no complete data record: the file ends " + std::to_string(data_bytes) +
                                             " bytes after the header, a record needs " + std::to_string(record_bytes));
  if (declared_records == -1) {
    warn("number of data records: -1 (recording not finalised); using the " + std::to_string(available) +
         " complete records in the file");
    n_records = available;
  } else if (declared_records > available) {
    warn("number of data records: " + std::to_string(declared_records) + " declared but the file holds only " +
         std::to_string(available) + " complete records; reading those");
    n_records = available;
  } else {
    n_records = declared_records;
  }
  const int64_t trailing = data_bytes - n_records * record_bytes;
  if (trailing > 0 && declared_records != -1 && declared_records <= available)
    warn("file size: " + std::to_string(trailing) + " bytes after the last declared data record (ignored)");
}

namespace {

// Onset/duration text of a TAL: [+-]digits[.digits] (duration without sign).
std::optional<double> tal_number(std::string_view text, bool signed_number) {
  if (text.empty()) return std::nullopt;
  size_t i = 0;
  if (signed_number) {
    if (text[0] != '+' && text[0] != '-') return std::nullopt;
    i = 1;
  }
  bool digits = false, dot = false;
  for (size_t k = i; k < text.size(); ++k) {
    if (std::isdigit(static_cast<unsigned char>(text[k]))) digits = true;
    else if (text[k] == '.' && !dot) dot = true;
    else return std::nullopt;
  }
  if (!digits) return std::nullopt;
  double value = 0;
  const char* first = text.data() + (text[0] == '+' ? 1 : 0);
  const auto [ptr, ec] = std::from_chars(first, text.data() + text.size(), value);
  if (ec != std::errc()) return std::nullopt;
  return value;
}

}  // namespace

namespace {

// EDFlib's physical value of a digital sample d: bitvalue · (offset + clamp(d)) · unit scale.
struct PhysicalScale {
  double bitvalue, offset, unit_scale;
  int32_t digital_min, digital_max;
  template <class T>
  T physical(int32_t d) const {
    return static_cast<T>(bitvalue * (offset + std::clamp(d, digital_min, digital_max)) * unit_scale);
  }
};

// n samples of `width` bytes (2: EDF, 3: BDF; little endian, two's complement) through convert.
template <class T, class Convert>
void convert_samples(const uint8_t* p, size_t n, int width, T* dst, Convert convert) {
  if (width == 2) {
    for (size_t j = 0; j < n; ++j)
      dst[j] = convert(static_cast<int32_t>(static_cast<int16_t>(p[2 * j] | (p[2 * j + 1] << 8))));
  } else {
    for (size_t j = 0; j < n; ++j) {
      const uint8_t* q = p + 3 * j;
      // Bytes into the top 24 bits, then an arithmetic shift sign-extends.
      dst[j] = convert(static_cast<int32_t>((uint32_t{q[0]} << 8) | (uint32_t{q[1]} << 16) | (uint32_t{q[2]} << 24)) >> 8);
    }
  }
}

// PhysicalScale::physical on W samples at a time: the same operations in the same order per lane
// (no FMA contraction), so the same bits as the scalar formula. kPlain: the digital range is all of
// int16 and the unit scale 1, so the clip and the last product change nothing and are left out.
template <int W, bool kPlain, class T>
[[gnu::always_inline]] inline void physical_int16_lanes(const uint8_t* p, size_t n, const PhysicalScale& k, T* dst) {
  using V = detail::Lanes<W>;
  size_t j = 0;
  for (; j + W <= n; j += W) {
    typename V::S raw;
    std::memcpy(&raw, p + 2 * j, sizeof raw);
    auto d = __builtin_convertvector(raw, typename V::I);
    if constexpr (!kPlain) {
      d = d < k.digital_min ? k.digital_min : d;
      d = d > k.digital_max ? k.digital_max : d;
    }
    typename V::D v = k.bitvalue * (k.offset + __builtin_convertvector(d, typename V::D));
    if constexpr (!kPlain) v *= k.unit_scale;
    if constexpr (std::is_same_v<T, float>) {
      const typename V::F f = __builtin_convertvector(v, typename V::F);
      std::memcpy(dst + j, &f, sizeof f);
    } else {
      std::memcpy(dst + j, &v, sizeof v);
    }
  }
  convert_samples(p + 2 * j, n - j, 2, dst + j, [&k](int32_t d) { return k.physical<T>(d); });
}
struct PhysicalInt16Kernel {
  template <int W, class T>
  [[gnu::always_inline]] static void run(const uint8_t* p, size_t n, const PhysicalScale& k, T* dst) {
    if (k.digital_min <= INT16_MIN && k.digital_max >= INT16_MAX && k.unit_scale == 1.0)
      physical_int16_lanes<W, true>(p, n, k, dst);
    else
      physical_int16_lanes<W, false>(p, n, k, dst);
  }
};
template <class T>
void physical_int16(const uint8_t* p, size_t n, const PhysicalScale& k, T* dst) {
  detail::run_for_cpu<PhysicalInt16Kernel>(p, n, k, dst);
}

// Index of the first non-NUL byte at or after pos (bytes.size() if none). NUL padding fills most of
// each record's annotation signal, so it is skipped a word at a time.
size_t skip_padding(std::string_view bytes, size_t pos) {
  for (; pos + 8 <= bytes.size(); pos += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + pos, 8);
    if (word != 0)
      return pos + static_cast<size_t>(std::endian::native == std::endian::little ? std::countr_zero(word) : std::countl_zero(word)) / 8;
  }
  while (pos < bytes.size() && bytes[pos] == '\0') ++pos;
  return pos;
}
}  // namespace

// EDF+ TALs (Kemp & Olivan 2003, section 2.2): "+onset[\x15duration]\x14text\x14...\x14\0". The first
// TAL of the first annotation signal of each record keeps time ("+onset\x14\x14") and gives the
// record's onset.
void Recording::Impl::parse_annotations() {
  std::vector<const RawSignal*> channels;
  for (const RawSignal& s : raw)
    if (s.is_annotation) channels.push_back(&s);
  const bool plus = type != FileType::EDF && type != FileType::BDF;
  std::vector<double> tal_onsets(static_cast<size_t>(n_records), std::numeric_limits<double>::quiet_NaN());
  int malformed = 0, missing_timekeeping = 0, latin1 = 0, unterminated = 0;
  std::string first_malformed;
  std::vector<Annotation> found;
  for (int64_t r = 0; r < n_records; ++r) {
    if (r % kRecordsPerRelease == 0 && r > 0) release_records(r - kRecordsPerRelease, r);
    const uint8_t* record = file.data() + header_bytes + r * record_bytes;
    for (size_t c = 0; c < channels.size(); ++c) {
      const char* begin = reinterpret_cast<const char*>(record + channels[c]->offset_in_record);
      const std::string_view bytes(begin, static_cast<size_t>(channels[c]->info.samples_per_record) * bytes_per_sample);
      size_t pos = 0;
      bool first_tal = true;
      while ((pos = skip_padding(bytes, pos)) < bytes.size()) {
        size_t end = bytes.find('\0', pos);
        if (end == std::string_view::npos) end = bytes.size();
        const size_t tal_begin = pos;
        std::string_view tal = bytes.substr(pos, end - pos);
        pos = end + 1;
        const bool timekeeping_slot = first_tal && c == 0;
        first_tal = false;
        auto bad = [&](const std::string& why) {
          if (malformed++ == 0)
            first_malformed = "record " + std::to_string(r + 1) + ": " + why + " in '" + edf_text::printable(tal) + "'";
        };
        const size_t onset_end = tal.find_first_of("\x14\x15");
        if (onset_end == std::string_view::npos) {
          bad("TAL without a 0x14 separator");
          continue;
        }
        const std::optional<double> onset = tal_number(tal.substr(0, onset_end), true);
        if (!onset) {
          bad("onset is not a signed number");
          continue;
        }
        // A time-keeping TAL run into the next one without its 0x00 terminator (Nihon Kohden exports).
        if (timekeeping_slot && tal[onset_end] == '\x14' && onset_end + 2 < tal.size() && tal[onset_end + 1] == '\x14' &&
            (tal[onset_end + 2] == '+' || tal[onset_end + 2] == '-')) {
          ++unterminated;
          tal = tal.substr(0, onset_end + 2);
          pos = tal_begin + onset_end + 2;
        }
        double duration = -1;
        size_t texts_begin = onset_end + 1;
        if (tal[onset_end] == '\x15') {
          const size_t duration_end = tal.find('\x14', texts_begin);
          if (duration_end == std::string_view::npos) {
            bad("duration without a closing 0x14");
            continue;
          }
          const std::optional<double> d = tal_number(tal.substr(texts_begin, duration_end - texts_begin), false);
          if (d) duration = *d;
          else bad("duration is not a number");
          texts_begin = duration_end + 1;
        }
        std::string_view texts = tal.substr(std::min(texts_begin, tal.size()));
        if (!texts.empty() && texts.back() != '\x14') bad("last annotation not closed by 0x14");
        bool first_text = true;
        while (!texts.empty()) {
          const size_t cut = texts.find('\x14');
          const std::string_view text = texts.substr(0, cut);
          texts = cut == std::string_view::npos ? std::string_view() : texts.substr(cut + 1);
          if (first_text && timekeeping_slot && text.empty()) {
            tal_onsets[static_cast<size_t>(r)] = *onset;
            first_text = false;
            continue;
          }
          first_text = false;
          if (text.empty()) continue;
          if (!edf_text::is_valid_utf8(text)) ++latin1;
          found.push_back({*onset, duration, edf_text::to_utf8(text)});
        }
      }
    }
    if (plus && std::isnan(tal_onsets[static_cast<size_t>(r)])) ++missing_timekeeping;
  }
  if (malformed > 0)
    warn("annotations: " + std::to_string(malformed) + " malformed TAL(s) skipped; first: " + first_malformed);
  if (unterminated > 0)
    warn("annotations: " + std::to_string(unterminated) +
         " time-keeping TAL(s) not terminated by 0x00 before the next TAL; read as two TALs");
  if (latin1 > 0)
    warn("annotations: " + std::to_string(latin1) + " text(s) not valid UTF-8, read as Latin-1");

  // Record onsets relative to the header start second; the first record's fraction is the sub-second start.
  record_onsets_s.resize(static_cast<size_t>(n_records));
  for (int64_t r = 0; r < n_records; ++r) record_onsets_s[static_cast<size_t>(r)] = static_cast<double>(r) * record_duration_s;
  if (!plus) return;
  if (missing_timekeeping > 0)
    warn("annotations: " + std::to_string(missing_timekeeping) +
         " data record(s) without a time-keeping TAL; their onsets assume contiguous records");
  double first = tal_onsets.empty() || std::isnan(tal_onsets[0]) ? 0.0 : tal_onsets[0];
  double subsecond = 0;
  if (first >= 0 && first < 1) {
    subsecond = first;
  } else {
    warn("annotations: first data record starts at " + std::to_string(first) +
         " s from the header start time (expected 0 <= onset < 1)");
  }
  start.subsecond_s = subsecond;
  const bool discontinuous = type == FileType::EDFPlusD || type == FileType::BDFPlusD;
  int out_of_place = 0;
  for (int64_t r = 0; r < n_records; ++r) {
    const double tal = tal_onsets[static_cast<size_t>(r)];
    const double contiguous = r == 0 ? first - subsecond : record_onsets_s[static_cast<size_t>(r - 1)] + record_duration_s;
    double onset = std::isnan(tal) ? contiguous : tal - subsecond;
    if (!discontinuous && std::abs(onset - static_cast<double>(r) * record_duration_s) > 1e-6) {
      ++out_of_place;
      onset = static_cast<double>(r) * record_duration_s;  // EDF+C: records are contiguous by definition
    }
    if (discontinuous && r > 0 && onset < contiguous - 1e-6) ++out_of_place;
    record_onsets_s[static_cast<size_t>(r)] = onset;
  }
  if (out_of_place > 0)
    warn(std::string("annotations: ") + std::to_string(out_of_place) + " time-keeping TAL(s) " +
         (discontinuous ? "make records overlap the previous one" : "disagree with contiguous records in an EDF+C file"));
  for (Annotation& a : found) a.onset_s -= subsecond;
  release_records(0, n_records);
  annotations = std::move(found);
}

// Takes header facts from EDFlib when it accepts the file; false when it refuses. Annotations are
// always psgkit's own TAL parse over the mapped file: EDFlib's annotation scan reads every data record
// with small reads, which cost more than the rest of opening an 8-h file (the corpus test checks that
// both agree).
bool Recording::Impl::take_from_edflib() {
  auto header = std::make_unique<edf_hdr_struct>();
  std::lock_guard<std::mutex> lock(edflib_mutex());
  if (edfopen_file_readonly(path.c_str(), header.get(), EDFLIB_DO_NOT_READ_ANNOTATIONS) != 0) return false;
  struct Closer {
    int handle;
    ~Closer() { edfclose_file(handle); }
  } closer{header->handle};
  if (header->edfsignals != static_cast<int>(ordinary.size()) || header->datarecords_in_file != n_records)
    fail("", "EDFlib and psgkit disagree on the header (" + std::to_string(header->edfsignals) + " vs " +
                 std::to_string(ordinary.size()) + " signals, " + std::to_string(header->datarecords_in_file) +
                 " vs " + std::to_string(n_records) + " records)");
  record_duration_s = static_cast<double>(header->datarecord_duration) / EDFLIB_TIME_DIMENSION;
  start = DateTime{header->startdate_year, header->startdate_month, header->startdate_day, header->starttime_hour,
                   header->starttime_minute, header->starttime_second,
                   static_cast<double>(header->starttime_subsecond) / EDFLIB_TIME_DIMENSION};
  for (size_t i = 0; i < ordinary.size(); ++i) {
    const edf_param_struct& p = header->signalparam[i];
    SignalInfo& info = raw[static_cast<size_t>(ordinary[i])].info;
    info.label = std::string(edf_text::trim(p.label));
    info.transducer = std::string(edf_text::trim(p.transducer));
    info.file_unit = std::string(edf_text::trim(p.physdimension));
    info.prefilter = std::string(edf_text::trim(p.prefilter));
    info.physical_min = p.phys_min;
    info.physical_max = p.phys_max;
    info.digital_min = p.dig_min;
    info.digital_max = p.dig_max;
    info.samples_per_record = p.smp_in_datarecord;
  }
  return true;
}

void Recording::Impl::finish() {
  signals.clear();
  for (int index : ordinary) {
    SignalInfo& info = raw[static_cast<size_t>(index)].info;
    info.fs_hz = info.samples_per_record / record_duration_s;
    info.n_samples = int64_t{info.samples_per_record} * n_records;
    const UnitScale u = normalise_unit(info.file_unit);
    info.unit = u.unit;
    info.unit_scale = u.scale;
    signals.push_back(info);
  }
}

template <class T>
std::vector<Recording::Impl::Slice<T>> Recording::Impl::whole(std::span<const int> signals,
                                                             std::span<std::vector<T>* const> out) const {
  for (const int signal : signals) signal_raw(signal);
  std::vector<Slice<T>> slices;
  for (size_t i = 0; i < signals.size(); ++i) {
    const size_t n = static_cast<size_t>(signal_raw(signals[i]).info.n_samples);
    detail::resize_night_buffer(*out[i], n);
    slices.push_back({signals[i], 0, n, out[i]->data()});
  }
  return slices;
}

template <class T>
Recording::Impl::Slice<T> Recording::Impl::part(int signal, int64_t first, std::span<T> out) const {
  const int64_t n = signal_raw(signal).info.n_samples;
  if (first < 0 || first > n || static_cast<int64_t>(out.size()) > n - first)
    throw Error(path.string(), "signal " + std::to_string(signal),
                "samples [" + std::to_string(first) + ", " + std::to_string(first + static_cast<int64_t>(out.size())) +
                    ") are outside the signal's " + std::to_string(n));
  return {signal, first, out.size(), out.data()};
}

template <class T>
std::vector<Recording::Impl::Slice<T>> Recording::Impl::parts(std::span<const int> signals, std::span<const int64_t> first,
                                                             std::span<const std::span<T>> out) const {
  if (signals.size() != out.size() || first.size() != out.size())
    throw Error(path.string(), "out", std::to_string(signals.size()) + " signals, " + std::to_string(first.size()) +
                                          " first samples and " + std::to_string(out.size()) + " outputs");
  std::vector<Slice<T>> slices;
  for (size_t i = 0; i < signals.size(); ++i) slices.push_back(part(signals[i], first[i], out[i]));
  return slices;
}

template <class T, class DecodeRecord>
void Recording::Impl::decode(std::span<const Slice<T>> slices, DecodeRecord decode_record) const {
  struct Job {
    size_t offset, samples_per_record, bytes;
    int64_t first, end;
    T* dst;
  };
  std::vector<Job> jobs;
  int64_t r_begin = n_records, r_end = 0;
  for (const Slice<T>& slice : slices) {
    const RawSignal& s = signal_raw(slice.signal);
    const size_t spr = static_cast<size_t>(s.info.samples_per_record);
    const int64_t end = slice.first + static_cast<int64_t>(slice.count);
    jobs.push_back({static_cast<size_t>(s.offset_in_record), spr, spr * static_cast<size_t>(bytes_per_sample), slice.first, end,
                    slice.dst});
    if (slice.count == 0) continue;
    r_begin = std::min(r_begin, slice.first / static_cast<int64_t>(spr));
    r_end = std::max(r_end, (end + static_cast<int64_t>(spr) - 1) / static_cast<int64_t>(spr));
  }
  if (r_begin >= r_end) return;
  const uint8_t* record = file.data() + header_bytes + r_begin * record_bytes;
  for (int64_t r = r_begin; r < r_end; ++r, record += record_bytes) {
    if ((r - r_begin) % kRecordsPerRelease == 0) {
      if (r > r_begin) release_records(r - kRecordsPerRelease, r);
      file.populate(static_cast<size_t>(header_bytes + r * record_bytes),
                    static_cast<size_t>(header_bytes + std::min(r + kRecordsPerRelease, r_end) * record_bytes));
    }
    // A signal's bytes are a short run in each record: the hardware prefetcher cannot see the stride,
    // so fetch a few records ahead.
    if (r + kPrefetchRecords < r_end)
      for (const Job& job : jobs)
        for (size_t b = 0; b < job.bytes; b += 64) __builtin_prefetch(record + kPrefetchRecords * record_bytes + job.offset + b);
    for (size_t i = 0; i < jobs.size(); ++i) {
      Job& job = jobs[i];
      const int64_t base = r * static_cast<int64_t>(job.samples_per_record);
      const int64_t lo = std::max(job.first, base), hi = std::min(job.end, base + static_cast<int64_t>(job.samples_per_record));
      if (lo >= hi) continue;
      decode_record(i, record + job.offset + static_cast<size_t>(lo - base) * static_cast<size_t>(bytes_per_sample),
                    static_cast<size_t>(hi - lo), job.dst);
      job.dst += hi - lo;
    }
  }
  release_records(r_begin, r_end);
}

Recording::Recording(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Recording::Recording(Recording&&) noexcept = default;
Recording& Recording::operator=(Recording&&) noexcept = default;
Recording::~Recording() = default;

Recording Recording::open(const fs::path& path, ReaderChoice reader) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  if (!fs::exists(path)) throw Error(path.string(), "", "no such file");
  impl->file = MappedFile(path);
  impl->parse_header();
  impl->by_edflib = reader == ReaderChoice::Auto && impl->take_from_edflib();
  impl->finish();
  return Recording(std::move(impl));
}

const fs::path& Recording::path() const { return impl_->path; }
FileType Recording::file_type() const { return impl_->type; }
const std::string& Recording::patient() const { return impl_->patient; }
const std::string& Recording::recording_id() const { return impl_->recording_id; }
const DateTime& Recording::start() const { return impl_->with_annotations().start; }
int64_t Recording::n_records() const { return impl_->n_records; }
double Recording::record_duration_s() const { return impl_->record_duration_s; }
double Recording::duration_s() const {
  const std::vector<double>& onsets = record_onsets_s();
  if (onsets.empty()) return 0;
  return onsets.back() + impl_->record_duration_s;
}
const std::vector<SignalInfo>& Recording::signals() const { return impl_->signals; }

int Recording::find_signal(std::string_view label) const {
  const std::string_view wanted = edf_text::trim(label);
  for (size_t i = 0; i < impl_->signals.size(); ++i) {
    const std::string& have = impl_->signals[i].label;
    if (have.size() == wanted.size() &&
        std::equal(have.begin(), have.end(), wanted.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      return static_cast<int>(i);
  }
  return -1;
}

int Recording::require_signal(std::string_view label) const {
  const int index = find_signal(label);
  if (index >= 0) return index;
  std::string available;
  for (const SignalInfo& s : impl_->signals) available += (available.empty() ? "'" : ", '") + s.label + "'";
  throw Error(impl_->path.string(), "signal '" + std::string(label) + "'",
              "not in the file; available: " + (available.empty() ? std::string("none") : available));
}

// Physical values in `unit`: EDFlib's formula, term by term, so values match edfread_physical_samples
// bit for bit; like EDFlib, digital values outside [digital_min, digital_max] are clipped first.
template <class T>
void Recording::Impl::physical(std::span<const Slice<T>> slices) const {
  std::vector<PhysicalScale> scales;
  for (const Slice<T>& slice : slices) {
    const SignalInfo& info = signal_raw(slice.signal).info;
    const double bitvalue = (info.physical_max - info.physical_min) / static_cast<double>(info.digital_max - info.digital_min);
    scales.push_back({bitvalue, info.physical_max / bitvalue - info.digital_max, normalise_unit(info.file_unit).scale,
                      info.digital_min, info.digital_max});
  }
  const int width = bytes_per_sample;
  decode<T>(slices, [&scales, width](size_t i, const uint8_t* p, size_t n, T* dst) {
    const PhysicalScale& k = scales[i];
    if (width == 2 && std::endian::native == std::endian::little) return physical_int16(p, n, k, dst);
    convert_samples(p, n, width, dst, [&k](int32_t d) { return k.physical<T>(d); });
  });
}

void Recording::read(int signal, std::vector<float>& out) const {
  std::vector<float>* const outs[] = {&out};
  impl_->physical<float>(impl_->whole<float>(std::span<const int>(&signal, 1), outs));
}
std::vector<float> Recording::read(int signal) const {
  std::vector<float> out;
  read(signal, out);
  return out;
}
void Recording::read(std::span<const int> signals, std::vector<std::vector<float>>& out) const {
  out.resize(signals.size());
  std::vector<std::vector<float>*> outs;
  for (auto& v : out) outs.push_back(&v);
  impl_->physical<float>(impl_->whole<float>(signals, outs));
}
std::vector<std::vector<float>> Recording::read(std::span<const int> signals) const {
  std::vector<std::vector<float>> out;
  read(signals, out);
  return out;
}
std::vector<double> Recording::read_double(int signal) const {
  std::vector<double> out;
  std::vector<double>* const outs[] = {&out};
  impl_->physical<double>(impl_->whole<double>(std::span<const int>(&signal, 1), outs));
  return out;
}
void Recording::read(int signal, int64_t first_sample, std::span<float> out) const {
  const Impl::Slice<float> slice = impl_->part(signal, first_sample, out);
  impl_->physical<float>(std::span<const Impl::Slice<float>>(&slice, 1));
}
void Recording::read(std::span<const int> signals, int64_t first_sample, std::span<const std::span<float>> out) const {
  const std::vector<int64_t> first(signals.size(), first_sample);
  read(signals, first, out);
}
void Recording::read(std::span<const int> signals, std::span<const int64_t> first_samples,
                     std::span<const std::span<float>> out) const {
  impl_->physical<float>(std::span<const Impl::Slice<float>>(impl_->parts(signals, first_samples, out)));
}
void Recording::read_double(std::span<const int> signals, std::span<const int64_t> first_samples,
                            std::span<const std::span<double>> out) const {
  impl_->physical<double>(std::span<const Impl::Slice<double>>(impl_->parts(signals, first_samples, out)));
}
void Recording::read_double(int signal, int64_t first_sample, std::span<double> out) const {
  const Impl::Slice<double> slice = impl_->part(signal, first_sample, out);
  impl_->physical<double>(std::span<const Impl::Slice<double>>(&slice, 1));
}

std::vector<int32_t> Recording::read_digital(int signal) const {
  std::vector<int32_t> out;
  std::vector<int32_t>* const outs[] = {&out};
  const int width = impl_->bytes_per_sample;
  impl_->decode<int32_t>(impl_->whole<int32_t>(std::span<const int>(&signal, 1), outs),
                         [width](size_t, const uint8_t* p, size_t n, int32_t* dst) {
                           convert_samples(p, n, width, dst, [](int32_t d) { return d; });
                         });
  return out;
}

const std::vector<Annotation>& Recording::annotations() const { return impl_->with_annotations().annotations; }
const std::vector<double>& Recording::record_onsets_s() const { return impl_->with_annotations().record_onsets_s; }

std::vector<Gap> Recording::gaps() const {
  std::vector<Gap> out;
  const std::vector<double>& onsets = record_onsets_s();
  for (size_t r = 1; r < onsets.size(); ++r) {
    const double expected = onsets[r - 1] + impl_->record_duration_s;
    if (onsets[r] > expected + 1e-6) out.push_back({expected, onsets[r] - expected});
  }
  return out;
}

const std::vector<std::string>& Recording::warnings() const { return impl_->with_annotations().warnings; }
bool Recording::opened_by_edflib() const { return impl_->by_edflib; }

}  // namespace psgkit
