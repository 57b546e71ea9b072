// Every EDF/BDF file under ../shared/data against a table of expected outcomes, and every file EDFlib
// opens against EDFlib itself (header facts, first/last physical samples bit for bit).
#include <edflib.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "psgkit/error.hpp"
#include "psgkit/recording.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using psgkit::Recording;
using psgkit::ReaderChoice;

namespace {

struct Expected {
  std::string type;       // "EDF", "EDF+C", ... ; empty when the file must be refused
  int n_signals;
  double duration_s;
  int n_annotations;
  bool edflib;            // EDFlib 1.23 accepts the header
  bool warnings;          // psgkit reports at least one deviation
  std::string refused;    // substring of the psgkit::Error message when refused
};

// Signal counts, durations and annotation counts of the files EDFlib accepts are EDFlib's own
// (edf_hdr_struct); those of the 8 files it refuses were worked out from their header bytes and TALs
// (see notes/recording.md).
const std::map<std::string, Expected>& table() {
  static const std::map<std::string, Expected> t = {
      {"dreams/excerpt1.edf", {"EDF+C", 1, 1800, 0, true, false, ""}},
      {"dreams/excerpt3-fullpsg-20ch.edf", {"EDF", 20, 1800, 0, false, true, ""}},
      {"dreams/excerpt3.edf", {"EDF+C", 1, 1800, 0, true, false, ""}},
      {"dreams/excerpt4.edf", {"EDF+C", 1, 1800, 0, true, false, ""}},
      {"dreams/excerpt6.edf", {"EDF+C", 1, 1800, 0, true, false, ""}},
      {"dreams/excerpt8.edf", {"EDF+C", 1, 1800, 0, true, false, ""}},
      {"edf-corpus/annotations-only/SC4001EC-Hypnogram.bdf", {"BDF+C", 0, 0, 154, true, false, ""}},
      {"edf-corpus/annotations-only/pediatric_aasm_hypnogram.edf", {"EDF+C", 0, 0, 94, true, false, ""}},
      {"edf-corpus/annotations-only/test_edfann.edf", {"EDF+C", 0, 0, 856, true, false, ""}},
      {"edf-corpus/biosemi/Newtest17-256.bdf", {"BDF", 17, 60, 0, true, false, ""}},
      {"edf-corpus/edfio/mne_test.bdf", {"BDF+C", 139, 6, 5, true, false, ""}},
      {"edf-corpus/edfio/short_psg.bdf", {"BDF", 7, 300, 0, true, false, ""}},
      {"edf-corpus/edfio/test_subsecond.bdf", {"BDF+C", 1, 698, 4, true, false, ""}},
      {"edf-corpus/edfio/test_subsecond.edf", {"EDF+C", 1, 698, 4, true, false, ""}},
      // Reserved field says EDF+C but there is no annotation signal: plain BDF / EDF with a warning.
      {"edf-corpus/edfjl/bdf_test.bdf", {"BDF", 8, 73, 0, true, true, ""}},
      {"edf-corpus/edfjl/bdf_test.edf", {"EDF", 8, 73, 0, false, true, ""}},
      {"edf-corpus/edfjl/evt.bdf", {"BDF+C", 1, 1081, 1081, true, false, ""}},
      // EDF+D: records 0-5 s, then 43200-43206 s.
      {"edf-corpus/edfjl/test_merged.edf", {"EDF+D", 139, 43206, 0, false, false, ""}},
      // Invalid start date/time and one stray byte at the end; samples intact.
      {"edf-corpus/edfjl/test_uneven_samp_malformed_header.edf", {"EDF", 2, 110, 0, false, true, ""}},
      {"edf-corpus/ieeg/sample_ecog.edf", {"EDF+C", 78, 91 * 0.23814, 1, true, false, ""}},
      {"edf-corpus/ieeg/sample_seeg.edf", {"EDF+C", 98, 20, 3, true, false, ""}},
      {"edf-corpus/mne/chtypes_edf.edf", {"EDF+C", 42, 5, 8, true, false, ""}},
      {"edf-corpus/mne/duplicate_channel_labels.edf", {"EDF+C", 3, 10, 0, true, false, ""}},
      {"edf-corpus/mne/multiple_annotation_chans.bdf", {"BDF+C", 19, 247, 10, true, false, ""}},
      // EDF+D whose records happen to be contiguous; two time-keeping TALs lack their 0x00 terminator.
      {"edf-corpus/mne/nihonkohden_MB0400FU_edfplusD.edf", {"EDF+D", 25, 29, 2, false, true, ""}},
      {"edf-corpus/mne/subsecond_starttime.edf", {"EDF+C", 3, 5, 2, true, false, ""}},
      // "number of data records" right-aligned ("  1     ").
      {"edf-corpus/mne/test.bdf", {"BDF", 73, 1, 0, false, true, ""}},
      {"edf-corpus/mne/test_bdf_stim_channel.bdf", {"BDF", 4, 10, 0, true, false, ""}},
      // Annotation signal with a physical dimension and prefilter text.
      {"edf-corpus/mne/test_edf_overlapping_annotations.edf", {"EDF+C", 64, 124, 38, false, true, ""}},
      {"edf-corpus/mne/test_edf_stim_channel.edf", {"EDF", 25, 9.59375, 0, true, false, ""}},
      {"edf-corpus/mne/test_generator_2.bdf", {"BDF+C", 11, 600, 2, true, false, ""}},
      {"edf-corpus/mne/test_reduced.edf", {"EDF+C", 139, 6, 5, true, false, ""}},
      {"edf-corpus/mne/test_stim_channel.edf", {"EDF+C", 3, 600, 0, true, false, ""}},
      {"edf-corpus/mne/test_uneven_samp.edf", {"EDF", 2, 110, 0, true, false, ""}},
      {"edf-corpus/mne/test_utf8_annotations.edf", {"EDF+C", 11, 10, 2, true, false, ""}},
      // Non-ASCII (UTF-8) bytes in 14 labels and 3 physical dimensions.
      {"edf-corpus/nox/nox_a1_psg_latin1_labels.edf", {"EDF+C", 89, 120, 0, false, true, ""}},
      {"edf-corpus/pyedflib/test_generator.bdf", {"BDF+C", 5, 30, 0, true, false, ""}},
      {"edf-corpus/pyedflib/test_generator.edf", {"EDF+C", 11, 600, 2, true, false, ""}},
      {"edf-corpus/pyedflib/test_generator_datarec_generator_2.bdf", {"BDF+C", 5, 30, 0, true, false, ""}},
      {"edf-corpus/pyedflib/test_generator_oldversion.bdf", {"BDF+C", 5, 30, 0, true, false, ""}},
      // Plain EDF with a signal labelled "EDF Annotations": an ordinary signal, as EDFlib reads it.
      {"edf-corpus/pyedflib/test_legacy.edf", {"EDF", 12, 600, 0, true, true, ""}},
      {"edf-corpus/pyedflib/test_utf8.edf", {"EDF+C", 1, 698, 5, true, false, ""}},
      {"sleep-edf/SC4001E0-first300s.edf", {"EDF", 7, 300, 0, true, false, ""}},
      {"sleep-edf/SC4001EC-Hypnogram.edf", {"EDF+C", 0, 0, 154, true, false, ""}},
      {"sleep-edf/SC4002EC-Hypnogram.edf", {"EDF+C", 0, 0, 152, true, false, ""}},
      {"sleep-edf/SC4011EH-Hypnogram.edf", {"EDF+C", 0, 0, 126, true, false, ""}},
      {"sleep-edf/SC4012EC-Hypnogram.edf", {"EDF+C", 0, 0, 171, true, false, ""}},
      {"sleep-edf/SC4021EH-Hypnogram.edf", {"EDF+C", 0, 0, 161, true, false, ""}},
      {"sleep-edf/SC4022EJ-Hypnogram.edf", {"EDF+C", 0, 0, 179, true, false, ""}},
      {"sleep-edf/SC4031EC-Hypnogram.edf", {"EDF+C", 0, 0, 119, true, false, ""}},
      {"sleep-edf/SC4032EP-Hypnogram.edf", {"EDF+C", 0, 0, 123, true, false, ""}},
      {"sleep-edf/SC4041EC-Hypnogram.edf", {"EDF+C", 0, 0, 161, true, false, ""}},
      {"sleep-edf/SC4042EC-Hypnogram.edf", {"EDF+C", 0, 0, 178, true, false, ""}},
      {"sleep-edf/SC4051EC-Hypnogram.edf", {"EDF+C", 0, 0, 130, true, false, ""}},
      {"sleep-edf/SC4052EC-Hypnogram.edf", {"EDF+C", 0, 0, 139, true, false, ""}},
      {"sleep-edf/SC4061EC-Hypnogram.edf", {"EDF+C", 0, 0, 78, true, false, ""}},
      {"sleep-edf/SC4062EC-Hypnogram.edf", {"EDF+C", 0, 0, 98, true, false, ""}},
      {"sleep-edf/SC4071EC-Hypnogram.edf", {"EDF+C", 0, 0, 116, true, false, ""}},
      {"sleep-edf/SC4072EH-Hypnogram.edf", {"EDF+C", 0, 0, 179, true, false, ""}},
  };
  return t;
}

std::vector<fs::path> corpus_files() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(psgkit_test::shared_data())) {
    if (!entry.is_regular_file()) continue;
    std::string ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext == ".edf" || ext == ".bdf") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string corpus_name(const fs::path& p) { return fs::relative(p, psgkit_test::shared_data()).generic_string(); }

