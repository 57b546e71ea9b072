#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "psgkit/compare.hpp"
#include "psgkit/error.hpp"
#include "psgkit/io.hpp"
#include "psgkit/night_record.hpp"
#include "psgkit/report.hpp"
#include "psgkit/simulate.hpp"
#include "support.hpp"

using namespace psgkit;

namespace {

// cohort_json without each night's path, the one field that names the input (EDF or record).
nlohmann::json without_paths(const std::string& cohort) {
  auto j = nlohmann::json::parse(cohort);
  for (auto& s : j["subjects"])
    for (auto& [session, night] : s["nights"].items()) night.erase("path");
  return j;
}

}  // namespace

TEST_CASE("digest_file: size and SHA-256 of known inputs") {
  psgkit_test::TempDir dir("digest");
  write_file_atomic(dir / "abc", "abc");
  // FIPS 180-2 appendix B.1.
  const auto d = digest_file(dir / "abc");
  CHECK(d.size_bytes == 3);
  CHECK(d.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // More than one 1-MiB read: python3 -c "import hashlib; print(hashlib.sha256(b'x' * 3000000).hexdigest())"
  write_file_atomic(dir / "x", std::string(3000000, 'x'));
  CHECK(digest_file(dir / "x").sha256 == "e55b8bdf621ddaa8f462c74745db9680d3bb7536a9cf854f8d6668b34a287890");
  CHECK_THROWS_AS(digest_file(dir / "missing"), Error);
}

TEST_CASE("per-night records round-trip through cohort: records, EDFs and hypnograms mixed") {
  psgkit_test::TempDir dir("record");
  const auto demo = psgkit_test::source_dir() / "data/demo";
  SimulationOptions options;
  options.fs_hz = 100;
  options.duration_s = 2 * 3600;
  std::string edfs = "subject,session,path\n", mixed = edfs;
  for (int s = 1; s <= 2; ++s)
    for (const char* session : {"before", "after"}) {
      options.seed = static_cast<uint64_t>(s);
      options.swa_gain = std::string(session) == "after" ? 1.4 : 1.0;
      const std::string name = "s" + std::to_string(s) + "-" + session;
      write_simulated_night(dir / (name + ".edf"), read_hypnogram(demo / (std::string(session) + ".csv")), options);
      edfs += "s" + std::to_string(s) + "," + session + "," + name + ".edf\n";
      const NightAnalysis night = analyse_night({dir / (name + ".edf"), std::nullopt});
      write_file_atomic(dir / (name + ".json"), night_record_json(night, digest_file(dir / (name + ".edf"))));
      // s1 from records, s2 before from its EDF, s2 after from its record.
      mixed += "s" + std::to_string(s) + "," + session + "," + name + (s == 2 && session[0] == 'b' ? ".edf" : ".json") + "\n";
    }
  // A third subject from hypnogram files only (no signal measures), in both manifests.
  edfs += "s3,before," + (demo / "before.csv").string() + "\ns3,after," + (demo / "after.csv").string() + "\n";
  mixed += "s3,before," + (demo / "before.csv").string() + "\ns3,after," + (demo / "after.csv").string() + "\n";
  write_file_atomic(dir / "edfs.csv", edfs);
  write_file_atomic(dir / "mixed.csv", mixed);
  CohortOptions cohort_options;
  cohort_options.jobs = 2;
  const CohortResult from_edfs = run_cohort(read_manifest(dir / "edfs.csv"), cohort_options);
  const CohortResult from_records = run_cohort(read_manifest(dir / "mixed.csv"), cohort_options);
  REQUIRE(from_edfs.all_ok());
  REQUIRE(from_records.all_ok());
  // Equal to the last bit: numbers are written in their shortest round-trip form.
  CHECK(without_paths(cohort_json(from_records)) == without_paths(cohort_json(from_edfs)));
  REQUIRE(from_records.comparisons.size() == 1);
  CHECK(from_records.comparisons[0].measures.front().name == "N3");

  // What a record holds besides the measures.
  const NightAnalysis back = read_night_record(dir / "s1-before.json");
  const NightAnalysis direct = analyse_night({dir / "s1-before.edf", std::nullopt});
  CHECK(back.staged_automatically);
  CHECK(back.model == direct.model);
  CHECK(back.staging_channels == direct.staging_channels);
  CHECK(back.swa_channel == "C4-M1");
  CHECK(back.hypnogram.stages == direct.hypnogram.stages);
  CHECK(back.hypnogram.probabilities == direct.hypnogram.probabilities);
  CHECK(back.statistics.at("TST") == direct.statistics.at("TST"));
  CHECK(back.warnings.empty());
  const auto j = nlohmann::json::parse(read_file(dir / "s1-before.json"));
  CHECK(j["input"]["sha256"] == digest_file(dir / "s1-before.edf").sha256);
  CHECK(j["input"]["size_bytes"] == std::filesystem::file_size(dir / "s1-before.edf"));
  CHECK(j["record"]["psgkit_version"] == std::string(psgkit_version()));
  for (const auto& m : j["measures"]) CHECK(m.contains("unit"));
  // The keys `stats --json` always wrote come first.
  CHECK(nlohmann::ordered_json::parse(read_file(dir / "s1-before.json")).begin().key() == "TIB");

  // Another psgkit version with the same measure definitions: read, with a warning.
  auto other = j;
  other["record"]["psgkit_version"] = "0.0.9";
  write_file_atomic(dir / "other.json", other.dump());
  const NightAnalysis old = read_night_record(dir / "other.json");
  REQUIRE(old.warnings.size() == 1);
  CHECK(old.warnings[0].find("0.0.9") != std::string::npos);
  CHECK(old.value("SWA_N2N3") == direct.value("SWA_N2N3"));
  // Other measure definitions: refused, naming the field.
  other["record"]["measure_definitions"] = kMeasureDefinitionsVersion + 1;
  write_file_atomic(dir / "incompatible.json", other.dump());
  try {
    read_night_record(dir / "incompatible.json");
    FAIL("an incompatible record was read");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("measure_definitions") != std::string::npos);
  }
  // In a cohort, the incompatible night fails (reported, not fatal) and the other version warns.
  write_file_atomic(dir / "versions.csv", "subject,session,path\na,before,other.json\na,after,s1-after.json\n"
                                          "b,before,incompatible.json\nb,after,s1-after.json\n");
  const CohortResult versions = run_cohort(read_manifest(dir / "versions.csv"));
  CHECK(versions.nights[0].analysis->warnings.size() == 1);
  CHECK_FALSE(versions.nights[2].analysis);
  CHECK(versions.nights[2].error.find("measure_definitions") != std::string::npos);
  CHECK(cohort_json(versions).find("\"warnings\"") != std::string::npos);
  // A record with an expert hypnogram as well, and JSON that is not a record, are refused.
  CHECK_THROWS_AS(analyse_night({dir / "s1-before.json", demo / "before.csv"}), Error);
  write_file_atomic(dir / "not-a-record.json", "{\"TIB\": 1}");
  CHECK_THROWS_AS(read_night_record(dir / "not-a-record.json"), Error);
}

