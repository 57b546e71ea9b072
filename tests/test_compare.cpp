#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "psgkit/compare.hpp"
#include "psgkit/deep_sleep.hpp"
#include "psgkit/error.hpp"
#include "psgkit/io.hpp"
#include "psgkit/preprocess.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/report.hpp"
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
  // A repeated row is read, then reported with its line and the subject left out by run_cohort.
  const auto dup = run_cohort(read_manifest(dir / "dup.csv"));
  REQUIRE_FALSE(dup.excluded.empty());
  CHECK(dup.excluded.front() == "s1: line 3 repeats session before of line 2");
  write_file_atomic(dir / "nocol.csv", "subject,path\ns1,a\n");
  CHECK_THROWS_WITH_AS(read_manifest(dir / "nocol.csv"), doctest::Contains("column session"), Error);
  write_file_atomic(dir / "empty.csv", "subject,session,path\ns1,,a\n");
  CHECK_THROWS_WITH_AS(read_manifest(dir / "empty.csv"), doctest::Contains("line 2, column session"), Error);
  write_file_atomic(dir / "none.csv", "subject,session,path\n");
  CHECK_THROWS_AS(read_manifest(dir / "none.csv"), Error);
}

TEST_CASE("manifest age and sex reach automatic staging of that night; bad values are refused") {
  psgkit_test::TempDir dir("manifest-demographics");
  write_file_atomic(dir / "m.csv", "subject,session,path,age,sex\ns1,before,a.edf,71,f\ns1,after,a.edf,NA,\n");
  const auto entries = read_manifest(dir / "m.csv");
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].age_years == 71.0);
  CHECK(entries[0].sex == 'F');
  CHECK_FALSE(entries[1].age_years.has_value());
  CHECK_FALSE(entries[1].sex.has_value());
  write_file_atomic(dir / "age.csv", "subject,session,path,age\ns1,before,a.edf,old\n");
  CHECK_THROWS_WITH_AS(read_manifest(dir / "age.csv"), doctest::Contains("line 2, column age"), Error);
  write_file_atomic(dir / "age2.csv", "subject,session,path,age\ns1,before,a.edf,200\n");
  CHECK_THROWS_WITH_AS(read_manifest(dir / "age2.csv"), doctest::Contains("not an age in years"), Error);
  write_file_atomic(dir / "sex.csv", "subject,session,path,sex\ns1,before,a.edf,X\n");
  CHECK_THROWS_WITH_AS(read_manifest(dir / "sex.csv"), doctest::Contains("line 2, column sex"), Error);

  // A simulated night with Fpz-Cz and an EOG is staged with model e, the model that takes age and sex:
  // the cohort's night equals analyse_night given the same demographics, and differs from it without.
  SimulationOptions options;
  options.fs_hz = 100;
  options.duration_s = 2 * 3600;
  options.seed = 11;
  write_simulated_night(dir / "a.edf", read_hypnogram(psgkit_test::source_dir() / "data/demo/before.csv"), options);
  write_file_atomic(dir / "c.csv", "subject,session,path,age,sex\ns1,before,a.edf,71,F\ns1,after,a.edf,,\n");
  const CohortResult cohort = run_cohort(read_manifest(dir / "c.csv"));
  REQUIRE(cohort.nights.size() == 2);
  REQUIRE(cohort.nights[0].analysis.has_value());
  REQUIRE(cohort.nights[1].analysis.has_value());
  CHECK(cohort.nights[0].analysis->model == "e");
  NightAnalysisOptions with;
  with.staging.age_years = 71.0;
  with.staging.sex = 'F';
  const NightAnalysis direct = analyse_night({dir / "a.edf", std::nullopt}, with);
  const NightAnalysis without = analyse_night({dir / "a.edf", std::nullopt});
  CHECK(cohort.nights[0].analysis->hypnogram.probabilities == direct.hypnogram.probabilities);
  CHECK(cohort.nights[1].analysis->hypnogram.probabilities == without.hypnogram.probabilities);
  CHECK(direct.hypnogram.probabilities != without.hypnogram.probabilities);
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
  if (!psgkit_test::have_shared_data() || !psgkit_test::have_cli()) return;
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
  if (!psgkit_test::have_cli()) return;
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

