// Thread safety: 8 threads opening and reading recordings (also one shared recording whose annotations
// are parsed on first use), parsing hypnograms and sharing one WelchEstimator get exactly (bit for bit) what one thread gets. Results are collected per thread
// and checked on the main thread (doctest assertions stay single-threaded).
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <latch>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "psgkit/error.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/io.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/spectral.hpp"
#include "support.hpp"

using namespace psgkit;
namespace fs = std::filesystem;

namespace {

constexpr int kThreads = 8;

// Everything a reader produces for one file, in a form compared byte for byte.
struct FileDigest {
  std::string header;                // type, times, signal infos, annotations, warnings as text
  std::vector<std::string> samples;  // per signal: read() floats as raw bytes
  std::vector<std::string> digital;  // per signal: read_digital() as raw bytes
  bool operator==(const FileDigest&) const = default;
};

template <class T>
std::string raw_bytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

FileDigest digest(const Recording& rec) {
  FileDigest d;
  d.header = std::string(to_string(rec.file_type())) + '|' + rec.patient() + '|' + rec.recording_id() + '|' +
             rec.start().iso8601() + '|' + std::to_string(rec.n_records()) + '|' +
             format_double(rec.record_duration_s()) + '|' + format_double(rec.duration_s());
  for (const auto& s : rec.signals())
    d.header += '|' + s.label + ',' + s.unit + ',' + format_double(s.fs_hz) + ',' + std::to_string(s.n_samples) + ',' +
                format_double(s.physical_min) + ',' + format_double(s.physical_max);
  for (const auto& a : rec.annotations())
    d.header += '|' + format_double(a.onset_s) + ',' + format_double(a.duration_s) + ',' + a.text;
  for (const double onset : rec.record_onsets_s()) d.header += ';' + format_double(onset);
  for (const auto& w : rec.warnings()) d.header += '|' + w;
  for (int i = 0; i < static_cast<int>(rec.signals().size()); ++i) {
    d.samples.push_back(raw_bytes(rec.read(i)));
    d.digital.push_back(raw_bytes(rec.read_digital(i)));
  }
  return d;
}
FileDigest digest(const fs::path& path, ReaderChoice reader) { return digest(Recording::open(path, reader)); }

std::string hypnogram_text(const Hypnogram& h) {
  std::string out = format_double(h.epoch_s) + '|' + format_double(h.start_s) + '|';
  for (const Stage s : h.stages) out += to_string(s);
  for (const auto& p : h.probabilities) out += raw_bytes(std::vector<float>(p.begin(), p.end()));
  for (const auto& e : h.events) out += '|' + format_double(e.onset_s) + ',' + e.text;
  return out;
}

// Runs `work(thread, job)` for every job on each of kThreads threads, all released at once; each
// thread walks the jobs in a different order so different files are in flight together.
template <class Work>
void run_threads(size_t n_jobs, int rounds, Work work) {
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int r = 0; r < rounds; ++r)
        for (size_t k = 0; k < n_jobs; ++k) work(t, (k + static_cast<size_t>(t) * 3 + static_cast<size_t>(r)) % n_jobs);
    });
  for (auto& th : threads) th.join();
}

// A few EDF+ files of different shapes, written with write_edf.
std::vector<fs::path> write_test_recordings(const psgkit_test::TempDir& dir) {
  std::vector<fs::path> paths;
  for (int f = 0; f < 4; ++f) {
    std::vector<SignalToWrite> signals;
    const double duration_s = 60 + 17 * f;
    for (int s = 0; s <= f; ++s) {
      SignalToWrite sig;
      sig.label = "EEG" + std::to_string(s);
      sig.fs_hz = s % 2 == 0 ? 100 : 256;
      sig.samples.resize(static_cast<size_t>(duration_s * sig.fs_hz));
      for (size_t i = 0; i < sig.samples.size(); ++i) {
        const double t = static_cast<double>(i) / sig.fs_hz;
        sig.samples[i] = static_cast<float>(40 * std::sin(2 * M_PI * (1.5 + f + s) * t) + 7 * std::cos(0.37 * i));
      }
      signals.push_back(std::move(sig));
    }
    const std::vector<Annotation> annotations = {
        {0, 30, "Sleep stage W"}, {30, 30, "Sleep stage 2"}, {12.5, -1, "Lights off"}};
    paths.push_back(dir / ("rec" + std::to_string(f) + ".edf"));
    write_edf(paths.back(), signals, annotations);
  }
  return paths;
}

