// Sleep statistics against hand-computed hypnograms (YASA definitions) and the Sleep-EDF hypnograms.
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "psgkit/error.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/sleep_stats.hpp"
#include "support.hpp"

using psgkit::Hypnogram;
using psgkit::Stage;

namespace {

// One character per epoch: W, 1, 2, 3, R (REM), U (unscored).
Hypnogram make_hypnogram(const std::string& codes, double epoch_s = 30.0, double start_s = 0.0) {
  Hypnogram h;
  h.epoch_s = epoch_s;
  h.start_s = start_s;
  for (const char c : codes) {
    switch (c) {
      case 'W': h.stages.push_back(Stage::W); break;
      case '1': h.stages.push_back(Stage::N1); break;
      case '2': h.stages.push_back(Stage::N2); break;
      case '3': h.stages.push_back(Stage::N3); break;
      case 'R': h.stages.push_back(Stage::REM); break;
      case 'U': h.stages.push_back(Stage::UNS); break;
      default: FAIL("bad stage code " << c);
    }
  }
  return h;
}

std::string repeat(char c, size_t n) { return std::string(n, c); }

void check(const psgkit::SleepStatistics& s, const char* name, double expected) {
  INFO(name);
  const double v = s.at(name);
  if (std::isnan(expected)) {
    CHECK(std::isnan(v));
  } else {
    CHECK(v == doctest::Approx(expected).epsilon(1e-12));
  }
}

constexpr double NaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

TEST_CASE("YASA docstring example: every YASA key equals yasa.sleep_statistics") {
  // yasa.sleep_statistics([0,0,1,1,1,2,2,2,3,3,3,2,3,3,4,4,4,4,0,0], sf_hyp=1/30), values from its
  // documentation: TIB 10, SPT 8, WASO 0, TST 8, N1 1.5, N2 2, N3 2.5, REM 2, NREM 6, SOL 1,
  // Lat_N1 1, Lat_N2 2.5, Lat_N3 4, Lat_REM 7, %N1 18.75, %N2 25, %N3 31.25, %REM 25, %NREM 75, SE 80, SME 100.
  const auto s = psgkit::sleep_statistics(make_hypnogram("WW111222333233RRRRWW"));
  const std::vector<std::pair<const char*, double>> yasa = {
      {"TIB", 10},   {"SPT", 8},      {"WASO", 0},     {"TST", 8},     {"N1", 1.5},   {"N2", 2},
      {"N3", 2.5},   {"REM", 2},      {"NREM", 6},     {"SOL", 1},     {"Lat_N1", 1}, {"Lat_N2", 2.5},
      {"Lat_N3", 4}, {"Lat_REM", 7},  {"%N1", 18.75},  {"%N2", 25},    {"%N3", 31.25}, {"%REM", 25},
      {"%NREM", 75}, {"SE", 80},      {"SME", 100}};
  for (size_t i = 0; i < yasa.size(); ++i) {
    CHECK(s.values[i].name == yasa[i].first);  // YASA's key order first
    check(s, yasa[i].first, yasa[i].second);
  }
  // Sleep runs epochs 2..17 (16 epochs = 8 min >= 5 min, < 10 min).
  check(s, "SOL_5min", 1.0);
  check(s, "SOL_persistent", NaN);
  check(s, "Lat_REM_onset", 6.0);  // 7 - 1
  // One sleep->wake transition (epoch 17 REM -> 18 W) over 8 min of TST: 1 / (8/60) = 7.5 per hour.
  check(s, "SFI", 7.5);
  check(s, "awakenings", 0);
  // W->N1, N1->N2, N2->N3, N3->N2, N2->N3, N3->REM, REM->W.
  check(s, "stage_shifts", 7);
  // 6 min of NREM before REM: no cycle qualifies (needs 15 min).
  check(s, "n_cycles", 0);
  // SPT = epochs 2..17 (16 epochs), cut at 16/3 = 5.333 and 10.667 epochs. N3 at SPT positions
  // 6, 7, 8, 10, 11: third 1 none; third 2: 6, 7, 8 and 2/3 of 10 = 3.6667 epochs = 1.8333 min;
  // third 3: 1/3 of 10 and 11 = 1.3333 epochs = 0.6667 min.
  check(s, "N3_third1", 0.0);
  check(s, "N3_third2", 11.0 / 3.0 * 0.5);
  check(s, "N3_third3", 4.0 / 3.0 * 0.5);
  check(s, "N3_expected", NaN);  // no probabilities
  // Transition counts over the 19 consecutive pairs (order W, N1, N2, N3, REM).
  const psgkit::TransitionMatrix expected{{{2, 1, 0, 0, 0},
                                           {0, 2, 1, 0, 0},
                                           {0, 0, 2, 2, 0},
                                           {0, 0, 1, 3, 1},
                                           {1, 0, 0, 0, 3}}};
  CHECK(s.transitions == expected);
  CHECK_THROWS_AS(s.at("no such"), psgkit::Error);
}

TEST_CASE("unscored epochs are neither sleep nor wake (YASA -1/-2)") {
  // W 1 U 2 W U 2 R W: first sleep 1, last sleep 7. SPT 7 epochs = 3.5 min, WASO = epoch 4 = 0.5,
  // TST = 4 epochs = 2 min (the UNS epochs 2 and 5 inside SPT count as neither), TIB 4.5.
  // Same numbers as a numpy transcription of yasa.sleep_statistics([0,1,-2,2,0,-1,2,4,0], 1/30).
  const auto s = psgkit::sleep_statistics(make_hypnogram("W1U2WU2RW"));
  check(s, "TIB", 4.5);
  check(s, "SPT", 3.5);
  check(s, "WASO", 0.5);
  check(s, "TST", 2.0);
  check(s, "SOL", 0.5);
  check(s, "Lat_N2", 1.5);
  check(s, "Lat_N3", NaN);
  check(s, "Lat_REM", 3.5);
  check(s, "%N2", 50.0);
  check(s, "SE", 100.0 * 2.0 / 4.5);
  check(s, "SME", 100.0 * 2.0 / 3.5);
  // Pairs with UNS skipped: W->N1, N2->W, N2->REM, REM->W.
  check(s, "stage_shifts", 4);
  // Sleep->W: epochs 3->4 and 7->8 = 2 over 2 min of TST = 60 per hour.
  check(s, "SFI", 60.0);
  check(s, "awakenings", 1);
}

TEST_CASE("no sleep: SPT and TST 0, SE 0, undefined values NaN (YASA 0.8 semantics)") {
  const auto s = psgkit::sleep_statistics(make_hypnogram("WWUW"));
  check(s, "TIB", 2.0);
  check(s, "SPT", 0.0);
  check(s, "TST", 0.0);
  check(s, "SE", 0.0);
  for (const char* name : {"WASO", "SOL", "Lat_N1", "Lat_N2", "Lat_N3", "Lat_REM", "%N1", "%N2", "%N3", "%REM",
                           "%NREM", "SME", "SOL_5min", "SOL_persistent", "Lat_REM_onset", "SFI", "N3_third1",
                           "N3_third2", "N3_third3"}) {
    check(s, name, NaN);
  }
  check(s, "awakenings", 0);
  check(s, "n_cycles", 0);
  CHECK(s.cycles.empty());
}

TEST_CASE("all sleep and no REM") {
  // 10 epochs of N2: everything is SPT and TST; 5 min of persistent sleep but not 10.
  const auto s = psgkit::sleep_statistics(make_hypnogram(repeat('2', 10)));
  check(s, "TIB", 5.0);
  check(s, "SPT", 5.0);
  check(s, "WASO", 0.0);
  check(s, "TST", 5.0);
  check(s, "SOL", 0.0);
  check(s, "SE", 100.0);
  check(s, "SME", 100.0);
  check(s, "SFI", 0.0);
  check(s, "SOL_5min", 0.0);
  check(s, "SOL_persistent", NaN);
  check(s, "Lat_REM", NaN);
  check(s, "Lat_REM_onset", NaN);
  check(s, "%REM", 0.0);
  check(s, "stage_shifts", 0);
  check(s, "n_cycles", 0);  // 5 min of NREM < 15 min
}

TEST_CASE("awakenings_2min: a wake run of exactly 2 min counts, 1.5 min does not") {
  // 30-s epochs inside the sleep period: W runs of 4 epochs (2.0 min, the boundary: counted with
  // `>=`, missed with `>`), 3 epochs (1.5 min) and 5 epochs (2.5 min).
  const auto s = psgkit::sleep_statistics(make_hypnogram(repeat('2', 10) + repeat('W', 4) + repeat('2', 10) +
                                                         repeat('W', 3) + repeat('2', 10) + repeat('W', 5) + "22"));
  check(s, "awakenings", 3);
  check(s, "awakenings_2min", 2);
  // 10-s epochs: 12 epochs = 2 min exactly (counted), 11 = 1 min 50 s (not).
  const auto t = psgkit::sleep_statistics(
      make_hypnogram(repeat('2', 30) + repeat('W', 12) + repeat('2', 30) + repeat('W', 11) + "2", 10.0));
  check(t, "awakenings", 2);
  check(t, "awakenings_2min", 1);
}

TEST_CASE("short hypnogram with 10-s epochs") {
  // 6 W, 36 N2, 3 W, 3 REM; 1/6 min per epoch. TIB 48/6 = 8, SOL 1, SPT 42 epochs = 7, WASO 0.5,
  // TST 39 epochs = 6.5, Lat_REM 45/6 = 7.5 (AASM 6.5 after onset), SE 81.25, SME 92.857...;
  // SOL_5min: the 36-epoch run (6 min) starts at epoch 6 = 1 min; 10 min (60 epochs) never reached.
  // The wake bout is 3 epochs = 0.5 min: one awakening, none of 2 min. SFI 1 / (6.5/60).
  const auto s = psgkit::sleep_statistics(make_hypnogram(repeat('W', 6) + repeat('2', 36) + "WWWRRR", 10.0));
  check(s, "TIB", 8.0);
  check(s, "SOL", 1.0);
  check(s, "SPT", 7.0);
  check(s, "WASO", 0.5);
  check(s, "TST", 6.5);
  check(s, "Lat_REM", 7.5);
  check(s, "Lat_REM_onset", 6.5);
  check(s, "SE", 81.25);
  check(s, "SME", 100.0 * 6.5 / 7.0);
  check(s, "%N2", 100.0 * 6.0 / 6.5);
  check(s, "SOL_5min", 1.0);
  check(s, "SOL_persistent", NaN);
  check(s, "awakenings", 1);
  check(s, "awakenings_2min", 0);
  check(s, "SFI", 60.0 / 6.5);
}

TEST_CASE("NREM/REM cycles (Feinberg & Floyd adapted)") {
  // Epochs: 0-3 W | 4-5 N1, 6-25 N2, 26-35 N3 (32 NREM = 16 min) | 36-39 REM (2 min, first REM: any
  // length -> cycle 1 = [4, 40)) | 40-49 N2, 50-51 W, 52-71 N2 (30 NREM = 15 min) | 72-77 REM (3 min
  // < 5: absorbed) | 78-107 N2 (30 epochs = 15 min gap: not < 15, so not merged with the next REM) |
  // 108-119 REM (6 min -> cycle 2 = [40, 120), NREM 60 epochs = 30 min) | 120-159 N2 (20 min: final
  // cycle without REM) | 160-163 W.
  const std::string codes = repeat('W', 4) + "11" + repeat('2', 20) + repeat('3', 10) + "RRRR" + repeat('2', 10) +
                            "WW" + repeat('2', 20) + repeat('R', 6) + repeat('2', 30) + repeat('R', 12) +
                            repeat('2', 40) + "WWWW";
  const auto h = make_hypnogram(codes);
  REQUIRE(h.size() == 164);
  const auto s = psgkit::sleep_statistics(h);
  REQUIRE(s.cycles.size() == 3);
  CHECK(s.cycles[0].nrem_begin == 4);
  CHECK(s.cycles[0].rem_begin == 36);
  CHECK(s.cycles[0].rem_end == 40);
  CHECK(s.cycles[0].nrem_min == 16.0);
  CHECK(s.cycles[0].rem_min == 2.0);
  CHECK(s.cycles[1].nrem_begin == 40);
  CHECK(s.cycles[1].rem_begin == 108);
  CHECK(s.cycles[1].rem_end == 120);
  CHECK(s.cycles[1].nrem_min == 30.0);
  CHECK(s.cycles[1].rem_min == 6.0);
  CHECK(s.cycles[2].nrem_begin == 120);
  CHECK(s.cycles[2].rem_begin == 160);
  CHECK(s.cycles[2].rem_end == 160);
  CHECK_FALSE(s.cycles[2].has_rem);
  CHECK(s.cycles[2].nrem_min == 20.0);
  check(s, "n_cycles", 3);
  check(s, "n_cycles_complete", 2);
  // TST 154 epochs = 77 min, SPT 156 = 78 min, WASO 1 min: one 2-epoch (1 min) awakening.
  check(s, "TST", 77.0);
  check(s, "SPT", 78.0);
  check(s, "WASO", 1.0);
  check(s, "awakenings", 1);
  check(s, "awakenings_2min", 0);
  check(s, "SOL_persistent", 2.0);  // run 4..49 is 23 min long
  check(s, "SFI", 2.0 / (77.0 / 60.0));  // 49->50 and 159->160

  // With a 15.5-min merge gap (31 epochs) the 30-epoch gap merges REM 72-77 and 108-119 into one
  // REM period (the 32-epoch gap after the first REM still separates): cycle 2 ends at that period,
  // whose NREM before it is 30 epochs = 15 min.
  psgkit::SleepStatsOptions merge;
  merge.cycle_rem_merge_gap_min = 15.5;
  const auto merged = psgkit::find_sleep_cycles(h, psgkit::lights_window(h), merge);
  REQUIRE(merged.size() == 3);
  CHECK(merged[1].rem_begin == 72);  // merged period 72..119 holds 18 REM epochs = 9 min
  CHECK(merged[1].rem_end == 120);
  CHECK(merged[1].rem_min == 9.0);
  CHECK(merged[1].nrem_min == 15.0);
}

TEST_CASE("lights off after the recording start, from events and explicit times") {
  // Epoch i spans [30i, 30i+30); kept when its midpoint 30i+15 is in [60, 330): epochs 2..10.
  auto h = make_hypnogram("WWWW22W222WW");
  h.events.push_back({60.0, 0.0, "Lights off"});
  h.events.push_back({330.0, 0.0, "LIGHTS ON"});
  const auto s = psgkit::sleep_statistics(h);
  CHECK(s.window.first_epoch == 2);
  CHECK(s.window.n_epochs == 9);
  // Window W W 2 2 W 2 2 2 W: TIB 4.5, SOL 1 (from lights off), SPT 3, WASO 0.5, TST 2.5.
  check(s, "TIB", 4.5);
  check(s, "SOL", 1.0);
  check(s, "Lat_N2", 1.0);
  check(s, "SPT", 3.0);
  check(s, "WASO", 0.5);
  check(s, "TST", 2.5);
  check(s, "SE", 100.0 * 2.5 / 4.5);

  // Explicit times win over events; a hypnogram starting 300 s into the recording; lights off in
  // the middle of epoch 1 ([330, 360), midpoint 345) keeps that epoch.
  auto late = make_hypnogram("WW2222W", 30.0, 300.0);
  psgkit::SleepStatsOptions options;
  options.lights_off_s = 345.0;
  const auto t = psgkit::sleep_statistics(late, options);
  CHECK(t.window.first_epoch == 1);
  CHECK(t.window.n_epochs == 6);
  check(t, "SOL", 0.5);
  check(t, "TIB", 3.0);
  options.lights_off_s = 346.0;  // now epoch 1 is mostly before lights off
  CHECK(psgkit::sleep_statistics(late, options).window.first_epoch == 2);

  options.lights_on_s = 340.0;  // before lights off
  CHECK_THROWS_AS(psgkit::sleep_statistics(late, options), psgkit::Error);
  options.lights_off_s = 1000.0;
  options.lights_on_s = 2000.0;  // after the hypnogram
  CHECK_THROWS_AS(psgkit::sleep_statistics(late, options), psgkit::Error);
}

TEST_CASE("N3 expected minutes from probabilities with a Poisson-binomial interval") {
  auto h = make_hypnogram("233W");
  for (const float p : {0.5f, 0.9f, 0.1f, 0.0f}) h.probabilities.push_back({0, 0, 1.0f - p, p, 0});
  const auto s = psgkit::sleep_statistics(h);
  // Σp = 1.5 epochs = 0.75 min; sd = 0.5·sqrt(0.25 + 0.09 + 0.09 + 0) = 0.32787; ±1.959964 sd
  // (numpy: 0.10738283307662999, 1.39261716692337). The hard count is 2 epochs = 1 min.
  CHECK(s.at("N3_expected") == doctest::Approx(0.75).epsilon(1e-6));
  CHECK(s.at("N3_expected_lo95") == doctest::Approx(0.10738283307662999).epsilon(1e-6));
  CHECK(s.at("N3_expected_hi95") == doctest::Approx(1.39261716692337).epsilon(1e-6));
  check(s, "N3", 1.0);

  h.probabilities.pop_back();
  CHECK_THROWS_AS(psgkit::sleep_statistics(h), psgkit::Error);
  CHECK_THROWS_AS(psgkit::sleep_statistics(Hypnogram{}), psgkit::Error);
}

TEST_CASE("Sleep-EDF expert hypnograms give consistent statistics") {
  if (!psgkit_test::have_shared_data()) return;
  const auto dir = psgkit_test::shared_data() / "sleep-edf";
  int nights = 0;
  double n3_first_third = 0, n3_last_third = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(".hypnogram.csv")) continue;
    INFO(name);
    const Hypnogram h = psgkit::read_hypnogram(entry.path());
    const auto s = psgkit::sleep_statistics(h);
    ++nights;
    CHECK(s.at("TIB") == doctest::Approx(static_cast<double>(h.size()) * 0.5));
    CHECK(s.at("TST") == doctest::Approx(s.at("N1") + s.at("N2") + s.at("N3") + s.at("REM")));
    CHECK(s.at("SPT") >= s.at("TST") + s.at("WASO") - 1e-9);
    CHECK(s.at("N3_third1") + s.at("N3_third2") + s.at("N3_third3") == doctest::Approx(s.at("N3")));
    // Healthy young adults: hours of sleep, several cycles; N3 concentrates early in the night
    // (checked over all nights: one night, SC4072E0, has more N3 in its last third).
    CHECK(s.at("TST") > 180.0);
    CHECK(s.at("n_cycles") >= 3);
    n3_first_third += s.at("N3_third1");
    n3_last_third += s.at("N3_third3");
    int transitions = 0;
    for (const auto& row : s.transitions) {
      for (const int c : row) transitions += c;
    }
    CHECK(transitions <= static_cast<int>(h.size()) - 1);
    for (const auto& c : s.cycles) {
      CHECK(c.nrem_begin < c.rem_begin);
      CHECK(c.rem_begin <= c.rem_end);
      CHECK(c.nrem_min >= 15.0);
    }
  }
  CHECK(nights >= 10);
  CHECK(n3_first_third > 2 * n3_last_third);
}

