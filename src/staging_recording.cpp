// Staging a Recording: channel choice by label, sleepedf-timedomain recipe (recipes.hpp; resampling to
// 100 Hz happens there with psgkit::Resampler), then the matching shipped model.
#include <algorithm>
#include <cctype>

#include "psgkit/error.hpp"
#include "psgkit/recipes.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/staging.hpp"

namespace psgkit {

namespace {

// Lower case, "EEG "/"EOG " prefix dropped, '-', ' ', '_', ':' removed: "EEG Fpz-Cz" -> "fpzcz".
std::string canonical(std::string_view label) {
  std::string s;
  for (char c : label) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* p : {"eeg", "eog"})
    if (s.rfind(p, 0) == 0 && s.size() > 3 && (s[3] == ' ' || s[3] == '_' || s[3] == ':')) s = s.substr(4);
  std::erase_if(s, [](char c) { return c == '-' || c == ' ' || c == '_' || c == ':'; });
  return s;
}

// Preferred EEG derivations, best first: the Sleep-EDF pair, then AASM central/occipital/frontal ones.
const char* const kEegPreference[] = {"fpzcz", "pzoz", "c4m1", "c3m2", "c4a1", "c3a2", "czm1", "cza1",
                                      "c3a1", "c4a2", "czm2", "cza2", "o2m1", "o1m2", "f4m1", "f3m2"};
const char* const kEogPreference[] = {"horizontal", "e1m2", "e2m1", "loc", "roc", "e1", "e2", "eogl", "eogr"};

int find_canonical(const Recording& rec, std::string_view wanted) {
  const auto& sig = rec.signals();
  for (size_t i = 0; i < sig.size(); ++i)
    if (canonical(sig[i].label) == wanted) return static_cast<int>(i);
  return -1;
}

}  // namespace

RecordingStaging stage_recording(const Recording& recording, const RecordingStagingOptions& options) {
  const std::string file = recording.path().string();
  RecordingStaging out;
  // EEG: given labels, else the preference list, else recipes' generic EEG picker.
  if (!options.eeg.empty()) {
    for (const auto& label : options.eeg) out.eeg_channels.push_back(recording.signals()[static_cast<size_t>(recording.require_signal(label))].label);
  } else {
    for (const char* want : kEegPreference) {
      const int i = find_canonical(recording, want);
      if (i >= 0) out.eeg_channels.push_back(recording.signals()[static_cast<size_t>(i)].label);
    }
    if (out.eeg_channels.empty()) {
      for (const auto& label : pick_feature_channels(recording, Recipe::SleepEdfBandpower)) out.eeg_channels.push_back(label);
    }
    if (out.eeg_channels.empty()) {
      std::string labels;
      for (const auto& s : recording.signals()) labels += (labels.empty() ? "" : ", ") + s.label;
      throw Error(file, "EEG channel", "no EEG channel recognised by label (give --eeg); signals: " + labels);
    }
  }
  if (!options.eog.empty()) {
    out.eog_channel = recording.signals()[static_cast<size_t>(recording.require_signal(options.eog))].label;
  } else {
    for (const char* want : kEogPreference) {
      const int i = find_canonical(recording, want);
      if (i >= 0) {
        out.eog_channel = recording.signals()[static_cast<size_t>(i)].label;
        break;
      }
    }
  }
  // Model: a/b need the Sleep-EDF derivations (or two EEG labels given explicitly); anything else is
  // staged with a montage-agnostic one-EEG model on the best EEG: e with an EOG, else c.
  const bool sleep_edf_pair = out.eeg_channels.size() >= 2 && canonical(out.eeg_channels[0]) == "fpzcz" &&
                              canonical(out.eeg_channels[1]) == "pzoz";
  const bool two_given = options.eeg.size() >= 2;
  if (options.model) {
    out.model = *options.model;
  } else if (sleep_edf_pair || two_given) {
    out.model = out.eog_channel.empty() ? StagingModelId::Eeg2 : StagingModelId::EegEog;
  } else {
    out.model = out.eog_channel.empty() ? StagingModelId::Eeg1 : StagingModelId::Eeg1Eog;
  }
  std::vector<std::string> channels, prefixes;
  switch (out.model) {
    case StagingModelId::EegEog:
      if (out.eog_channel.empty()) throw Error(file, "EOG channel", "model a needs an EOG channel (give --eog)");
      [[fallthrough]];
    case StagingModelId::Eeg2:
      if (out.eeg_channels.size() < 2) throw Error(file, "EEG channel", "models a and b need two EEG channels (give --eeg A,B)");
      out.eeg_channels.resize(2);
      channels = out.eeg_channels;
      prefixes = {"fpz_cz", "pz_oz"};
      if (out.model == StagingModelId::EegEog) {
        channels.push_back(out.eog_channel);
        prefixes.push_back("eog");
      } else {
        out.eog_channel.clear();
      }
      break;
    case StagingModelId::Eeg1:
      out.eeg_channels.resize(1);
      out.eog_channel.clear();
      channels = out.eeg_channels;
      prefixes = {"eeg"};
      break;
    case StagingModelId::Eeg1Eog:
      if (out.eog_channel.empty()) throw Error(file, "EOG channel", "model e needs an EOG channel (give --eog)");
      out.eeg_channels.resize(1);
      channels = {out.eeg_channels[0], out.eog_channel};
      prefixes = {"eeg", "eog"};
      break;
    case StagingModelId::Bandpower:
      throw Error(file, "--model", "model d stages sleepedf-bandpower tables (stage --features), not recordings");
  }
  RecipeOptions recipe_options;
  recipe_options.prefixes = prefixes;
  const FeatureTable table = compute_recipe(recording, channels, Recipe::SleepEdfTimedomain, recipe_options);
  if (table.rows() == 0) throw Error(file, "duration", "the recording is shorter than one 30-s epoch");
  const StagingModel model = StagingModel::load(out.model);
  StagingOptions staging_options;
  staging_options.channels = prefixes;
  staging_options.hmm = options.hmm;
  staging_options.age_years = options.age_years;
  staging_options.sex = options.sex;
  out.n3_variance_inflation = model.n3_variance_inflation();
  out.epochs = model.stage_rows(table, staging_options);
  return out;
}

}  // namespace psgkit