TEST_CASE("analyse_night streams a 256-Hz channel to 100 Hz: the measures of the whole channel resampled") {
  // The streaming path (block-wise reading and resampling, flat and clipping checks on the native
  // blocks) must equal resampling the whole channel at once and analysing that with the flags of a
  // scan of the whole native channel.
  psgkit_test::TempDir dir("stream-100hz");
  const auto demo = psgkit_test::source_dir() / "data/demo";
  SimulationOptions options;
  options.fs_hz = 256;
  options.duration_s = 2 * 3600;
  options.seed = 5;
  write_simulated_night(dir / "night.edf", read_hypnogram(demo / "before.csv"), options);
  const NightAnalysis night = analyse_night({dir / "night.edf", demo / "before.csv"});

  const Recording recording = Recording::open(dir / "night.edf");
  const int channel = recording.require_signal("C4-M1");
  const std::vector<float> native = recording.read(channel);
  const Hypnogram h = read_hypnogram(demo / "before.csv");
  NativeArtefactScan scan(256, native.size(), h);
  scan.add(native);
  const auto flags = scan.flags([&](size_t first, std::span<float> samples) {
    std::copy_n(native.begin() + static_cast<std::ptrdiff_t>(first), samples.size(), samples.begin());
  });
  const std::vector<float> at_100hz = resample(std::span<const float>(native), 256, 100);
  std::vector<std::pair<size_t, size_t>> cycles;
  for (const auto& c : sleep_statistics(h).cycles) cycles.emplace_back(c.nrem_begin, c.rem_end);
  DeepSleepOptions deep_options;
  deep_options.spectrogram = true;
  const DeepSleepResult deep = analyze_deep_sleep(std::span<const float>(at_100hz), 100, h, cycles, deep_options, flags);
  size_t flagged = 0;
  for (const uint8_t f : deep.artefact_flags) flagged += f != kArtefactNone;
  CHECK(night.value("artefact_epochs") == static_cast<double>(flagged));
  CHECK(night.value("SWA_N2N3") == deep.mean_swa_n2n3_uv2);
  CHECK(night.value("SWA_cycle1") == deep.swa_first_cycle_uv2);
  CHECK(night.value("SW_density") == deep.slow_wave_density_per_min);
  CHECK(night.value("SW_amplitude") == deep.slow_wave_mean_ptp_uv);
  CHECK(night.value("clean_N2N3_min") == deep.clean_n2n3_min);
  CHECK(night.value("SWO20_min") == static_cast<double>(deep.n_epochs_occupancy_20pct) * 0.5);
  CHECK(std::isfinite(night.value("SWA_N2N3")));
  REQUIRE(night.spectrogram);
  CHECK(night.spectrogram->freq_hz.back() == 50.0);  // the working rate's Nyquist
  CHECK(night.spectrogram->power == deep.spectrogram.value_or(Spectrogram{}).power);
}

namespace {

// A night with `n3_min` minutes of N3 (30-s epochs): 10 W, 20 N2, N3, 10 REM, 5 W.
std::string night_with_n3(double n3_min) {
  return stage_csv(make_hypnogram({{Stage::W, 10}, {Stage::N2, 20}, {Stage::N3, static_cast<int>(std::lround(2 * n3_min))},
                                   {Stage::REM, 10}, {Stage::W, 5}}));
}

const nlohmann::json& measure(const nlohmann::json& j, const char* name) { return j["measures"][name]; }

}  // namespace

TEST_CASE("cohort, parallel groups: design from the columns, arms, statistics of the hand-made design") {
  psgkit_test::TempDir dir("cohort-parallel");
  // N3 minutes of tests/test_paired_stats.cpp "parallel-group design" (reference values from scipy and
  // statsmodels there): treated arm "ketamine", reference arm "Placebo" (found by name, any case).
  const std::vector<double> bx{52.0, 61.5, 47.0, 70.5, 58.0, 66.0}, ax{68.5, 72.0, 60.5, 79.0, 72.0, 69.0};
  const std::vector<double> by{55.0, 63.5, 49.0, 68.0, 60.5}, ay{57.5, 61.0, 55.5, 70.5, 59.0};
  std::string manifest = "subject,arm,session,path\n";
  auto add = [&](const std::string& id, const char* arm, double before, double after) {
    write_file_atomic(dir / (id + "b.csv"), night_with_n3(before));
    write_file_atomic(dir / (id + "a.csv"), night_with_n3(after));
    manifest += id + "," + arm + ",baseline," + id + "b.csv\n" + id + "," + arm + ",follow-up," + id + "a.csv\n";
  };
  for (size_t i = 0; i < bx.size(); ++i) add("k" + std::to_string(i), "ketamine", bx[i], ax[i]);
  for (size_t i = 0; i < by.size(); ++i) add("p" + std::to_string(i), "Placebo", by[i], ay[i]);
  write_file_atomic(dir / "m.csv", manifest);
  const auto entries = read_manifest(dir / "m.csv");
  CHECK(design_of(entries) == StudyDesign::parallel);
  const auto result = run_cohort(entries);
  CHECK(result.all_ok());
  CHECK(result.reference == "Placebo");
  CHECK(result.treated == "ketamine");
  CHECK(result.sessions == std::vector<std::string>{"baseline", "follow-up"});
  CHECK(result.groups.front() == "ketamine");
  REQUIRE_FALSE(result.parallel.empty());
  CHECK(result.parallel.front().name == "N3");
  const auto j = nlohmann::json::parse(cohort_json(result));
  CHECK(j["design"] == "parallel");
  CHECK(j["subjects"][0]["arm"] == "ketamine");
  const auto& n3 = measure(j, "N3");
  CHECK(n3["arms"]["ketamine"]["n"] == 6);
  CHECK(n3["arms"]["Placebo"]["mean_change"].get<double>() == doctest::Approx(1.5).epsilon(1e-12));
  const auto& between = n3["between"];
  // The values of the scipy/statsmodels script in test_paired_stats.cpp.
  CHECK(between["diff_change"].get<double>() == doctest::Approx(9.5).epsilon(1e-12));
  CHECK(between["welch_p"].get<double>() == doctest::Approx(0.0047154802801220525).epsilon(1e-9));
  CHECK(between["mannwhitney_p"].get<double>() == doctest::Approx(0.013497246674934248).epsilon(1e-9));
  CHECK(between["hedges_g"].get<double>() == doctest::Approx(2.0103522166489687).epsilon(1e-9));
  CHECK(between["ci95_low"].get<double>() == doctest::Approx(4.749583333333334).epsilon(1e-9));
  CHECK(between["ci95_high"].get<double>() == doctest::Approx(13.85).epsilon(1e-9));
  CHECK(between["ancova_effect"].get<double>() == doctest::Approx(9.48751318053167).epsilon(1e-9));
  CHECK(between["ancova_se"].get<double>() == doctest::Approx(1.9588031000544346).epsilon(1e-9));
  CHECK(between["ancova_p"].get<double>() == doctest::Approx(0.0012823655633086221).epsilon(1e-9));
  CHECK(between["ancova_ci95_low"].get<double>() == doctest::Approx(4.970505132089959).epsilon(1e-9));
  CHECK(between["ancova_ci95_high"].get<double>() == doctest::Approx(14.004521228973381).epsilon(1e-9));
  CHECK(between["p_holm"].get<double>() >= between["ancova_p"].get<double>());
  // Identical N2/REM in every night: zero variance gives null with a note, not a crash.
  CHECK(measure(j, "N2")["between"]["welch_p"].is_null());
  CHECK_FALSE(measure(j, "N2")["notes"].empty());
  const std::string text = cohort_text(result);
  CHECK(text.rfind("design: parallel\n", 0) == 0);
  CHECK(text.find("\nN3 ") < text.find("\nTST "));  // deep-sleep measures lead

  // --reference-arm picks the other arm; an unknown one is refused.
  CohortOptions options;
  options.reference_arm = "ketamine";
  const auto swapped = run_cohort(entries, options);
  CHECK(swapped.parallel.front().stats.welch.mean_diff == doctest::Approx(-9.5).epsilon(1e-12));
  options.reference_arm = "saline";
  CHECK_THROWS_WITH_AS(run_cohort(entries, options), doctest::Contains("'saline' is not one of the arms"), Error);
}