TEST_CASE("psgkit stats --json -o writes the record that cohort reads") {
  if (psgkit_test::cli_path().empty()) return;
  psgkit_test::TempDir dir("record-cli");
  const auto demo = psgkit_test::source_dir() / "data/demo";
  const auto r = psgkit_test::run_command(psgkit_test::cli_path() + " stats --json " + (demo / "before.csv").string() +
                                          " -o " + (dir / "night.json").string());
  REQUIRE(r.exit_code == 0);
  const NightAnalysis back = read_night_record(dir / "night.json");
  const NightAnalysis direct = analyse_night({demo / "before.csv", std::nullopt});
  CHECK(back.hypnogram.stages == direct.hypnogram.stages);
  REQUIRE(back.measures.size() == direct.measures.size());
  for (size_t i = 0; i < back.measures.size(); ++i) {
    CHECK(back.measures[i].name == direct.measures[i].name);
    CHECK(back.measures[i].unit == direct.measures[i].unit);
    CHECK((back.measures[i].value == direct.measures[i].value ||
           (std::isnan(back.measures[i].value) && std::isnan(direct.measures[i].value))));
  }
}

TEST_CASE("cohort progress: one line per night on stderr when it is not a terminal") {
  if (psgkit_test::cli_path().empty()) return;
  psgkit_test::TempDir dir("progress");
  const auto demo = psgkit_test::source_dir() / "data/demo";
  write_file_atomic(dir / "m.csv", "subject,session,path\na,before," + (demo / "before.csv").string() + "\na,after," +
                                       (demo / "after.csv").string() + "\nb,before," + (demo / "before.csv").string() +
                                       "\nb,after,missing.csv\n");
  const auto r = psgkit_test::run_command(psgkit_test::cli_path() + " cohort " + (dir / "m.csv").string() +
                                          " --jobs 2 -o " + (dir / "out.txt").string() + " 2>&1");
  CHECK(r.exit_code == 3);
  size_t lines = 0;
  for (size_t at = r.output.find("cohort: "); at != std::string::npos; at = r.output.find("cohort: ", at + 1))
    lines += r.output.compare(at, 10, "cohort: 1/") == 0 || r.output.compare(at, 10, "cohort: 2/") == 0 ||
             r.output.compare(at, 10, "cohort: 3/") == 0 || r.output.compare(at, 10, "cohort: 4/") == 0;
  CHECK(lines == 4);
  CHECK(r.output.find("cohort: 4/4 ") != std::string::npos);
  CHECK(r.output.find("b after failed: ") != std::string::npos);
  CHECK(r.output.find("(1 failed, ") != std::string::npos);
  CHECK(r.output.find('\r') == std::string::npos);
}