// EDFlib opened directly, as the oracle. Tests are single-threaded here, so no lock is needed.
struct EdflibFile {
  std::unique_ptr<edf_hdr_struct> hdr = std::make_unique<edf_hdr_struct>();
  bool ok = false;
  explicit EdflibFile(const fs::path& p) {
    ok = edfopen_file_readonly(p.c_str(), hdr.get(), EDFLIB_READ_ALL_ANNOTATIONS) == 0;
  }
  ~EdflibFile() {
    if (ok) edfclose_file(hdr->handle);
  }
  std::vector<double> all(int signal) const {
    std::vector<double> values(static_cast<size_t>(hdr->signalparam[signal].smp_in_file));
    edfseek(hdr->handle, signal, 0, EDFSEEK_SET);
    REQUIRE(edfread_physical_samples(hdr->handle, signal, static_cast<int>(values.size()), values.data()) ==
            static_cast<int>(values.size()));
    return values;
  }
  double sample(int signal, long long index) const {
    edfseek(hdr->handle, signal, index, EDFSEEK_SET);
    double value = std::nan("");
    REQUIRE(edfread_physical_samples(hdr->handle, signal, 1, &value) == 1);
    return value;
  }
};

}  // namespace

TEST_CASE("corpus: every EDF/BDF file under ../shared/data has the tabled outcome") {
  if (!psgkit_test::have_shared_data()) return;
  std::set<std::string> seen;
  for (const fs::path& path : corpus_files()) {
    const std::string name = corpus_name(path);
    CAPTURE(name);
    seen.insert(name);
    const auto it = table().find(name);
    if (it == table().end()) {
      FAIL("file not in the corpus table (look at it, then add a row): " << name);
      continue;
    }
    const Expected& want = it->second;
    if (!want.refused.empty()) {
      try {
        (void)Recording::open(path);
        FAIL("expected a refusal");
      } catch (const psgkit::Error& e) {
        CHECK(std::string(e.what()).find(want.refused) != std::string::npos);
      }
      continue;
    }
    const Recording rec = Recording::open(path);
    CHECK(std::string(psgkit::to_string(rec.file_type())) == want.type);
    CHECK(rec.signals().size() == static_cast<size_t>(want.n_signals));
    CHECK(rec.duration_s() == doctest::Approx(want.duration_s).epsilon(1e-9));
    CHECK(rec.annotations().size() == static_cast<size_t>(want.n_annotations));
    CHECK(rec.opened_by_edflib() == want.edflib);
    CHECK(!rec.warnings().empty() == want.warnings);
    for (const psgkit::SignalInfo& s : rec.signals()) {
      CHECK(s.n_samples == int64_t{s.samples_per_record} * rec.n_records());
      CHECK(s.fs_hz == doctest::Approx(s.samples_per_record / rec.record_duration_s()));
    }
  }
  for (const auto& [name, expected] : table()) {
    CAPTURE(name);
    CHECK_MESSAGE(seen.count(name) == 1, "tabled file missing from ../shared/data");
  }
}

