#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "psgkit/compare.hpp"
#include "psgkit/error.hpp"
#include "psgkit/io.hpp"
#include "psgkit/simulate.hpp"
#include "support.hpp"

using namespace psgkit;

namespace {

Hypnogram make_hypnogram(std::initializer_list<std::pair<Stage, int>> runs) {
  Hypnogram h;
  for (const auto& [stage, n] : runs) h.stages.insert(h.stages.end(), static_cast<size_t>(n), stage);
  return h;
}

std::string stage_csv(const Hypnogram& h) {
  std::string out = "onset_s,duration_s,stage\n";
  for (size_t i = 0; i < h.size(); ++i)
    out += std::to_string(static_cast<int>(h.onset_s(i))) + ",30," + std::string(to_string(h.stages[i])) + "\n";
  return out;
}

}  // namespace

TEST_CASE("compare_nights on hand-made hypnograms gives differences and % change") {
  psgkit_test::TempDir dir("compare");
  // before: 10 W, 20 N2, 10 N3, 10 REM, 10 W  -> N3 5 min, TST 20 min
  // after:   4 W, 20 N2, 20 N3, 10 REM,  6 W  -> N3 10 min, TST 25 min
  write_file_atomic(dir / "before.csv", stage_csv(make_hypnogram({{Stage::W, 10}, {Stage::N2, 20}, {Stage::N3, 10},
                                                                  {Stage::REM, 10}, {Stage::W, 10}})));
  write_file_atomic(dir / "after.csv", stage_csv(make_hypnogram({{Stage::W, 4}, {Stage::N2, 20}, {Stage::N3, 20},
                                                                 {Stage::REM, 10}, {Stage::W, 6}})));
  const auto before = analyse_night({dir / "before.csv", std::nullopt});
  const auto after = analyse_night({dir / "after.csv", std::nullopt});
  CHECK_FALSE(before.is_recording);
  CHECK_FALSE(before.staged_automatically);
  const auto changes = compare_nights(before, after);
  REQUIRE(changes.size() >= 10);
  CHECK(changes[0].name == "N3");  // deep sleep leads
  CHECK(changes[0].deep_sleep);
  CHECK(changes[0].before == doctest::Approx(5.0));
  CHECK(changes[0].after == doctest::Approx(10.0));
  CHECK(changes[0].difference == doctest::Approx(5.0));
  CHECK(changes[0].percent_change == doctest::Approx(100.0));
  auto find = [&](const std::string& name) {
    for (const auto& c : changes)
      if (c.name == name) return c;
    FAIL("no measure " << name);
    return MeasureChange{};
  };
  CHECK(find("%N3").before == doctest::Approx(100.0 * 5 / 20));
  CHECK(find("%N3").after == doctest::Approx(100.0 * 10 / 25));
  CHECK(find("SOL").difference == doctest::Approx(-3.0));  // 5 min -> 2 min
  CHECK(find("Lat_N3").before == doctest::Approx(15.0));
  CHECK(find("Lat_N3").after == doctest::Approx(12.0));
  CHECK(find("TST").difference == doctest::Approx(5.0));
}

TEST_CASE("manifest: paths resolve against its folder; bad manifests are refused with file and line") {
  psgkit_test::TempDir dir("manifest");
  write_file_atomic(dir / "m.csv", "subject,session,path,hypnogram\ns1,before,a.edf,a.csv\ns1,after,/abs/b.edf,\n");
  const auto entries = read_manifest(dir / "m.csv");
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].path == dir.path / "a.edf");
  CHECK(entries[0].hypnogram == dir.path / "a.csv");
  CHECK(entries[1].path == "/abs/b.edf");
  CHECK_FALSE(entries[1].hypnogram.has_value());
  CHECK(entries[1].line == 3);
  CHECK(session_order(entries) == std::vector<std::string>{"before", "after"});

  write_file_atomic(dir / "dup.csv", "subject,session,path\ns1,before,a\ns1,before,b\n");
  CHECK_THROWS_WITH_AS(read_manifest(dir / "dup.csv"), doctest::Contains("line 3"), Error);
  write_file_atomic(dir / "nocol.csv", "subject,path\ns1,a\n");
  CHECK_THROWS_WITH_AS(read_manifest(dir / "nocol.csv"), doctest::Contains("column session"), Error);
  write_file_atomic(dir / "empty.csv", "subject,session,path\ns1,,a\n");
  CHECK_THROWS_WITH_AS(read_manifest(dir / "empty.csv"), doctest::Contains("line 2, column session"), Error);
  write_file_atomic(dir / "none.csv", "subject,session,path\n");
  CHECK_THROWS_AS(read_manifest(dir / "none.csv"), Error);
}

