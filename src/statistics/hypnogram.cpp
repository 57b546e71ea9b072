#include "psgkit/hypnogram.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <numeric>
#include <string>

#include "psgkit/error.hpp"
#include "psgkit/io.hpp"
#include "psgkit/recording.hpp"

namespace psgkit {
namespace fs = std::filesystem;

namespace {

// Times closer than this (seconds) are equal: onsets in files are written with at most µs precision.
constexpr double kTimeTolerance_s = 1e-6;
// Limits that keep damaged input from sizing absurd hypnograms (documented in hypnogram.hpp).
constexpr double kMaxHypnogramTime_s = 31.0 * 86400.0;
constexpr double kMinEpoch_s = 1.0;

std::string lower_trimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    // MNE writes "Sleep_stage_W"; collapse separators so both spellings parse.
    const char l = c == '_' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (l == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += l;
  }
  return out;
}

constexpr std::string_view kSleepStagePrefix = "sleep stage ";
constexpr std::string_view kAcceptedStages =
    "accepted (any case, optionally after 'Sleep stage ' or 'Stage '): W, Wake, 0, N1, S1, 1, N2, S2, 2, N3, S3, S4, "
    "3, 4, R, REM, 5, MT, MOVE, Movement, Movement time, ?, UNS, ART, Artefact, Artifact, Unscored";

void check_epoch_length(double epoch_s, const std::string& source) {
  if (!(epoch_s > 0) || !std::isfinite(epoch_s))
    throw Error(source, "epoch_s", "epoch length must be a positive number of seconds, got " + format_double(epoch_s));
}

// A stretch of one stage, seconds from the recording start; `where` names its origin for errors.
struct StageInterval {
  double onset_s = 0, duration_s = 0;
  Stage stage = Stage::UNS;
  std::string where;
};

// The one majority rule, shared by reepoch and the interval readers: `coverage_s` holds, per stage,
// the time (or number of sub-epochs) of the epoch it covers; `first_seen` the order in which the
// stages first occur within the epoch. UNS wins only with a strict majority of `total`; otherwise the
// sleep/wake stage with the most coverage wins and a tie goes to the stage that occurs first.
Stage majority_stage(const std::array<double, 6>& coverage, const std::array<int, 6>& first_seen, double total) {
  const double tolerance = 1e-9 * total;
  if (coverage[static_cast<int>(Stage::UNS)] > 0.5 * total + tolerance) return Stage::UNS;
  int best = -1;
  for (int s = 0; s < kNumSleepStages; ++s) {
    if (coverage[s] <= tolerance) continue;
    if (best < 0 || coverage[s] > coverage[best] + tolerance ||
        (std::abs(coverage[s] - coverage[best]) <= tolerance && first_seen[s] < first_seen[best]))
      best = s;
  }
  return best < 0 ? Stage::UNS : static_cast<Stage>(best);
}

// Cuts sorted, non-overlapping stage intervals into epochs of `epoch_s` on a grid starting at the first
// onset. Uncovered time counts as UNS; each epoch takes majority_stage() of its coverage. The grid
// ends at the end of the last interval, rounded up to a whole epoch.
Hypnogram epochs_from_intervals(const std::vector<StageInterval>& intervals, double epoch_s, const std::string& source) {
  Hypnogram hyp;
  if (!(epoch_s >= kMinEpoch_s)) throw Error(source, "epoch_s", "epoch length below " + format_double(kMinEpoch_s) + " s");
  hyp.epoch_s = epoch_s;
  if (intervals.empty()) throw Error(source, "", "no sleep stages found");
  for (size_t i = 0; i < intervals.size(); ++i) {
    const StageInterval& iv = intervals[i];
    if (!(iv.onset_s >= 0) || !std::isfinite(iv.onset_s))
      throw Error(source, iv.where, "negative onset " + format_double(iv.onset_s) + " s");
    if (!(iv.duration_s > 0) || !std::isfinite(iv.duration_s))
      throw Error(source, iv.where, "duration must be positive, got " + format_double(iv.duration_s) + " s");
    if (i > 0) {
      const StageInterval& prev = intervals[i - 1];
      if (iv.onset_s < prev.onset_s + prev.duration_s - kTimeTolerance_s)
        throw Error(source, iv.where,
                    "stage at " + format_double(iv.onset_s) + " s overlaps the previous one (" +
                        format_double(prev.onset_s) + " s + " + format_double(prev.duration_s) + " s)");
    }
  }
  hyp.start_s = intervals.front().onset_s;
  const double end_s = intervals.back().onset_s + intervals.back().duration_s;
  // Bounds the epoch count before anything is allocated.
  if (end_s > kMaxHypnogramTime_s)
    throw Error(source, intervals.back().where,
                "ends at " + format_double(end_s) + " s, beyond the " + format_double(kMaxHypnogramTime_s) +
                    " s (31 days) a hypnogram may span");
  const auto n_epochs = static_cast<size_t>(std::ceil((end_s - hyp.start_s) / epoch_s - 1e-9));
  hyp.stages.resize(n_epochs);
  size_t next = 0;  // first interval that may still reach the current epoch
  for (size_t e = 0; e < n_epochs; ++e) {
    const double lo = hyp.onset_s(e), hi = lo + epoch_s;
    std::array<double, 6> coverage{};
    std::array<int, 6> first_seen;
    first_seen.fill(1 << 30);
    int order = 0;
    double covered = 0, cursor = lo;
    while (next < intervals.size() && intervals[next].onset_s + intervals[next].duration_s <= lo + kTimeTolerance_s) ++next;
    for (size_t i = next; i < intervals.size() && intervals[i].onset_s < hi - kTimeTolerance_s; ++i) {
      const double a = std::max(lo, intervals[i].onset_s);
      const double b = std::min(hi, intervals[i].onset_s + intervals[i].duration_s);
      if (b - a <= kTimeTolerance_s) continue;
      if (a > cursor + kTimeTolerance_s) first_seen[5] = std::min(first_seen[5], order++);  // a gap (UNS) first
      const int s = static_cast<int>(intervals[i].stage);
      coverage[s] += b - a;
      first_seen[s] = std::min(first_seen[s], order++);
      covered += b - a;
      cursor = b;
    }
    coverage[5] += std::max(0.0, epoch_s - covered);
    if (cursor < hi - kTimeTolerance_s) first_seen[5] = std::min(first_seen[5], order++);
    hyp.stages[e] = majority_stage(coverage, first_seen, epoch_s);
  }
  return hyp;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    begin = end + 1;
  }
  return lines;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

Stage require_stage(std::string_view text, const std::string& source, const std::string& where) {
  const auto stage = parse_stage(text);
  if (!stage) throw Error(source, where, "unknown sleep stage '" + std::string(text) + "'; " + std::string(kAcceptedStages));
  return *stage;
}

std::string where_cell(size_t row, const CsvTable& table, int col) {
  return "line " + std::to_string(row + 2) + ", column " + table.header.at(static_cast<size_t>(col));
}

// Integer multiple of `unit` within tolerance, or -1.
long long whole_multiple(double value, double unit) {
  const double r = value / unit;
  const double rounded = std::round(r);
  if (std::abs(r - rounded) * unit > kTimeTolerance_s) return -1;
  return static_cast<long long>(rounded);
}

// reepoch() knows no file name; errors from re-epoching a file's hypnogram should name the file.
Hypnogram reepoch_file(const Hypnogram& hyp, double epoch_s, const std::string& source) {
  try {
    return hyp.reepoch(epoch_s);
  } catch (const Error& e) {
    throw Error(source, "", e.what());
  }
}

Hypnogram read_interval_csv(const CsvTable& table, double epoch_s) {
  const std::string source = table.path.string();
  const int c_onset = table.require_column("onset_s"), c_duration = table.require_column("duration_s");
  const int c_stage = table.require_column("stage");
  std::vector<StageInterval> intervals;
  intervals.reserve(table.rows.size());
  // Grid of the rows (µs GCD of durations and onset offsets): it must divide the epoch length or be a
  // multiple of it, so every output epoch is made of whole rows (or a row of whole epochs).
  long long grid_us = 0;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    StageInterval iv;
    iv.onset_s = table.number(r, c_onset);
    iv.duration_s = table.number(r, c_duration);
    iv.stage = require_stage(table.rows[r][static_cast<size_t>(c_stage)], source, where_cell(r, table, c_stage));
    iv.where = "line " + std::to_string(r + 2);
    if (!std::isfinite(iv.onset_s) || !std::isfinite(iv.duration_s))
      throw Error(source, iv.where, "onset_s and duration_s must be finite numbers");
    // Also keeps the µs grid arithmetic below far from integer overflow.
    if (iv.onset_s > kMaxHypnogramTime_s || iv.duration_s > kMaxHypnogramTime_s)
      throw Error(source, iv.where, "time beyond the " + format_double(kMaxHypnogramTime_s) + " s (31 days) a hypnogram may span");
    if (iv.onset_s < 0) throw Error(source, where_cell(r, table, c_onset), "negative onset " + format_double(iv.onset_s) + " s");
    if (!intervals.empty()) {
      const long long offset_us = std::llround((iv.onset_s - intervals.front().onset_s) * 1e6);
      grid_us = std::gcd(grid_us, offset_us < 0 ? -offset_us : offset_us);
    }
    if (iv.duration_s > 0) grid_us = std::gcd(grid_us, std::llround(iv.duration_s * 1e6));
    intervals.push_back(std::move(iv));
  }
  if (intervals.empty()) throw Error(source, "line 2", "no rows after the header");
  const double grid_s = static_cast<double>(grid_us) * 1e-6;
  if (grid_us > 0 && whole_multiple(epoch_s, grid_s) < 0 && whole_multiple(grid_s, epoch_s) < 0)
    throw Error(source, "duration_s",
                "rows lie on a " + format_double(grid_s) + " s grid, which neither divides nor is a multiple of the " +
                    format_double(epoch_s) + " s epoch length");
  return epochs_from_intervals(intervals, epoch_s, source);
}

