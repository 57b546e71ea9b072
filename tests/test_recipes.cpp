// The two Sleep-EDF recipes against the expected rows shipped with ../shared/data (README: relative
// error below 1e-6 on every value), through the library and through the CLI.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "psgkit/error.hpp"
#include "psgkit/feature_table.hpp"
#include "psgkit/preprocess.hpp"
#include "psgkit/recipes.hpp"
#include "psgkit/recording.hpp"
#include "support.hpp"

using namespace psgkit;

namespace {

std::filesystem::path first300s() { return psgkit_test::shared_data() / "sleep-edf" / "SC4001E0-first300s.edf"; }

// Every expected value reproduced with relative error < 1e-6 (absolute 1e-12 for exact zeros).
void check_matches(const FeatureTable& got, const std::filesystem::path& expected_csv) {
  const FeatureTable expected = read_feature_csv(expected_csv);
  REQUIRE(got.columns == expected.columns);
  REQUIRE(got.rows() == expected.rows());
  double worst = 0.0;
  for (size_t r = 0; r < expected.rows(); ++r) {
    CHECK(got.onset_s[r] == expected.onset_s[r]);
    for (size_t c = 0; c < expected.cols(); ++c) {
      const double want = expected.at(r, c), have = got.at(r, c);
      const double rel = std::abs(have - want) / std::max(std::abs(want), 1e-300);
      worst = std::max(worst, want == 0.0 ? std::abs(have) : rel);
      if (!(rel < 1e-6) && !(want == 0.0 && std::abs(have) < 1e-12))
        FAIL_CHECK("row " << r << " column " << expected.columns[c] << ": expected " << want << ", got " << have);
    }
  }
  MESSAGE(expected_csv.filename().string() << ": worst relative error " << worst);
}

}  // namespace

TEST_CASE("sleepedf-bandpower reproduces the expected rows of SC4001E0's first 300 s") {
  if (!psgkit_test::have_shared_data()) return;
  const auto recording = Recording::open(first300s());
  std::vector<std::string> notes;
  const auto table = compute_recipe(recording, {"EEG Fpz-Cz", "EEG Pz-Oz"}, Recipe::SleepEdfBandpower, {}, &notes);
  CHECK(notes.empty());
  check_matches(table, psgkit_test::shared_data() / "sleep-edf" / "SC4001E0-first300s.expected-bandpower.csv");
}

TEST_CASE("sleepedf-timedomain reproduces the expected rows, histogram entropies included") {
  if (!psgkit_test::have_shared_data()) return;
  const auto recording = Recording::open(first300s());
  const auto table = compute_recipe(recording, {"EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal"},
                                    Recipe::SleepEdfTimedomain);
  check_matches(table, psgkit_test::shared_data() / "sleep-edf" / "SC4001E0-first300s.expected-timedomain.csv");
}

TEST_CASE("the 100-Hz entry point gives the same rows, honours prefixes and explicit onsets") {
  if (!psgkit_test::have_shared_data()) return;
  const auto recording = Recording::open(first300s());
  const auto fpz = recording.read_double(recording.require_signal("EEG Fpz-Cz"));
  const std::vector<RecipeChannel> channels = {{"eeg", fpz}};
  RecipeOptions options;
  options.onsets_s = {30.0, 270.0};
  const auto table = compute_recipe_100hz(channels, Recipe::SleepEdfTimedomain, options);
  REQUIRE(table.rows() == 2);
  CHECK(table.columns.front() == "eeg_std");
  const auto full = compute_recipe(recording, {"EEG Fpz-Cz"}, Recipe::SleepEdfTimedomain);
  for (size_t c = 0; c < table.cols(); ++c) {
    CHECK(table.at(0, c) == full.at(1, c));
    CHECK(table.at(1, c) == full.at(9, c));
  }
  options.onsets_s = {290.0};
  CHECK_THROWS_AS(compute_recipe_100hz(channels, Recipe::SleepEdfTimedomain, options), Error);
  CHECK_THROWS_AS(compute_recipe_100hz(channels, Recipe::Default, {}), Error);
}

