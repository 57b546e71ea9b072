// EDF/EDF+/BDF reader: Recording::open, then every signal read as float (whole and a range), double and
// digital, and the annotations, gaps and header accessors. Anything but success or psgkit::Error is a finding.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_input.hpp"
#include "psgkit/recording.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static psgkit_fuzz::InputFile input(".edf");
  const auto& path = input.write(data, size);
  using psgkit_fuzz::require;
  try {
    const psgkit::Recording rec = psgkit::Recording::open(path);
    require(rec.n_records() >= 0, "n_records >= 0");
    require(std::isfinite(rec.duration_s()) && rec.duration_s() >= 0, "duration_s finite and >= 0");
    require(static_cast<int64_t>(rec.record_onsets_s().size()) == rec.n_records(), "one onset per record");
    (void)rec.start().iso8601();
    (void)rec.gaps();
    for (const auto& a : rec.annotations()) require(!std::isnan(a.onset_s), "annotation onset not NaN");
    const auto& signals = rec.signals();
    for (int i = 0; i < static_cast<int>(signals.size()); ++i) {
      const auto n = static_cast<size_t>(signals[static_cast<size_t>(i)].n_samples);
      const std::vector<float> all = rec.read(i);
      require(all.size() == n, "read() returns n_samples values");
      const size_t first = n / 3, count = std::min<size_t>(n - first, 777);
      std::vector<float> part(count);
      rec.read(i, static_cast<int64_t>(first), part);
      require(count == 0 || std::memcmp(part.data(), all.data() + first, count * sizeof(float)) == 0,
              "a range read gives the same bits as that slice of the whole read");
      require(rec.read_double(i).size() == n, "read_double() returns n_samples values");
      require(rec.read_digital(i).size() == n, "read_digital() returns n_samples values");
      require(rec.find_signal(signals[static_cast<size_t>(i)].label) >= 0, "find_signal finds every label");
    }
  } catch (const psgkit::Error& e) {
    psgkit_fuzz::check_refusal(e, path);
  }
  return 0;
}