TEST_CASE("session order: first appearance unless before/after") {
  std::vector<ManifestEntry> e(4);
  e[0].session = "week4";
  e[1].session = "baseline";
  e[2].session = "week4";
  e[3].session = "week8";
  CHECK(session_order(e) == std::vector<std::string>{"week4", "baseline", "week8"});
  e[0].session = e[2].session = "after";
  e[1].session = e[3].session = "before";
  CHECK(session_order(e) == std::vector<std::string>{"before", "after"});
}

TEST_CASE("cohort on the Sleep-EDF expert hypnograms, night 1 vs night 2 (CLI, 2 jobs, a failing subject)") {
  if (!psgkit_test::have_shared_data()) return;
  psgkit_test::TempDir dir("cohort");
  const auto hyp = psgkit_test::shared_data() / "sleep-edf";
  std::string manifest = "subject,session,path\n";
  for (const char* s : {"SC400", "SC401", "SC402", "SC403", "SC404", "SC405", "SC406", "SC407"}) {
    manifest += std::string(s) + ",before," + (hyp / (std::string(s) + "1E0.hypnogram.csv")).string() + "\n";
    manifest += std::string(s) + ",after," + (hyp / (std::string(s) + "2E0.hypnogram.csv")).string() + "\n";
  }
  write_file_atomic(dir / "ok.csv", manifest);
  const auto ok = psgkit_test::run_command(psgkit_test::cli_path() + " cohort " + (dir / "ok.csv").string() +
                                           " --json --jobs 2 --html " + (dir / "r.html").string() + " 2>/dev/null");
  REQUIRE(ok.exit_code == 0);
  const auto j = nlohmann::json::parse(ok.output);
  // Expected values computed independently from the CSV rows (sum of N3 durations) with
  // scipy 1.10: ttest_rel p = 0.06740907828432002, wilcoxon p = 0.109375 (exact, n = 8).
  const auto& n3 = j["measures"]["N3"];
  CHECK(n3["n"] == 8);
  CHECK(n3["mean_before"].get<double>() == doctest::Approx((110.0 + 52.5 + 47.5 + 28.5 + 26.5 + 67.5 + 68 + 81) / 8));
  CHECK(n3["mean_diff"].get<double>() == doctest::Approx(14.9375));
  CHECK(n3["sd_diff"].get<double>() == doctest::Approx(19.541964918020472));
  CHECK(n3["ttest_p"].get<double>() == doctest::Approx(0.06740907828432002).epsilon(1e-9));
  CHECK(n3["wilcoxon_p"].get<double>() == doctest::Approx(0.109375).epsilon(1e-12));
  CHECK(n3["ci95_low"].get<double>() < 14.9375);
  CHECK(n3["ci95_high"].get<double>() > 14.9375);
  CHECK(n3["p_holm"].get<double>() >= n3["ttest_p"].get<double>());
  CHECK(j["subjects"].size() == 8);
  CHECK(j["excluded"].empty());
  CHECK(std::filesystem::file_size(dir / "r.html") > 1000);

  // One subject's after-night is missing: everyone else is still compared, exit status is non-zero.
  write_file_atomic(dir / "bad.csv", manifest + "SC499,before," + (hyp / "SC4001E0.hypnogram.csv").string() +
                                         "\nSC499,after," + (dir / "missing.csv").string() + "\n");
  const auto bad = psgkit_test::run_command(psgkit_test::cli_path() + " cohort " + (dir / "bad.csv").string() +
                                            " --json -o " + (dir / "bad.json").string() + " 2>&1");
  CHECK(bad.exit_code == 3);
  CHECK(bad.output.find("SC499") != std::string::npos);
  const auto jb = nlohmann::json::parse(read_file(dir / "bad.json"));
  CHECK(jb["measures"]["N3"]["n"] == 8);
  REQUIRE(jb["excluded"].size() == 1);
  CHECK(jb["excluded"][0].get<std::string>().find("missing.csv") != std::string::npos);
}