// Real files of every reader path: EDFlib, the tolerant parser (BDF, EDF+D, Latin-1), annotations.
std::vector<fs::path> real_recordings() {
  std::vector<fs::path> paths;
  if (!psgkit_test::have_shared_data()) return paths;
  for (const char* name :
       {"sleep-edf/SC4001E0-first300s.edf", "sleep-edf/SC4001EC-Hypnogram.edf", "dreams/excerpt3.edf",
        "edf-corpus/mne/test.bdf", "edf-corpus/mne/nihonkohden_MB0400FU_edfplusD.edf",
        "edf-corpus/mne/test_utf8_annotations.edf", "edf-corpus/edfio/test_subsecond.bdf",
        "edf-corpus/edfjl/test_uneven_samp_malformed_header.edf"}) {
    const fs::path p = psgkit_test::shared_data() / name;
    if (psgkit_test::have_shared_file(name)) paths.push_back(p);
  }
  return paths;
}

}  // namespace

TEST_CASE("8 threads opening and reading different recordings get the single-thread results") {
  psgkit_test::TempDir dir("threads");
  std::vector<fs::path> paths = write_test_recordings(dir);
  for (const auto& p : real_recordings()) paths.push_back(p);

  struct Job {
    fs::path path;
    ReaderChoice reader;
    FileDigest expected;
  };
  std::vector<Job> jobs;
  for (const auto& p : paths)
    for (const ReaderChoice reader : {ReaderChoice::Auto, ReaderChoice::TolerantOnly})
      jobs.push_back({p, reader, digest(p, reader)});
  REQUIRE(jobs.size() >= 8);

  std::atomic<int> done{0}, mismatches{0}, errors{0};
  std::vector<std::string> first_problem(kThreads);
  run_threads(jobs.size(), 2, [&](int t, size_t k) {
    try {
      if (digest(jobs[k].path, jobs[k].reader) == jobs[k].expected) {
        ++done;
        return;
      }
      ++mismatches;
      if (first_problem[static_cast<size_t>(t)].empty())
        first_problem[static_cast<size_t>(t)] = "differs: " + jobs[k].path.string();
    } catch (const std::exception& e) {
      ++errors;
      if (first_problem[static_cast<size_t>(t)].empty()) first_problem[static_cast<size_t>(t)] = e.what();
    }
  });
  for (const auto& problem : first_problem) CHECK_MESSAGE(problem.empty(), problem);
  CHECK(mismatches == 0);
  CHECK(errors == 0);
  CHECK(done == static_cast<int>(jobs.size()) * kThreads * 2);
}

TEST_CASE("8 threads opening the same recording at once get identical results") {
  psgkit_test::TempDir dir("threads");
  const fs::path path = write_test_recordings(dir).back();
  const FileDigest expected = digest(path, ReaderChoice::Auto);
  std::vector<int> equal(kThreads, 0);
  run_threads(1, 4, [&](int t, size_t) {
    try {
      equal[static_cast<size_t>(t)] += digest(path, ReaderChoice::Auto) == expected;
    } catch (const std::exception&) {
    }
  });
  for (int t = 0; t < kThreads; ++t) CHECK(equal[static_cast<size_t>(t)] == 4);
}

TEST_CASE("8 threads making the first use of one recording's annotations at once get identical results") {
  psgkit_test::TempDir dir("threads");
  std::vector<fs::path> paths = write_test_recordings(dir);
  for (const auto& p : real_recordings()) paths.push_back(p);
  for (const auto& path : paths) {
    CAPTURE(path.string());
    const FileDigest expected = digest(path, ReaderChoice::Auto);
    const Recording shared = Recording::open(path);  // annotations not parsed yet: the threads race to it
    std::vector<int> equal(kThreads, 0);
    run_threads(1, 1, [&](int t, size_t) {
      try {
        equal[static_cast<size_t>(t)] = digest(shared) == expected;
      } catch (const std::exception&) {
      }
    });
    for (int t = 0; t < kThreads; ++t) CHECK(equal[static_cast<size_t>(t)] == 1);
  }
}

