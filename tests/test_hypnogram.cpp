#include <doctest/doctest.h>

#include <array>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "psgkit/error.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/io.hpp"
#include "psgkit/recording.hpp"
#include "support.hpp"

using namespace psgkit;
namespace fs = std::filesystem;
using S = Stage;

namespace {

void write_text(const fs::path& path, const std::string& text) { write_file_atomic(path, text); }

std::array<int, 6> count_stages(const Hypnogram& h) {
  std::array<int, 6> counts{};
  for (Stage s : h.stages) ++counts[static_cast<int>(s)];
  return counts;
}

// Expected 30-s epoch counts of an interval CSV, from its raw text: total duration per label / 30.
std::array<int, 6> counts_from_csv_text(const std::string& text) {
  std::map<std::string, double> seconds;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const size_t a = line.find(','), b = line.find(',', a + 1);
    seconds[line.substr(b + 1)] += std::stod(line.substr(a + 1, b - a - 1));
  }
  const char* labels[6] = {"W", "N1", "N2", "N3", "REM", "UNS"};
  std::array<int, 6> counts{};
  for (int k = 0; k < 6; ++k) counts[k] = static_cast<int>(seconds[labels[k]] / 30.0 + 0.5);
  return counts;
}

}  // namespace

TEST_CASE("stage names parse and print") {
  CHECK(parse_stage("Sleep stage W") == S::W);
  CHECK(parse_stage("Sleep stage 1") == S::N1);
  CHECK(parse_stage("Sleep stage 2") == S::N2);
  CHECK(parse_stage("Sleep stage 3") == S::N3);
  CHECK(parse_stage("Sleep stage 4") == S::N3);
  CHECK(parse_stage("Sleep stage R") == S::REM);
  CHECK(parse_stage("Sleep stage ?") == S::UNS);
  CHECK(parse_stage("Movement time") == S::UNS);
  CHECK(parse_stage("Sleep stage N1") == S::N1);
  CHECK(parse_stage("sleep_stage_N3") == S::N3);
  CHECK(parse_stage(" REM ") == S::REM);
  CHECK(parse_stage("R") == S::REM);
  CHECK(parse_stage("Wake") == S::W);
  CHECK(parse_stage("N2") == S::N2);
  CHECK(parse_stage("artefact") == S::UNS);
  CHECK(parse_stage("S4") == S::N3);
  CHECK_FALSE(parse_stage("Lights off").has_value());
  CHECK_FALSE(parse_stage("Sleep stage X").has_value());
  for (int k = 0; k < 6; ++k) CHECK(parse_stage(to_string(static_cast<Stage>(k))) == static_cast<Stage>(k));
}

TEST_CASE("labels of other scoring tools, any case; movement and artefact are UNS") {
  for (const char* w : {"W", "w", "Wake", "WAKE", "Stage W", "stage wake"}) CHECK(parse_stage(w) == S::W);
  for (const char* n1 : {"S1", "s1", "Stage 1", "STAGE 1", "Sleep stage 1", "N1"}) CHECK(parse_stage(n1) == S::N1);
  for (const char* n2 : {"S2", "Stage 2", "sleep stage 2"}) CHECK(parse_stage(n2) == S::N2);
  for (const char* n3 : {"S3", "S4", "Stage 3", "Stage 4", "Sleep stage 4", "n3"}) CHECK(parse_stage(n3) == S::N3);
  for (const char* r : {"R", "r", "REM", "rem", "Stage REM", "Sleep stage R"}) CHECK(parse_stage(r) == S::REM);
  for (const char* u : {"MT", "mt", "MOVE", "Move", "Movement time", "MOVEMENT TIME", "?", "UNS", "ART", "art",
                        "Unscored", "UNSCORED"})
    CHECK(parse_stage(u) == S::UNS);
  for (const char* bad : {"S5", "Stage", "stage 6", "REMS", "NREM", "Lights off"}) CHECK_FALSE(parse_stage(bad).has_value());

  // An unknown label: file, line, column, the label and the accepted list.
  psgkit_test::TempDir dir("labels");
  write_text(dir / "h.csv", "onset_s,duration_s,stage\n0,30,W\n30,30,Stage 6\n");
  CHECK_THROWS_WITH_AS(read_hypnogram(dir / "h.csv"),
                       doctest::Contains("h.csv: line 3, column stage: unknown sleep stage 'Stage 6'; accepted"), Error);
  CHECK_THROWS_WITH_AS(read_hypnogram(dir / "h.csv"), doctest::Contains("MOVE"), Error);
  // Movement counts as YASA's ART: in the hypnogram as UNS (TIB and the sleep period, neither TST nor WASO).
  write_text(dir / "m.csv", "onset_s,duration_s,stage\n0,30,W\n30,30,s2\n60,30,MOVE\n90,30,Stage 4\n120,30,rem\n");
  CHECK(read_hypnogram(dir / "m.csv").stages == std::vector<Stage>{S::W, S::N2, S::UNS, S::N3, S::REM});

  // The Sleep-EDF telemetry hypnograms mark movement as MOVE: they read now, MOVE epochs as UNS.
  // ST7041J0: 1033 rows, 1 MOVE, 25 UNS, 132 N3 (grep -c of the file).
  if (!psgkit_test::have_shared_file("sleep-edf-st/ST7041J0.hypnogram.csv")) return;
  const Hypnogram st = read_hypnogram(psgkit_test::shared_data() / "sleep-edf-st/ST7041J0.hypnogram.csv");
  CHECK(st.size() == 1033);
  CHECK(count_stages(st)[static_cast<int>(S::UNS)] == 26);
  CHECK(count_stages(st)[static_cast<int>(S::N3)] == 132);
}

