// Sleep statistics: see include/psgkit/sleep_stats.hpp for every definition and its YASA equivalent.
#include "psgkit/sleep_stats.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "psgkit/error.hpp"
#include "quantile_internal.hpp"

namespace psgkit {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kZ95 = 1.959963984540054;  // two-sided 95 % normal quantile
// Minute thresholds are compared with this slack so that e.g. 10 epochs of 30 s reach 5 min exactly.
constexpr double kMinuteSlack = 1e-9;

bool is_nrem(Stage s) { return s == Stage::N1 || s == Stage::N2 || s == Stage::N3; }

// Lower-case letters and digits only, so "Lights Off", "lights-off" and "LIGHTS_OFF" compare equal.
std::string normalized_event_text(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Smallest whole number of epochs lasting at least `minutes`.
size_t epochs_for_minutes(double minutes, double epoch_min) {
  return static_cast<size_t>(std::ceil(minutes / epoch_min - kMinuteSlack));
}

void validate(const Hypnogram& hypnogram) {
  if (!(hypnogram.epoch_s > 0) || !std::isfinite(hypnogram.epoch_s)) {
    throw Error("", "epoch_s", "epoch length must be a positive number of seconds, got " +
                                   std::to_string(hypnogram.epoch_s));
  }
  if (hypnogram.stages.empty()) throw Error("", "stages", "hypnogram has no epochs");
  if (!hypnogram.probabilities.empty() && hypnogram.probabilities.size() != hypnogram.stages.size()) {
    throw Error("", "probabilities", "hypnogram has " + std::to_string(hypnogram.probabilities.size()) +
                                         " probability rows for " + std::to_string(hypnogram.stages.size()) +
                                         " epochs");
  }
}

// Start of the first run of at least `min_epochs` consecutive sleep epochs in [begin, end), or end.
size_t first_persistent_sleep(const std::vector<Stage>& stages, size_t begin, size_t end, size_t min_epochs) {
  size_t run = 0;
  for (size_t i = begin; i < end; ++i) {
    run = is_sleep(stages[i]) ? run + 1 : 0;
    if (run >= std::max<size_t>(min_epochs, 1)) return i + 1 - run;
  }
  return end;
}

size_t count_nrem(const std::vector<Stage>& stages, size_t begin, size_t end) {
  return static_cast<size_t>(std::count_if(stages.begin() + static_cast<ptrdiff_t>(begin),
                                           stages.begin() + static_cast<ptrdiff_t>(end), is_nrem));
}

}  // namespace

double SleepStatistics::at(std::string_view name) const {
  if (const SleepStatistic* s = find(name)) return s->value;
  throw Error("", std::string(name), "no such sleep statistic");
}

const SleepStatistic* SleepStatistics::find(std::string_view name) const {
  for (const auto& s : values) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

EpochWindow lights_window(const Hypnogram& hypnogram, const SleepStatsOptions& options) {
  validate(hypnogram);
  std::optional<double> off = options.lights_off_s;
  std::optional<double> on = options.lights_on_s;
  if (options.lights_from_events && !off) {
    for (const auto& e : hypnogram.events) {
      const std::string t = normalized_event_text(e.text);
      if (t == "lightsoff" || t == "lightsout") {
        off = e.onset_s;
        break;
      }
    }
  }
  if (options.lights_from_events && !on) {
    for (const auto& e : hypnogram.events) {
      if (normalized_event_text(e.text) == "lightson" && (!off || e.onset_s > *off)) {
        on = e.onset_s;
        break;
      }
    }
  }
  for (const auto& [value, field] : {std::pair{off, "lights_off_s"}, std::pair{on, "lights_on_s"}}) {
    if (value && !std::isfinite(*value)) throw Error("", field, "lights time must be finite");
  }
  if (off && on && !(*on > *off)) {
    throw Error("", "lights_on_s", "lights on (" + std::to_string(*on) + " s) must be after lights off (" +
                                       std::to_string(*off) + " s)");
  }
  EpochWindow window;
  bool found = false;
  for (size_t i = 0; i < hypnogram.size(); ++i) {
    const double mid_s = hypnogram.onset_s(i) + 0.5 * hypnogram.epoch_s;
    const bool inside = (!off || mid_s >= *off) && (!on || mid_s < *on);
    if (inside && !found) {
      window.first_epoch = i;
      found = true;
    }
    if (inside) window.n_epochs = i + 1 - window.first_epoch;
  }
  if (!found) {
    throw Error("", off ? "lights_off_s" : "lights_on_s",
                "no epoch of the hypnogram lies between lights off and lights on");
  }
  return window;
}

std::vector<SleepCycle> find_sleep_cycles(const Hypnogram& hypnogram, EpochWindow window,
                                          const SleepStatsOptions& options) {
  validate(hypnogram);
  const auto& st = hypnogram.stages;
  const size_t begin = window.first_epoch;
  const size_t end = std::min(st.size(), window.first_epoch + window.n_epochs);
  const double epoch_min = hypnogram.epoch_s / 60.0;

  size_t first_sleep = end, last_sleep = end;
  for (size_t i = begin; i < end; ++i) {
    if (!is_sleep(st[i])) continue;
    if (first_sleep == end) first_sleep = i;
    last_sleep = i;
  }
  std::vector<SleepCycle> cycles;
  if (first_sleep == end) return cycles;
  const size_t spt_end = last_sleep + 1;

  // REM periods: REM runs merged across gaps shorter than the merge gap.
  struct RemPeriod {
    size_t begin, end, rem_epochs;
  };
  std::vector<RemPeriod> periods;
  const size_t merge_gap = epochs_for_minutes(options.cycle_rem_merge_gap_min, epoch_min);
  for (size_t i = first_sleep; i < spt_end;) {
    if (st[i] != Stage::REM) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < spt_end && st[j] == Stage::REM) ++j;
    if (!periods.empty() && i - periods.back().end < merge_gap) {
      periods.back().end = j;
      periods.back().rem_epochs += j - i;
    } else {
      periods.push_back({i, j, j - i});
    }
    i = j;
  }

  const size_t min_nrem = epochs_for_minutes(options.cycle_min_nrem_min, epoch_min);
  const size_t min_rem = epochs_for_minutes(options.cycle_min_rem_min, epoch_min);
  auto next_nrem = [&](size_t from) {
    while (from < spt_end && !is_nrem(st[from])) ++from;
    return from;
  };
  size_t cycle_start = next_nrem(first_sleep);
  for (const auto& p : periods) {
    if (cycle_start >= spt_end) break;
    if (p.begin < cycle_start) continue;  // REM before any NREM of this cycle
    const size_t nrem = count_nrem(st, cycle_start, p.begin);
    const bool qualifies = nrem >= min_nrem && (cycles.empty() || p.rem_epochs >= min_rem);
    if (!qualifies) continue;
    cycles.push_back({cycle_start, p.begin, p.end, true, static_cast<double>(nrem) * epoch_min,
                      static_cast<double>(p.rem_epochs) * epoch_min});
    cycle_start = next_nrem(p.end);
  }
  if (cycle_start < spt_end) {
    const size_t nrem = count_nrem(st, cycle_start, spt_end);
    if (nrem >= min_nrem) {
      cycles.push_back({cycle_start, spt_end, spt_end, false, static_cast<double>(nrem) * epoch_min, 0.0});
    }
  }
  return cycles;
}

SleepStatistics sleep_statistics(const Hypnogram& hypnogram, const SleepStatsOptions& options) {
  validate(hypnogram);
  SleepStatistics out;
  out.window = lights_window(hypnogram, options);
  out.epoch_s = hypnogram.epoch_s;
  const auto& st = hypnogram.stages;
  const size_t begin = out.window.first_epoch;
  const size_t end = begin + out.window.n_epochs;
  const double m = hypnogram.epoch_s / 60.0;  // minutes per epoch
  auto minutes = [m](size_t epochs) { return static_cast<double>(epochs) * m; };
  auto add = [&out](std::string name, double value, std::string_view unit) {
    out.values.push_back({std::move(name), value, unit});
  };

  // Epoch counts per stage and first occurrence, over the window.
  std::array<size_t, 6> count{};
  std::array<size_t, 6> first{};
  first.fill(end);
  size_t first_sleep = end, last_sleep = end;
  for (size_t i = begin; i < end; ++i) {
    const auto k = static_cast<size_t>(st[i]);
    ++count[k];
    if (first[k] == end) first[k] = i;
    if (is_sleep(st[i])) {
      if (first_sleep == end) first_sleep = i;
      last_sleep = i;
    }
  }
  const bool has_sleep = first_sleep != end;
  size_t waso_epochs = 0;
  if (has_sleep) {
    for (size_t i = first_sleep; i <= last_sleep; ++i) waso_epochs += st[i] == Stage::W;
  }
  const size_t tst_epochs = count[1] + count[2] + count[3] + count[4];
  const double tib = minutes(out.window.n_epochs);
  const double spt = has_sleep ? minutes(last_sleep + 1 - first_sleep) : 0.0;
  const double tst = minutes(tst_epochs);
  const double sol = has_sleep ? minutes(first_sleep - begin) : kNaN;
  auto latency = [&](Stage s) {
    const size_t i = first[static_cast<size_t>(s)];
    return i == end ? kNaN : minutes(i - begin);
  };
  auto percent_of_tst = [&](double stage_min) { return tst_epochs > 0 ? 100.0 * stage_min / tst : kNaN; };

  const double n1 = minutes(count[1]), n2 = minutes(count[2]), n3 = minutes(count[3]), rem = minutes(count[4]);
  const double nrem = minutes(count[1] + count[2] + count[3]);
  add("TIB", tib, "min");
  add("SPT", spt, "min");
  add("WASO", has_sleep ? minutes(waso_epochs) : kNaN, "min");
  add("TST", tst, "min");
  add("N1", n1, "min");
  add("N2", n2, "min");
  add("N3", n3, "min");
  add("REM", rem, "min");
  add("NREM", nrem, "min");
  add("SOL", sol, "min");
  add("Lat_N1", latency(Stage::N1), "min");
  add("Lat_N2", latency(Stage::N2), "min");
  add("Lat_N3", latency(Stage::N3), "min");
  add("Lat_REM", latency(Stage::REM), "min");
  add("%N1", percent_of_tst(n1), "%");
  add("%N2", percent_of_tst(n2), "%");
  add("%N3", percent_of_tst(n3), "%");
  add("%REM", percent_of_tst(rem), "%");
  add("%NREM", percent_of_tst(nrem), "%");
  add("SE", 100.0 * tst / tib, "%");
  add("SME", has_sleep ? 100.0 * tst / spt : kNaN, "%");

  auto persistent_latency = [&](double min_minutes) {
    const size_t i = first_persistent_sleep(st, begin, end, epochs_for_minutes(min_minutes, m));
    return i == end ? kNaN : minutes(i - begin);
  };
  add("SOL_5min", persistent_latency(5.0), "min");
  add("SOL_persistent", persistent_latency(options.persistent_sleep_min), "min");
  add("Lat_REM_onset", latency(Stage::REM) - sol, "min");

  // Transitions (UNS pairs skipped) and sleep -> wake transitions for SFI.
  size_t sleep_to_wake = 0;
  for (size_t i = begin; i + 1 < end; ++i) {
    if (is_sleep(st[i]) && st[i + 1] == Stage::W) ++sleep_to_wake;
    if (st[i] == Stage::UNS || st[i + 1] == Stage::UNS) continue;
    ++out.transitions[static_cast<size_t>(st[i])][static_cast<size_t>(st[i + 1])];
  }
  add("SFI", has_sleep ? static_cast<double>(sleep_to_wake) / (tst / 60.0) : kNaN, "/h");

  size_t awakenings = 0, long_awakenings = 0;
  if (has_sleep) {
    const size_t long_epochs = epochs_for_minutes(options.long_awakening_min, m);
    for (size_t i = first_sleep; i <= last_sleep;) {
      if (st[i] != Stage::W) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j <= last_sleep && st[j] == Stage::W) ++j;
      ++awakenings;
      if (j - i >= long_epochs) ++long_awakenings;
      i = j;
    }
  }
  add("awakenings", static_cast<double>(awakenings), "count");
  add("awakenings_2min", static_cast<double>(long_awakenings), "count");
  int shifts = 0;
  for (size_t a = 0; a < kNumSleepStages; ++a) {
    for (size_t b = 0; b < kNumSleepStages; ++b) shifts += a != b ? out.transitions[a][b] : 0;
  }
  add("stage_shifts", shifts, "count");

