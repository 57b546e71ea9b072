// write_edf: EDF+C through EDFlib's writer; annotation-only EDF+C with psgkit's own small writer.
#include <edflib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>

#include "edf_text.hpp"
#include "psgkit/error.hpp"
#include "psgkit/io.hpp"
#include "psgkit/recording.hpp"

namespace psgkit {
namespace fs = std::filesystem;

namespace {

// The value nearest to `v`, rounded away from the data (up for a maximum, down for a minimum), that
// an 8-character header field can hold exactly, so a stored range never clips the samples.
double fit_8_chars(double v, bool up, const std::string& file, const std::string& field) {
  for (int decimals = 7; decimals >= 0; --decimals) {
    const double p = std::pow(10.0, decimals);
    const double x = (up ? std::ceil(v * p) : std::floor(v * p)) / p;
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, x);
    std::string s = text;
    if (s.find('.') != std::string::npos) {
      while (s.back() == '0') s.pop_back();
      if (s.back() == '.') s.pop_back();
    }
    if (s == "-0") s = "0";
    if (s.size() <= 8) return std::strtod(s.c_str(), nullptr);
  }
  throw Error(file, field, "value " + std::to_string(v) + " does not fit the 8-character EDF header field");
}

// Seconds as TAL text: up to 7 decimals, no exponent, trailing zeros dropped.
std::string tal_seconds(double seconds) {
  char text[64];
  std::snprintf(text, sizeof text, "%.7f", seconds);
  std::string s = text;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

void check_options(const std::string& file, const WriteOptions& options) {
  const DateTime& s = options.start;
  if (s.year < 1985 || s.year > 2084 || s.month < 1 || s.month > 12 || s.day < 1 || s.day > 31 || s.hour < 0 ||
      s.hour > 23 || s.minute < 0 || s.minute > 59 || s.second < 0 || s.second > 59)
    throw Error(file, "start", "'" + s.iso8601() + "' is outside what EDF can store (1985..2084, valid clock time)");
  if (!(s.subsecond_s >= 0 && s.subsecond_s < 1)) throw Error(file, "start.subsecond_s", "must be in [0, 1)");
  if (options.patient.size() > 80) throw Error(file, "patient", "longer than 80 characters");
  if (options.recording.size() > 80) throw Error(file, "recording", "longer than 80 characters");
}

void check_annotations(const std::string& file, const std::vector<Annotation>& annotations, size_t max_text_bytes) {
  for (size_t i = 0; i < annotations.size(); ++i) {
    const Annotation& a = annotations[i];
    const std::string where = "annotation " + std::to_string(i + 1);
    if (!std::isfinite(a.onset_s) || a.onset_s < 0) throw Error(file, where, "onset must be finite and >= 0 s");
    if (!std::isfinite(a.duration_s) || (a.duration_s < 0 && a.duration_s != -1))
      throw Error(file, where, "duration must be >= 0 s, or -1 for none");
    if (a.text.find_first_of(std::string("\x14\x15\0", 3)) != std::string::npos)
      throw Error(file, where, "text contains a TAL control byte (0x00, 0x14 or 0x15)");
    if (!edf_text::is_valid_utf8(a.text)) throw Error(file, where, "text is not valid UTF-8");
    if (a.text.size() > max_text_bytes)
      throw Error(file, where, "text is " + std::to_string(a.text.size()) + " bytes; EDFlib's writer keeps at most " +
                                   std::to_string(max_text_bytes));
  }
}

// Annotation-only EDF+C: one "EDF Annotations" signal. The record duration is chosen so the records
// cover the end of the last annotation; annotations go to the record their onset falls in.
void write_annotation_only(const fs::path& path, const std::vector<Annotation>& annotations, const WriteOptions& options) {
  const std::string file = path.string();
  const double subsecond = options.start.subsecond_s;
  std::vector<Annotation> sorted = annotations;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Annotation& a, const Annotation& b) { return a.onset_s < b.onset_s; });
  double end_s = 1.0;
  size_t tal_bytes = 0;
  std::vector<std::string> tals;
  for (const Annotation& a : sorted) {
    end_s = std::max(end_s, a.onset_s + std::max(a.duration_s, 0.0));
    std::string tal = "+" + tal_seconds(subsecond + a.onset_s);
    if (a.duration_s >= 0) tal += "\x15" + tal_seconds(a.duration_s);
    tal += "\x14" + a.text + "\x14";
    tal += '\0';
    tal_bytes += tal.size();
    tals.push_back(std::move(tal));
  }
  // Records of at most ~60 kB (the EDF recommendation is 61440 bytes).
  const int64_t n_records = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(tal_bytes / 60000.0)));
  const double record_duration_s = fit_8_chars(end_s / static_cast<double>(n_records), true, file, "record duration");
  std::vector<std::string> records(static_cast<size_t>(n_records));
  for (int64_t r = 0; r < n_records; ++r)
    records[static_cast<size_t>(r)] = "+" + tal_seconds(subsecond + static_cast<double>(r) * record_duration_s) + "\x14\x14" + '\0';
  for (size_t i = 0; i < tals.size(); ++i) {
    const auto r = std::min<int64_t>(n_records - 1, static_cast<int64_t>(sorted[i].onset_s / record_duration_s));
    records[static_cast<size_t>(r)] += tals[i];
  }
  size_t record_bytes = 0;
  for (const std::string& r : records) record_bytes = std::max(record_bytes, r.size());
  record_bytes += record_bytes % 2;  // whole 2-byte samples
  const size_t samples = record_bytes / 2;
  if (samples > 99'999'999) throw Error(file, "annotations", "too much annotation text for one EDF record");

  auto field = [](std::string text, size_t width) {
    text.resize(width, ' ');
    return text;
  };
  const DateTime& s = options.start;
  char date[16], time[16];
  std::snprintf(date, sizeof date, "%02d.%02d.%02d", s.day, s.month, s.year % 100);
  std::snprintf(time, sizeof time, "%02d.%02d.%02d", s.hour, s.minute, s.second);
  std::string out;
  out += field("0", 8) + field(options.patient, 80) + field(options.recording, 80) + date + time;
  out += field("512", 8) + field("EDF+C", 44) + field(std::to_string(n_records), 8) +
         field(tal_seconds(record_duration_s), 8) + field("1", 4);
  out += field("EDF Annotations", 16) + field("", 80) + field("", 8) + field("-1", 8) + field("1", 8) +
         field("-32768", 8) + field("32767", 8) + field("", 80) + field(std::to_string(samples), 8) + field("", 32);
  for (std::string& r : records) {
    r.resize(record_bytes, '\0');
    out += r;
  }
  write_file_atomic(path, out);
}