Hypnogram read_staging_csv(const CsvTable& table, double epoch_s) {
  const std::string source = table.path.string();
  const int c_epoch = table.require_column("epoch"), c_onset = table.require_column("onset_s");
  const int c_stage = table.require_column("stage");
  static constexpr std::array<std::string_view, kNumSleepStages> kProbColumns = {"p_W", "p_N1", "p_N2", "p_N3", "p_REM"};
  std::array<int, kNumSleepStages> c_prob{};
  for (int s = 0; s < kNumSleepStages; ++s) c_prob[s] = table.require_column(kProbColumns[s]);
  if (table.rows.empty()) throw Error(source, "line 2", "no rows after the header");

  std::vector<long long> epochs(table.rows.size());
  std::vector<double> onsets(table.rows.size());
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const double e = table.number(r, c_epoch);
    if (!(e >= 0) || e != std::floor(e))
      throw Error(source, where_cell(r, table, c_epoch), "epoch must be a non-negative integer");
    if (e > kMaxHypnogramTime_s / kMinEpoch_s)
      throw Error(source, where_cell(r, table, c_epoch), "epoch " + format_double(e) + " is beyond 31 days of 1-s epochs");
    epochs[r] = static_cast<long long>(e);
    onsets[r] = table.number(r, c_onset);
    if (!(onsets[r] >= 0)) throw Error(source, where_cell(r, table, c_onset), "negative onset " + format_double(onsets[r]) + " s");
    if (!(onsets[r] <= kMaxHypnogramTime_s))
      throw Error(source, where_cell(r, table, c_onset), "onset beyond the 31 days a hypnogram may span");
    if (r > 0 && epochs[r] <= epochs[r - 1])
      throw Error(source, where_cell(r, table, c_epoch), "epochs must be strictly increasing (overlapping or unsorted rows)");
  }
  // The file does not store the epoch length: it is the onset spacing (or epoch_s for a single row).
  double native_s = epoch_s;
  if (table.rows.size() > 1)
    native_s = (onsets.back() - onsets.front()) / static_cast<double>(epochs.back() - epochs.front());
  if (!(native_s > 0)) throw Error(source, "onset_s", "onsets do not increase with the epoch number");
  Hypnogram hyp;
  hyp.epoch_s = native_s;
  hyp.start_s = onsets.front() - static_cast<double>(epochs.front()) * native_s;
  if (hyp.start_s < -kTimeTolerance_s) throw Error(source, "onset_s", "onsets imply a negative start time");
  hyp.start_s = std::max(0.0, hyp.start_s);
  const auto n = static_cast<size_t>(epochs.back() + 1);
  hyp.stages.assign(n, Stage::UNS);
  hyp.probabilities.assign(n, std::array<float, kNumSleepStages>{});  // gaps: UNS with all-zero probabilities
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const auto e = static_cast<size_t>(epochs[r]);
    if (std::abs(hyp.onset_s(e) - onsets[r]) > 1e-3)
      throw Error(source, where_cell(r, table, c_onset),
                  "onset " + format_double(onsets[r]) + " s is off the " + format_double(native_s) + " s epoch grid");
    hyp.stages[e] = require_stage(table.rows[r][static_cast<size_t>(c_stage)], source, where_cell(r, table, c_stage));
    for (int s = 0; s < kNumSleepStages; ++s) {
      const double p = table.number(r, c_prob[s]);
      if (!(p >= 0 && p <= 1)) throw Error(source, where_cell(r, table, c_prob[s]), "probability must lie in [0, 1]");
      hyp.probabilities[e][s] = static_cast<float>(p);
    }
  }
  return reepoch_file(hyp, epoch_s, source);
}