TEST_CASE("cohort, crossover: periods, sequences and the AB/BA analysis of the hand-made design") {
  psgkit_test::TempDir dir("cohort-crossover");
  // N3 minutes of tests/test_paired_stats.cpp "two-period crossover"; A = drug, B = control.
  const std::vector<double> ab1{80.0, 95.5, 62.0, 71.0, 88.0}, ab2{70.0, 90.0, 65.5, 60.0, 79.0};
  const std::vector<double> ba1{66.0, 75.0, 90.5, 58.0, 84.0, 77.0}, ba2{74.5, 79.0, 97.0, 61.0, 93.5, 76.0};
  std::string manifest = "subject,period,condition,path\n";
  auto add = [&](const std::string& id, bool ab, double p1, double p2) {
    write_file_atomic(dir / (id + "1.csv"), night_with_n3(p1));
    write_file_atomic(dir / (id + "2.csv"), night_with_n3(p2));
    // Rows in period 2, 1 order for half the subjects: the period column decides, not the row order.
    const std::string r1 = id + ",1," + (ab ? "drug" : "control") + "," + id + "1.csv\n";
    const std::string r2 = id + ",2," + (ab ? "control" : "drug") + "," + id + "2.csv\n";
    manifest += ab ? r1 + r2 : r2 + r1;
  };
  for (size_t i = 0; i < ab1.size(); ++i) add("a" + std::to_string(i), true, ab1[i], ab2[i]);
  for (size_t i = 0; i < ba1.size(); ++i) add("b" + std::to_string(i), false, ba1[i], ba2[i]);
  write_file_atomic(dir / "m.csv", manifest);
  const auto entries = read_manifest(dir / "m.csv");
  CHECK(design_of(entries) == StudyDesign::crossover);
  const auto result = run_cohort(entries);
  CHECK(result.all_ok());
  CHECK(result.reference == "control");
  CHECK(result.groups.front() == "AB");
  CHECK(result.groups.back() == "BA");
  const auto j = nlohmann::json::parse(cohort_json(result));
  CHECK(j["design"] == "crossover");
  CHECK(j["subjects"][5]["sequence"] == "BA");
  CHECK(j["subjects"][5]["nights"]["drug"]["period"] == "2");
  const auto& n3 = measure(j, "N3");
  CHECK(n3["n"] == 11);
  CHECK(n3["n_AB"] == 5);
  CHECK(n3["mean_drug"].get<double>() - n3["mean_control"].get<double>() ==
        doctest::Approx(5.681818181818182).epsilon(1e-12));
  CHECK(n3["mean_diff"].get<double>() == doctest::Approx(5.681818181818182).epsilon(1e-12));
  CHECK(n3["paired_ttest_p"].get<double>() == doctest::Approx(0.0024526003407309323).epsilon(1e-9));
  CHECK(n3["wilcoxon_p"].get<double>() == doctest::Approx(0.0068359375).epsilon(1e-12));
  CHECK(n3["hedges_g"].get<double>() == doctest::Approx(1.1178391911927048).epsilon(1e-9));
  CHECK(n3["ci95_low"].get<double>() == doctest::Approx(2.8636363636363638).epsilon(1e-9));
  CHECK(n3["ci95_high"].get<double>() == doctest::Approx(8.181818181818182).epsilon(1e-9));
  CHECK(n3["effect"].get<double>() == doctest::Approx(5.741666666666667).epsilon(1e-9));
  CHECK(n3["effect_se"].get<double>() == doctest::Approx(1.4812068611210585).epsilon(1e-9));
  CHECK(n3["effect_p"].get<double>() == doctest::Approx(0.0037522713766121414).epsilon(1e-9));
  CHECK(n3["effect_ci95_low"].get<double>() == doctest::Approx(2.3909439562805637).epsilon(1e-9));
  CHECK(n3["effect_ci95_high"].get<double>() == doctest::Approx(9.09238937705277).epsilon(1e-9));
  CHECK(n3["period_p"].get<double>() == doctest::Approx(0.667207344052746).epsilon(1e-9));
  CHECK(n3["carryover_p"].get<double>() == doctest::Approx(0.8425946650779663).epsilon(1e-9));
  CHECK(cohort_text(result).rfind("design: crossover\n", 0) == 0);
}

