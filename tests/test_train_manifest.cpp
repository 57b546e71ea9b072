// psgkit train --manifest: training a staging model on simulated scored nights, continuing a shipped
// model, the model file's record, and every bad input of issue #15.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "psgkit/error.hpp"
#include "psgkit/evaluate.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/io.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/simulate.hpp"
#include "psgkit/staging.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using psgkit::Stage;

namespace {

// A night of ~100 min: sleep cycles whose bout lengths depend on the seed, so no two nights share a
// hypnogram.
psgkit::Hypnogram cycle_hypnogram(unsigned seed) {
  std::mt19937 gen(seed);
  auto len = [&](int lo, int hi) { return lo + static_cast<int>(gen() % static_cast<unsigned>(hi - lo + 1)); };
  psgkit::Hypnogram h;
  auto add = [&](Stage s, int n) { h.stages.insert(h.stages.end(), static_cast<size_t>(n), s); };
  add(Stage::W, len(8, 16));
  for (int cycle = 0; cycle < 2; ++cycle) {
    add(Stage::N1, len(4, 8));
    add(Stage::N2, len(15, 30));
    add(Stage::N3, len(12, 25));
    add(Stage::N2, len(6, 12));
    add(Stage::REM, len(10, 20));
    add(Stage::W, len(2, 5));
  }
  return h;
}

struct Cohort {
  psgkit_test::TempDir dir{"train-manifest"};
  // night file name -> expert hypnogram
  std::map<std::string, psgkit::Hypnogram> truth;

  // Writes nightN.edf (simulated from cycle_hypnogram(seed)) and nightN.csv; returns the hypnogram.
  const psgkit::Hypnogram& night(const std::string& name, unsigned seed, double fs_hz = 100) {
    const psgkit::Hypnogram h = cycle_hypnogram(seed);
    psgkit::SimulationOptions o;
    o.fs_hz = fs_hz;
    o.seed = seed;
    psgkit::write_simulated_night(dir / (name + ".edf"), h, o);
    psgkit::write_hypnogram_csv(dir / (name + ".csv"), h);
    return truth[name] = h;
  }
  fs::path manifest(const std::string& text, const std::string& name = "nights.csv") {
    psgkit::write_file_atomic(dir / name, text);
    return dir / name;
  }
};

psgkit::ManifestTrainOptions quick(int jobs = 1) {
  psgkit::ManifestTrainOptions o;
  o.rounds = 15;
  o.jobs = jobs;
  o.eeg = {"C4-M1"};
  return o;
}

// Pooled accuracy of a model file over held-out simulated nights.
double held_out_accuracy(const fs::path& model, Cohort& c, const std::vector<std::string>& names) {
  std::vector<Stage> truth, pred;
  for (const auto& name : names) {
    psgkit::RecordingStagingOptions o;
    o.model_file = model;
    o.eeg = {"C4-M1"};
    const auto staged = psgkit::stage_recording(psgkit::Recording::open(c.dir / (name + ".edf")), o);
    const auto& h = c.truth.at(name);
    REQUIRE(staged.epochs.stages.size() == h.size());
    truth.insert(truth.end(), h.stages.begin(), h.stages.end());
    pred.insert(pred.end(), staged.epochs.stages.begin(), staged.epochs.stages.end());
  }
  return psgkit::agreement_from_labels(truth, pred, 30.0).accuracy;
}


const char* const kSixNights =
    "subject,path,hypnogram\ns1,n1.edf,n1.csv\ns1,n2.edf,n2.csv\ns2,n3.edf,n3.csv\ns2,n4.edf,n4.csv\ns3,n5.edf,n5.csv\n"
    "s3,n6.edf,\n";

void six_nights(Cohort& c) {
  for (unsigned i = 1; i <= 6; ++i) c.night("n" + std::to_string(i), i);
}

}  // namespace