TEST_CASE("reepoch: majority, tie to the first stage, UNS only by strict majority") {
  Hypnogram h;
  h.epoch_s = 5;
  // Each group of six 5-s epochs becomes one 30-s epoch.
  h.stages = {S::W,   S::W,   S::N2,  S::N2,  S::N1, S::UNS,   // W 2, N2 2 tie -> W (first)
              S::N2,  S::N1,  S::N1,  S::N2,  S::W,  S::UNS,   // N2 2, N1 2 tie -> N2 (first)
              S::UNS, S::UNS, S::UNS, S::REM, S::REM, S::REM,  // UNS 3 of 6 is no strict majority -> REM
              S::UNS, S::UNS, S::UNS, S::UNS, S::N3, S::N3,    // UNS 4 of 6 -> UNS
              S::N3,  S::N3,  S::N3,  S::N2,  S::N2, S::N2,    // tie N3 first
              S::W,   S::W};                                   // partial trailing epoch: dropped
  h.probabilities.resize(h.size());
  for (size_t i = 0; i < h.size(); ++i) h.probabilities[i] = {i % 2 ? 1.0f : 0.0f, i % 2 ? 0.0f : 1.0f, 0, 0, 0};
  const Hypnogram r = h.reepoch(30);
  CHECK(r.epoch_s == 30);
  REQUIRE(r.size() == 5);
  CHECK(r.stages == std::vector<Stage>{S::W, S::N2, S::REM, S::UNS, S::N3});
  REQUIRE(r.probabilities.size() == 5);
  CHECK(r.probabilities[0][0] == doctest::Approx(0.5));
  CHECK(r.probabilities[0][1] == doctest::Approx(0.5));

  const Hypnogram shorter = r.reepoch(10);
  REQUIRE(shorter.size() == 15);
  CHECK(shorter.stages[3] == S::N2);
  CHECK(shorter.stages[5] == S::N2);
  CHECK(shorter.stages[6] == S::REM);
  CHECK_THROWS_AS(r.reepoch(20), Error);
  CHECK_THROWS_AS(r.reepoch(0), Error);
  CHECK_THROWS_AS(r.reepoch(-30), Error);
}