TEST_CASE("cohort, crossover with a baseline night per period: each period's change from its baseline") {
  // Reference values (Debian scipy 1.10.1):
//   <the imports, pooled and P of the script in tests/test_paired_stats.cpp>
//   ab1 = [80.0, 95.5, 62.0, 71.0, 88.0]; ab2 = [70.0, 90.0, 65.5, 60.0, 79.0]
//   ba1 = [66.0, 75.0, 90.5, 58.0, 84.0, 77.0]; ba2 = [74.5, 79.0, 97.0, 61.0, 93.5, 76.0]
//   # Baseline nights: period 1 = 20 + 2i, period 2 = 25 + 3.5i minutes of N3, subject i = 0..10 (AB first).
//   b1 = [20 + 2 * i for i in range(11)]; b2 = [25 + 3.5 * i for i in range(11)]
//   c_ab1 = np.subtract(ab1, b1[:5]); c_ab2 = np.subtract(ab2, b2[:5]); c_ba1 = np.subtract(ba1, b1[5:]); c_ba2 = np.subtract(ba2, b2[5:])
//   dab = (c_ab1 - c_ab2) / 2; dba = (c_ba1 - c_ba2) / 2
//   P(*pooled(dab, dba)); P(pooled(dab, -dba)[2], pooled(c_ab1 + c_ab2, c_ba1 + c_ba2)[2])
//   A = np.r_[c_ab1, c_ba2]; B = np.r_[c_ab2, c_ba1]; print(repr(st.ttest_rel(A, B).pvalue))
  //   -> 1.6166666666666671 1.8596262733525815 0.4072420731926619 -2.590100227619212 5.823433560952546
  //      7.274034414541588e-05 0.12033120195420009
  //      0.9196239661017283
  psgkit_test::TempDir dir("cohort-crossover-baseline");
  const std::vector<double> ab1{80.0, 95.5, 62.0, 71.0, 88.0}, ab2{70.0, 90.0, 65.5, 60.0, 79.0};
  const std::vector<double> ba1{66.0, 75.0, 90.5, 58.0, 84.0, 77.0}, ba2{74.5, 79.0, 97.0, 61.0, 93.5, 76.0};
  std::string manifest = "subject,period,session,condition,path\n";
  for (size_t i = 0; i < 11; ++i) {
    const bool ab = i < 5;
    const std::string id = "s" + std::to_string(i);
    const double p1 = ab ? ab1[i] : ba1[i - 5], p2 = ab ? ab2[i] : ba2[i - 5];
    const double base1 = 20 + 2.0 * static_cast<double>(i), base2 = 25 + 3.5 * static_cast<double>(i);
    for (const auto& [name, n3] : {std::pair<std::string, double>{"b1", base1}, {"t1", p1}, {"b2", base2}, {"t2", p2}})
      write_file_atomic(dir / (id + name + ".csv"), night_with_n3(n3));
    const std::string c1 = ab ? "drug" : "placebo", c2 = ab ? "placebo" : "drug";
    manifest += id + ",1,baseline," + c1 + "," + id + "b1.csv\n" + id + ",1,treatment," + c1 + "," + id + "t1.csv\n" +
                id + ",2,baseline," + c2 + "," + id + "b2.csv\n" + id + ",2,treatment," + c2 + "," + id + "t2.csv\n";
  }
  write_file_atomic(dir / "m.csv", manifest);
  const auto result = run_cohort(read_manifest(dir / "m.csv"));
  INFO(cohort_text(result));
  REQUIRE(result.all_ok());
  CHECK(result.crossover_baseline == "baseline");
  const auto j = nlohmann::json::parse(cohort_json(result));
  CHECK(j["response"] == "change from each period's baseline night");
  CHECK(j["subjects"][0]["nights"].contains("drug/treatment"));
  const auto& n3 = measure(j, "N3");
  CHECK(n3["n_AB"] == 5);
  CHECK(n3["effect"].get<double>() == doctest::Approx(1.6166666666666671).epsilon(1e-9));
  CHECK(n3["effect_se"].get<double>() == doctest::Approx(1.8596262733525815).epsilon(1e-9));
  CHECK(n3["effect_p"].get<double>() == doctest::Approx(0.4072420731926619).epsilon(1e-9));
  CHECK(n3["effect_ci95_low"].get<double>() == doctest::Approx(-2.590100227619212).epsilon(1e-9));
  CHECK(n3["period_p"].get<double>() == doctest::Approx(7.274034414541588e-05).epsilon(1e-9));
  CHECK(n3["carryover_p"].get<double>() == doctest::Approx(0.12033120195420009).epsilon(1e-9));
  CHECK(n3["paired_ttest_p"].get<double>() == doctest::Approx(0.9196239661017283).epsilon(1e-9));

  // Two conditions within one period are reported and the subject left out.
  write_file_atomic(dir / "bad.csv", manifest + "s11,1,baseline,drug,s0b1.csv\ns11,1,treatment,placebo,s0t1.csv\n"
                                                "s11,2,baseline,placebo,s0b2.csv\ns11,2,treatment,placebo,s0t2.csv\n");
  const auto bad = run_cohort(read_manifest(dir / "bad.csv"));
  REQUIRE_FALSE(bad.excluded.empty());
  CHECK(bad.excluded.front() == "s11: line 47 gives period 1 condition 'placebo', line 46 'drug'");
}