TEST_CASE("recipes on a recording walked in blocks equal the 100-Hz entry point on whole resampled signals") {
  psgkit_test::TempDir dir("recipes-blocks");
  const std::filesystem::path path = dir / "rates.edf";
  const double duration_s = 20 * 60 + 17;  // 40 epochs and a partial one: several blocks of epochs
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(0.0, 15.0);
  auto eeg = [&](const char* label, double fs_hz) {
    SignalToWrite s;
    s.label = label;
    s.fs_hz = fs_hz;
    s.samples.resize(static_cast<size_t>(duration_s * fs_hz));
    for (size_t i = 0; i < s.samples.size(); ++i)
      s.samples[i] = static_cast<float>(40 * std::sin(0.0031 * static_cast<double>(i)) + noise(rng));
    return s;
  };
  write_edf(path, {eeg("EEG Fpz-Cz", 256), eeg("EEG Pz-Oz", 100), eeg("EOG horizontal", 200)}, {}, {});
  const Recording recording = Recording::open(path);
  std::vector<std::vector<double>> at_100hz;
  for (int i = 0; i < 3; ++i) {
    const SignalInfo& info = recording.signals()[static_cast<size_t>(i)];
    if (info.fs_hz == 100) {
      at_100hz.push_back(recording.read_double(i));
    } else {
      const std::vector<float> resampled = Resampler(info.fs_hz, 100).process(std::span<const float>(recording.read(i)));
      at_100hz.emplace_back(resampled.begin(), resampled.end());
    }
  }
  const std::vector<RecipeChannel> channels = {{"fpz_cz", at_100hz[0]}, {"pz_oz", at_100hz[1]}, {"eog", at_100hz[2]}};
  for (const Recipe recipe : {Recipe::SleepEdfTimedomain, Recipe::SleepEdfBandpower}) {
    RecipeOptions every_epoch, shifted, scattered;
    shifted.offset_s = 17.5;
    scattered.onsets_s = {600, 30, 90, 1170, 31.5, 600};  // any order, overlapping, repeated
    for (RecipeOptions* options : {&every_epoch, &shifted, &scattered})
    // The night's blocks shared out to threads (3: more threads than channels; 0: one per channel).
    for (const unsigned threads : {1u, 2u, 3u, 0u}) {
      CAPTURE(to_string(recipe));
      CAPTURE(options->offset_s);
      CAPTURE(threads);
      options->threads = threads;
      std::vector<std::string> notes_blocks, notes_whole;
      const FeatureTable blocks =
          compute_recipe(recording, {"EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal"}, recipe, *options, &notes_blocks);
      const FeatureTable whole = compute_recipe_100hz(channels, recipe, *options, &notes_whole);
      CHECK(blocks.rows() == (options->onsets_s.empty() ? (options->offset_s > 0 ? 39u : 40u) : 6u));
      CHECK(blocks.columns == whole.columns);
      CHECK(blocks.onset_s == whole.onset_s);
      CHECK(blocks.values == whole.values);
      // The partial-epoch note last, after the resampling notes.
      REQUIRE(notes_whole.size() == (options->onsets_s.empty() ? 1u : 0u));
      if (!notes_whole.empty()) CHECK(notes_blocks.back() == notes_whole.back());
      CHECK(notes_blocks.size() == notes_whole.size() + 2);
    }
  }
}

TEST_CASE("histogram entropy follows numpy's edge rule: values on inner edges go to the upper bin") {
  // 3000 samples on a grid: min 0, max 10, many values exactly on the edges of 5 and 10 bins.
  std::vector<double> x(kSleepEdfEpochSamples);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i % 11);  // 0..10, equal counts
  std::vector<double> out(recipe_feature_names(Recipe::SleepEdfTimedomain).size());
  recipe_epoch_features(Recipe::SleepEdfTimedomain, x, out);
  // 5 bins of width 2: {0,1} {2,3} {4,5} {6,7} {8,9,10}; counts proportional to 2,2,2,2,3 of 11.
  auto entropy = [](std::vector<double> parts) {
    double total = 0, h = 0;
    for (double p : parts) total += p;
    for (double p : parts) h -= p / total * std::log2(p / total);
    return h;
  };
  // 3000 = 272·11 + 8: values 0..7 occur 273 times, 8..10 occur 272 times.
  const double c_lo = 273, c_hi = 272;
  CHECK(out[9] == doctest::Approx(entropy({2 * c_lo, 2 * c_lo, 2 * c_lo, 2 * c_lo, 3 * c_hi})).epsilon(1e-12));
  // 10 bins of width 1: each value its own bin except 9 and 10 share the last.
  CHECK(out[10] == doctest::Approx(entropy({c_lo, c_lo, c_lo, c_lo, c_lo, c_lo, c_lo, c_lo, c_hi, 2 * c_hi})).epsilon(1e-12));
  CHECK(out[4] == 2 * 272.0 + 1);  // zero crossings: 0 → positive at every wrap, positive → 0 once per cycle
}

