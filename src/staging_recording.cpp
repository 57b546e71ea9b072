// Staging a Recording: channel choice by label, sleepedf-timedomain recipe (recipes.hpp; resampling to
// 100 Hz happens there with psgkit::Resampler), then the matching shipped model.
#include <algorithm>
#include <cctype>

#include "edf_text.hpp"
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

int find_canonical(const std::vector<SignalInfo>& signals, std::string_view wanted) {
  for (size_t i = 0; i < signals.size(); ++i)
    if (canonical(signals[i].label) == wanted) return static_cast<int>(i);
  return -1;
}

// Recording::require_signal's rule (case-insensitive exact label) on a list of signals.
const std::string& require_label(const std::vector<SignalInfo>& signals, std::string_view label, const std::string& file) {
  const std::string_view wanted = edf_text::trim(label);
  std::string available;
  for (const SignalInfo& s : signals) {
    if (std::ranges::equal(s.label, wanted, [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      return s.label;
    available += (available.empty() ? "'" : ", '") + s.label + "'";
  }
  throw Error(file, "signal '" + std::string(label) + "'",
              "not in the file; available: " + (available.empty() ? std::string("none") : available));
}

// Channels and model, chosen by label: the result's eeg_channels/eog_channel/model, and the labels to
// compute the recipe on with their column prefixes, in the model's slot order.
struct StagingChoice {
  RecordingStaging result;
  std::vector<std::string> channels, prefixes;
};

StagingChoice choose_staging(const std::vector<SignalInfo>& signals, const RecordingStagingOptions& options,
                             const std::string& file) {
  StagingChoice choice;
  RecordingStaging& out = choice.result;
  // EEG: given labels, else the preference list, else recipes' generic EEG picker.
  if (!options.eeg.empty()) {
    for (const auto& label : options.eeg) out.eeg_channels.push_back(require_label(signals, label, file));
  } else {
    for (const char* want : kEegPreference) {
      const int i = find_canonical(signals, want);
      if (i >= 0) out.eeg_channels.push_back(signals[static_cast<size_t>(i)].label);
    }
    if (out.eeg_channels.empty()) out.eeg_channels = pick_feature_channels(signals, Recipe::SleepEdfBandpower, file);
  }
  if (!options.eog.empty()) {
    out.eog_channel = require_label(signals, options.eog, file);
  } else {
    for (const char* want : kEogPreference) {
      const int i = find_canonical(signals, want);
      if (i >= 0) {
        out.eog_channel = signals[static_cast<size_t>(i)].label;
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
  switch (out.model) {
    case StagingModelId::EegEog:
      if (out.eog_channel.empty()) throw Error(file, "EOG channel", "model a needs an EOG channel (give --eog)");
      [[fallthrough]];
    case StagingModelId::Eeg2:
      if (out.eeg_channels.size() < 2) throw Error(file, "EEG channel", "models a and b need two EEG channels (give --eeg A,B)");
      out.eeg_channels.resize(2);
      choice.channels = out.eeg_channels;
      choice.prefixes = {"fpz_cz", "pz_oz"};
      if (out.model == StagingModelId::EegEog) {
        choice.channels.push_back(out.eog_channel);
        choice.prefixes.push_back("eog");
      } else {
        out.eog_channel.clear();
      }
      break;
    case StagingModelId::Eeg1:
      out.eeg_channels.resize(1);
      out.eog_channel.clear();
      choice.channels = out.eeg_channels;
      choice.prefixes = {"eeg"};
      break;
    case StagingModelId::Eeg1Eog:
      if (out.eog_channel.empty()) throw Error(file, "EOG channel", "model e needs an EOG channel (give --eog)");
      out.eeg_channels.resize(1);
      choice.channels = {out.eeg_channels[0], out.eog_channel};
      choice.prefixes = {"eeg", "eog"};
      break;
    case StagingModelId::Bandpower:
      throw Error(file, "--model", "model d stages sleepedf-bandpower tables (stage --features), not recordings");
  }
  return choice;
}

RecordingStaging stage_table(StagingChoice choice, const FeatureTable& table, const RecordingStagingOptions& options,
                             const std::string& file) {
  if (table.rows() == 0) throw Error(file, "duration", "the recording is shorter than one 30-s epoch");
  const StagingModel model = StagingModel::load(choice.result.model);
  StagingOptions staging_options;
  staging_options.channels = choice.prefixes;
  staging_options.hmm = options.hmm;
  staging_options.age_years = options.age_years;
  staging_options.sex = options.sex;
  choice.result.n3_variance_inflation = model.n3_variance_inflation();
  choice.result.epochs = model.stage_rows(table, staging_options);
  choice.result.domain = check_domain(table, choice.prefixes, choice.prefixes, DomainReference::load());
  return std::move(choice.result);
}

}  // namespace

RecordingStaging stage_recording(const Recording& recording, const RecordingStagingOptions& options) {
  const std::string file = recording.path().string();
  StagingChoice choice = choose_staging(recording.signals(), options, file);
  RecipeOptions recipe_options;
  recipe_options.prefixes = choice.prefixes;
  const FeatureTable table = compute_recipe(recording, choice.channels, Recipe::SleepEdfTimedomain, recipe_options);
  return stage_table(std::move(choice), table, options, file);
}

RecordingStaging stage_signals(std::span<const SignalSamples> signals, const RecordingStagingOptions& options,
                               const std::string& source) {
  std::vector<SignalInfo> infos;
  for (const SignalSamples& s : signals) {
    SignalInfo& info = infos.emplace_back();
    info.label = s.label;
    info.fs_hz = s.fs_hz;
    info.n_samples = static_cast<int64_t>(s.samples_uv.size());
  }
  StagingChoice choice = choose_staging(infos, options, source);
  std::vector<SignalSamples> chosen;
  for (const std::string& label : choice.channels)
    for (const SignalSamples& s : signals)
      if (s.label == label) {
        chosen.push_back(s);
        break;
      }
  RecipeOptions recipe_options;
  recipe_options.prefixes = choice.prefixes;
  const FeatureTable table = compute_recipe(chosen, Recipe::SleepEdfTimedomain, recipe_options, nullptr, source);
  return stage_table(std::move(choice), table, options, source);
}

}  // namespace psgkit