  out.cycles = find_sleep_cycles(hypnogram, out.window, options);
  add("n_cycles", static_cast<double>(out.cycles.size()), "count");
  add("n_cycles_complete",
      static_cast<double>(std::count_if(out.cycles.begin(), out.cycles.end(), [](const SleepCycle& c) { return c.has_rem; })),
      "count");

  // N3 per third of the SPT, cutting the SPT at exactly 1/3 and 2/3 of its length.
  std::array<double, 3> third{kNaN, kNaN, kNaN};
  if (has_sleep) {
    third.fill(0.0);
    const double length = static_cast<double>(last_sleep + 1 - first_sleep);
    const std::array<double, 4> cut{0.0, length / 3.0, 2.0 * length / 3.0, length};
    for (size_t i = first_sleep; i <= last_sleep; ++i) {
      if (st[i] != Stage::N3) continue;
      const double lo = static_cast<double>(i - first_sleep), hi = lo + 1.0;
      for (size_t k = 0; k < 3; ++k) third[k] += std::max(0.0, std::min(hi, cut[k + 1]) - std::max(lo, cut[k])) * m;
    }
  }
  add("N3_third1", third[0], "min");
  add("N3_third2", third[1], "min");
  add("N3_third3", third[2], "min");

  double expected = kNaN, lo95 = kNaN, hi95 = kNaN;
  if (!hypnogram.probabilities.empty()) {
    std::vector<double> p_n3;
    p_n3.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) p_n3.push_back(hypnogram.probabilities[i][static_cast<size_t>(Stage::N3)]);
    const ExpectedMinutes e = expected_stage_minutes(p_n3, hypnogram.epoch_s, options.n3_variance_inflation, tib);
    expected = e.expected_min;
    lo95 = e.lo95_min;
    hi95 = e.hi95_min;
  }
  add("N3_expected", expected, "min");
  add("N3_expected_lo95", lo95, "min");
  add("N3_expected_hi95", hi95, "min");
  return out;
}