bool starts_like_edf(std::string_view bytes) {
  if (bytes.size() >= 8 && bytes.substr(0, 8) == "0       ") return true;
  return bytes.size() >= 8 && static_cast<unsigned char>(bytes[0]) == 0xFF && bytes.substr(1, 7) == "BIOSEMI";
}

Hypnogram read_dreams_text(std::string_view text, const std::string& source) {
  const auto lines = split_lines(text);
  if (lines.empty() || lower_trimmed(lines[0]) != "[hypnogram]")
    throw Error(source, "line 1", "expected the DREAMS header '[Hypnogram]'");
  Hypnogram hyp;
  hyp.epoch_s = 5.0;  // DREAMS scores one R&K stage every 5 s
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string_view cell = trim(lines[i]);
    if (cell.empty()) continue;
    int code = 0;
    const auto [ptr, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), code);
    if (ec != std::errc() || ptr != cell.data() + cell.size() || code < -1 || code > 5)
      throw Error(source, "line " + std::to_string(i + 1),
                  "'" + std::string(cell) + "' is not a DREAMS stage code (5=W, 4=REM, 3=S1, 2=S2, 1=S3, 0=S4, -1=unscored)");
    static constexpr Stage kDreams[] = {Stage::UNS, Stage::N3, Stage::N3, Stage::N2, Stage::N1, Stage::REM, Stage::W};
    hyp.stages.push_back(kDreams[code + 1]);
  }
  if (hyp.stages.empty()) throw Error(source, "line 2", "no stage codes after '[Hypnogram]'");
  return hyp;
}