TEST_CASE("psgkit stats CLI: JSON keys in order and the table") {
  if (!psgkit_test::have_cli()) return;
  psgkit_test::TempDir dir("stats");
  {
    std::ofstream csv(dir / "h.csv");
    csv << "onset_s,duration_s,stage\n";
    const std::string codes = "WW111222333233RRRRWW";
    const char* names[] = {"W", "N1", "N2", "N3", "REM"};
    for (size_t i = 0; i < codes.size(); ++i) {
      const char c = codes[i];
      const int k = c == 'W' ? 0 : c == 'R' ? 4 : c - '0';
      csv << i * 30 << ",30," << names[k] << "\n";
    }
  }
  const auto r = psgkit_test::run_command(psgkit_test::cli_path() + " stats --json " + (dir / "h.csv").string());
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::ordered_json::parse(r.output);
  CHECK(j.begin().key() == "TIB");
  CHECK(j["TIB"].get<double>() == 10.0);
  CHECK(j["SE"].get<double>() == 80.0);
  CHECK(j["SOL_persistent"].is_null());
  CHECK(j["transitions"]["N3"]["REM"].get<int>() == 1);
  CHECK(j["cycles"].is_array());

  const auto cropped = psgkit_test::run_command(psgkit_test::cli_path() + " stats --json --lights-off 60 " +
                                                (dir / "h.csv").string());
  REQUIRE(cropped.exit_code == 0);
  CHECK(nlohmann::json::parse(cropped.output)["TIB"].get<double>() == 9.0);

  const auto table = psgkit_test::run_command(psgkit_test::cli_path() + " stats " + (dir / "h.csv").string());
  REQUIRE(table.exit_code == 0);
  CHECK(table.output.find("\nSE ") != std::string::npos);
  CHECK(table.output.find(" 80.00  %\n") != std::string::npos);

  const auto bad = psgkit_test::run_command(psgkit_test::cli_path() + " stats --lights-off 600 --lights-on 60 " +
                                            (dir / "h.csv").string() + " 2>&1");
  CHECK(bad.exit_code == 1);
  CHECK(bad.output.find("psgkit: error:") != std::string::npos);
}
