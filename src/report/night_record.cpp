// Per-night records (see night_record.hpp).
#include "psgkit/night_record.hpp"

#include <openssl/evp.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "psgkit/error.hpp"
#include "psgkit/io.hpp"

namespace psgkit {
namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

namespace {

constexpr int kRecordFormat = 1;

ordered_json number(double v) { return std::isnan(v) ? ordered_json(nullptr) : ordered_json(v); }

std::string stage_name(size_t index) { return std::string(to_string(static_cast<Stage>(index))); }

ordered_json digest_json(const FileDigest& d) {
  return {{"path", d.path.string()}, {"size_bytes", d.size_bytes}, {"sha256", d.sha256}};
}

ordered_json hypnogram_json(const Hypnogram& h) {
  ordered_json j;
  j["epoch_s"] = h.epoch_s;
  j["start_s"] = h.start_s;
  auto stages = ordered_json::array();
  for (const Stage s : h.stages) stages.push_back(to_string(s));
  j["stages"] = std::move(stages);
  if (!h.probabilities.empty()) {
    auto rows = ordered_json::array();
    for (const auto& p : h.probabilities) rows.push_back(p);
    j["probabilities"] = std::move(rows);
  }
  auto events = ordered_json::array();
  for (const auto& e : h.events) events.push_back({{"onset_s", e.onset_s}, {"duration_s", e.duration_s}, {"text", e.text}});
  j["events"] = std::move(events);
  return j;
}

// Reading: every access names the record and the field that was wrong.
struct RecordReader {
  std::string file;
  const nlohmann::json& at(const nlohmann::json& j, const char* key) const {
    const auto it = j.find(key);
    if (it == j.end()) throw Error(file, key, "missing");
    return *it;
  }
  template <class T>
  T get(const nlohmann::json& j, const char* key) const {
    try {
      return at(j, key).get<T>();
    } catch (const nlohmann::json::exception& e) {
      throw Error(file, key, std::string("wrong type: ") + e.what());
    }
  }
  double number(const nlohmann::json& j, const char* key) const {
    const auto& v = at(j, key);
    if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
    if (!v.is_number()) throw Error(file, key, "not a number");
    return v.get<double>();
  }
};

Hypnogram read_hypnogram_json(const RecordReader& r, const nlohmann::json& j) {
  Hypnogram h;
  h.epoch_s = r.number(j, "epoch_s");
  h.start_s = r.number(j, "start_s");
  for (const auto& s : r.get<std::vector<std::string>>(j, "stages")) {
    const auto stage = parse_stage(s);
    if (!stage) throw Error(r.file, "hypnogram.stages", "unknown stage \"" + s + "\"");
    h.stages.push_back(*stage);
  }
  if (j.contains("probabilities")) {
    h.probabilities = r.get<std::vector<std::array<float, kNumSleepStages>>>(j, "probabilities");
    if (h.probabilities.size() != h.stages.size())
      throw Error(r.file, "hypnogram.probabilities",
                  std::to_string(h.probabilities.size()) + " rows for " + std::to_string(h.stages.size()) + " epochs");
  }
  for (const auto& e : r.at(j, "events"))
    h.events.push_back({r.number(e, "onset_s"), r.number(e, "duration_s"), r.get<std::string>(e, "text")});
  return h;
}

}  // namespace

std::string_view psgkit_version() { return PSGKIT_VERSION; }

FileDigest digest_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string(), "", "cannot open file");
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) throw Error(path.string(), "sha256", "OpenSSL failed");
  FileDigest d;
  d.path = path;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto n = static_cast<size_t>(in.gcount());
    d.size_bytes += n;
    if (n && EVP_DigestUpdate(ctx.get(), buffer.data(), n) != 1) throw Error(path.string(), "sha256", "OpenSSL failed");
  }
  if (in.bad()) throw Error(path.string(), "", "read error");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md, &len) != 1) throw Error(path.string(), "sha256", "OpenSSL failed");
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned i = 0; i < len; ++i) {
    d.sha256 += kHex[md[i] >> 4];
    d.sha256 += kHex[md[i] & 15];
  }
  return d;
}