TEST_CASE("corpus: files EDFlib opens match EDFlib's header facts and samples exactly") {
  if (!psgkit_test::have_shared_data()) return;
  int compared_files = 0;
  for (const fs::path& path : corpus_files()) {
    const std::string name = corpus_name(path);
    CAPTURE(name);
    const Recording rec = Recording::open(path);  // before the oracle: EDFlib refuses a file it holds open
    EdflibFile oracle(path);
    CHECK(oracle.ok == rec.opened_by_edflib());
    if (!oracle.ok) continue;
    ++compared_files;
    const edf_hdr_struct& h = *oracle.hdr;
    REQUIRE(rec.signals().size() == static_cast<size_t>(h.edfsignals));
    CHECK(rec.n_records() == h.datarecords_in_file);
    CHECK(rec.record_duration_s() == static_cast<double>(h.datarecord_duration) / 1e7);
    CHECK(rec.duration_s() == doctest::Approx(static_cast<double>(h.file_duration) / 1e7).epsilon(1e-12));
    CHECK(rec.start().year == h.startdate_year);
    CHECK(rec.start().day == h.startdate_day);
    CHECK(rec.start().second == h.starttime_second);
    CHECK(rec.start().subsecond_s == static_cast<double>(h.starttime_subsecond) / 1e7);
    REQUIRE(rec.annotations().size() == static_cast<size_t>(h.annotations_in_file));
    // psgkit parses TALs itself: every annotation must be EDFlib's (onset and duration in 100 ns).
    for (long long k = 0; k < h.annotations_in_file; ++k) {
      edf_annotation_struct a{};
      REQUIRE(edf_get_annotation(h.handle, static_cast<int>(k), &a) == 0);
      const psgkit::Annotation& mine = rec.annotations()[static_cast<size_t>(k)];
      CAPTURE(k);
      CHECK(std::llround(mine.onset_s * 1e7) == a.onset);
      CHECK(std::llround(mine.duration_s * 1e7) == (a.duration[0] ? a.duration_l : -10000000LL));
      // EDFlib cuts long texts; ours are whole.
      const std::string theirs = a.annotation;
      CHECK(mine.text.compare(0, theirs.size(), theirs) == 0);
    }
    // Every signal in one pass (Recording::read of a list) must equal the one-signal reads below.
    std::vector<int> every(static_cast<size_t>(h.edfsignals));
    for (int i = 0; i < h.edfsignals; ++i) every[static_cast<size_t>(i)] = i;
    const std::vector<std::vector<float>> together = rec.read(every);
    REQUIRE(together.size() == every.size());
    for (int i = 0; i < h.edfsignals; ++i) {
      const psgkit::SignalInfo& s = rec.signals()[static_cast<size_t>(i)];
      const edf_param_struct& p = h.signalparam[i];
      CAPTURE(i);
      CHECK(s.samples_per_record == p.smp_in_datarecord);
      CHECK(s.n_samples == p.smp_in_file);
      CHECK(s.digital_min == p.dig_min);
      CHECK(s.digital_max == p.dig_max);
      CHECK(s.physical_min == p.phys_min);
      CHECK(s.physical_max == p.phys_max);
      const std::vector<double> values = rec.read_double(i);
      REQUIRE(static_cast<int64_t>(values.size()) == p.smp_in_file);
      CHECK(values.front() == oracle.sample(i, 0) * s.unit_scale);
      CHECK(values.back() == oracle.sample(i, p.smp_in_file - 1) * s.unit_scale);
      // Every sample, bit for bit: EDFlib's physical value times the unit scale (vector and scalar
      // decoding paths alike), the float read its rounding, the one-pass read the same floats.
      const std::vector<double> theirs = oracle.all(i);
      size_t double_mismatches = 0, float_mismatches = 0;
      const std::vector<float> floats = rec.read(i);
      for (size_t k = 0; k < values.size(); ++k) {
        double_mismatches += values[k] != theirs[k] * s.unit_scale;
        float_mismatches += floats[k] != static_cast<float>(values[k]);
      }
      CHECK(double_mismatches == 0);
      CHECK(float_mismatches == 0);
      CHECK(together[static_cast<size_t>(i)] == floats);
    }
  }
  CHECK(compared_files == 51);
}