TEST_CASE("hypnogram_from_annotations: multi-epoch durations, gaps, off-grid onsets, events") {
  const std::vector<Annotation> annotations = {
      {0, 90, "Sleep stage W"},     {10, -1, "Lights off"},        {90, 60, "Sleep stage 2"},
      // 150-210: gap -> UNS
      {210, 40, "Sleep stage 4"},  // epoch 7 N3; epoch 8 has N3 10 s, REM 20 s -> REM
      {250, 25, "Sleep stage R"},  // epoch 9 has REM 5 s and 25 s uncovered -> UNS (strict majority)
      {20000, 0, "Lights on"},
  };
  const Hypnogram h = hypnogram_from_annotations(annotations, 30.0, "mem");
  CHECK(h.start_s == 0);
  CHECK(h.stages == std::vector<Stage>{S::W, S::W, S::W, S::N2, S::N2, S::UNS, S::UNS, S::N3, S::REM, S::UNS});
  REQUIRE(h.events.size() == 2);
  CHECK(h.events[0].text == "Lights off");
  CHECK(h.events[0].onset_s == 10);
  CHECK(h.events[1].text == "Lights on");

  // Tie within one epoch goes to the stage that comes first; the grid starts at the first stage onset.
  // Epoch 1 [35, 65) holds N1 for 15 s and nothing for 15 s: UNS has no strict majority -> N1.
  const Hypnogram tie = hypnogram_from_annotations({{5, 15, "W"}, {20, 30, "N1"}}, 30.0);
  CHECK(tie.start_s == 5);
  CHECK(tie.stages == std::vector<Stage>{S::W, S::N1});
  // Without durations a stage lasts until the next one; the last lasts one epoch.
  const Hypnogram open = hypnogram_from_annotations({{0, -1, "Sleep stage W"}, {60, -1, "Sleep stage N2"}}, 30.0);
  CHECK(open.stages == std::vector<Stage>{S::W, S::W, S::N2});

  CHECK_THROWS_WITH_AS(hypnogram_from_annotations({{0, 60, "W"}, {30, 30, "N2"}}, 30.0, "x.edf"),
                       doctest::Contains("x.edf: annotation 2"), Error);
  CHECK_THROWS_WITH_AS(hypnogram_from_annotations({{-30, 60, "W"}}, 30.0, "x.edf"), doctest::Contains("negative"), Error);
  CHECK_THROWS_WITH_AS(hypnogram_from_annotations({{0, 30, "Sleep stage Q"}}, 30.0, "x.edf"),
                       doctest::Contains("unknown sleep stage"), Error);
  CHECK_THROWS_AS(hypnogram_from_annotations({{0, 30, "Lights off"}}, 30.0, "x.edf"), Error);  // no stages
}

TEST_CASE("interval CSV: any epoch grid dividing the epoch length, gaps become UNS") {
  psgkit_test::TempDir dir("hypno-csv");
  write_text(dir / "a.csv", "onset_s,duration_s,stage\n60,90,W\n150,30,Sleep stage 3\n240,60,REM\n");
  const Hypnogram a = read_hypnogram(dir / "a.csv");
  CHECK(a.start_s == 60);
  CHECK(a.stages == std::vector<Stage>{S::W, S::W, S::W, S::N3, S::UNS, S::UNS, S::REM, S::REM});
  // 10-s rows read at 30 s: majority of three.
  write_text(dir / "b.csv", "onset_s,duration_s,stage\n0,10,W\n10,10,N1\n20,10,N1\n30,20,N2\n50,10,W\n");
  CHECK(read_hypnogram(dir / "b.csv").stages == std::vector<Stage>{S::N1, S::N2});
  // The same at 10 s keeps every row.
  CHECK(read_hypnogram(dir / "b.csv", 10).stages == std::vector<Stage>{S::W, S::N1, S::N1, S::N2, S::N2, S::W});
  // 20-s rows cannot make 30-s epochs.
  write_text(dir / "c.csv", "onset_s,duration_s,stage\n0,20,W\n20,20,N1\n");
  CHECK_THROWS_WITH_AS(read_hypnogram(dir / "c.csv"), doctest::Contains("neither divides"), Error);
}

