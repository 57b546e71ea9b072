// Reading and writing polysomnography recordings: EDF, EDF+C, EDF+D, BDF, BDF+C, BDF+D.
//
// Files are opened through EDFlib (Debian libedf-dev) when it accepts them; files EDFlib 1.23 refuses
// but that other readers open (24-bit BDF variants, EDF+D, Latin-1 labels, small header deviations)
// are read by psgkit's own tolerant parser, which records one warning per deviation from the EDF
// specification (Kemp et al. 1992; Kemp & Olivan 2003 for EDF+). Sample data is decoded by psgkit from
// whole data records (memory-mapped), one signal at a time, so reading one channel of a long file does
// not load the others. Physical values follow EDFlib's formula exactly:
//   bitvalue = (physmax - physmin) / (digmax - digmin), offset = physmax / bitvalue - digmax,
//   value = bitvalue * (offset + digital), digital clipped to [digmin, digmax] first (as EDFlib does)
// then EEG-like units (V, mV, µV) are scaled to µV (the library's unit for EEG).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace psgkit {

enum class FileType { EDF, EDFPlusC, EDFPlusD, BDF, BDFPlusC, BDFPlusD };
// "EDF", "EDF+C", "EDF+D", "BDF", "BDF+C", "BDF+D".
std::string_view to_string(FileType type);

// Start of the recording as written in the header, with the EDF+ sub-second part.
struct DateTime {
  int year = 1985, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  double subsecond_s = 0.0;  // 0 <= subsecond_s < 1
  // ISO 8601, e.g. "2001-03-04T23:15:00" or "2001-03-04T23:15:00.5".
  std::string iso8601() const;
};

struct SignalInfo {
  std::string label;          // trimmed
  std::string transducer;     // trimmed
  std::string file_unit;      // physical dimension as written in the file, trimmed
  std::string unit;           // unit of the values psgkit returns: "uV" for V/mV/µV/uV, else file_unit
  std::string prefilter;      // trimmed
  double fs_hz = 0;           // samples_per_record / record_duration_s
  int samples_per_record = 0;
  int64_t n_samples = 0;      // samples_per_record * n_records
  double physical_min = 0, physical_max = 0;
  int32_t digital_min = 0, digital_max = 0;
  double unit_scale = 1.0;    // multiply file-unit values by this to get `unit` (1e6 for V, 1e3 for mV)
};

struct Annotation {
  double onset_s = 0;         // seconds from the recording start (header start date-time)
  double duration_s = -1;     // -1 when the annotation has no duration
  std::string text;           // UTF-8 (Latin-1 input is converted)
};

struct Gap {
  double start_s = 0;         // where the missing stretch begins, seconds from the recording start
  double duration_s = 0;
};

// Which header reader Recording::open uses. Auto: EDFlib first, psgkit's tolerant parser when EDFlib
// refuses the file. TolerantOnly: psgkit's parser even when EDFlib would accept (for cross-checks).
enum class ReaderChoice { Auto, TolerantOnly };

class Recording {
 public:
  // Opens and parses the header; samples are read on demand. The EDF+ annotation signals (a walk over
  // every data record) are parsed on the first call that needs them — annotations(),
  // record_onsets_s(), gaps(), duration_s(), start() (its sub-second part) or warnings() — once, so
  // reading samples alone does not pay for it (like EDFlib's EDFLIB_DO_NOT_READ_ANNOTATIONS). That
  // parse never throws: malformed TALs become warnings.
  // Throws psgkit::Error naming the file, the field or byte offset, and what was wrong.
  // Thread-safe: different threads may open and read recordings, and call the const members of one
  // recording, at the same time.
  static Recording open(const std::filesystem::path& path, ReaderChoice reader = ReaderChoice::Auto);

  Recording(Recording&&) noexcept;
  Recording& operator=(Recording&&) noexcept;
  ~Recording();

  const std::filesystem::path& path() const;
  FileType file_type() const;
  const std::string& patient() const;        // patient identification field, trimmed
  const std::string& recording_id() const;   // recording identification field, trimmed
  const DateTime& start() const;
  int64_t n_records() const;
  double record_duration_s() const;
  // Time span covered, from the start to the end of the last data record (gaps included for EDF+D).
  double duration_s() const;

  // Ordinary signals only (EDF+ annotation channels are excluded).
  const std::vector<SignalInfo>& signals() const;
  // Index of the first signal whose trimmed label equals `label` (case-insensitive), or -1.
  int find_signal(std::string_view label) const;
  // Index of the signal with that label; throws psgkit::Error listing the available labels if absent.
  int require_signal(std::string_view label) const;