TEST_CASE("corpus: the tolerant parser agrees with EDFlib on every file EDFlib opens") {
  if (!psgkit_test::have_shared_data()) return;
  for (const fs::path& path : corpus_files()) {
    const std::string name = corpus_name(path);
    CAPTURE(name);
    const Recording auto_rec = Recording::open(path);
    if (!auto_rec.opened_by_edflib()) continue;
    const Recording own = Recording::open(path, ReaderChoice::TolerantOnly);
    CHECK_FALSE(own.opened_by_edflib());
    REQUIRE(own.signals().size() == auto_rec.signals().size());
    CHECK(own.file_type() == auto_rec.file_type());
    CHECK(own.n_records() == auto_rec.n_records());
    CHECK(own.record_duration_s() == doctest::Approx(auto_rec.record_duration_s()).epsilon(1e-12));
    CHECK(own.start().iso8601() == auto_rec.start().iso8601());
    CHECK(own.start().subsecond_s == doctest::Approx(auto_rec.start().subsecond_s).epsilon(1e-9));
    REQUIRE(own.annotations().size() == auto_rec.annotations().size());
    for (size_t k = 0; k < own.annotations().size(); ++k) {
      CHECK(own.annotations()[k].onset_s == doctest::Approx(auto_rec.annotations()[k].onset_s).epsilon(1e-9));
      CHECK(own.annotations()[k].duration_s == doctest::Approx(auto_rec.annotations()[k].duration_s).epsilon(1e-9));
      CHECK(own.annotations()[k].text == auto_rec.annotations()[k].text);
    }
    for (size_t i = 0; i < own.signals().size(); ++i) {
      CAPTURE(i);
      CHECK(own.signals()[i].label == auto_rec.signals()[i].label);
      CHECK(own.signals()[i].unit == auto_rec.signals()[i].unit);
      CHECK(own.read_digital(static_cast<int>(i)) == auto_rec.read_digital(static_cast<int>(i)));
      const std::vector<double> a = own.read_double(static_cast<int>(i)), b = auto_rec.read_double(static_cast<int>(i));
      REQUIRE(a.size() == b.size());
      double worst = 0;
      for (size_t j = 0; j < a.size(); ++j) worst = std::max(worst, std::abs(a[j] - b[j]) / std::max(1.0, std::abs(b[j])));
      CHECK(worst < 1e-12);
    }
  }
}