TEST_CASE("cohort bad input: each bad row leaves its subject out with the line; undecidable designs stop") {
  psgkit_test::TempDir dir("cohort-bad");
  for (const char* id : {"a", "b", "c", "d", "e", "f", "g", "h"}) {
    write_file_atomic(dir / (std::string(id) + "1.csv"), night_with_n3(20));
    write_file_atomic(dir / (std::string(id) + "2.csv"), night_with_n3(30));
  }
  auto excluded_text = [](const CohortResult& r) {
    std::string all;
    for (const auto& e : r.excluded) all += e + "\n";
    return all;
  };
  // Parallel: d in both arms (lines 8, 9), e in a third arm, f with a repeated row, g without baseline.
  write_file_atomic(dir / "p.csv",
                    "subject,session,arm,path\n"
                    "a,before,placebo,a1.csv\na,after,placebo,a2.csv\nb,before,placebo,b1.csv\nb,after,placebo,b2.csv\n"
                    "c,before,drug,c1.csv\nc,after,drug,c2.csv\nd,before,drug,d1.csv\nd,after,placebo,d2.csv\n"
                    "e,before,other,e1.csv\ne,after,other,e2.csv\nf,before,drug,f1.csv\nf,before,drug,f2.csv\n"
                    "f,after,drug,f2.csv\ng,after,drug,g2.csv\nh,before,drug,h1.csv\nh,after,drug,h2.csv\n");
  const auto p = run_cohort(read_manifest(dir / "p.csv"));
  const std::string pe = excluded_text(p);
  INFO(pe);
  CHECK(pe.find("d: line 9 puts it in arm 'placebo', line 8 in arm 'drug'") != std::string::npos);
  CHECK(pe.find("e: line 10: arm 'other' is not one of the two (drug, placebo)") != std::string::npos);
  CHECK(pe.find("f: line 13 repeats session before of line 12") != std::string::npos);
  CHECK(pe.find("g: no before session") != std::string::npos);
  CHECK_FALSE(p.all_ok());
  CHECK(p.parallel.front().stats.treated.n == 2);    // c, h
  CHECK(p.parallel.front().stats.reference.n == 2);  // a, b

  // Crossover: b with one period, c with the same condition twice, d with period 3.
  write_file_atomic(dir / "x.csv",
                    "subject,period,condition,path\n"
                    "a,1,placebo,a1.csv\na,2,temazepam,a2.csv\nb,1,placebo,b1.csv\n"
                    "c,1,placebo,c1.csv\nc,2,placebo,c2.csv\nd,1,temazepam,d1.csv\nd,3,placebo,d2.csv\n"
                    "e,1,temazepam,e1.csv\ne,2,placebo,e2.csv\n");
  const auto x = run_cohort(read_manifest(dir / "x.csv"));
  const std::string xe = excluded_text(x);
  INFO(xe);
  CHECK(xe.find("b: no period 2") != std::string::npos);
  CHECK(xe.find("c: lines 5 and 6: condition 'placebo' in both periods") != std::string::npos);
  CHECK(xe.find("d: line 8: period '3' is not 1 or 2") != std::string::npos);
  CHECK(x.crossover.front().stats.n_ab == 1);  // e
  CHECK(x.crossover.front().stats.n_ba == 1);  // a
  CHECK(std::isnan(x.crossover.front().stats.effect.p_value));  // one subject per sequence: NaN, noted
  CHECK_FALSE(x.crossover.front().stats.notes.empty());

  // Undecidable designs stop with a clear error.
  write_file_atomic(dir / "one_arm.csv", "subject,session,arm,path\na,before,drug,a1.csv\na,after,drug,a2.csv\n");
  CHECK_THROWS_WITH_AS(run_cohort(read_manifest(dir / "one_arm.csv")), doctest::Contains("this design needs two"), Error);
  write_file_atomic(dir / "no_ref.csv",
                    "subject,session,arm,path\na,before,x,a1.csv\na,after,x,a2.csv\nb,before,y,b1.csv\nb,after,y,b2.csv\n");
  CHECK_THROWS_WITH_AS(run_cohort(read_manifest(dir / "no_ref.csv")), doctest::Contains("--reference-arm"), Error);
  write_file_atomic(dir / "three.csv", "subject,session,arm,path\na,before,x,a1.csv\na,after,x,a2.csv\nb,before,y,b1.csv\n"
                                       "b,after,y,b2.csv\nc,before,z,c1.csv\nc,after,z,c2.csv\n");
  CHECK_THROWS_WITH_AS(run_cohort(read_manifest(dir / "three.csv")), doctest::Contains("cannot tell which two"), Error);
  write_file_atomic(dir / "both.csv", "subject,session,arm,period,condition,path\na,before,x,1,y,a1.csv\n");
  CHECK_THROWS_WITH_AS(read_manifest(dir / "both.csv"), doctest::Contains("not both"), Error);
  write_file_atomic(dir / "half.csv", "subject,period,path\na,1,a1.csv\n");
  CHECK_THROWS_WITH_AS(read_manifest(dir / "half.csv"), doctest::Contains("condition"), Error);
}

