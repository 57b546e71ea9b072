// Out-of-domain check for automatic staging: how far a recording's features lie from those of the
// nights the staging models were trained on, so that a result psgkit cannot vouch for carries a
// warning (notes/domain.md has the definition's rationale and the threshold's calibration).
//
// Reference: for each channel slot of the sleepedf-timedomain models (fpz_cz, pz_oz, eog, and eeg =
// fpz_cz and pz_oz pooled, as the one-EEG model c trains on either) and each of the recipe's 13
// raw (un-normalised) features, the 0th, 1st, ..., 100th percentiles (numpy linear) of the training
// epochs (every expert-scored epoch of the 133 Sleep-EDF nights, UNS left out). `psgkit train`
// writes it as data/models/staging-reference.json.
//
// Distance of a recording (its feature table, one row per 30-s epoch):
//   position p = F(x) of each epoch's value in the training distribution of its slot and feature
//     (piecewise linear between the percentiles; 0 below the minimum, 1 above the maximum);
//   outside fraction of a feature = share of the recording's epochs with p < 0.01 or p > 0.99 (outside
//     the range of the central 98 % of training epochs; a NaN value counts as outside);
//   distance = the mean of the three largest outside fractions over the model's channel features.
// A night like the training nights scores near 0.02 whatever its mix of stages (every stage's
// epochs lie inside the pooled range); a signal in the wrong unit puts std and iqr of every epoch
// outside (distance >= 2/3); a different montage, sampling rate or population moves several
// features at once. The threshold kDomainWarningThreshold was calibrated on held-out Sleep-EDF
// nights and the DREAMS excerpts (notes/domain.md).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "psgkit/feature_table.hpp"

namespace psgkit {

inline constexpr const char* kDomainReferenceFileName = "staging-reference.json";
inline constexpr double kDomainOutsideLevel = 0.01;  // outside = below the 1st or above the 99th percentile
inline constexpr size_t kDomainTopFeatures = 3;      // distance = mean of the largest outside fractions
// Warn above this distance (calibration in notes/domain.md).
inline constexpr double kDomainWarningThreshold = 0.25;

struct DomainReference {
  std::vector<std::string> features;  // recipe_feature_names(Recipe::SleepEdfTimedomain)
  std::vector<double> levels;         // quantile levels 0, 0.01, ..., 1
  // slot -> feature index -> quantiles at `levels` (non-decreasing)
  std::map<std::string, std::vector<std::vector<double>>> quantiles;
  size_t nights = 0, epochs = 0;      // training nights and scored epochs behind it

  // JSON: {"format", "recipe", "nights", "epochs", "levels", "features", "slots": {slot: {feature: [...]}}}.
  std::string to_json() const;
  // Reads a file written by to_json(); throws psgkit::Error naming the file and field.
  static DomainReference load(const std::filesystem::path& file);
  // The shipped reference, staging_model_dir() / kDomainReferenceFileName.
  static DomainReference load();
};

// The reference from sleepedf-timedomain tables with an expert `stage` column (rows scored UNS are
// left out); slots fpz_cz, pz_oz, eog from the columns of the same prefix, eeg from fpz_cz and pz_oz
// together. Throws psgkit::Error naming a table without a stage column or a missing feature column.
DomainReference build_domain_reference(const std::vector<const FeatureTable*>& tables);

struct DomainComponent {
  std::string slot, feature;
  double outside_fraction = 0;  // share of epochs outside the training's central 98 %
  double median_position = 0;   // median over epochs of p (0.5: the training median)
};

struct DomainCheck {
  double distance = 0;   // see the header comment
  double threshold = kDomainWarningThreshold;
  bool warning = false;  // distance > threshold
  size_t epochs = 0;
  std::vector<DomainComponent> components;  // every slot x feature, largest outside fraction first

  // One line for people: distance and threshold, and with a warning the features furthest out, e.g.
  // "recording unlike the training nights, staging may be wrong (domain distance 0.93 > 0.25: eeg_std
  // outside the training range in 100 % of epochs (median at percentile 100); ...)".
  std::string message() const;
  // JSON object {"domain_warning", "domain_distance", "domain_threshold", "domain_components": [{slot,
  // feature, outside_fraction, median_position}, ...]}, whose keys callers merge into their own output.
  std::string to_json() const;
  // Reads an object written by to_json() (e.g. from a per-night record); throws psgkit::Error naming
  // `file` and the field.
  static DomainCheck from_json(const std::string& text, const std::string& file);
};

// Measures table columns <prefixes[k]>_<feature> against the reference's slots[k] (same length).
// Throws psgkit::Error for a missing column or unknown slot, or an empty table.
DomainCheck check_domain(const FeatureTable& table, const std::vector<std::string>& prefixes,
                         const std::vector<std::string>& slots, const DomainReference& reference);

}  // namespace psgkit