std::string edf_stage_label(Stage s) {
  switch (s) {
    case Stage::W: return "Sleep stage W";
    case Stage::N1: return "Sleep stage N1";
    case Stage::N2: return "Sleep stage N2";
    case Stage::N3: return "Sleep stage N3";
    case Stage::REM: return "Sleep stage R";
    case Stage::UNS: break;
  }
  return "Sleep stage ?";
}

}  // namespace

std::string_view to_string(Stage stage) {
  switch (stage) {
    case Stage::W: return "W";
    case Stage::N1: return "N1";
    case Stage::N2: return "N2";
    case Stage::N3: return "N3";
    case Stage::REM: return "REM";
    case Stage::UNS: break;
  }
  return "UNS";
}

std::optional<Stage> parse_stage(std::string_view text) {
  std::string s = lower_trimmed(text);
  // "Sleep stage 1" (Sleep-EDF), "Stage 1" (R&K scoring software).
  for (const std::string_view prefix : {kSleepStagePrefix, std::string_view("stage ")})
    if (s.starts_with(prefix)) {
      s.erase(0, prefix.size());
      break;
    }
  if (s == "w" || s == "wake" || s == "0") return Stage::W;
  if (s == "n1" || s == "s1" || s == "1") return Stage::N1;
  if (s == "n2" || s == "s2" || s == "2") return Stage::N2;
  if (s == "n3" || s == "s3" || s == "s4" || s == "3" || s == "4" || s == "n4") return Stage::N3;
  if (s == "r" || s == "rem" || s == "5") return Stage::REM;
  // Movement time and artefact are UNS, as YASA's ART (-1): in TIB and SPT, neither sleep nor wake.
  if (s == "uns" || s == "?" || s == "movement" || s == "movement time" || s == "mt" || s == "move" ||
      s == "artefact" || s == "artifact" || s == "art" || s == "unscored")
    return Stage::UNS;
  return std::nullopt;
}