TEST_CASE("train --manifest: simulated nights, held-out accuracy, record and report") {
  Cohort c;
  six_nights(c);
  c.night("held1", 101);
  c.night("held2", 102, 128);  // another sampling rate than the training nights
  const fs::path manifest = c.manifest(kSixNights);
  const auto trained = psgkit::train_staging_model(manifest, quick(2));
  CHECK(trained.skipped.empty());
  psgkit::write_trained_staging_model(trained, c.dir / "my-model.ubj");
  REQUIRE(fs::exists(c.dir / "my-model.report.md"));
  REQUIRE(fs::exists(c.dir / "my-model.report.json"));

  const double acc = held_out_accuracy(c.dir / "my-model.ubj", c, {"held1", "held2"});
  MESSAGE("held-out accuracy " << acc);
  CHECK(acc >= 0.90);
  // Without --eeg, staging takes the label the model was trained on (C4-M1), not stage's first
  // preference (Fpz-Cz).
  psgkit::RecordingStagingOptions by_record;
  by_record.model_file = c.dir / "my-model.ubj";
  const auto staged = psgkit::stage_recording(psgkit::Recording::open(c.dir / "held1.edf"), by_record);
  CHECK(staged.eeg_channels == std::vector<std::string>{"C4-M1"});
  CHECK(staged.model_file == c.dir / "my-model.ubj");

  const json record = json::parse(trained.record_json);
  CHECK(record.at("n_nights") == 6);
  CHECK(record.at("n_subjects") == 3);
  // Labels per stage = the hypnograms' epochs (every epoch of a simulated night is scored); night 6
  // takes its labels from the EDF+'s own annotations.
  std::map<std::string, long> expected;
  for (unsigned i = 1; i <= 6; ++i)
    for (Stage s : c.truth.at("n" + std::to_string(i)).stages) ++expected[std::string(psgkit::to_string(s))];
  for (const char* s : {"W", "N1", "N2", "N3", "REM"}) CHECK(record.at("epochs_per_stage").at(s).get<long>() == expected[s]);
  CHECK(record.at("sampling_rates_hz") == json::array({100.0}));
  CHECK(record.at("channel_labels").at("eeg") == json::array({"C4-M1"}));
  CHECK(record.at("feature_layout").at("slots") == json::array({"eeg"}));
  CHECK(record.at("cv").at("done") == true);
  CHECK(record.at("cv").at("folds") == 3);
  CHECK(record.at("cv").at("hmm").at("accuracy").get<double>() > 0.8);
  // sha256 of kSixNights: python3 -c "import hashlib; print(hashlib.sha256(TEXT.encode()).hexdigest())"
  CHECK(record.at("manifest_sha256") == "a0dd0dc4a531b6668cbb521570afe3d70ee274525444ad2c69db94cdfa1267b5");
  // The model file carries the same record, printed by `psgkit info --model`.
  const json info = json::parse(psgkit::staging_model_info_json(c.dir / "my-model.ubj"));
  CHECK(info.at("record") == record);
  const json report = json::parse(trained.report_json);
  CHECK(report.at("cv").at("hmm").at("folds").size() == 3);
  CHECK(trained.report_markdown.find("| classifier + HMM |") != std::string::npos);

  // Deterministic: the same manifest and options give the same bytes, with 1 or 2 jobs.
  CHECK(psgkit::train_staging_model(manifest, quick(1)).model_ubj == trained.model_ubj);
}

TEST_CASE("train --from c continues the shipped model: a different model that loads and stages") {
  Cohort c;
  six_nights(c);
  c.night("held1", 101);
  const fs::path manifest = c.manifest(kSixNights);
  auto o = quick();
  const auto scratch = psgkit::train_staging_model(manifest, o);
  o.from = "c";
  const auto adapted = psgkit::train_staging_model(manifest, o);
  CHECK(adapted.model_ubj != scratch.model_ubj);
  CHECK(adapted.model_ubj.size() > scratch.model_ubj.size());  // the shipped trees plus the new ones
  psgkit::write_trained_staging_model(adapted, c.dir / "adapted.ubj");
  const auto model = psgkit::StagingModel::load(c.dir / "adapted.ubj");
  CHECK(model.channel_slots() == std::vector<std::string>{"eeg"});
  const double acc = held_out_accuracy(c.dir / "adapted.ubj", c, {"held1"});
  MESSAGE("held-out accuracy after --from c " << acc);
  CHECK(acc >= 0.90);
  const json record = json::parse(adapted.record_json);
  CHECK(record.at("from") == "shipped model c");
  // The report scores the starting model on the same folds: same held-out epochs, other predictions.
  const json report = json::parse(adapted.report_json);
  CHECK(report.at("cv").at("start_hmm").at("pooled").at("n_epochs") == report.at("cv").at("hmm").at("pooled").at("n_epochs"));
  CHECK(adapted.report_markdown.find("starting model (shipped model c)") != std::string::npos);
}

