// Features per night: every default feature (features.hpp: Welch band powers, ratios, spectral shape,
// time-domain statistics) of the benchmark night's EEG channels at their native 256 Hz, picked by
// label as `psgkit features` does. The sleepedf-timedomain recipe of one channel is step 4 of
// bench_pipeline.cpp, the Welch PSD of one epoch is in bench_spectral.cpp.
#include <cmath>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "psgkit/features.hpp"
#include "psgkit/recipes.hpp"
#include "psgkit/recording.hpp"

namespace {

void BM_DefaultFeaturesNight(benchmark::State& state) {
  const psgkit::Recording rec = psgkit::Recording::open(psgkit_bench::night_edf());
  std::vector<std::vector<float>> data;
  std::vector<psgkit::ChannelSamples> channels;
  int64_t samples = 0;
  // Every signal of the 6-signal night (4 EEG, EOG, EMG), as the features issue asks: 6 channels.
  for (size_t index = 0; index < rec.signals().size(); ++index) {
    const std::string& label = rec.signals()[index].label;
    data.push_back(rec.read(static_cast<int>(index)));
    channels.push_back({psgkit::column_prefix(label), {}, rec.signals()[index].fs_hz});
    samples += static_cast<int64_t>(data.back().size());
  }
  for (size_t c = 0; c < channels.size(); ++c) channels[c].samples_uv = data[c];
  size_t rows = 0;
  psgkit_bench::reset_peak_rss();
  for (auto _ : state) {
    const psgkit::FeatureTable table = psgkit::compute_features(channels);
    benchmark::DoNotOptimize(table.values.data());
    rows = table.rows();
  }
  state.counters["channels"] = static_cast<double>(channels.size());
  psgkit_bench::report(state, psgkit_bench::edf_sample_bytes(samples), static_cast<double>(rows));
}
BENCHMARK(BM_DefaultFeaturesNight)->Unit(benchmark::kMillisecond);

}  // namespace