// Real expert hypnograms. Reference values from this script (Debian python3-scipy 1.10.1,
// python3-statsmodels 0.13.5), which counts the minutes from the CSV rows itself:
//   # Reference values for tests/test_compare.cpp (real expert hypnograms). Debian python3-scipy 1.10.1,
//   # python3-statsmodels 0.13.5. Minutes per night counted from the CSV rows (30 s each).
//   import csv, sys
//   <the imports, Xoshiro, resampled_mean, boot_two, boot_paired, hedges_two, pooled and P of the script in tests/test_paired_stats.cpp>
//   D = '/work/shared/data/'
//   def minutes(path):
//       rows = list(csv.DictReader(open(path)))
//       n3 = sum(float(r['duration_s']) for r in rows if r['stage'] == 'N3') / 60
//       tst = sum(float(r['duration_s']) for r in rows if r['stage'] in ('N1', 'N2', 'N3', 'REM')) / 60
//       mins = lambda stage: sum(float(r['duration_s']) for r in rows if r['stage'] == stage) / 60
//       return {'N3': n3, 'TST': tst, 'N2': mins('N2'), 'N1': mins('N1')}
//   # Parallel: Sleep-EDF SC subjects 0..7, night 1 = before, night 2 = after; even subject -> placebo.
//   for m in ('N3', 'TST'):
//       b = {k: [] for k in 'xy'}; a = {k: [] for k in 'xy'}
//       for s in range(8):
//           k = 'y' if s % 2 == 0 else 'x'
//           b[k].append(minutes(D + 'sleep-edf/SC40%d1E0.hypnogram.csv' % s)[m])
//           a[k].append(minutes(D + 'sleep-edf/SC40%d2E0.hypnogram.csv' % s)[m])
//       cx = np.subtract(a['x'], b['x']); cy = np.subtract(a['y'], b['y'])
//       print('parallel', m, 'changes drug', list(cx), 'placebo', list(cy))
//       w = st.ttest_ind(cx, cy, equal_var=False); u = st.mannwhitneyu(cx, cy)
//       X = np.column_stack([np.ones(8), [1] * 4 + [0] * 4, b['x'] + b['y']]); fit = sm.OLS(a['x'] + a['y'], X).fit()
//       P(cx.mean() - cy.mean(), w.pvalue, u.pvalue, hedges_two(cx, cy), *boot_two(list(cx), list(cy)))
//       P(fit.params[1], fit.bse[1], fit.pvalues[1], *fit.conf_int()[1])
//   # Crossover: Sleep-EDF telemetry, design.csv; period = the night digit of ST7ssN; A = temazepam.
//   design = list(csv.DictReader(open(D + 'sleep-edf-st/design.csv')))
//   for m in ('N3', 'TST', 'N2', 'N1'):
//       ab1, ab2, ba1, ba2 = [], [], [], []
//       for s in sorted({r['subject'] for r in design}, key=int):
//           nights = {int(r['night_file'][5]): r for r in design if r['subject'] == s}
//           v1 = minutes(D + 'sleep-edf-st/%s.hypnogram.csv' % nights[1]['night_file'])[m]
//           v2 = minutes(D + 'sleep-edf-st/%s.hypnogram.csv' % nights[2]['night_file'])[m]
//           if nights[1]['condition'] == 'temazepam': ab1.append(v1); ab2.append(v2)
//           else: ba1.append(v1); ba2.append(v2)
//       A = ab1 + ba2; B = ab2 + ba1; d = np.subtract(A, B)
//       print('crossover', m, len(ab1), len(ba1))
//       # psgkit uses the normal approximation whenever |d| has ties or zeros (notes/stats.md).
//       ties = len(set(np.abs(d))) < len(d) or (d == 0).any()
//       P(np.mean(A), np.mean(B), d.mean(), st.ttest_rel(A, B).pvalue,
//         st.wilcoxon(A, B, method='approx' if ties else 'auto').pvalue,
//         (1 - 3 / (4 * (len(d) - 1) - 1)) * d.mean() / d.std(ddof=1), *boot_paired(list(d)))
//       dab = np.subtract(ab1, ab2) / 2; dba = np.subtract(ba1, ba2) / 2
//       P(*pooled(dab, dba)); P(pooled(dab, -dba)[2], pooled(np.add(ab1, ab2), np.add(ba1, ba2))[2])
// Its output:
//   parallel N3 changes drug [-4.5, 37.0, -10.5, 30.0] placebo [38.5, 12.0, 20.5, -3.5]
//   -3.875 0.8035308871040204 0.6857142857142857 -0.16054083067195093 -29.5 20.875
//   -3.437914490286982 16.254440339685612 0.8408431101880107 -45.221283591820736 38.345454611246765
//   parallel TST changes drug [39.0, -18.5, 280.0, 7.0] placebo [145.5, -6.5, -10.0, 61.0]
//   29.375 0.7227292336882412 1.0 0.2320829088262068 -89.625 172.25
//   3.013104634689455 41.05791451565474 0.9443437751471561 -102.52962466853327 108.55583393791218
//   crossover N3 10 12
//   74.31818181818181 71.47727272727273 2.840909090909091 0.5989108256825411 0.9870477950577223 0.10974583296416664 -6.886363636363637 13.386363636363637
//   3.295833333333334 5.357920943824926 0.5454032477309045 -7.8805939088255315 14.4722605754922
//   0.36145657077667737 0.5859999361674523
//   crossover TST 10 12
//   442.15909090909093 427.5681818181818 14.590909090909092 0.09445881277715293 0.14397516385061387 0.3599175695146148 -1.0681818181818181 30.819318181818165
//   14.445833333333333 8.5644589709612 0.10719438396608823 -3.41931502569971 32.310981692366376
//   0.854061372264304 0.8513775410004233
//   crossover N2 10 12
//   235.4090909090909 215.75 19.65909090909091 0.016320562612712926 0.014868526872317156 0.5365310928638283 4.748863636363637 33.86363636363637
//   19.52916666666667 7.7409815919523055 0.020221848229989896 3.381762019896456 35.67657131343688
//   0.8553836508352748 0.601532992213835
//   crossover N1 10 12
//   36.56818181818182 46.45454545454545 -9.886363636363637 0.021710277182585364 0.03919705151433056 -0.5095570285142896 -17.613636363636363 -2.1136363636363638
//   -10.041666666666668 4.084605456603013 0.023199206732433843 -18.562004345643132 -1.521328987690202
//   0.680230420334859 0.7791906672325885
TEST_CASE("cohort, parallel groups on the Sleep-EDF nights: even subjects placebo, odd subjects drug") {
  if (!psgkit_test::have_shared_file("sleep-edf/SC4001E0.hypnogram.csv")) return;
  psgkit_test::TempDir dir("cohort-sc-parallel");
  // Fixed, documented assignment (README): subject s of SC40s1/SC40s2, night 1 = before, night 2 = after,
  // arm placebo for even s, drug for odd s.
  std::string manifest = "subject,arm,session,path\n";
  for (int s = 0; s < 8; ++s) {
    const auto night = [&](int n) {
      return (psgkit_test::shared_data() / "sleep-edf" / ("SC40" + std::to_string(s) + std::to_string(n) + "E0.hypnogram.csv")).string();
    };
    const std::string row = "SC40" + std::to_string(s) + "," + (s % 2 ? "drug" : "placebo");
    manifest += row + ",before," + night(1) + "\n" + row + ",after," + night(2) + "\n";
  }
  write_file_atomic(dir / "m.csv", manifest);
  CohortOptions options;
  options.jobs = 2;
  const auto result = run_cohort(read_manifest(dir / "m.csv"), options);
  REQUIRE(result.all_ok());
  const auto j = nlohmann::json::parse(cohort_json(result));
  struct Expected {
    const char* name;
    double diff, welch_p, mw_p, g, lo, hi, effect, se, p, ci_lo, ci_hi;
  };
  for (const Expected& e : {Expected{"N3", -3.875, 0.8035308871040204, 0.6857142857142857, -0.16054083067195093, -29.5,
                                     20.875, -3.437914490286982, 16.254440339685612, 0.8408431101880107,
                                     -45.221283591820736, 38.345454611246765},
                            Expected{"TST", 29.375, 0.7227292336882412, 1.0, 0.2320829088262068, -89.625, 172.25,
                                     3.013104634689455, 41.05791451565474, 0.9443437751471561, -102.52962466853327,
                                     108.55583393791218}}) {
    INFO(e.name);
    const auto& b = measure(j, e.name)["between"];
    CHECK(b["diff_change"].get<double>() == doctest::Approx(e.diff).epsilon(1e-9));
    CHECK(b["welch_p"].get<double>() == doctest::Approx(e.welch_p).epsilon(1e-9));
    CHECK(b["mannwhitney_p"].get<double>() == doctest::Approx(e.mw_p).epsilon(1e-9));
    CHECK(b["hedges_g"].get<double>() == doctest::Approx(e.g).epsilon(1e-9));
    CHECK(b["ci95_low"].get<double>() == doctest::Approx(e.lo).epsilon(1e-9));
    CHECK(b["ci95_high"].get<double>() == doctest::Approx(e.hi).epsilon(1e-9));
    CHECK(b["ancova_effect"].get<double>() == doctest::Approx(e.effect).epsilon(1e-9));
    CHECK(b["ancova_se"].get<double>() == doctest::Approx(e.se).epsilon(1e-9));
    CHECK(b["ancova_p"].get<double>() == doctest::Approx(e.p).epsilon(1e-9));
    CHECK(b["ancova_ci95_low"].get<double>() == doctest::Approx(e.ci_lo).epsilon(1e-9));
    CHECK(b["ancova_ci95_high"].get<double>() == doctest::Approx(e.ci_hi).epsilon(1e-9));
  }
  CHECK(measure(j, "N3")["arms"]["drug"]["n"] == 4);
}