TEST_CASE("train --manifest: hypnogram shorter or longer than the recording uses the overlap") {
  Cohort c;
  six_nights(c);
  // n1's hypnogram without its first 10 epochs (starts at 300 s), n2's with 20 extra epochs at the end.
  psgkit::Hypnogram shorter = c.truth.at("n1");
  shorter.stages.erase(shorter.stages.begin(), shorter.stages.begin() + 10);
  shorter.start_s = 300;
  psgkit::write_hypnogram_csv(c.dir / "n1.csv", shorter);
  psgkit::Hypnogram longer = c.truth.at("n2");
  longer.stages.insert(longer.stages.end(), 20, Stage::W);
  psgkit::write_hypnogram_csv(c.dir / "n2.csv", longer);
  const auto trained = psgkit::train_staging_model(c.manifest(kSixNights), quick());
  const json report = json::parse(trained.report_json);
  const json& n1 = report.at("nights").at(0);
  CHECK(n1.at("overlap_epochs") == c.truth.at("n1").size() - 10);
  CHECK(n1.at("recording_epochs") == c.truth.at("n1").size());
  CHECK(n1.contains("note"));
  const json& n2 = report.at("nights").at(1);
  CHECK(n2.at("overlap_epochs") == c.truth.at("n2").size());
  CHECK(n2.at("hypnogram_epochs") == c.truth.at("n2").size() + 20);
  CHECK(trained.report_markdown.find("differ in length") != std::string::npos);

  // No overlap at all: an error naming both files.
  shorter.start_s = 1e6;
  psgkit::write_hypnogram_csv(c.dir / "n1.csv", shorter);
  const std::string what = psgkit_test::error_of([&] { psgkit::train_staging_model(c.dir / "nights.csv", quick()); });
  CHECK(what.find("n1.edf") != std::string::npos);
  CHECK(what.find("n1.csv") != std::string::npos);
  CHECK(what.find("no overlap") != std::string::npos);
}

TEST_CASE("train --manifest: missing channel is an error naming night and channel, or skipped with --skip-bad") {
  Cohort c;
  six_nights(c);
  const fs::path manifest = c.manifest(
      "subject,path,hypnogram,eeg\ns1,n1.edf,n1.csv,\ns1,n2.edf,n2.csv,\ns2,n3.edf,n3.csv,Cz-M1\ns2,n4.edf,n4.csv,\n"
      "s3,n5.edf,n5.csv,\ns3,n6.edf,n6.csv,\n");
  const std::string what = psgkit_test::error_of([&] { psgkit::train_staging_model(manifest, quick()); });
  CHECK(what.find("night 3") != std::string::npos);
  CHECK(what.find("n3.edf") != std::string::npos);
  CHECK(what.find("Cz-M1") != std::string::npos);
  auto o = quick();
  o.skip_bad = true;
  const auto trained = psgkit::train_staging_model(manifest, o);
  REQUIRE(trained.skipped.size() == 1);
  CHECK(trained.skipped[0].find("n3.edf") != std::string::npos);
  CHECK(json::parse(trained.record_json).at("n_nights") == 5);
  CHECK(trained.report_markdown.find("Nights left out") != std::string::npos);
}