TEST_CASE("bad hypnogram files give errors naming file and line") {
  psgkit_test::TempDir dir("hypno-bad");
  const auto expect_error = [&](const std::string& name, const std::string& text, const std::string& where) {
    write_text(dir / name, text);
    CAPTURE(name);
    CHECK_THROWS_WITH_AS(read_hypnogram(dir / name), doctest::Contains(doctest::String(((dir / name).string() + ": " + where).c_str())), Error);
  };
  expect_error("empty.csv", "", "empty file");
  expect_error("blank.csv", "\n \n", "empty file");
  expect_error("garbage.csv", "\x01\x02 lorem ipsum\nmore", "line 1");
  expect_error("header-only.csv", "onset_s,duration_s,stage\n", "line 2");
  expect_error("wrong-header.csv", "a,b,c\n1,2,3\n", "line 1");
  expect_error("unknown.csv", "onset_s,duration_s,stage\n0,30,W\n30,30,N7\n", "line 3, column stage");
  expect_error("negative.csv", "onset_s,duration_s,stage\n-30,30,W\n0,30,W\n", "line 2, column onset_s");
  expect_error("overlap.csv", "onset_s,duration_s,stage\n0,60,W\n30,30,N1\n", "line 3");
  expect_error("nonnumeric.csv", "onset_s,duration_s,stage\n0,30,W\nabc,30,N1\n", "line 3, column onset_s");
  expect_error("cells.csv", "onset_s,duration_s,stage\n0,30\n", "line 2");
  expect_error("dreams.txt", "[Hypnogram]\n5\n4\nx\n", "line 4");
  expect_error("dreams-range.txt", "[Hypnogram]\n5\n9\n", "line 3");
  expect_error("dreams-empty.txt", "[Hypnogram]\n", "line 2");
  expect_error("staging.csv",
               "epoch,onset_s,stage,confidence,p_W,p_N1,p_N2,p_N3,p_REM\n0,0,W,1,1,0,0,0,0\n0,30,W,1,1,0,0,0,0\n",
               "line 3, column epoch");
  CHECK_THROWS_AS(read_hypnogram(dir / "missing.csv"), Error);
}

TEST_CASE("write -> read round trips: interval CSV, staging CSV, EDF+ annotations") {
  psgkit_test::TempDir dir("hypno-rt");
  Hypnogram h;
  h.epoch_s = 30;
  h.start_s = 120;
  h.stages = {S::W, S::W, S::N1, S::N2, S::N2, S::N3, S::N3, S::UNS, S::REM, S::REM, S::W};
  for (size_t i = 0; i < h.size(); ++i) {
    std::array<float, 5> p{0.05f, 0.05f, 0.05f, 0.05f, 0.05f};
    p[static_cast<int>(h.stages[i]) % 5] = 0.8f;
    h.probabilities.push_back(p);
  }
  write_hypnogram_csv(dir / "h.csv", h);
  const Hypnogram c = read_hypnogram(dir / "h.csv");
  CHECK(c.start_s == 120);
  CHECK(c.stages == h.stages);

  write_staging_csv(dir / "s.csv", h);
  const Hypnogram s = read_hypnogram(dir / "s.csv");
  CHECK(s.start_s == 120);
  CHECK(s.epoch_s == 30);
  CHECK(s.stages == h.stages);
  CHECK(s.probabilities == h.probabilities);
  // Missing rows of a staging CSV become UNS with all-zero probabilities.
  write_text(dir / "gap.csv",
             "epoch,onset_s,stage,confidence,p_W,p_N1,p_N2,p_N3,p_REM\n1,40,N2,0.7,0.1,0.1,0.7,0.1,0\n"
             "3,100,N3,0.6,0,0,0.4,0.6,0\n");
  const Hypnogram gap = read_hypnogram(dir / "gap.csv");
  CHECK(gap.start_s == 10);
  CHECK(gap.stages == std::vector<Stage>{S::UNS, S::N2, S::UNS, S::N3});
  CHECK(gap.probabilities[2] == std::array<float, 5>{});
  CHECK(gap.probabilities[3][3] == doctest::Approx(0.6f));
  Hypnogram no_probs = h;
  no_probs.probabilities.clear();
  CHECK_THROWS_AS(write_staging_csv(dir / "x.csv", no_probs), Error);

  h.events.push_back({150, 0, "Lights off"});
  write_hypnogram_edf(dir / "h.edf", h);
  const Hypnogram e = read_hypnogram(dir / "h.edf");
  CHECK(e.start_s == doctest::Approx(120));
  CHECK(e.stages == h.stages);
  REQUIRE(e.events.size() == 1);
  CHECK(e.events[0].text == "Lights off");
  CHECK(e.events[0].onset_s == doctest::Approx(150));
}