TEST_CASE("histogram entropies are exact for values next to every bin edge, also on a large offset") {
  // numpy's rule counted directly: edges as numpy.linspace, the bin is the number of inner edges <= v.
  auto numpy_entropy = [](const std::vector<double>& x, int bins) {
    const auto [mn, mx] = std::minmax_element(x.begin(), x.end());
    const double lo = *mn, step = (*mx - lo) / bins;
    std::vector<double> counts(static_cast<size_t>(bins));
    for (double v : x) {
      int bin = 0;
      for (int j = 1; j < bins; ++j) bin += v >= static_cast<double>(j) * step + lo;
      ++counts[static_cast<size_t>(bin)];
    }
    double h = 0;
    for (double c : counts)
      if (c > 0) h -= c / static_cast<double>(x.size()) * std::log2(c / static_cast<double>(x.size()));
    return h;
  };
  std::mt19937 rng(11);
  // (lo, range): the last has max/range = 1e8, where numpy's edges sit ~3e-6 bins off their ideal places.
  for (const auto& [lo, range] : {std::pair{0.0, 100.0}, std::pair{-3017.25, 7.3}, std::pair{1e6, 1e-2}}) {
    CAPTURE(lo);
    const double hi = lo + range;
    std::vector<double> probes;  // on, a few ulps from, and 1e-7 to 1e-3 bins from every 10- and 60-bin edge
    for (int bins : {10, 60}) {
      const double step = (hi - lo) / bins;
      for (int j = 1; j < bins; ++j) {
        const double edge = static_cast<double>(j) * step + lo;
        probes.push_back(edge);
        double below = edge, above = edge;
        for (int ulps = 1; ulps <= 3; ++ulps) {
          probes.push_back(below = std::nextafter(below, -INFINITY));
          probes.push_back(above = std::nextafter(above, INFINITY));
        }
        for (double bin_fraction : {1e-7, 1e-6, 1e-5, 1e-4, 1e-3}) {
          probes.push_back(std::clamp(edge - bin_fraction * step, lo, hi));
          probes.push_back(std::clamp(edge + bin_fraction * step, lo, hi));
        }
      }
    }
    // One probe per 64 samples among uniform values, so that one probe is all a block of samples has
    // near an edge (blocks with a sample close to an edge are binned by the exact rule as a whole).
    std::uniform_real_distribution<double> uniform(lo, hi);
    for (size_t first = 0; first < probes.size(); first += 45) {
      std::vector<double> x(kSleepEdfEpochSamples);
      for (double& v : x) v = uniform(rng);
      x[0] = lo;
      x[1] = hi;
      for (size_t k = 0; k < 45 && first + k < probes.size(); ++k) x[64 * (k + 1) + 32] = probes[first + k];
      std::vector<double> out(recipe_feature_names(Recipe::SleepEdfTimedomain).size());
      recipe_epoch_features(Recipe::SleepEdfTimedomain, x, out);
      const int bins[4] = {5, 10, 30, 60};
      for (int h = 0; h < 4; ++h) {
        CAPTURE(bins[h]);
        CHECK(out[9 + static_cast<size_t>(h)] == doctest::Approx(numpy_entropy(x, bins[h])).epsilon(1e-13));
      }
    }
  }
}