struct Handle {
  int id = -1;
  ~Handle() {
    if (id >= 0) edfclose_file(id);
  }
};

}  // namespace

void write_edf(const fs::path& path, const std::vector<SignalToWrite>& signals, const std::vector<Annotation>& annotations,
               const WriteOptions& options) {
  const std::string file = path.string();
  check_options(file, options);
  if (signals.empty()) {
    check_annotations(file, annotations, std::numeric_limits<size_t>::max());
    write_annotation_only(path, annotations, options);
    return;
  }
  constexpr size_t edflib_annotation_bytes = 40;  // EDFLIB_WRITE_MAX_ANNOTATION_LEN in EDFlib 1.23
  check_annotations(file, annotations, edflib_annotation_bytes);
  const double rd = options.record_duration_s;
  const long long rd_10us = std::llround(rd * 1e5);
  if (!(rd >= 0.001 && rd <= 60) || std::abs(rd_10us / 1e5 - rd) > 1e-9 * rd)
    throw Error(file, "record_duration_s", "must be a multiple of 10 µs in 0.001..60 s (EDFlib's writer)");
  if (signals.size() > EDFLIB_MAXSIGNALS) throw Error(file, "signals", "more than EDFlib's 640 signals");

  std::vector<int> spr(signals.size());
  double duration_s = -1;
  for (size_t i = 0; i < signals.size(); ++i) {
    const SignalToWrite& s = signals[i];
    const std::string where = "signal " + std::to_string(i + 1) + " '" + s.label + "'";
    if (!(s.fs_hz > 0) || !std::isfinite(s.fs_hz)) throw Error(file, where, "fs_hz must be positive");
    const double per_record = s.fs_hz * rd;
    spr[i] = static_cast<int>(std::llround(per_record));
    if (spr[i] < 1 || std::abs(per_record - spr[i]) > 1e-6)
      throw Error(file, where, "fs_hz * record_duration_s = " + std::to_string(per_record) + " is not a whole number");
    if (s.samples.empty()) throw Error(file, where, "has no samples");
    if (s.label.size() > 16 || s.unit.size() > 8 || s.transducer.size() > 80 || s.prefilter.size() > 80)
      throw Error(file, where, "label > 16, unit > 8, transducer or prefilter > 80 characters");
    for (float v : s.samples)
      if (!std::isfinite(v)) throw Error(file, where, "contains a non-finite sample");
    const double d = static_cast<double>(s.samples.size()) / s.fs_hz;
    if (duration_s < 0) duration_s = d;
    else if (std::abs(d - duration_s) > 1.0 / s.fs_hz + 1e-9)
      throw Error(file, where, "covers " + std::to_string(d) + " s, signal 1 covers " + std::to_string(duration_s) + " s");
  }
  int64_t n_records = 0;
  for (size_t i = 0; i < signals.size(); ++i)
    n_records = std::max<int64_t>(n_records, (static_cast<int64_t>(signals[i].samples.size()) + spr[i] - 1) / spr[i]);
  const int annotation_signals = static_cast<int>(
      std::clamp<int64_t>((static_cast<int64_t>(annotations.size()) + n_records - 1) / n_records, 1, 64));
  if (static_cast<int64_t>(annotations.size()) > 64 * n_records)
    throw Error(file, "annotations", "more than 64 per data record, EDFlib's limit");

  AtomicOutput output(path);
  std::lock_guard<std::mutex> lock(edflib_mutex());
  Handle h;
  h.id = edfopen_file_writeonly(output.temp_path().c_str(), EDFLIB_FILETYPE_EDFPLUS, static_cast<int>(signals.size()));
  if (h.id < 0) throw Error(file, "", "EDFlib cannot create the file (error " + std::to_string(h.id) + ")");
  auto check = [&](int status, const std::string& what) {
    if (status != 0) throw Error(file, what, "rejected by EDFlib's writer");
  };
  for (size_t i = 0; i < signals.size(); ++i) {
    const SignalToWrite& s = signals[i];
    const int k = static_cast<int>(i);
    const std::string where = "signal " + std::to_string(i + 1) + " '" + s.label + "'";
    double lo = s.physical_min, hi = s.physical_max;
    if (lo == hi) {
      const auto [mn, mx] = std::minmax_element(s.samples.begin(), s.samples.end());
      lo = *mn;
      hi = *mx;
      if (lo == hi) {  // constant signal: a range around it on its own scale
        const double pad = lo != 0 ? std::abs(lo) : 1.0;
        lo -= pad;
        hi += pad;
      }
    }
    if (lo > hi) std::swap(lo, hi);
    lo = fit_8_chars(lo, false, file, where + " physical minimum");
    hi = fit_8_chars(hi, true, file, where + " physical maximum");
    check(edf_set_samplefrequency(h.id, k, spr[i]), where + " samples per record");
    check(edf_set_physical_minimum(h.id, k, lo), where + " physical minimum");
    check(edf_set_physical_maximum(h.id, k, hi), where + " physical maximum");
    check(edf_set_digital_minimum(h.id, k, -32768), where + " digital minimum");
    check(edf_set_digital_maximum(h.id, k, 32767), where + " digital maximum");
    check(edf_set_label(h.id, k, s.label.c_str()), where + " label");
    check(edf_set_physical_dimension(h.id, k, s.unit.c_str()), where + " unit");
    check(edf_set_transducer(h.id, k, s.transducer.c_str()), where + " transducer");
    check(edf_set_prefilter(h.id, k, s.prefilter.c_str()), where + " prefilter");
  }
  if (rd_10us != 100000) check(edf_set_datarecord_duration(h.id, static_cast<int>(rd_10us)), "record_duration_s");
  const DateTime& st = options.start;
  check(edf_set_startdatetime(h.id, st.year, st.month, st.day, st.hour, st.minute, st.second), "start");
  check(edf_set_subsecond_starttime(h.id, static_cast<int>(std::llround(st.subsecond_s * 1e7))), "start.subsecond_s");
  check(edf_set_number_of_annotation_signals(h.id, annotation_signals), "annotations");

  // EDF+ identification subfields: patient "code sex birthdate name ...", recording
  // "Startdate date admincode technician equipment ..."; "X" means unknown.
  const std::vector<std::string> pw = split_words(options.patient);
  auto known = [](const std::string& w) { return w != "X"; };
  if (pw.size() >= 4) {
    if (known(pw[0])) check(edf_set_patientcode(h.id, pw[0].c_str()), "patient code");
    if (pw[1] == "M" || pw[1] == "F") check(edf_set_gender(h.id, pw[1] == "M" ? 1 : 0), "patient sex");
    if (known(pw[3])) check(edf_set_patientname(h.id, pw[3].c_str()), "patient name");
    std::string rest;
    for (size_t w = 4; w < pw.size(); ++w) rest += (rest.empty() ? "" : " ") + pw[w];
    if (!rest.empty()) check(edf_set_patient_additional(h.id, rest.c_str()), "patient");
  } else if (!options.patient.empty()) {
    check(edf_set_patient_additional(h.id, options.patient.c_str()), "patient");
  }
  const std::vector<std::string> rw = split_words(options.recording);
  if (rw.size() >= 5 && rw[0] == "Startdate") {
    if (known(rw[2])) check(edf_set_admincode(h.id, rw[2].c_str()), "recording admincode");
    if (known(rw[3])) check(edf_set_technician(h.id, rw[3].c_str()), "recording technician");
    if (known(rw[4])) check(edf_set_equipment(h.id, rw[4].c_str()), "recording equipment");
    std::string rest;
    for (size_t w = 5; w < rw.size(); ++w) rest += (rest.empty() ? "" : " ") + rw[w];
    if (!rest.empty()) check(edf_set_recording_additional(h.id, rest.c_str()), "recording");
  } else if (!options.recording.empty()) {
    check(edf_set_recording_additional(h.id, options.recording.c_str()), "recording");
  }

  std::vector<double> buffer(static_cast<size_t>(*std::max_element(spr.begin(), spr.end())));
  for (int64_t r = 0; r < n_records; ++r) {
    for (size_t i = 0; i < signals.size(); ++i) {
      const std::vector<float>& x = signals[i].samples;
      const size_t first = static_cast<size_t>(r) * static_cast<size_t>(spr[i]);
      for (size_t j = 0; j < static_cast<size_t>(spr[i]); ++j) buffer[j] = x[std::min(first + j, x.size() - 1)];
      check(edfwrite_physical_samples(h.id, buffer.data()), "data record " + std::to_string(r + 1));
    }
  }
  for (const Annotation& a : annotations) {
    const long long onset = std::llround(a.onset_s * 1e4);
    const long long duration = a.duration_s < 0 ? -1 : std::llround(a.duration_s * 1e4);
    check(edfwrite_annotation_utf8(h.id, onset, duration, a.text.c_str()), "annotation '" + a.text + "'");
  }
  const int closed = edfclose_file(h.id);
  h.id = -1;
  if (closed != 0) throw Error(file, "", "EDFlib could not finish the file");
  // EDFlib does not report failed writes (full disk, file-size limit): read the result back and
  // check it holds every data record it promises before it replaces anything.
  try {
    const Recording written = Recording::open(output.temp_path(), ReaderChoice::TolerantOnly);
    if (!written.warnings().empty()) throw Error(file, "", written.warnings().front());
  } catch (const Error& e) {
    throw Error(file, "", std::string("the written file is incomplete (") + e.what() + ")");
  }
  output.commit();
}

}  // namespace psgkit