TEST_CASE("Sleep-EDF: every hypnogram CSV holds its stage counts and equals the EDF+ scoring") {
  if (!psgkit_test::have_shared_data()) return;
  const fs::path folder = psgkit_test::shared_data() / "sleep-edf";
  int nights = 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with("E0.hypnogram.csv")) continue;
    CAPTURE(name);
    ++nights;
    const Hypnogram csv = read_hypnogram(entry.path());
    CHECK(csv.epoch_s == 30);
    CHECK(csv.start_s == 0);
    CHECK(count_stages(csv) == counts_from_csv_text(read_file(entry.path())));
    // SC4001E0.hypnogram.csv <-> SC4001E?-Hypnogram.edf
    const std::string prefix = name.substr(0, 7);
    fs::path edf;
    for (const auto& other : fs::directory_iterator(folder)) {
      const std::string o = other.path().filename().string();
      if (o.starts_with(prefix) && o.ends_with("-Hypnogram.edf")) edf = other.path();
    }
    REQUIRE_FALSE(edf.empty());
    const Hypnogram from_edf = read_hypnogram(edf);
    CHECK(from_edf.start_s == 0);
    CHECK(from_edf.stages == csv.stages);
  }
  CHECK(nights == 16);
}

TEST_CASE("DREAMS: 5-s hypnograms re-epoched to 30 s equal the shared 30-s CSVs") {
  if (!psgkit_test::have_shared_data()) return;
  for (int n : {1, 3, 4, 6, 8}) {
    CAPTURE(n);
    const fs::path base = psgkit_test::shared_data() / "dreams" / ("excerpt" + std::to_string(n));
    const fs::path five = base.string() + ".hypnogram-5s.txt", thirty = base.string() + ".hypnogram.csv";
    const Hypnogram raw = read_hypnogram_dreams(five);
    CHECK(raw.epoch_s == 5);
    // Expected counts straight from the text: codes 5 W, 4 REM, 3 N1, 2 N2, 1/0 N3, -1 UNS.
    std::array<int, 6> expected{};
    std::istringstream in(read_file(five));
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      if (line.empty() || line == "\r") continue;
      const int code = std::stoi(line);
      const int index[] = {5, 3, 3, 2, 1, 4, 0};
      ++expected[index[code + 1]];
    }
    CHECK(count_stages(raw) == expected);
    const Hypnogram reepoched = read_hypnogram(five, 30);
    const Hypnogram reference = read_hypnogram(thirty);
    CHECK(reference.size() == 60);
    CHECK(count_stages(reference) == counts_from_csv_text(read_file(thirty)));
    CHECK(reepoched.stages == reference.stages);
    CHECK(reepoched.start_s == reference.start_s);
    CHECK_THROWS_WITH_AS(read_hypnogram(five, 7), doctest::Contains("hypnogram-5s.txt: epoch_s"), Error);
  }
}

TEST_CASE("psgkit hypnogram convert: DREAMS 5 s -> 30-s CSV and EDF+") {
  if (!psgkit_test::have_shared_data()) return;
  if (psgkit_test::cli_path().empty()) {
    MESSAGE("SKIPPED: psgkit CLI not built");
    return;
  }
  psgkit_test::TempDir dir("hypno-cli");
  const fs::path dreams = psgkit_test::shared_data() / "dreams";
  const auto r = psgkit_test::run_command(psgkit_test::cli_path() + " hypnogram convert " +
                                          (dreams / "excerpt1.hypnogram-5s.txt").string() + " -o " +
                                          (dir / "out.csv").string() + " --epoch 30");
  REQUIRE(r.exit_code == 0);
  CHECK(read_file(dir / "out.csv") == read_file(dreams / "excerpt1.hypnogram.csv"));
  const auto e = psgkit_test::run_command(psgkit_test::cli_path() + " hypnogram convert " + (dir / "out.csv").string() +
                                          " -o " + (dir / "out.edf").string() + " --format edf");
  REQUIRE(e.exit_code == 0);
  CHECK(read_hypnogram(dir / "out.edf").stages == read_hypnogram(dir / "out.csv").stages);
  const auto bad = psgkit_test::run_command(psgkit_test::cli_path() + " hypnogram convert " + (dir / "out.csv").string() +
                                            " -o " + (dir / "x.csv").string() + " --epoch 7 2>&1");
  CHECK(bad.exit_code == 1);
  CHECK(bad.output.find("psgkit: error: " + (dir / "out.csv").string()) != std::string::npos);
}
