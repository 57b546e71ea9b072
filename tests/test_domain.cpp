// The out-of-domain check (domain.hpp): position arithmetic on a hand-made reference, the shipped
// reference, and real recordings: Sleep-EDF gives no warning, wrong units and the DREAMS excerpts the
// calibration flags do (notes/domain.md).
#include <cmath>
#include <nlohmann/json.hpp>

#include "psgkit/domain.hpp"
#include "psgkit/error.hpp"
#include "psgkit/feature_table.hpp"
#include "psgkit/io.hpp"
#include "psgkit/recipes.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/staging.hpp"
#include "support.hpp"

namespace {

using psgkit::DomainReference;
using psgkit::FeatureTable;

// A reference whose every feature is uniform on [0, 100] (percentile k = k) in one slot "eeg".
DomainReference uniform_reference() {
  DomainReference ref;
  ref.features = psgkit::recipe_feature_names(psgkit::Recipe::SleepEdfTimedomain);
  for (int k = 0; k <= 100; ++k) ref.levels.push_back(k / 100.0);
  auto& per_feature = ref.quantiles["eeg"];
  for (size_t f = 0; f < ref.features.size(); ++f) per_feature.push_back(ref.levels);
  for (auto& q : per_feature)
    for (auto& v : q) v *= 100;
  return ref;
}

// One row per value of `column_values` for every feature column x_<feature>; `odd` (if set) overrides
// feature `odd_feature` with its own values.
FeatureTable table_of(const std::vector<double>& values, const std::string& odd_feature = "",
                      const std::vector<double>& odd_values = {}) {
  FeatureTable t;
  for (const auto& f : psgkit::recipe_feature_names(psgkit::Recipe::SleepEdfTimedomain)) t.columns.push_back("x_" + f);
  for (size_t r = 0; r < values.size(); ++r) {
    t.onset_s.push_back(30.0 * static_cast<double>(r));
    for (const auto& f : psgkit::recipe_feature_names(psgkit::Recipe::SleepEdfTimedomain))
      t.values.push_back(f == odd_feature ? odd_values[r] : values[r]);
  }
  return t;
}

}  // namespace

TEST_CASE("check_domain: positions, outside fractions and the top-3 mean on a uniform reference") {
  const DomainReference ref = uniform_reference();
  // Values 0.5 (position 0.005: outside), 50 (0.5), 99.5 (0.995: outside), 120 (beyond the maximum: 1).
  const FeatureTable t = table_of({0.5, 50, 99.5, 120}, "std", {50, 50, 50, std::nan("")});
  const psgkit::DomainCheck check = psgkit::check_domain(t, {"x"}, {"eeg"}, ref);
  REQUIRE(check.components.size() == 13);
  CHECK(check.epochs == 4);
  // 12 features have 3 of 4 epochs outside; std has only the NaN outside, with median position 0.5.
  CHECK(check.components.front().outside_fraction == doctest::Approx(0.75));
  CHECK(check.components.back().feature == "std");
  CHECK(check.components.back().outside_fraction == doctest::Approx(0.25));
  CHECK(check.components.back().median_position == doctest::Approx(0.5));
  // Median of positions {0.005, 0.5, 0.995, 1} = (0.5 + 0.995) / 2.
  CHECK(check.components.front().median_position == doctest::Approx(0.7475));
  CHECK(check.distance == doctest::Approx(0.75));
  CHECK(check.warning == (0.75 > psgkit::kDomainWarningThreshold));
  const auto j = nlohmann::json::parse(check.to_json());
  CHECK(j.at("domain_warning").get<bool>() == check.warning);
  CHECK(j.at("domain_distance").get<double>() == doctest::Approx(0.75));
  CHECK(j.at("domain_components").size() == 13);
  CHECK_THROWS_AS(psgkit::check_domain(t, {"x"}, {"fpz_cz"}, ref), psgkit::Error);
  CHECK_THROWS_AS(psgkit::check_domain(t, {"y"}, {"eeg"}, ref), psgkit::Error);
}

TEST_CASE("build_domain_reference: numpy percentiles of the scored rows, UNS left out") {
  FeatureTable t;
  for (const char* p : {"fpz_cz", "pz_oz", "eog"})
    for (const auto& f : psgkit::recipe_feature_names(psgkit::Recipe::SleepEdfTimedomain))
      t.columns.push_back(std::string(p) + "_" + f);
  // Rows 0..4 with value r in every column, then a UNS row with 1000 (left out).
  for (int r = 0; r < 6; ++r) {
    t.onset_s.push_back(30.0 * r);
    t.stages.push_back(r < 5 ? psgkit::Stage::N2 : psgkit::Stage::UNS);
    for (size_t c = 0; c < t.columns.size(); ++c) t.values.push_back(r < 5 ? r : 1000);
  }
  const DomainReference ref = psgkit::build_domain_reference({&t});
  CHECK(ref.epochs == 5);
  CHECK(ref.nights == 1);
  REQUIRE(ref.levels.size() == 101);
  // numpy.percentile([0,1,2,3,4], 25) = 1, 50 -> 2, 33 -> 1.32; the eeg slot pools two copies.
  CHECK(ref.quantiles.at("eog")[0][25] == doctest::Approx(1.0));
  CHECK(ref.quantiles.at("eog")[0][33] == doctest::Approx(1.32));
  CHECK(ref.quantiles.at("eeg")[4][100] == doctest::Approx(4.0));
  CHECK(ref.quantiles.at("eeg")[4][50] == doctest::Approx(2.0));
  psgkit_test::TempDir dir("domain-ref");
  psgkit::write_file_atomic(dir / "ref.json", ref.to_json());
  const DomainReference back = DomainReference::load(dir / "ref.json");
  CHECK(back.quantiles == ref.quantiles);
  CHECK(back.levels == ref.levels);
  psgkit::write_file_atomic(dir / "bad.json", "{\"format\": \"something else\"}");
  CHECK_THROWS_AS(DomainReference::load(dir / "bad.json"), psgkit::Error);
}