TEST_CASE("corpus: EDF+D record onsets and gaps") {
  if (!psgkit_test::have_shared_data()) return;
  const Recording merged = Recording::open(psgkit_test::shared_data() / "edf-corpus/edfjl/test_merged.edf");
  const std::vector<double> want_onsets = {0, 1, 2, 3, 4, 5, 43200, 43201, 43202, 43203, 43204, 43205};
  CHECK(merged.record_onsets_s() == want_onsets);
  REQUIRE(merged.gaps().size() == 1);
  CHECK(merged.gaps()[0].start_s == 6.0);
  CHECK(merged.gaps()[0].duration_s == 43194.0);
  CHECK(merged.signals()[0].n_samples == 12 * 512);

  const Recording nk = Recording::open(psgkit_test::shared_data() / "edf-corpus/mne/nihonkohden_MB0400FU_edfplusD.edf");
  CHECK(nk.gaps().empty());
  CHECK(nk.record_onsets_s().back() == 28.0);
  REQUIRE(nk.annotations().size() == 2);
  CHECK(nk.annotations()[0].text == "Segment: REC START ALLE EEG");
  CHECK(nk.annotations()[0].onset_s == 0.0);
  CHECK(nk.annotations()[1].text == "A1+A2 OFF");
  CHECK(nk.annotations()[1].onset_s == doctest::Approx(1.14));
  // mV signals come back in µV.
  const int pol = nk.require_signal("POL $A2");
  CHECK(nk.signals()[static_cast<size_t>(pol)].file_unit == "mV");
  CHECK(nk.signals()[static_cast<size_t>(pol)].unit == "uV");
  CHECK(nk.signals()[static_cast<size_t>(pol)].unit_scale == 1e3);
}