TEST_CASE("timedomain IQR equals numpy's percentile difference, also when a quartile straddles two histogram bins") {
  // numpy.percentile(x, 75) - numpy.percentile(x, 25) from the sorted epoch (linear method).
  auto numpy_iqr = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    auto pct = [&](double q) {
      const double pos = q / 100.0 * static_cast<double>(v.size() - 1);
      const size_t k = static_cast<size_t>(std::floor(pos));
      const double t = pos - static_cast<double>(k), a = v[k], b = v[std::min(k + 1, v.size() - 1)];
      return t >= 0.5 ? b - (b - a) * (1.0 - t) : a + (b - a) * t;
    };
    return pct(75.0) - pct(25.0);
  };
  std::mt19937 rng(5);
  std::vector<std::vector<double>> epochs;
  // 0..59, 50 times each, shuffled: ranks 749 | 750 are values 14 | 15, in neighbouring 60-bins.
  std::vector<double> ladder(3000);
  for (size_t i = 0; i < ladder.size(); ++i) ladder[i] = static_cast<double>(i / 50);
  std::shuffle(ladder.begin(), ladder.end(), rng);
  epochs.push_back(ladder);
  std::normal_distribution<double> normal(0.0, 30.0);
  std::vector<double> noise(3000), quantised(3000);
  for (size_t i = 0; i < noise.size(); ++i) {
    noise[i] = normal(rng);
    quantised[i] = std::round(normal(rng) / 10.0) * 0.5;  // few values, ties everywhere
  }
  epochs.push_back(noise);
  epochs.push_back(quantised);
  std::vector<double> offset(3000);  // a tiny range on a huge offset: the direct histogram path
  for (size_t i = 0; i < offset.size(); ++i) offset[i] = 1e6 + 1e-9 * static_cast<double>(i % 97);
  epochs.push_back(offset);
  for (size_t e = 0; e < epochs.size(); ++e) {
    CAPTURE(e);
    std::vector<double> out(recipe_feature_names(Recipe::SleepEdfTimedomain).size());
    recipe_epoch_features(Recipe::SleepEdfTimedomain, epochs[e], out);
    CHECK(out[1] == numpy_iqr(epochs[e]));  // column "iqr"
  }
}

TEST_CASE("recipe names and prefixes") {
  CHECK(parse_recipe("sleepedf-bandpower") == Recipe::SleepEdfBandpower);
  CHECK(to_string(Recipe::SleepEdfTimedomain) == "sleepedf-timedomain");
  CHECK_THROWS_WITH_AS(parse_recipe("yasa"), doctest::Contains("sleepedf-timedomain"), Error);
  CHECK(recipe_prefix("EEG Fpz-Cz") == "fpz_cz");
  CHECK(recipe_prefix("EOG horizontal") == "eog");
  CHECK(recipe_prefix("EEG C3-A1") == "c3_a1");
  CHECK(recipe_feature_names(Recipe::SleepEdfBandpower).size() == 7);
  CHECK(recipe_feature_names(Recipe::SleepEdfTimedomain).size() == 13);
}

TEST_CASE("the CLI reproduces both expected tables") {
  if (!psgkit_test::have_shared_data()) return;
  psgkit_test::TempDir dir("recipes-cli");
  const auto edf = first300s().string();
  const auto bp = dir / "bp.csv", td = dir / "td.csv";
  auto r1 = psgkit_test::run_command(psgkit_test::cli_path() + " features " + edf +
                                     " --channels \"EEG Fpz-Cz,EEG Pz-Oz\" --recipe sleepedf-bandpower -o " +
                                     bp.string() + " 2>&1");
  REQUIRE_MESSAGE(r1.exit_code == 0, r1.output);
  check_matches(read_feature_csv(bp), psgkit_test::shared_data() / "sleep-edf" / "SC4001E0-first300s.expected-bandpower.csv");
  auto r2 = psgkit_test::run_command(psgkit_test::cli_path() + " features " + edf +
                                     " --channels \"EEG Fpz-Cz,EEG Pz-Oz,EOG horizontal\" --recipe sleepedf-timedomain -o " +
                                     td.string() + " 2>&1");
  REQUIRE_MESSAGE(r2.exit_code == 0, r2.output);
  check_matches(read_feature_csv(td), psgkit_test::shared_data() / "sleep-edf" / "SC4001E0-first300s.expected-timedomain.csv");
}