TEST_CASE("train --manifest: no sleep, a single stage, unreadable files, one subject") {
  Cohort c;
  six_nights(c);
  auto expect_error = [&](const std::string& manifest_text, const std::string& needle) {
    const std::string what = psgkit_test::error_of([&] { psgkit::train_staging_model(c.manifest(manifest_text, "bad.csv"), quick()); });
    INFO(what);
    CHECK(what.find(needle) != std::string::npos);
  };
  psgkit::Hypnogram wake = c.truth.at("n1");
  std::fill(wake.stages.begin(), wake.stages.end(), Stage::W);
  psgkit::write_hypnogram_csv(c.dir / "wake.csv", wake);
  expect_error("subject,path,hypnogram\ns1,n1.edf,wake.csv\ns2,n2.edf,n2.csv\n", "no sleep epoch");
  psgkit::Hypnogram n2only = wake;
  std::fill(n2only.stages.begin(), n2only.stages.end(), Stage::N2);
  psgkit::write_hypnogram_csv(c.dir / "n2only.csv", n2only);
  expect_error("subject,path,hypnogram\ns1,n1.edf,n2only.csv\ns2,n2.edf,n2.csv\n", "only one stage");
  psgkit::write_file_atomic(c.dir / "garbage.edf", std::string(600, 'x'));
  expect_error("subject,path,hypnogram\ns1,garbage.edf,n1.csv\ns2,n2.edf,n2.csv\n", "garbage.edf");
  expect_error("subject,path,hypnogram\ns1,missing.edf,n1.csv\ns2,n2.edf,n2.csv\n", "missing.edf");
  expect_error("subject,path,hypnogram\ns1,n1.edf,missing.csv\n", "missing.csv");
  expect_error("subject,path\ns1,n1.edf\n", "hypnogram");
  expect_error("subject,path,hypnogram\n,n1.edf,n1.csv\n", "subject");

  // One subject: trains, no CV, said so.
  const auto one = psgkit::train_staging_model(c.manifest("subject,path,hypnogram\ns1,n1.edf,n1.csv\ns1,n2.edf,n2.csv\n", "one.csv"), quick());
  const json record = json::parse(one.record_json);
  CHECK(record.at("cv").at("done") == false);
  CHECK(record.at("cv").at("reason") == "fewer than two subjects");
  CHECK(one.report_markdown.find("No cross-validation") != std::string::npos);
}

TEST_CASE("train --manifest CLI: writes nothing when training fails; stage/info --model use the file") {
  const std::string cli = psgkit_test::cli_path();
  if (cli.empty()) return;
  Cohort c;
  six_nights(c);
  c.manifest(kSixNights);
  c.manifest("subject,path,hypnogram\ns1,n1.edf,n1.csv\ns2,nowhere.edf,n2.csv\n", "bad.csv");
  const std::string d = c.dir.path.string();
  auto bad = psgkit_test::run_command(cli + " train --manifest " + d + "/bad.csv -o " + d + "/bad.ubj --rounds 5 2>&1");
  CHECK(bad.exit_code != 0);
  CHECK(bad.output.find("nowhere.edf") != std::string::npos);
  // Progress, one line per night when stderr is not a terminal; the failed night counted.
  CHECK(bad.output.find("train: 2/2 s2 nowhere.edf failed: ") != std::string::npos);
  CHECK(bad.output.find("(1 failed, ") != std::string::npos);
  CHECK_FALSE(fs::exists(c.dir / "bad.ubj"));
  CHECK_FALSE(fs::exists(c.dir / "bad.report.md"));
  auto good = psgkit_test::run_command(cli + " train --manifest " + d + "/nights.csv -o " + d + "/m.ubj --eeg C4-M1 --rounds 10 --jobs 2 2>&1");
  INFO(good.output);
  REQUIRE(good.exit_code == 0);
  for (int k = 1; k <= 6; ++k) CHECK(good.output.find("train: " + std::to_string(k) + "/6 ") != std::string::npos);
  CHECK(good.output.find("6/6 ") < good.output.find("trained on 6 nights"));
  CHECK(fs::exists(c.dir / "m.report.json"));
  auto staged = psgkit_test::run_command(cli + " stage " + d + "/n1.edf --eeg C4-M1 --model " + d + "/m.ubj 2>/dev/null");
  CHECK(staged.exit_code == 0);
  CHECK(staged.output.rfind("epoch,onset_s,stage", 0) == 0);
  auto info = psgkit_test::run_command(cli + " info --model " + d + "/m.ubj");
  CHECK(info.exit_code == 0);
  CHECK(json::parse(info.output).at("record").at("n_nights") == 6);
}
