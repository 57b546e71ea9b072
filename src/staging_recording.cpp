// Staging a Recording: channel choice by label, sleepedf-timedomain recipe (recipes.hpp; resampling to
// 100 Hz happens there with psgkit::Resampler), then the matching shipped model.
#include <algorithm>
#include <cctype>

#include "psgkit/error.hpp"
#include "psgkit/recipes.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/staging.hpp"
#include "staging_internal.hpp"

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

namespace staging_detail {

StagingChannels pick_staging_channels(const Recording& recording, const std::vector<std::string>& eeg,
                                      const std::string& eog) {
  const std::string file = recording.path().string();
  StagingChannels out;
  // EEG: given labels, else the preference list, else recipes' generic EEG picker.
  if (!eeg.empty()) {
    for (const auto& label : eeg) out.eeg.push_back(recording.signals()[static_cast<size_t>(recording.require_signal(label))].label);
  } else {
    for (const char* want : kEegPreference) {
      const int i = find_canonical(recording, want);
      if (i >= 0) out.eeg.push_back(recording.signals()[static_cast<size_t>(i)].label);
    }
    if (out.eeg.empty()) {
      for (const auto& label : pick_feature_channels(recording, Recipe::SleepEdfBandpower)) out.eeg.push_back(label);
    }
    if (out.eeg.empty()) {
      std::string labels;
      for (const auto& s : recording.signals()) labels += (labels.empty() ? "" : ", ") + s.label;
      throw Error(file, "EEG channel", "no EEG channel recognised by label (give --eeg); signals: " + labels);
    }
  }
  if (!eog.empty()) {
    out.eog = recording.signals()[static_cast<size_t>(recording.require_signal(eog))].label;
  } else {
    for (const char* want : kEogPreference) {
      const int i = find_canonical(recording, want);
      if (i >= 0) {
        out.eog = recording.signals()[static_cast<size_t>(i)].label;
        break;
      }
    }
  }
  return out;
}

std::vector<std::string> channels_for_slots(const std::string& file, const StagingChannels& picked,
                                            const std::vector<std::string>& slots) {
  const auto n_eeg = static_cast<size_t>(std::count_if(slots.begin(), slots.end(), [](const auto& s) { return s != "eog"; }));
  if (picked.eeg.size() < n_eeg)
    throw Error(file, "EEG channel", "the model needs " + std::to_string(n_eeg) + " EEG channels, found " +
                                         std::to_string(picked.eeg.size()) + " (give --eeg A,B)");
  std::vector<std::string> channels(picked.eeg.begin(), picked.eeg.begin() + static_cast<long>(n_eeg));
  if (n_eeg < slots.size()) {
    if (picked.eog.empty()) throw Error(file, "EOG channel", "the model needs an EOG channel (give --eog)");
    channels.push_back(picked.eog);
  }
  return channels;
}

FeatureTable staging_feature_table(const Recording& recording, const std::vector<std::string>& channels,
                                   const std::vector<std::string>& prefixes) {
  RecipeOptions recipe_options;
  recipe_options.prefixes = prefixes;
  FeatureTable table = compute_recipe(recording, channels, Recipe::SleepEdfTimedomain, recipe_options);
  if (table.rows() == 0) throw Error(recording.path().string(), "duration", "the recording is shorter than one 30-s epoch");
  return table;
}

}  // namespace staging_detail

using namespace staging_detail;

RecordingStaging stage_recording(const Recording& recording, const RecordingStagingOptions& options) {
  const std::string file = recording.path().string();
  RecordingStaging out;
  if (!options.model_file.empty()) {
    const StagingModel model = StagingModel::load(options.model_file);
    if (model.recipe() != kTimedomainRecipe)
      throw Error(options.model_file.string(), "recipe", "the model stages " + model.recipe() + " tables (stage --features), not recordings");
    const auto& slots = model.channel_slots();
    // Labels not given: those the model was trained on, where the recording has them.
    const StagingChannels trained = trained_channels_present(options.model_file, recording);
    const StagingChannels picked = pick_staging_channels(recording, options.eeg.empty() ? trained.eeg : options.eeg,
                                                         options.eog.empty() ? trained.eog : options.eog);
    const std::vector<std::string> channels = channels_for_slots(file, picked, slots);
    out.model_file = options.model_file;
    out.model = slots.size() == 1 ? StagingModelId::Eeg1 : slots.size() == 2 ? StagingModelId::Eeg2 : StagingModelId::EegEog;
    out.eeg_channels.assign(channels.begin(), channels.begin() + static_cast<long>(slots.size() - (slots.back() == "eog")));
    if (slots.back() == "eog") out.eog_channel = channels.back();
    StagingOptions staging_options;
    staging_options.channels = slots;
    staging_options.hmm = options.hmm;
    out.epochs = model.stage_rows(staging_feature_table(recording, channels, slots), staging_options);
    return out;
  }
  StagingChannels picked = pick_staging_channels(recording, options.eeg, options.eog);
  out.eeg_channels = std::move(picked.eeg);
  out.eog_channel = std::move(picked.eog);
  // Model: a/b need the Sleep-EDF derivations (or two EEG labels given explicitly); anything else is
  // staged with the montage-agnostic one-channel model on the best EEG.
  const bool sleep_edf_pair = out.eeg_channels.size() >= 2 && canonical(out.eeg_channels[0]) == "fpzcz" &&
                              canonical(out.eeg_channels[1]) == "pzoz";
  const bool two_given = options.eeg.size() >= 2;
  if (options.model) {
    out.model = *options.model;
  } else if (sleep_edf_pair || two_given) {
    out.model = out.eog_channel.empty() ? StagingModelId::Eeg2 : StagingModelId::EegEog;
  } else {
    out.model = StagingModelId::Eeg1;
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
    case StagingModelId::Bandpower:
      throw Error(file, "--model", "model d stages sleepedf-bandpower tables (stage --features), not recordings");
  }
  const FeatureTable table = staging_feature_table(recording, channels, prefixes);
  const StagingModel model = StagingModel::load(out.model);
  StagingOptions staging_options;
  staging_options.channels = prefixes;
  staging_options.hmm = options.hmm;
  out.epochs = model.stage_rows(table, staging_options);
  return out;
}

}  // namespace psgkit
