// Recording and write_edf: round trips, unit normalisation, bad input, threads, `psgkit info --json`.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numbers>
#include <string>
#include <thread>
#include <vector>

#include "psgkit/error.hpp"
#include "psgkit/recording.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using psgkit::Annotation;
using psgkit::Recording;
using psgkit::ReaderChoice;
using psgkit::SignalToWrite;

namespace {

std::vector<float> sine(double fs_hz, double duration_s, double freq_hz, double amplitude, double phase = 0) {
  std::vector<float> x(static_cast<size_t>(std::llround(fs_hz * duration_s)));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(amplitude * std::sin(2 * std::numbers::pi * freq_hz * static_cast<double>(i) / fs_hz + phase));
  return x;
}

SignalToWrite signal(std::string label, std::string unit, double fs_hz, std::vector<float> samples) {
  SignalToWrite s;
  s.label = std::move(label);
  s.unit = std::move(unit);
  s.fs_hz = fs_hz;
  s.samples = std::move(samples);
  s.transducer = "AgAgCl electrode";
  s.prefilter = "HP:0.3Hz LP:35Hz";
  return s;
}

// One quantisation step of a 16-bit signal written with the data range as physical range.
double step(const psgkit::SignalInfo& s) {
  return (s.physical_max - s.physical_min) / (s.digital_max - s.digital_min) * s.unit_scale;
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// 20 s at rates that give 100, 7 and 256 samples per record: whole vectors, a remainder, one short run.
fs::path write_three_rates(const psgkit_test::TempDir& dir) {
  const fs::path path = dir / "mixed.edf";
  psgkit::write_edf(path, {signal("EEG C3-M2", "uV", 100, sine(100, 20, 10, 50)),
                           signal("Pleth", "mV", 7, sine(7, 20, 1, 3)),
                           signal("EEG O2-M1", "uV", 256, sine(256, 20, 12, 80, 1.0))},
                    {}, {});
  return path;
}


}  // namespace

TEST_CASE("write_edf -> Recording::open round trip keeps labels, rates, samples and annotations") {
  psgkit_test::TempDir dir("recording");
  const fs::path path = dir / "night.edf";
  const std::vector<SignalToWrite> signals = {
      signal("EEG Fpz-Cz", "uV", 100, sine(100, 60, 10, 50)),
      signal("EMG chin", "uV", 200, sine(200, 60, 33, 20, 0.3)),
      signal("Resp", "mV", 25, sine(25, 60, 0.25, 2)),
  };
  const std::vector<Annotation> annotations = {
      {0, 30, "Sleep stage W"},
      {30, 30, "Sleep stage N1"},
      {12.3456, -1, "Éveil ä µ"},  // UTF-8, no duration
  };
  psgkit::WriteOptions options;
  options.start = {2021, 5, 6, 22, 30, 15, 0.25};
  options.record_duration_s = 1.0;
  psgkit::write_edf(path, signals, annotations, options);

  const Recording rec = Recording::open(path);
  CHECK(rec.opened_by_edflib());
  CHECK(rec.warnings().empty());
  CHECK(rec.file_type() == psgkit::FileType::EDFPlusC);
  CHECK(rec.start().iso8601() == "2021-05-06T22:30:15.25");
  CHECK(rec.n_records() == 60);
  CHECK(rec.duration_s() == 60.0);
  REQUIRE(rec.signals().size() == 3);
  for (size_t i = 0; i < signals.size(); ++i) {
    const psgkit::SignalInfo& info = rec.signals()[i];
    CAPTURE(i);
    CHECK(info.label == signals[i].label);
    CHECK(info.fs_hz == signals[i].fs_hz);
    CHECK(info.transducer == signals[i].transducer);
    CHECK(info.prefilter == signals[i].prefilter);
    CHECK(info.file_unit == signals[i].unit);
    CHECK(info.unit == "uV");
    const std::vector<float> back = rec.read(static_cast<int>(i));
    REQUIRE(back.size() == signals[i].samples.size());
    const double scale = info.unit_scale;
    double worst = 0;
    for (size_t j = 0; j < back.size(); ++j) worst = std::max(worst, std::abs(back[j] - signals[i].samples[j] * scale));
    CHECK(worst <= step(info) * (1 + 1e-6));
    CHECK(worst > 0);  // quantised, not a copy
  }
  // mV input comes back in µV: 2 mV amplitude = 2000 µV.
  const std::vector<double> resp = rec.read_double(2);
  CHECK(*std::max_element(resp.begin(), resp.end()) == doctest::Approx(2000).epsilon(1e-3));
  CHECK(rec.signals()[2].unit_scale == 1e3);

  REQUIRE(rec.annotations().size() == 3);
  CHECK(rec.annotations()[0].text == "Sleep stage W");
  CHECK(rec.annotations()[0].duration_s == 30.0);
  CHECK(rec.annotations()[1].onset_s == 30.0);
  CHECK(rec.annotations()[1].duration_s == 30.0);
  CHECK(rec.annotations()[2].text == "Éveil ä µ");
  CHECK(rec.annotations()[2].onset_s == doctest::Approx(12.3456).epsilon(1e-9));
  CHECK(rec.annotations()[2].duration_s == -1.0);

  // The tolerant parser reads EDFlib's output the same way.
  const Recording own = Recording::open(path, ReaderChoice::TolerantOnly);
  CHECK(own.warnings().empty());
  CHECK(own.start().subsecond_s == 0.25);
  REQUIRE(own.annotations().size() == 3);
  for (size_t k = 0; k < 3; ++k) {
    CHECK(own.annotations()[k].text == rec.annotations()[k].text);
    CHECK(own.annotations()[k].onset_s == doctest::Approx(rec.annotations()[k].onset_s).epsilon(1e-12));
    CHECK(own.annotations()[k].duration_s == rec.annotations()[k].duration_s);
  }
  for (int i = 0; i < 3; ++i) CHECK(own.read_double(i) == rec.read_double(i));
}

TEST_CASE("reading several signals in one pass gives each signal's own read, in the order asked") {
  psgkit_test::TempDir dir("recording-many");
  const fs::path path = write_three_rates(dir);
  const Recording rec = Recording::open(path);
  const std::vector<int> order = {2, 0, 1, 2};
  const std::vector<std::vector<float>> together = rec.read(order);
  REQUIRE(together.size() == order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    CAPTURE(i);
    CHECK(together[i] == rec.read(order[i]));
    CHECK(together[i].size() == static_cast<size_t>(rec.signals()[static_cast<size_t>(order[i])].n_samples));
  }
  CHECK(rec.read(std::vector<int>{}).empty());
  // Reused vectors keep their contents right when the sizes change.
  std::vector<std::vector<float>> reused = {std::vector<float>(5, 1.0f)};
  rec.read(std::vector<int>{1, 2}, reused);
  CHECK(reused == std::vector<std::vector<float>>{rec.read(1), rec.read(2)});
  const std::string error = psgkit_test::error_of([&] { rec.read(std::vector<int>{0, 7}); });
  CHECK(error.find(path.string()) != std::string::npos);
}

TEST_CASE("reading a range of samples gives that slice of the whole read, across record boundaries") {
  psgkit_test::TempDir dir("recording-range");
  const fs::path path = write_three_rates(dir);
  const Recording rec = Recording::open(path);
  for (int signal_index = 0; signal_index < 3; ++signal_index) {
    const std::vector<float> all = rec.read(signal_index);
    const std::vector<double> all_double = rec.read_double(signal_index);
    const int64_t n = static_cast<int64_t>(all.size());
    const int64_t spr = rec.signals()[static_cast<size_t>(signal_index)].samples_per_record;
    // Inside one record, across one and several boundaries, whole records, the very end, empty.
    const std::pair<int64_t, int64_t> ranges[] = {{1, 2}, {spr - 1, 2}, {spr - 3, 2 * spr + 5}, {spr, 3 * spr},
                                                  {n - spr - 1, spr + 1}, {0, n}, {n, 0}, {5, 0}};
    for (const auto& [first, count] : ranges) {
      CAPTURE(signal_index);
      CAPTURE(first);
      CAPTURE(count);
      std::vector<float> part(static_cast<size_t>(count), -1.0f);
      rec.read(signal_index, first, part);
      CHECK(part == std::vector<float>(all.begin() + first, all.begin() + first + count));
      std::vector<double> part_double(static_cast<size_t>(count), -1.0);
      rec.read_double(signal_index, first, part_double);
      CHECK(part_double == std::vector<double>(all_double.begin() + first, all_double.begin() + first + count));
    }
    std::vector<float> beyond(2);
    const std::string error = psgkit_test::error_of([&] { rec.read(signal_index, n - 1, beyond); });
    CHECK(error.find(path.string()) != std::string::npos);
    CHECK(error.find("outside") != std::string::npos);
    CHECK_THROWS_AS(rec.read(signal_index, -1, std::span<float>(beyond).first(1)), psgkit::Error);
  }
  std::vector<float> one(1);
  CHECK_THROWS_AS(rec.read(3, 0, one), psgkit::Error);
}

TEST_CASE("a range of several signals in one pass gives each signal's range read, into caller memory") {
  psgkit_test::TempDir dir("recording-range-many");
  const fs::path path = write_three_rates(dir);
  const Recording rec = Recording::open(path);
  const std::vector<int> order = {2, 0, 1};
  // The same sample range of signals of different rates, as Python's Recording.data() rows use it.
  const int64_t first = 7, count = 40;
  std::vector<float> memory(order.size() * static_cast<size_t>(count), -1.0f);
  std::vector<std::span<float>> rows;
  for (size_t i = 0; i < order.size(); ++i) rows.emplace_back(memory.data() + i * count, static_cast<size_t>(count));
  rec.read(order, first, rows);
  for (size_t i = 0; i < order.size(); ++i) {
    CAPTURE(i);
    std::vector<float> alone(static_cast<size_t>(count));
    rec.read(order[i], first, alone);
    CHECK(std::vector<float>(rows[i].begin(), rows[i].end()) == alone);
  }
  std::vector<float> beyond(static_cast<size_t>(rec.signals()[0].n_samples));
  const std::vector<std::span<float>> too_long = {std::span<float>(beyond), std::span<float>(beyond)};
  CHECK_THROWS_AS(rec.read(std::vector<int>{0, 1}, 1, too_long), psgkit::Error);
  CHECK_THROWS_AS(rec.read(std::vector<int>{0}, 0, too_long), psgkit::Error);
  // A first sample per signal (the same seconds at different rates), in float and double.
  const std::vector<int64_t> firsts = {3, 150, 29};
  std::vector<double> memory_double(memory.size(), -1.0);
  std::vector<std::span<double>> rows_double;
  for (size_t i = 0; i < order.size(); ++i) rows_double.emplace_back(memory_double.data() + i * count, static_cast<size_t>(count));
  rec.read(order, firsts, rows);
  rec.read_double(order, firsts, rows_double);
  for (size_t i = 0; i < order.size(); ++i) {
    CAPTURE(i);
    std::vector<float> alone(static_cast<size_t>(count));
    std::vector<double> alone_double(static_cast<size_t>(count));
    rec.read(order[i], firsts[i], alone);
    rec.read_double(order[i], firsts[i], alone_double);
    CHECK(std::vector<float>(rows[i].begin(), rows[i].end()) == alone);
    CHECK(std::vector<double>(rows_double[i].begin(), rows_double[i].end()) == alone_double);
  }
  CHECK_THROWS_AS(rec.read(order, std::vector<int64_t>{3, 150}, rows), psgkit::Error);
  CHECK_THROWS_AS(rec.read_double(order, std::vector<int64_t>{3, 150, 1 << 30}, rows_double), psgkit::Error);
}

TEST_CASE("digital values outside the header's digital range are clipped first, as EDFlib does") {
  psgkit_test::TempDir dir("recording-clip");
  const fs::path path = dir.path / "clip.edf";
  psgkit::write_edf(path, {signal("EEG Fpz-Cz", "uV", 100, sine(100, 10, 3, 100))}, {}, {});
  // Narrow signal 0's digital range to [-2048, 2047] (EDF+: signal 0 and the annotation signal, ns = 2).
  std::string bytes = read_bytes(path);
  const size_t ns = 2, digital_min_at = 256 + ns * 120, digital_max_at = 256 + ns * 128;
  bytes.replace(digital_min_at, 8, "-2048   ");
  bytes.replace(digital_max_at, 8, "2047    ");
  write_bytes(path, bytes);
  const Recording rec = Recording::open(path);
  const psgkit::SignalInfo& s = rec.signals()[0];
  REQUIRE(s.digital_min == -2048);
  REQUIRE(s.digital_max == 2047);
  const std::vector<int32_t> digital = rec.read_digital(0);
  const std::vector<double> values = rec.read_double(0);
  const std::vector<float> floats = rec.read(0);
  REQUIRE(values.size() == digital.size());
  const double bitvalue = (s.physical_max - s.physical_min) / (s.digital_max - s.digital_min);
  const double offset = s.physical_max / bitvalue - s.digital_max;
  size_t clipped = 0;
  for (size_t i = 0; i < digital.size(); ++i) {
    CAPTURE(i);
    clipped += digital[i] < s.digital_min || digital[i] > s.digital_max;
    const double expected = bitvalue * (offset + std::clamp(digital[i], s.digital_min, s.digital_max));
    CHECK(values[i] == expected);
    CHECK(floats[i] == static_cast<float>(expected));
  }
  CHECK(clipped > digital.size() / 2);  // the sine spans all of int16: most samples are outside
}

TEST_CASE("unit normalisation: V and mV signals are returned in µV, other units untouched") {
  psgkit_test::TempDir dir("units");
  const fs::path path = dir / "units.edf";
  psgkit::write_edf(path,
                    {signal("EEG V", "V", 10, std::vector<float>(100, 50e-6f)),
                     signal("EEG mV", "mV", 10, std::vector<float>(100, 0.05f)),
                     signal("SpO2", "%", 10, std::vector<float>(100, 97.0f))},
                    {});
  const Recording rec = Recording::open(path);
  CHECK(rec.signals()[0].unit == "uV");
  CHECK(rec.signals()[0].unit_scale == 1e6);
  CHECK(rec.signals()[1].unit_scale == 1e3);
  CHECK(rec.signals()[2].unit == "%");
  CHECK(rec.signals()[2].unit_scale == 1.0);
  // Constant signals: physical range is [0, 2 * value] (rounded outward), so one step is tiny.
  CHECK(rec.read(0)[5] == doctest::Approx(50.0).epsilon(1e-3));
  CHECK(rec.read(1)[5] == doctest::Approx(50.0).epsilon(1e-3));
  CHECK(rec.read(2)[5] == doctest::Approx(97.0).epsilon(1e-4));
}

TEST_CASE("annotation-only EDF+ file: empty signal list") {
  psgkit_test::TempDir dir("annot");
  const fs::path path = dir / "hypnogram.edf";
  std::vector<Annotation> stages;
  const char* names[] = {"Sleep stage W", "Sleep stage N1", "Sleep stage N2", "Sleep stage N3", "Sleep stage R"};
  for (int k = 0; k < 200; ++k) stages.push_back({k * 150.0, 150.0, names[k % 5]});
  stages.push_back({30000, 90, "A very long annotation text that EDFlib's writer would cut at forty bytes"});
  psgkit::WriteOptions options;
  options.start = {2020, 1, 2, 23, 0, 0, 0.5};
  psgkit::write_edf(path, {}, stages, options);

  const Recording rec = Recording::open(path);
  CHECK(rec.opened_by_edflib());
  CHECK(rec.signals().empty());
  CHECK(rec.duration_s() >= 30090.0);
  CHECK(rec.start().subsecond_s == 0.5);
  REQUIRE(rec.annotations().size() == stages.size());
  for (size_t k = 0; k < stages.size(); ++k) {
    CHECK(rec.annotations()[k].onset_s == doctest::Approx(stages[k].onset_s).epsilon(1e-12));
    CHECK(rec.annotations()[k].duration_s == stages[k].duration_s);
    CHECK(rec.annotations()[k].text == stages[k].text);
  }
  const Recording own = Recording::open(path, ReaderChoice::TolerantOnly);
  CHECK(own.warnings().empty());
  CHECK(own.annotations().size() == stages.size());
  CHECK(own.duration_s() == rec.duration_s());

  // No annotations at all: still a valid 1-s file.
  psgkit::write_edf(dir / "empty.edf", {}, {});
  const Recording empty = Recording::open(dir / "empty.edf");
  CHECK(empty.annotations().empty());
  CHECK(empty.duration_s() == 1.0);
}

TEST_CASE("write_edf refuses what it cannot store faithfully") {
  psgkit_test::TempDir dir("write-errors");
  const fs::path path = dir / "x.edf";
  CHECK(psgkit_test::error_of([&] { psgkit::write_edf(path, {signal("A", "uV", 100.5, sine(100.5, 10, 1, 1))}, {}); })
            .find("not a whole number") != std::string::npos);
  CHECK(psgkit_test::error_of([&] {
          psgkit::write_edf(path, {signal("A", "uV", 100, sine(100, 10, 1, 1)), signal("B", "uV", 100, sine(100, 12, 1, 1))}, {});
        }).find("covers") != std::string::npos);
  CHECK(psgkit_test::error_of([&] {
          psgkit::write_edf(path, {signal("A", "uV", 100, sine(100, 10, 1, 1))},
                            {{1, -1, "0123456789012345678901234567890123456789 and more"}});
        }).find("at most 40") != std::string::npos);
  CHECK(psgkit_test::error_of([&] { psgkit::write_edf(path, {signal("A label longer than 16", "uV", 100, sine(100, 1, 1, 1))}, {}); })
            .find("label") != std::string::npos);
  CHECK_FALSE(fs::exists(path));  // nothing half-written
}

TEST_CASE("bad input gives psgkit::Error naming the file and the field") {
  psgkit_test::TempDir dir("bad");
  const fs::path missing = dir / "missing.edf";
  std::string message = psgkit_test::error_of([&] { (void)Recording::open(missing); });
  CHECK(message.find(missing.string()) != std::string::npos);
  CHECK(message.find("no such file") != std::string::npos);

  const fs::path empty = dir / "empty.edf";
  write_bytes(empty, "");
  message = psgkit_test::error_of([&] { (void)Recording::open(empty); });
  CHECK(message.find(empty.string()) != std::string::npos);
  CHECK(message.find("empty") != std::string::npos);

  const fs::path good = dir / "good.edf";
  psgkit::write_edf(good, {signal("EEG", "uV", 100, sine(100, 5, 3, 10))}, {});
  const std::string bytes = read_bytes(good);

  const fs::path truncated = dir / "truncated.edf";
  write_bytes(truncated, bytes.substr(0, 100));
  message = psgkit_test::error_of([&] { (void)Recording::open(truncated); });
  CHECK(message.find(truncated.string()) != std::string::npos);
  CHECK(message.find("byte 100") != std::string::npos);
  CHECK(message.find("truncated header") != std::string::npos);

  // Text where the first signal's physical minimum belongs (signal fields start at 256; 2 signals:
  // EEG and the annotation signal; physical minimum column at 256 + 2*(16+80+8)).
  std::string text_in_number = bytes;
  text_in_number.replace(256 + 2 * 104, 8, "abc     ");
  const fs::path bad_number = dir / "bad_number.edf";
  write_bytes(bad_number, text_in_number);
  message = psgkit_test::error_of([&] { (void)Recording::open(bad_number); });
  CHECK(message.find(bad_number.string()) != std::string::npos);
  CHECK(message.find("signal 1 physical minimum") != std::string::npos);
  CHECK(message.find("'abc' is not a number") != std::string::npos);

  const Recording rec = Recording::open(good);
  message = psgkit_test::error_of([&] { (void)rec.require_signal("C3-M2"); });
  CHECK(message.find("available: 'EEG'") != std::string::npos);
  CHECK(psgkit_test::error_of([&] { (void)rec.read(5); }).find("no such signal") != std::string::npos);
}

TEST_CASE("8 threads opening and reading different files give the same samples as one thread") {
  psgkit_test::TempDir dir("threads");
  constexpr int n_files = 8;
  std::vector<fs::path> paths;
  for (int k = 0; k < n_files; ++k) {
    paths.push_back(dir / ("f" + std::to_string(k) + ".edf"));
    psgkit::write_edf(paths.back(),
                      {signal("EEG", "uV", 128, sine(128, 120, 1.0 + k, 40 + k)), signal("EOG", "mV", 64, sine(64, 120, 0.5, 1 + k))},
                      {{1.0 * k, 2, "mark " + std::to_string(k)}});
  }
  std::vector<std::vector<float>> reference;
  for (const fs::path& p : paths) {
    const Recording rec = Recording::open(p);
    reference.push_back(rec.read(0));
    std::vector<float> eog = rec.read(1);
    reference.back().insert(reference.back().end(), eog.begin(), eog.end());
  }
  std::vector<int> mismatches(n_files, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < n_files; ++k) {
    threads.emplace_back([&, k] {
      for (int repeat = 0; repeat < 25; ++repeat) {
        try {
          // Alternate readers so both EDFlib (under its lock) and the tolerant parser run concurrently.
          const Recording rec = Recording::open(paths[static_cast<size_t>(k)],
                                                repeat % 2 ? ReaderChoice::TolerantOnly : ReaderChoice::Auto);
          std::vector<float> x = rec.read(0);
          std::vector<float> eog = rec.read(1);
          x.insert(x.end(), eog.begin(), eog.end());
          if (x != reference[static_cast<size_t>(k)] || rec.annotations().size() != 1 ||
              rec.opened_by_edflib() != (repeat % 2 == 0))
            ++mismatches[static_cast<size_t>(k)];
        } catch (...) {
          ++mismatches[static_cast<size_t>(k)];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int k = 0; k < n_files; ++k) CHECK(mismatches[static_cast<size_t>(k)] == 0);
}

TEST_CASE("psgkit info --json on real files") {
  if (!psgkit_test::have_shared_data()) return;
  const fs::path data = psgkit_test::shared_data();
  auto info = [](const fs::path& p) {
    const auto result = psgkit_test::run_command("'" + psgkit_test::cli_path() + "' info --json '" + p.string() + "'");
    REQUIRE(result.exit_code == 0);
    return nlohmann::json::parse(result.output);
  };
  const nlohmann::json sc = info(data / "sleep-edf/SC4001E0-first300s.edf");
  CHECK(sc["file_type"] == "EDF");
  CHECK(sc["reader"] == "edflib");
  CHECK(sc["duration_s"] == 300.0);
  CHECK(sc["n_records"] == 10);
  CHECK(sc["record_duration_s"] == 30.0);
  REQUIRE(sc["signals"].size() == 7);
  CHECK(sc["signals"][0]["label"] == "EEG Fpz-Cz");
  CHECK(sc["signals"][0]["fs"] == 100.0);
  CHECK(sc["signals"][0]["n_samples"] == 30000);
  CHECK(sc["signals"][0]["unit"] == "uV");
  CHECK(sc["annotations"] == 0);
  CHECK(sc["warnings"].empty());
  CHECK(sc["start"].get<std::string>().size() == 19);  // no sub-second part

  const nlohmann::json sub = info(data / "edf-corpus/mne/subsecond_starttime.edf");
  CHECK(sub["file_type"] == "EDF+C");
  CHECK(sub["start"].get<std::string>().ends_with(".3945312"));
  CHECK(sub["annotations"] == 2);

  const nlohmann::json merged = info(data / "edf-corpus/edfjl/test_merged.edf");
  CHECK(merged["file_type"] == "EDF+D");
  CHECK(merged["reader"] == "psgkit");
  REQUIRE(merged["gaps"].size() == 1);
  CHECK(merged["gaps"][0]["start_s"] == 6.0);
  CHECK(merged["gaps"][0]["duration_s"] == 43194.0);

  const nlohmann::json bdf = info(data / "edf-corpus/mne/test.bdf");
  CHECK(bdf["file_type"] == "BDF");
  CHECK(bdf["warnings"].size() == 1);

  psgkit_test::TempDir dir("info");
  const auto missing = psgkit_test::run_command("'" + psgkit_test::cli_path() + "' info '" + (dir / "nope.edf").string() + "' 2>&1");
  CHECK(missing.exit_code == 1);
  CHECK(missing.output.find("psgkit: error:") != std::string::npos);
  CHECK(missing.output.find("nope.edf") != std::string::npos);

  const auto text = psgkit_test::run_command("'" + psgkit_test::cli_path() + "' info '" + (data / "sleep-edf/SC4001E0-first300s.edf").string() + "'");
  CHECK(text.exit_code == 0);
  CHECK(text.output.find("EEG Fpz-Cz") != std::string::npos);
}
