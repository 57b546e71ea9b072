// Out-of-domain check of a recording's sleepedf-timedomain features against the training nights'.
#include "psgkit/domain.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "psgkit/error.hpp"
#include "psgkit/io.hpp"
#include "psgkit/recipes.hpp"
#include "psgkit/staging.hpp"
#include "features_internal.hpp"

namespace psgkit {

namespace {

constexpr const char* kFormat = "psgkit-staging-reference-1";
constexpr size_t kLevels = 101;  // every percent

int require_feature_column(const FeatureTable& table, const std::string& column) {
  const int c = table.column(column);
  if (c < 0) throw Error("", column, "the feature table has no column '" + column + "' (needed by the domain check)");
  return c;
}

// Position of x in a distribution given by its percentiles q at `levels`: linear between neighbouring
// percentiles, the middle of the levels x equals when several percentiles tie, 0 / 1 beyond the ends.
double position(const std::vector<double>& q, const std::vector<double>& levels, double x) {
  const auto lo = std::lower_bound(q.begin(), q.end(), x);
  const auto hi = std::upper_bound(lo, q.end(), x);
  const auto i = static_cast<size_t>(lo - q.begin()), j = static_cast<size_t>(hi - q.begin());
  if (i < j) return 0.5 * (levels[i] + levels[j - 1]);
  if (i == 0) return 0.0;
  if (i == q.size()) return 1.0;
  return levels[i - 1] + (levels[i] - levels[i - 1]) * (x - q[i - 1]) / (q[i] - q[i - 1]);
}

}  // namespace

std::string DomainReference::to_json() const {
  nlohmann::ordered_json slots_json = nlohmann::ordered_json::object();
  for (const auto& [slot, per_feature] : quantiles) {
    nlohmann::ordered_json s = nlohmann::ordered_json::object();
    // 7 significant digits: far finer than the 1 % steps between percentiles, and half the bytes to
    // parse on every `stage` (rounding keeps the order).
    for (size_t f = 0; f < features.size(); ++f) {
      std::vector<double> rounded;
      for (double v : per_feature[f]) rounded.push_back(std::stod(fmt::format("{:.7g}", v)));
      s[features[f]] = rounded;
    }
    slots_json[slot] = s;
  }
  const nlohmann::ordered_json j = {{"format", kFormat},
                                    {"recipe", "sleepedf-timedomain"},
                                    {"written_by", "psgkit train (src/staging/domain.cpp build_domain_reference)"},
                                    {"nights", nights},
                                    {"epochs", epochs},
                                    {"levels", levels},
                                    {"features", features},
                                    {"slots", slots_json}};
  return j.dump() + "\n";
}

DomainReference DomainReference::load(const std::filesystem::path& file) {
  const std::string where = file.string();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::exception& e) {
    throw Error(where, "json", e.what());
  }
  if (!j.is_object() || j.value("format", "") != kFormat)
    throw Error(where, "format", std::string("not a psgkit staging reference (expected format ") + kFormat + ")");
  DomainReference ref;
  try {
    ref.nights = j.at("nights").get<size_t>();
    ref.epochs = j.at("epochs").get<size_t>();
    ref.levels = j.at("levels").get<std::vector<double>>();
    ref.features = j.at("features").get<std::vector<std::string>>();
    for (const auto& [slot, s] : j.at("slots").items()) {
      auto& per_feature = ref.quantiles[slot];
      for (const auto& f : ref.features) {
        per_feature.push_back(s.at(f).get<std::vector<double>>());
        const auto& q = per_feature.back();
        if (q.size() != ref.levels.size() || !std::is_sorted(q.begin(), q.end()))
          throw Error(where, "slots." + slot + "." + f, "needs one non-decreasing value per level");
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(where, "slots", e.what());
  }
  if (ref.levels.size() < 2 || !std::is_sorted(ref.levels.begin(), ref.levels.end()) || ref.levels.front() != 0 ||
      ref.levels.back() != 1)
    throw Error(where, "levels", "must increase from 0 to 1");
  return ref;
}

DomainReference DomainReference::load() { return load(staging_model_dir() / kDomainReferenceFileName); }

DomainReference build_domain_reference(const std::vector<const FeatureTable*>& tables) {
  DomainReference ref;
  ref.features = recipe_feature_names(Recipe::SleepEdfTimedomain);
  for (size_t k = 0; k < kLevels; ++k) ref.levels.push_back(static_cast<double>(k) / (kLevels - 1));
  const std::vector<std::pair<std::string, std::vector<std::string>>> slots = {
      {"fpz_cz", {"fpz_cz"}}, {"pz_oz", {"pz_oz"}}, {"eog", {"eog"}}, {"eeg", {"fpz_cz", "pz_oz"}}};
  for (const auto& [slot, prefixes] : slots) {
    auto& per_feature = ref.quantiles[slot];
    for (const auto& f : ref.features) {
      std::vector<double> values;
      for (const FeatureTable* t : tables) {
        if (t->stages.size() != t->rows()) throw Error("", "stage", "a reference table needs the expert stage column");
        for (const auto& prefix : prefixes) {
          const auto c = static_cast<size_t>(require_feature_column(*t, prefix + "_" + f));
          for (size_t r = 0; r < t->rows(); ++r)
            if (t->stages[r] != Stage::UNS && std::isfinite(t->at(r, c))) values.push_back(t->at(r, c));
        }
      }
      if (values.empty()) throw Error("", slot + "_" + f, "no scored epoch to build the reference from");
      std::vector<double> q;
      for (double level : ref.levels)
        q.push_back(detail::interpolated_order_statistic(std::span<double>(values), level * static_cast<double>(values.size() - 1)));
      per_feature.push_back(std::move(q));
    }
  }
  ref.nights = tables.size();
  for (const FeatureTable* t : tables)
    ref.epochs += static_cast<size_t>(std::count_if(t->stages.begin(), t->stages.end(), [](Stage s) { return s != Stage::UNS; }));
  return ref;
}

DomainCheck check_domain(const FeatureTable& table, const std::vector<std::string>& prefixes,
                         const std::vector<std::string>& slots, const DomainReference& reference) {
  if (prefixes.size() != slots.size()) throw Error("", "slots", "one reference slot per channel prefix is needed");
  if (table.rows() == 0) throw Error("", "rows", "the domain check needs at least one epoch");
  DomainCheck out;
  out.epochs = table.rows();
  std::vector<double> positions(table.rows());
  for (size_t k = 0; k < slots.size(); ++k) {
    const auto it = reference.quantiles.find(slots[k]);
    if (it == reference.quantiles.end()) throw Error("", "slots", "the domain reference has no slot '" + slots[k] + "'");
    for (size_t f = 0; f < reference.features.size(); ++f) {
      const auto c = static_cast<size_t>(require_feature_column(table, prefixes[k] + "_" + reference.features[f]));
      size_t outside = 0;
      for (size_t r = 0; r < table.rows(); ++r) {
        const double x = table.at(r, c);
        // NaN (e.g. the moments of a flat epoch) sits at the median but counts as outside.
        positions[r] = std::isnan(x) ? 0.5 : position(it->second[f], reference.levels, x);
        outside += std::isnan(x) || positions[r] < kDomainOutsideLevel || positions[r] > 1 - kDomainOutsideLevel;
      }
      const double median = detail::interpolated_order_statistic(std::span<double>(positions), 0.5 * static_cast<double>(positions.size() - 1));
      out.components.push_back({slots[k], reference.features[f], static_cast<double>(outside) / static_cast<double>(table.rows()), median});
    }
  }
  std::stable_sort(out.components.begin(), out.components.end(),
                   [](const DomainComponent& a, const DomainComponent& b) { return a.outside_fraction > b.outside_fraction; });
  const size_t top = std::min(kDomainTopFeatures, out.components.size());
  for (size_t i = 0; i < top; ++i) out.distance += out.components[i].outside_fraction / static_cast<double>(top);
  out.warning = out.distance > out.threshold;
  return out;
}

std::string DomainCheck::message() const {
  if (!warning) return fmt::format("recording like the training nights (domain distance {:.2f} <= {:.2f})", distance, threshold);
  std::string text = fmt::format("recording unlike the training nights, staging may be wrong (domain distance {:.2f} > {:.2f}",
                                 distance, threshold);
  const size_t shown = std::min(kDomainTopFeatures, components.size());
  for (size_t i = 0; i < shown; ++i)
    text += fmt::format("{} {}_{} outside the training range in {:.0f} % of epochs (median at percentile {:.0f})",
                        i == 0 ? ":" : ";", components[i].slot, components[i].feature,
                        100 * components[i].outside_fraction, 100 * components[i].median_position);
  return text + ")";
}

std::string DomainCheck::to_json() const {
  nlohmann::ordered_json parts = nlohmann::ordered_json::array();
  for (const auto& c : components)
    parts.push_back({{"slot", c.slot}, {"feature", c.feature}, {"outside_fraction", c.outside_fraction},
                     {"median_position", c.median_position}});
  const nlohmann::ordered_json j = {{"domain_warning", warning},
                                    {"domain_distance", distance},
                                    {"domain_threshold", threshold},
                                    {"domain_epochs", epochs},
                                    {"domain_components", parts}};
  return j.dump();
}

DomainCheck DomainCheck::from_json(const std::string& text, const std::string& file) {
  DomainCheck out;
  const char* field = "";
  try {
    const auto j = nlohmann::json::parse(text);
    field = "domain_warning";
    out.warning = j.at(field).get<bool>();
    field = "domain_distance";
    out.distance = j.at(field).get<double>();
    field = "domain_threshold";
    out.threshold = j.at(field).get<double>();
    field = "domain_epochs";
    out.epochs = j.at(field).get<size_t>();
    field = "domain_components";
    for (const auto& c : j.at(field))
      out.components.push_back({c.at("slot").get<std::string>(), c.at("feature").get<std::string>(),
                                c.at("outside_fraction").get<double>(), c.at("median_position").get<double>()});
  } catch (const nlohmann::json::exception& e) {
    throw Error(file, field, std::string("not a domain check: ") + e.what());
  }
  return out;
}

}  // namespace psgkit
