// The simulator against real sleep EEG, in what the staging models see: the sleepedf-timedomain
// features of a simulated night (Fpz-Cz and the EOG, resampled to 100 Hz as `psgkit stage` does),
// per stage, against the same features of the 133 real Sleep-EDF nights (../shared/data/sleep-edf-153,
// pooled). For each stage W/N1/N2/N3/REM and each of the 13 features, the simulated night's median must
// lie inside the real interquartile range (numpy.percentile, linear). Like the real tables, the last
// epoch of each run of equal stages is left out (it holds the blend into the next stage).
#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "psgkit/feature_table.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/recipes.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/simulate.hpp"
#include "support.hpp"

namespace {

constexpr std::array<psgkit::Stage, 5> kStages = {psgkit::Stage::W, psgkit::Stage::N1, psgkit::Stage::N2,
                                                  psgkit::Stage::N3, psgkit::Stage::REM};

// numpy.percentile(v, 100 q), linear interpolation between order statistics.
double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto k = static_cast<size_t>(std::floor(pos));
  if (k + 1 >= v.size()) return v.back();
  return v[k] + (v[k + 1] - v[k]) * (pos - static_cast<double>(k));
}

// values[stage][column] over rows of `table` whose stage is known (UNS left out).
using PerStage = std::map<psgkit::Stage, std::map<std::string, std::vector<double>>>;

void collect(const psgkit::FeatureTable& table, const std::vector<psgkit::Stage>& stages, const std::string& prefix,
             const std::string& as, PerStage& out) {
  for (const auto& f : psgkit::recipe_feature_names(psgkit::Recipe::SleepEdfTimedomain)) {
    const int c = table.column(prefix + "_" + f);
    REQUIRE_MESSAGE(c >= 0, prefix << "_" << f);
    for (size_t r = 0; r < table.rows(); ++r)
      if (stages[r] != psgkit::Stage::UNS) out[stages[r]][as + "_" + f].push_back(table.at(r, static_cast<size_t>(c)));
  }
}

}  // namespace

TEST_CASE("simulated Fpz-Cz and EOG: per-stage median of every time-domain feature inside the real IQR") {
  if (!psgkit_test::have_shared_data()) return;
  const auto real_dir = psgkit_test::shared_data() / "sleep-edf-153";
  PerStage real;
  size_t nights = 0;
  for (const auto& entry : std::filesystem::directory_iterator(real_dir)) {
    if (!entry.path().string().ends_with(".timedomain.csv")) continue;
    const psgkit::FeatureTable t = psgkit::read_feature_csv(entry.path());
    collect(t, t.stages, "fpz_cz", "fpz_cz", real);
    collect(t, t.stages, "eog", "eog", real);
    ++nights;
  }
  REQUIRE(nights == 133);

  // The demo's before night, simulated and read back as `psgkit stage` reads it (256 Hz -> 100 Hz).
  const psgkit::Hypnogram hypnogram = psgkit::read_hypnogram(psgkit_test::source_dir() / "data/demo/before.csv");
  psgkit_test::TempDir dir("realism");
  psgkit::SimulationOptions options;
  options.seed = 7;
  psgkit::write_simulated_night(dir / "night.edf", hypnogram, options);
  const psgkit::Recording rec = psgkit::Recording::open(dir / "night.edf");
  psgkit::RecipeOptions recipe_options;
  recipe_options.prefixes = {"fpz_cz", "eog"};
  const psgkit::FeatureTable sim =
      psgkit::compute_recipe(rec, {"Fpz-Cz", "EOG E1-M2"}, psgkit::Recipe::SleepEdfTimedomain, recipe_options);
  REQUIRE(sim.rows() == hypnogram.size());
  std::vector<psgkit::Stage> stages = hypnogram.stages;
  for (size_t i = 0; i + 1 < stages.size(); ++i)
    if (hypnogram.stages[i + 1] != hypnogram.stages[i]) stages[i] = psgkit::Stage::UNS;  // as the real tables
  PerStage simulated;
  collect(sim, stages, "fpz_cz", "fpz_cz", simulated);
  collect(sim, stages, "eog", "eog", simulated);

  int outside = 0;
  for (const auto& [column, values] : real.at(psgkit::Stage::W)) {
    std::string line = column + ":";
    for (psgkit::Stage s : kStages) {
      const auto& r = real.at(s).at(column);
      const double q25 = percentile(r, 0.25), q75 = percentile(r, 0.75);
      const double median = percentile(simulated.at(s).at(column), 0.5);
      const bool inside = median >= q25 && median <= q75;
      outside += !inside;
      line += " " + std::string(psgkit::to_string(s)) + " " + (inside ? "" : "OUT ") + std::to_string(median) + " [" +
              std::to_string(q25) + ", " + std::to_string(q75) + "]";
      CHECK_MESSAGE(inside, column << " " << psgkit::to_string(s) << ": simulated median " << median
                                    << " outside the real IQR [" << q25 << ", " << q75 << "]");
    }
    MESSAGE(line);
  }
  MESSAGE(outside << " of 130 medians outside the real IQR");
}
