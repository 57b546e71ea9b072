// Hypnograms: one sleep stage per fixed-length epoch, optional per-stage probabilities, and events.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace psgkit {

struct Annotation;

// AASM stages; R&K S3 and S4 map to N3. UNS = unscored, movement time or artefact.
enum class Stage : uint8_t { W = 0, N1 = 1, N2 = 2, N3 = 3, REM = 4, UNS = 5 };
inline constexpr int kNumSleepStages = 5;  // W, N1, N2, N3, REM (the probability columns)

// "W", "N1", "N2", "N3", "REM", "UNS".
std::string_view to_string(Stage stage);
// Parses a stage label, case-insensitively, optionally after "Sleep stage " (Sleep-EDF, AASM
// annotations) or "Stage " (R&K scoring software): W/Wake/0, N1/S1/1, N2/S2/2, N3/S3/S4/3/4 (R&K S3
// and S4 are both N3), R/REM/5, and as UNS: ?/UNS/Unscored, MT/MOVE/Movement/Movement time,
// ART/Artefact/Artifact. Movement time counts as YASA counts its ART (-1) epochs: part of TIB and of
// the sleep period, neither sleep (TST) nor wake (WASO). Returns nullopt for text that is not a
// stage; the readers then throw naming the file, line/column and label and listing these labels.
std::optional<Stage> parse_stage(std::string_view text);

inline bool is_sleep(Stage s) { return s == Stage::N1 || s == Stage::N2 || s == Stage::N3 || s == Stage::REM; }

// Non-stage events kept with the hypnogram (e.g. "Lights off", "Lights on").
struct HypnogramEvent {
  double onset_s = 0;  // seconds from the recording start
  double duration_s = 0;
  std::string text;
};

struct Hypnogram {
  double epoch_s = 30.0;        // epoch length, seconds
  double start_s = 0.0;         // onset of epoch 0, seconds from the recording start
  std::vector<Stage> stages;    // one per epoch
  // Empty, or one row per epoch: probabilities of W, N1, N2, N3, REM (sum to 1).
  std::vector<std::array<float, kNumSleepStages>> probabilities;
  std::vector<HypnogramEvent> events;

  size_t size() const { return stages.size(); }
  double onset_s(size_t epoch) const { return start_s + static_cast<double>(epoch) * epoch_s; }
  double duration_s() const { return static_cast<double>(stages.size()) * epoch_s; }

  // Re-epochs to `new_epoch_s` (a multiple or divisor of epoch_s). Longer epochs take the majority
  // stage of the shorter ones they cover; a tie goes to the stage that occurs first within the
  // new epoch; UNS only wins when it is a strict majority; a trailing partial epoch is dropped.
  // Probabilities are averaged. Shorter epochs repeat the stage. Throws psgkit::Error otherwise.
  Hypnogram reepoch(double new_epoch_s) const;
};

// From EDF+ annotations (Sleep-EDF "Sleep stage W/1/2/3/4/R/?", "Movement time"; AASM
// "Sleep stage N1/N2/N3", "N1", "REM", "W"...). Stage annotations with a duration span
// duration/epoch_s epochs; stretches without a stage become UNS. Lights off/on are kept as events.
Hypnogram hypnogram_from_annotations(const std::vector<Annotation>& annotations, double epoch_s = 30.0,
                                     const std::string& source = "");

// Every reader refuses (psgkit::Error) times beyond 31 days from the recording start and epochs
// shorter than 1 s, so damaged input cannot size an absurd hypnogram.
//
// Reads any supported format, detected from content: EDF/EDF+ annotation file, interval CSV
// `onset_s,duration_s,stage`, staging CSV `epoch,onset_s,stage,confidence,p_W,...,p_REM`, or the
// DREAMS 5-s text format ("[Hypnogram]" then one R&K code per line). Throws psgkit::Error.
Hypnogram read_hypnogram(const std::filesystem::path& path, double epoch_s = 30.0);
Hypnogram read_hypnogram_csv(const std::filesystem::path& path, double epoch_s = 30.0);
Hypnogram read_hypnogram_dreams(const std::filesystem::path& path);

// `onset_s,duration_s,stage`, one row per epoch (atomic write).
void write_hypnogram_csv(const std::filesystem::path& path, const Hypnogram& hypnogram);
// `epoch,onset_s,stage,confidence,p_W,p_N1,p_N2,p_N3,p_REM` (needs probabilities; atomic write).
void write_staging_csv(const std::filesystem::path& path, const Hypnogram& hypnogram);
// Annotation-only EDF+ file with one "Sleep stage X" annotation per run of equal stages.
void write_hypnogram_edf(const std::filesystem::path& path, const Hypnogram& hypnogram);

}  // namespace psgkit