ExpectedMinutes expected_stage_minutes(const std::vector<double>& p, double epoch_s, double variance_inflation,
                                       double max_min) {
  if (!(variance_inflation > 0)) throw Error("", "n3_variance_inflation", "must be positive");
  const double m = epoch_s / 60.0;
  double sum_p = 0, sum_var = 0;
  for (double v : p) {
    sum_p += v;
    sum_var += v * (1.0 - v);
  }
  ExpectedMinutes out;
  out.expected_min = sum_p * m;
  const double sd = std::sqrt(variance_inflation * sum_var) * m;
  out.lo95_min = std::max(0.0, out.expected_min - kZ95 * sd);
  out.hi95_min = std::min(max_min, out.expected_min + kZ95 * sd);
  return out;
}

double interval_coverage(const std::vector<double>& truth, const std::vector<double>& lo, const std::vector<double>& hi) {
  if (truth.size() != lo.size() || truth.size() != hi.size())
    throw Error("", "interval", "truth, lower and upper bounds need one value per night");
  if (truth.empty()) return kNaN;
  size_t covered = 0;
  for (size_t i = 0; i < truth.size(); ++i) covered += truth[i] >= lo[i] && truth[i] <= hi[i];
  return static_cast<double>(covered) / static_cast<double>(truth.size());
}

double fit_variance_inflation(const std::vector<double>& error_min, const std::vector<double>& bernoulli_variance,
                              double epoch_s, double target) {
  if (error_min.size() != bernoulli_variance.size())
    throw Error("", "variance", "one Bernoulli variance per error is needed");
  const double m = epoch_s / 60.0;
  std::vector<double> ratio;
  for (size_t i = 0; i < error_min.size(); ++i)
    if (bernoulli_variance[i] > 0 && std::isfinite(error_min[i])) {
      const double r = error_min[i] / (kZ95 * m * std::sqrt(bernoulli_variance[i]));
      ratio.push_back(r * r);
    }
  if (ratio.empty()) return kNaN;
  return std::max(1.0, detail::linear_quantile(ratio, target));
}

}  // namespace psgkit