std::string night_record_json(const NightAnalysis& night, const FileDigest& input,
                              const std::optional<FileDigest>& hypnogram_input) {
  const SleepStatistics& stats = night.statistics;
  const Hypnogram& hypnogram = night.hypnogram;
  ordered_json out;
  for (const auto& s : stats.values) out[s.name] = number(s.value);
  for (const auto& m : night.measures)
    if (!stats.find(m.name)) out[m.name] = number(m.value);
  ordered_json transitions;
  for (size_t from = 0; from < kNumSleepStages; ++from) {
    ordered_json row;
    for (size_t to = 0; to < kNumSleepStages; ++to) row[stage_name(to)] = stats.transitions[from][to];
    transitions[stage_name(from)] = row;
  }
  out["transitions"] = transitions;
  auto cycles = ordered_json::array();
  for (const auto& c : stats.cycles) {
    cycles.push_back({{"nrem_begin_epoch", c.nrem_begin},
                      {"rem_begin_epoch", c.rem_begin},
                      {"rem_end_epoch", c.rem_end},
                      {"begin_s", hypnogram.onset_s(c.nrem_begin)},
                      {"end_s", hypnogram.onset_s(c.rem_end)},
                      {"has_rem", c.has_rem},
                      {"nrem_min", c.nrem_min},
                      {"rem_min", c.rem_min}});
  }
  out["cycles"] = cycles;
  out["epoch_s"] = stats.epoch_s;
  out["lights_off_s"] = hypnogram.onset_s(stats.window.first_epoch);
  out["lights_on_s"] = hypnogram.onset_s(stats.window.first_epoch + stats.window.n_epochs);

  out["record"] = {{"format", kRecordFormat},
                   {"psgkit_version", psgkit_version()},
                   {"measure_definitions", kMeasureDefinitionsVersion}};
  out["input"] = digest_json(input);
  if (hypnogram_input) out["hypnogram_input"] = digest_json(*hypnogram_input);
  out["is_recording"] = night.is_recording;
  out["staged_automatically"] = night.staged_automatically;
  out["model"] = night.model;
  out["staging_channels"] = night.staging_channels;
  out["swa_channel"] = night.swa_channel;
  out["notes"] = night.notes;
  out["warnings"] = night.warnings;
  if (night.domain) out["domain"] = ordered_json::parse(night.domain->to_json());
  auto measures = ordered_json::array();
  for (const auto& m : night.measures)
    measures.push_back({{"name", m.name}, {"value", number(m.value)}, {"unit", m.unit}, {"deep_sleep", m.deep_sleep}});
  out["measures"] = std::move(measures);
  out["hypnogram"] = hypnogram_json(hypnogram);
  return out.dump(2) + "\n";
}

bool is_night_record_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string(), "", "cannot open file");
  char c = 0;
  while (in.get(c))
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return c == '{';
  return false;
}

NightAnalysis read_night_record(const fs::path& path) {
  const RecordReader r{path.string()};
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(path.string(), "", std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object() || !j.contains("record"))
    throw Error(path.string(), "record", "not a psgkit per-night record (written by `psgkit stats FILE --json`)");
  const auto& record = r.at(j, "record");
  const int format = r.get<int>(record, "format");
  if (format != kRecordFormat)
    throw Error(path.string(), "record.format",
                "record format " + std::to_string(format) + "; this psgkit reads format " + std::to_string(kRecordFormat));
  const auto version = r.get<std::string>(record, "psgkit_version");
  const int definitions = r.get<int>(record, "measure_definitions");
  if (definitions != kMeasureDefinitionsVersion)
    throw Error(path.string(), "record.measure_definitions",
                "written by psgkit " + version + " with measure definitions " + std::to_string(definitions) +
                    ", which this psgkit " + std::string(psgkit_version()) + " (definitions " +
                    std::to_string(kMeasureDefinitionsVersion) + ") cannot compare; analyse the night again");

  NightAnalysis night;
  night.path = path;
  night.is_recording = r.get<bool>(j, "is_recording");
  night.staged_automatically = r.get<bool>(j, "staged_automatically");
  night.model = r.get<std::string>(j, "model");
  night.staging_channels = r.get<std::vector<std::string>>(j, "staging_channels");
  night.swa_channel = r.get<std::string>(j, "swa_channel");
  night.notes = r.get<std::vector<std::string>>(j, "notes");
  night.warnings = r.get<std::vector<std::string>>(j, "warnings");
  if (j.contains("domain")) night.domain = DomainCheck::from_json(j["domain"].dump(), path.string());
  for (const auto& m : r.at(j, "measures"))
    night.measures.push_back({r.get<std::string>(m, "name"), r.number(m, "value"), r.get<std::string>(m, "unit"),
                              r.get<bool>(m, "deep_sleep")});
  night.hypnogram = read_hypnogram_json(r, r.at(j, "hypnogram"));
  SleepStatsOptions lights;
  lights.lights_off_s = r.number(j, "lights_off_s");
  lights.lights_on_s = r.number(j, "lights_on_s");
  night.statistics = sleep_statistics(night.hypnogram, lights);
  const auto& input = r.at(j, "input");
  night.notes.push_back("from the record of " + r.get<std::string>(input, "path") + " (SHA-256 " +
                        r.get<std::string>(input, "sha256") + ")");
  if (version != psgkit_version())
    night.warnings.push_back("record written by psgkit " + version + ", read by psgkit " +
                             std::string(psgkit_version()) + " (same measure definitions)");
  return night;
}

}  // namespace psgkit