Hypnogram Hypnogram::reepoch(double new_epoch_s) const {
  check_epoch_length(new_epoch_s, "");
  if (std::abs(new_epoch_s - epoch_s) <= kTimeTolerance_s) return *this;
  Hypnogram out;
  out.epoch_s = new_epoch_s;
  out.start_s = start_s;
  out.events = events;
  if (const long long k = whole_multiple(new_epoch_s, epoch_s); k > 1) {
    const size_t n = size() / static_cast<size_t>(k);  // trailing partial epoch dropped
    out.stages.resize(n);
    if (!probabilities.empty()) out.probabilities.resize(n);
    for (size_t e = 0; e < n; ++e) {
      std::array<double, 6> count{};
      std::array<int, 6> first_seen;
      first_seen.fill(1 << 30);
      for (int j = 0; j < k; ++j) {
        const size_t src = e * static_cast<size_t>(k) + static_cast<size_t>(j);
        const int s = static_cast<int>(stages[src]);
        count[s] += 1;
        first_seen[s] = std::min(first_seen[s], j);
        if (!probabilities.empty())
          for (int p = 0; p < kNumSleepStages; ++p) out.probabilities[e][p] += probabilities[src][p] / static_cast<float>(k);
      }
      out.stages[e] = majority_stage(count, first_seen, static_cast<double>(k));
    }
    return out;
  }
  if (const long long k = whole_multiple(epoch_s, new_epoch_s); k > 1) {
    out.stages.reserve(size() * static_cast<size_t>(k));
    for (size_t e = 0; e < size(); ++e)
      for (int j = 0; j < k; ++j) {
        out.stages.push_back(stages[e]);
        if (!probabilities.empty()) out.probabilities.push_back(probabilities[e]);
      }
    return out;
  }
  throw Error("", "epoch_s",
              format_double(new_epoch_s) + " s is neither a multiple nor a divisor of the " + format_double(epoch_s) +
                  " s epoch length");
}

Hypnogram hypnogram_from_annotations(const std::vector<Annotation>& annotations, double epoch_s, const std::string& source) {
  check_epoch_length(epoch_s, source);
  std::vector<StageInterval> intervals;
  std::vector<HypnogramEvent> events;
  for (size_t i = 0; i < annotations.size(); ++i) {
    const Annotation& a = annotations[i];
    const std::string where = "annotation " + std::to_string(i + 1) + " ('" + a.text + "' at " + format_double(a.onset_s) + " s)";
    const auto stage = parse_stage(a.text);
    if (!stage) {
      if (lower_trimmed(a.text).starts_with(kSleepStagePrefix)) throw Error(source, where, "unknown sleep stage; " + std::string(kAcceptedStages));
      if (!trim(a.text).empty()) events.push_back({a.onset_s, std::max(0.0, a.duration_s), a.text});
      continue;
    }
    // duration_s < 0 marks "no duration"; filled in below from the next stage's onset.
    intervals.push_back({a.onset_s, a.duration_s, *stage, where});
  }
  std::stable_sort(intervals.begin(), intervals.end(),
                   [](const StageInterval& x, const StageInterval& y) { return x.onset_s < y.onset_s; });
  // A stage without a duration lasts until the next stage annotation; the last one lasts one epoch.
  for (size_t i = 0; i < intervals.size(); ++i)
    if (intervals[i].duration_s <= 0)
      intervals[i].duration_s = i + 1 < intervals.size() ? intervals[i + 1].onset_s - intervals[i].onset_s : epoch_s;
  Hypnogram hyp = epochs_from_intervals(intervals, epoch_s, source);
  hyp.events = std::move(events);
  return hyp;
}