TEST_CASE("corpus: files EDFlib refuses read as MNE would") {
  if (!psgkit_test::have_shared_data()) return;
  const fs::path data = psgkit_test::shared_data();
  // Malformed header copy of test_uneven_samp.edf: same samples.
  const Recording good = Recording::open(data / "edf-corpus/mne/test_uneven_samp.edf");
  const Recording bad = Recording::open(data / "edf-corpus/edfjl/test_uneven_samp_malformed_header.edf");
  for (int i = 0; i < 2; ++i) CHECK(bad.read_double(i) == good.read_double(i));
  CHECK(bad.signals()[0].fs_hz == 100.0);
  CHECK(bad.signals()[1].fs_hz == 12.8);

  const Recording bdf = Recording::open(data / "edf-corpus/mne/test.bdf");
  CHECK(bdf.signals()[0].fs_hz == 2048.0);
  CHECK(bdf.signals().back().label == "Status");
  const std::vector<int32_t> status = bdf.read_digital(72);
  CHECK(*std::max_element(status.begin(), status.end()) <= 8388607);
  CHECK(*std::min_element(status.begin(), status.end()) >= -8388608);

  const Recording nox = Recording::open(data / "edf-corpus/nox/nox_a1_psg_latin1_labels.edf");
  CHECK(nox.find_signal("C3 Impédance") >= 0);
  CHECK(nox.signals()[static_cast<size_t>(nox.require_signal("C3"))].fs_hz == 200.0);
  CHECK(nox.signals()[static_cast<size_t>(nox.require_signal("C3"))].unit_scale == 1e6);

  const Recording overlap = Recording::open(data / "edf-corpus/mne/test_edf_overlapping_annotations.edf");
  REQUIRE(overlap.annotations().size() == 38);
  CHECK(overlap.annotations()[0].text == "T0");
  CHECK(overlap.annotations()[0].duration_s == 1.375);
  CHECK(overlap.annotations()[1].onset_s == 1.375);
  CHECK(overlap.annotations()[1].duration_s == 5.125);

  const Recording dreams = Recording::open(data / "dreams/excerpt3-fullpsg-20ch.edf");
  const int c3 = dreams.require_signal("C3-A1");
  CHECK(dreams.signals()[static_cast<size_t>(c3)].fs_hz == 50.0);
  CHECK(dreams.find_signal("hypnogram") >= 0);
  CHECK(dreams.signals()[static_cast<size_t>(dreams.require_signal("hypnogram"))].fs_hz == 1.0);
}