TEST_CASE("cohort, crossover on the Sleep-EDF telemetry study: temazepam vs placebo (CLI)") {
  if (!psgkit_test::have_shared_file("sleep-edf-st/design.csv") || !psgkit_test::have_cli()) return;
  psgkit_test::TempDir dir("cohort-st");
  // design.csv: subject,night_file,condition,...; the period is the night digit of ST7ssN.
  const auto st = psgkit_test::shared_data() / "sleep-edf-st";
  const CsvTable design = read_csv(st / "design.csv");
  std::string manifest = "subject,period,condition,path\n";
  for (const auto& row : design.rows)
    manifest += row[0] + "," + row[1].substr(5, 1) + "," + row[2] + "," + (st / (row[1] + ".hypnogram.csv")).string() + "\n";
  write_file_atomic(dir / "m.csv", manifest);
  const auto run = psgkit_test::run_command(psgkit_test::cli_path() + " cohort " + (dir / "m.csv").string() +
                                            " --json -j 2 -o " + (dir / "r.json").string() + " --html " +
                                            (dir / "r.html").string() + " 2>&1");
  REQUIRE_MESSAGE(run.exit_code == 0, run.output);
  CHECK(run.output.find("design crossover") != std::string::npos);
  const auto j = nlohmann::json::parse(read_file(dir / "r.json"));
  CHECK(j["design"] == "crossover");
  CHECK(j["conditions"]["A"] == "temazepam");
  struct Expected {
    const char* name;
    double mean_a, mean_b, diff, t_p, w_p, g, lo, hi, effect, se, p, e_lo, e_hi, period_p, carry_p;
  };
  for (const Expected& e :
       {Expected{"N3", 74.31818181818181, 71.47727272727273, 2.840909090909091, 0.5989108256825411, 0.9870477950577223,
                 0.10974583296416664, -6.886363636363637, 13.386363636363637, 3.295833333333334, 5.357920943824926,
                 0.5454032477309045, -7.8805939088255315, 14.4722605754922, 0.36145657077667737, 0.5859999361674523},
        Expected{"TST", 442.15909090909093, 427.5681818181818, 14.590909090909092, 0.09445881277715293,
                 0.14397516385061387, 0.3599175695146148, -1.0681818181818181, 30.819318181818165, 14.445833333333333,
                 8.5644589709612, 0.10719438396608823, -3.41931502569971, 32.310981692366376, 0.854061372264304,
                 0.8513775410004233},
        Expected{"N2", 235.4090909090909, 215.75, 19.65909090909091, 0.016320562612712926, 0.014868526872317156,
                 0.5365310928638283, 4.748863636363637, 33.86363636363637, 19.52916666666667, 7.7409815919523055,
                 0.020221848229989896, 3.381762019896456, 35.67657131343688, 0.8553836508352748, 0.601532992213835},
        Expected{"N1", 36.56818181818182, 46.45454545454545, -9.886363636363637, 0.021710277182585364,
                 0.03919705151433056, -0.5095570285142896, -17.613636363636363, -2.1136363636363638,
                 -10.041666666666668, 4.084605456603013, 0.023199206732433843, -18.562004345643132, -1.521328987690202,
                 0.680230420334859, 0.7791906672325885}}) {
    INFO(e.name);
    const auto& m = measure(j, e.name);
    CHECK(m["n"] == 22);
    CHECK(m["n_AB"] == 10);
    CHECK(m["mean_temazepam"].get<double>() == doctest::Approx(e.mean_a).epsilon(1e-9));
    CHECK(m["mean_placebo"].get<double>() == doctest::Approx(e.mean_b).epsilon(1e-9));
    CHECK(m["mean_diff"].get<double>() == doctest::Approx(e.diff).epsilon(1e-9));
    CHECK(m["paired_ttest_p"].get<double>() == doctest::Approx(e.t_p).epsilon(1e-9));
    CHECK(m["wilcoxon_p"].get<double>() == doctest::Approx(e.w_p).epsilon(1e-9));
    CHECK(m["hedges_g"].get<double>() == doctest::Approx(e.g).epsilon(1e-9));
    CHECK(m["ci95_low"].get<double>() == doctest::Approx(e.lo).epsilon(1e-9));
    CHECK(m["ci95_high"].get<double>() == doctest::Approx(e.hi).epsilon(1e-9));
    CHECK(m["effect"].get<double>() == doctest::Approx(e.effect).epsilon(1e-9));
    CHECK(m["effect_se"].get<double>() == doctest::Approx(e.se).epsilon(1e-9));
    CHECK(m["effect_p"].get<double>() == doctest::Approx(e.p).epsilon(1e-9));
    CHECK(m["effect_ci95_low"].get<double>() == doctest::Approx(e.e_lo).epsilon(1e-9));
    CHECK(m["effect_ci95_high"].get<double>() == doctest::Approx(e.e_hi).epsilon(1e-9));
    CHECK(m["period_p"].get<double>() == doctest::Approx(e.period_p).epsilon(1e-9));
    CHECK(m["carryover_p"].get<double>() == doctest::Approx(e.carry_p).epsilon(1e-9));
  }
  const std::string html = read_file(dir / "r.html");
  CHECK(html.find("Forest plot") != std::string::npos);
}
