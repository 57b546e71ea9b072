// `make demo` end to end: the demo nights (data/demo/before.csv and after.csv, simulated as
// examples/demo.sh does) staged automatically with the shipped models find the simulated N3 within
// 5 minutes, and nothing flags them as unlike the training nights.
#include <algorithm>
#include <cmath>
#include <string>

#include "psgkit/hypnogram.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/simulate.hpp"
#include "psgkit/staging.hpp"
#include "support.hpp"

namespace {

double n3_minutes(const psgkit::Hypnogram& h) {
  return static_cast<double>(std::count(h.stages.begin(), h.stages.end(), psgkit::Stage::N3)) * h.epoch_s / 60.0;
}

}  // namespace

TEST_CASE("demo nights: automatic N3 within 5 min of the simulated truth") {
  struct Night {
    const char* name;
    uint64_t seed;
    double swa_gain;
  };
  psgkit_test::TempDir dir("demo");
  for (const Night night : {Night{"before", 7, 1.0}, Night{"after", 8, 1.3}}) {  // as examples/demo.sh
    const psgkit::Hypnogram truth =
        psgkit::read_hypnogram(psgkit_test::source_dir() / "data/demo" / (std::string(night.name) + ".csv"));
    psgkit::SimulationOptions options;
    options.seed = night.seed;
    options.swa_gain = night.swa_gain;
    const auto path = dir / (std::string(night.name) + ".edf");
    psgkit::write_simulated_night(path, truth, options);
    const psgkit::RecordingStaging staged = psgkit::stage_recording(psgkit::Recording::open(path));
    const psgkit::Hypnogram automatic = staged.epochs.to_hypnogram();
    const double truth_min = n3_minutes(truth), auto_min = n3_minutes(automatic);
    MESSAGE(std::string(night.name) << ": N3 truth " << truth_min << " min, automatic " << auto_min << " min (model "
                       << psgkit::to_string(staged.model) << ", domain distance " << staged.domain.distance << ")");
    CHECK(std::fabs(auto_min - truth_min) <= 5.0);
    CHECK_FALSE(staged.domain.warning);
  }
}