  // Samples of one signal in SignalInfo::unit (µV for EEG-like units), in file order. For EDF+D the
  // samples of all records are concatenated: use record_onsets_s() / gaps() for their true times.
  std::vector<float> read(int signal) const;
  // Same values into `out` (resized), reusing its memory: reading many signals or files into one buffer
  // avoids a fresh allocation (and its page faults) per call.
  void read(int signal, std::vector<float>& out) const;
  // Several signals, the same values as read(signal) for each, in one pass over the data records (a
  // record's bytes are fetched once, not once per signal): out[i] holds signals[i]. Throws like
  // read(signal) for an invalid index, before decoding anything.
  std::vector<std::vector<float>> read(std::span<const int> signals) const;
  void read(std::span<const int> signals, std::vector<std::vector<float>>& out) const;
  // Same values in double precision (exactly EDFlib's formula times unit_scale).
  std::vector<double> read_double(int signal) const;
  // Samples [first_sample, first_sample + out.size()) of one signal, the same values as read(signal) /
  // read_double(signal) there, decoding only the data records that hold them: a long file can be
  // walked in blocks with memory bounded by the block. Throws psgkit::Error for an invalid index or a
  // range outside [0, n_samples).
  void read(int signal, int64_t first_sample, std::span<float> out) const;
  void read_double(int signal, int64_t first_sample, std::span<double> out) const;
  // Samples [first_sample, first_sample + out[i].size()) of signals[i] for every i, the same values as
  // read(signals[i], first_sample, out[i]), in one pass over the data records and straight into the
  // caller's memory (e.g. the rows of one array). Throws like the one-signal form, before decoding.
  void read(std::span<const int> signals, int64_t first_sample, std::span<const std::span<float>> out) const;
  // The same with a first sample per signal (e.g. signals at different rates over the same time span):
  // samples [first_samples[i], first_samples[i] + out[i].size()) of signals[i], in one pass. Throws
  // psgkit::Error when the three spans differ in length, and like the one-signal forms.
  void read(std::span<const int> signals, std::span<const int64_t> first_samples, std::span<const std::span<float>> out) const;
  void read_double(std::span<const int> signals, std::span<const int64_t> first_samples,
                   std::span<const std::span<double>> out) const;
  // Raw digital values as stored (16-bit EDF or 24-bit BDF, sign-extended; not clipped).
  std::vector<int32_t> read_digital(int signal) const;

  const std::vector<Annotation>& annotations() const;
  // True onset of each data record, seconds from the start (n, n*record_duration for contiguous files).
  const std::vector<double>& record_onsets_s() const;
  // Missing stretches between data records (EDF+D only; empty otherwise).
  std::vector<Gap> gaps() const;
  // One entry per deviation from the EDF/EDF+ specification that was tolerated.
  const std::vector<std::string>& warnings() const;
  // True when EDFlib accepted the header; false when the tolerant parser read it.
  bool opened_by_edflib() const;

  struct Impl;

 private:
  explicit Recording(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The summary `psgkit info --json` prints, as JSON text (indent 2): file, file_type, reader, start,
// patient, recording, duration_s, n_records, record_duration_s, signals (label, unit, file_unit, fs,
// n_samples, transducer, prefilter, physical/digital min/max), annotations (count), gaps, warnings.
std::string recording_info_json(const Recording& recording);

// A signal to write: samples in `unit` (µV for EEG). physical_min/max default to the data range
// (padded) when left equal; digital range is the full 16-bit range.
struct SignalToWrite {
  std::string label, transducer, unit = "uV", prefilter;
  double fs_hz = 0;
  std::vector<float> samples;
  double physical_min = 0, physical_max = 0;
};

struct WriteOptions {
  std::string patient = "X X X X";
  std::string recording = "Startdate X X X X";
  DateTime start;
  double record_duration_s = 1.0;  // every signal's fs_hz * record_duration_s must be an integer
};

// Writes an EDF+C file through EDFlib (atomically: temporary file, then rename). All signals must
// cover the same duration; the last partial data record is padded with the signal's last value.
// Annotation onsets and durations are stored in units of 100 µs (EDFlib's writer resolution); texts
// longer than EDFlib's 40-byte limit are refused rather than cut.
// An empty `signals` list writes an annotation-only EDF+C file (one "EDF Annotations" signal) with
// psgkit's own writer, because EDFlib's writer ties the file duration to the number of annotations;
// its duration covers the end of the last annotation (onset + duration), at least 1 s.
// Throws psgkit::Error.
void write_edf(const std::filesystem::path& path, const std::vector<SignalToWrite>& signals,
               const std::vector<Annotation>& annotations, const WriteOptions& options = {});

}  // namespace psgkit