TEST_CASE("compare simulated nights with their hypnograms and automatically staged") {
  psgkit_test::TempDir dir("compare-sim");
  const auto demo = psgkit_test::source_dir() / "data/demo";
  SimulationOptions options;
  options.fs_hz = 128;
  options.duration_s = 3 * 3600;
  options.seed = 3;
  write_simulated_night(dir / "before.edf", read_hypnogram(demo / "before.csv"), options);
  options.swa_gain = 1.5;
  write_simulated_night(dir / "after.edf", read_hypnogram(demo / "after.csv"), options);

  const auto cmd = psgkit_test::cli_path() + " compare " + (dir / "before.edf").string() + " " +
                   (dir / "after.edf").string();
  const auto expert = psgkit_test::run_command(cmd + " --hypnogram-before " + (demo / "before.csv").string() +
                                               " --hypnogram-after " + (demo / "after.csv").string() + " --json 2>&1 >" +
                                               (dir / "expert.json").string());
  REQUIRE_MESSAGE(expert.exit_code == 0, expert.output);
  const auto je = nlohmann::json::parse(read_file(dir / "expert.json"));
  const auto by_name = [](const nlohmann::json& j, const std::string& name) {
    for (const auto& m : j["measures"])
      if (m["name"] == name) return m;
    return nlohmann::json();
  };
  CHECK_FALSE(je["before"]["staged_automatically"].get<bool>());
  // Expert hypnograms: the N3 difference is that of the demo hypnograms over the whole night.
  const auto hb = read_hypnogram(demo / "before.csv"), ha = read_hypnogram(demo / "after.csv");
  const auto n3_min = [](const Hypnogram& h) {
    return static_cast<double>(std::count(h.stages.begin(), h.stages.end(), Stage::N3)) * h.epoch_s / 60;
  };
  CHECK(by_name(je, "N3")["difference"].get<double>() == doctest::Approx(n3_min(ha) - n3_min(hb)));
  // Slow-wave amplitude was raised by 1.5: SWA over N2+N3 rises.
  const auto swa = by_name(je, "SWA_N2N3");
  REQUIRE_FALSE(swa.is_null());
  CHECK(swa["after"].get<double>() > swa["before"].get<double>());

  const auto automatic = psgkit_test::run_command(cmd + " --json --html " + (dir / "report.html").string() + " 2>&1 >" +
                                                  (dir / "auto.json").string());
  REQUIRE_MESSAGE(automatic.exit_code == 0, automatic.output);
  const auto ja = nlohmann::json::parse(read_file(dir / "auto.json"));
  CHECK(ja["before"]["staged_automatically"].get<bool>());
  CHECK(std::isfinite(by_name(ja, "N3")["before"].get<double>()));
  CHECK_FALSE(by_name(ja, "N3_expected").is_null());
  const std::string html = read_file(dir / "report.html");
  CHECK(html.find("<svg") != std::string::npos);
  const auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t at = html.find(needle); at != std::string::npos; at = html.find(needle, at + 1)) ++n;
    return n;
  };
  CHECK(count("http") == count("http://www.w3.org/"));  // only XML namespaces: nothing is fetched
}