Hypnogram read_hypnogram_csv(const fs::path& path, double epoch_s) {
  check_epoch_length(epoch_s, path.string());
  const CsvTable table = read_csv(path);
  if (table.column("epoch") >= 0 && table.column("p_W") >= 0) return read_staging_csv(table, epoch_s);
  if (table.column("duration_s") >= 0) return read_interval_csv(table, epoch_s);
  throw Error(path.string(), "line 1",
              "not a hypnogram CSV: expected header onset_s,duration_s,stage or "
              "epoch,onset_s,stage,confidence,p_W,p_N1,p_N2,p_N3,p_REM");
}

Hypnogram read_hypnogram_dreams(const fs::path& path) { return read_dreams_text(read_file(path), path.string()); }

Hypnogram read_hypnogram(const fs::path& path, double epoch_s) {
  const std::string source = path.string();
  check_epoch_length(epoch_s, source);
  const std::string bytes = read_file(path);
  if (trim(bytes).empty()) throw Error(source, "", "empty file");
  if (starts_like_edf(bytes)) {
    const Recording recording = Recording::open(path);
    return hypnogram_from_annotations(recording.annotations(), epoch_s, source);
  }
  std::string_view text = bytes;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  if (lower_trimmed(split_lines(trim(text)).front()) == "[hypnogram]") {
    return reepoch_file(read_dreams_text(text, source), epoch_s, source);
  }
  const std::string first_line(trim(split_lines(text).front()));
  if (first_line.find(',') == std::string::npos)
    throw Error(source, "line 1",
                "not a hypnogram: expected an EDF/EDF+ file, '[Hypnogram]' or a CSV header, found '" +
                    first_line.substr(0, 60) + "'");
  return read_hypnogram_csv(path, epoch_s);
}

void write_hypnogram_csv(const fs::path& path, const Hypnogram& hypnogram) {
  std::string out = "onset_s,duration_s,stage\n";
  out.reserve(out.size() + hypnogram.size() * 16);
  const std::string duration = format_double(hypnogram.epoch_s);
  for (size_t e = 0; e < hypnogram.size(); ++e) {
    out += format_double(hypnogram.onset_s(e));
    out += ',';
    out += duration;
    out += ',';
    out += to_string(hypnogram.stages[e]);
    out += '\n';
  }
  write_file_atomic(path, out);
}

void write_staging_csv(const fs::path& path, const Hypnogram& hypnogram) {
  if (hypnogram.probabilities.size() != hypnogram.size())
    throw Error(path.string(), "probabilities",
                "the staging CSV needs one probability row per epoch (" + std::to_string(hypnogram.size()) +
                    " epochs, " + std::to_string(hypnogram.probabilities.size()) + " rows)");
  std::string out = "epoch,onset_s,stage,confidence,p_W,p_N1,p_N2,p_N3,p_REM\n";
  for (size_t e = 0; e < hypnogram.size(); ++e) {
    const auto& p = hypnogram.probabilities[e];
    out += std::to_string(e) + ',' + format_double(hypnogram.onset_s(e)) + ',' + std::string(to_string(hypnogram.stages[e]));
    out += ',' + format_double(*std::max_element(p.begin(), p.end()));
    for (float v : p) out += ',' + format_double(v);
    out += '\n';
  }
  write_file_atomic(path, out);
}

void write_hypnogram_edf(const fs::path& path, const Hypnogram& hypnogram) {
  std::vector<Annotation> annotations;
  for (size_t e = 0; e < hypnogram.size();) {
    size_t end = e + 1;
    while (end < hypnogram.size() && hypnogram.stages[end] == hypnogram.stages[e]) ++end;
    annotations.push_back({hypnogram.onset_s(e), static_cast<double>(end - e) * hypnogram.epoch_s,
                           edf_stage_label(hypnogram.stages[e])});
    e = end;
  }
  for (const HypnogramEvent& ev : hypnogram.events)
    annotations.push_back({ev.onset_s, ev.duration_s > 0 ? ev.duration_s : -1.0, ev.text});
  std::stable_sort(annotations.begin(), annotations.end(),
                   [](const Annotation& a, const Annotation& b) { return a.onset_s < b.onset_s; });
  write_edf(path, {}, annotations);
}

}  // namespace psgkit
