// Per-night records: one night's complete analysis as a JSON file (`psgkit stats FILE --json -o
// night.json`), so nights analysed on different machines combine into one cohort (a manifest's `path`
// may name such a record instead of an EDF or a hypnogram; analyse_night reads it back).
//
// A record holds every measure with its unit, the sleep statistics' transitions and cycles, the
// hypnogram (with stage probabilities when staged automatically), the notes, the staging model and
// channels, the slow-wave channel, the psgkit version, and the input file's size and SHA-256.
// Numbers are written in the shortest form that reads back to the same double, so a cohort computed
// from records equals the cohort computed from the recordings themselves.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "psgkit/compare.hpp"

namespace psgkit {

// Bumped whenever the definition or unit of any measure a record carries changes: records with
// another value are refused, records of another psgkit version with this value are read with a warning.
inline constexpr int kMeasureDefinitionsVersion = 1;

// The psgkit version of this library ("0.1.0").
std::string_view psgkit_version();

struct FileDigest {
  std::filesystem::path path;
  uint64_t size_bytes = 0;
  std::string sha256;  // 64 lowercase hex digits
};

// Size and SHA-256 of a file (OpenSSL, ≈ 2 GB/s with the SHA extensions). Throws psgkit::Error.
FileDigest digest_file(const std::filesystem::path& path);

// The record as one JSON object. Its first keys are those `psgkit stats --json` always wrote (every
// measure by name, NaN as null; transitions; cycles; epoch_s; lights_off_s; lights_on_s), then
// "record" {format, psgkit_version, measure_definitions}, "input" (and "hypnogram_input" when an
// expert hypnogram was given) {path, size_bytes, sha256}, is_recording, staged_automatically, model,
// staging_channels, swa_channel, notes, warnings, "measures" [{name, value, unit, deep_sleep}] and
// "hypnogram" {epoch_s, start_s, stages, probabilities (W, N1, N2, N3, REM per epoch) when automatic,
// events}.
std::string night_record_json(const NightAnalysis& night, const FileDigest& input,
                              const std::optional<FileDigest>& hypnogram_input = std::nullopt);

// True when the file's first non-blank byte is '{' (EDF, BDF and hypnogram files never start so).
bool is_night_record_file(const std::filesystem::path& path);

// Reads a record back: measures, hypnogram, notes, model and channels as written; statistics
// recomputed from the hypnogram over the record's lights window; no spectrogram. path = the record's
// path. A record of another psgkit version carries a warning; one with other measure definitions, or
// that is not a psgkit night record, throws psgkit::Error.
NightAnalysis read_night_record(const std::filesystem::path& path);

}  // namespace psgkit