TEST_CASE("8 threads parsing hypnograms (EDF+, CSV, DREAMS) get the single-thread results") {
  psgkit_test::TempDir dir("threads");
  std::vector<fs::path> paths;
  Hypnogram made;
  made.stages = {Stage::W, Stage::N1, Stage::N2, Stage::N2, Stage::N3, Stage::REM, Stage::UNS, Stage::W};
  made.probabilities.assign(made.size(), {0.2f, 0.2f, 0.2f, 0.2f, 0.2f});
  made.events = {{45, 0, "Lights off"}};
  write_hypnogram_csv(dir / "made.csv", made);
  write_staging_csv(dir / "made_staging.csv", made);
  write_hypnogram_edf(dir / "made.edf", made);
  write_file_atomic(dir / "made.txt", "[Hypnogram]\n5\n5\n5\n5\n5\n5\n2\n2\n2\n2\n2\n2\n4\n4\n4\n4\n4\n4\n");
  for (const char* name : {"made.csv", "made_staging.csv", "made.edf", "made.txt"}) paths.push_back(dir / name);
  if (psgkit_test::have_shared_data())
    for (const char* name :
         {"sleep-edf/SC4001EC-Hypnogram.edf", "sleep-edf/SC4001E0.hypnogram.csv", "dreams/excerpt1.hypnogram-5s.txt",
          "dreams/excerpt4.hypnogram.csv", "edf-corpus/annotations-only/pediatric_aasm_hypnogram.edf"})
      paths.push_back(psgkit_test::shared_data() / name);

  std::vector<std::string> expected;
  for (const auto& p : paths) expected.push_back(hypnogram_text(read_hypnogram(p)));
  CHECK(expected[0].find("WN1N2N2N3REMUNSW") != std::string::npos);

  std::vector<int> equal(kThreads, 0);
  run_threads(paths.size(), 3, [&](int t, size_t k) {
    try {
      equal[static_cast<size_t>(t)] += hypnogram_text(read_hypnogram(paths[k])) == expected[k];
    } catch (const std::exception&) {
    }
  });
  for (int t = 0; t < kThreads; ++t) CHECK(equal[static_cast<size_t>(t)] == static_cast<int>(paths.size()) * 3);
}

TEST_CASE("one WelchEstimator shared by 8 threads gives identical spectra") {
  WelchOptions options;
  options.fs_hz = 100;
  options.nperseg = 256;
  const WelchEstimator welch(options);
  constexpr int kSignals = 16;
  std::vector<std::vector<double>> signals(kSignals);
  for (int s = 0; s < kSignals; ++s) {
    signals[static_cast<size_t>(s)].resize(3000);
    for (size_t i = 0; i < 3000; ++i)
      signals[static_cast<size_t>(s)][i] = 30 * std::sin(2 * M_PI * (0.5 + s) * static_cast<double>(i) / 100) +
                                           5 * std::cos(0.61 * static_cast<double>(i * (s + 1)));
  }
  std::vector<std::string> expected;
  for (const auto& x : signals) expected.push_back(raw_bytes(welch.compute(std::span<const double>(x)).power));
  // The 10.5-Hz sinusoid of signal 10 peaks at the bin nearest 10.5 Hz.
  const Spectrum s10 = welch.compute(std::span<const double>(signals[10]));
  size_t peak = 0;
  for (size_t k = 1; k < s10.power.size(); ++k)
    if (s10.power[k] > s10.power[peak]) peak = k;
  CHECK(std::abs(s10.freq_hz[peak] - 10.5) <= 100.0 / 256);

  std::vector<int> equal(kThreads, 0);
  run_threads(signals.size(), 8, [&](int t, size_t k) {
    std::vector<double> power(welch.freq_hz().size());
    welch.compute(std::span<const double>(signals[k]), std::span<double>(power));
    equal[static_cast<size_t>(t)] += raw_bytes(power) == expected[k];
  });
  for (int t = 0; t < kThreads; ++t) CHECK(equal[static_cast<size_t>(t)] == kSignals * 8);
}
