// Staging a Recording: channel choice by label, sleepedf-timedomain recipe (recipes.hpp; resampling to
// 100 Hz happens there with psgkit::Resampler), then the matching shipped model.
#include <algorithm>
#include <cctype>
#include <future>
#include <thread>

#include "edf_text.hpp"
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

}  // namespace

namespace staging_detail {

// Recording::require_signal's rule (case-insensitive exact label) on a list of signals; -1 if absent.
int find_label(const std::vector<SignalInfo>& signals, std::string_view label) {
  const std::string_view wanted = edf_text::trim(label);
  for (size_t i = 0; i < signals.size(); ++i)
    if (std::ranges::equal(signals[i].label, wanted, [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      return static_cast<int>(i);
  return -1;
}

}  // namespace staging_detail

namespace {

using staging_detail::find_label;

int find_canonical(const std::vector<SignalInfo>& signals, std::string_view wanted) {
  for (size_t i = 0; i < signals.size(); ++i)
    if (canonical(signals[i].label) == wanted) return static_cast<int>(i);
  return -1;
}

std::string labels_of(const std::vector<SignalInfo>& signals) {
  std::string labels;
  for (const SignalInfo& s : signals) labels += (labels.empty() ? "'" : ", '") + s.label + "'";
  return labels.empty() ? std::string("none") : labels;
}

const std::string& require_label(const std::vector<SignalInfo>& signals, std::string_view label, const std::string& file) {
  const int i = find_label(signals, label);
  if (i < 0) throw Error(file, "signal '" + std::string(label) + "'", "not in the file; available: " + labels_of(signals));
  return signals[static_cast<size_t>(i)].label;
}

}  // namespace

namespace staging_detail {

StagingChannels pick_staging_channels(const std::vector<SignalInfo>& signals, const std::vector<std::string>& eeg,
                                      const std::string& eog, const std::string& file) {
  StagingChannels out;
  // EEG: given labels, else the preference list, else recipes' generic EEG picker.
  if (!eeg.empty()) {
    for (const auto& label : eeg) out.eeg.push_back(require_label(signals, label, file));
  } else {
    for (const char* want : kEegPreference) {
      const int i = find_canonical(signals, want);
      if (i >= 0) out.eeg.push_back(signals[static_cast<size_t>(i)].label);
    }
    if (out.eeg.empty()) out.eeg = pick_feature_channels(signals, Recipe::SleepEdfBandpower, file);
    if (out.eeg.empty())
      throw Error(file, "EEG channel", "no EEG channel recognised by label (give --eeg); signals: " + labels_of(signals));
  }
  if (!eog.empty()) {
    out.eog = require_label(signals, eog, file);
  } else {
    for (const char* want : kEogPreference) {
      const int i = find_canonical(signals, want);
      if (i >= 0) {
        out.eog = signals[static_cast<size_t>(i)].label;
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
                                   const std::vector<std::string>& prefixes, unsigned threads) {
  RecipeOptions recipe_options;
  recipe_options.prefixes = prefixes;
  recipe_options.threads = threads;
  FeatureTable table = compute_recipe(recording, channels, Recipe::SleepEdfTimedomain, recipe_options);
  if (table.rows() == 0) throw Error(recording.path().string(), "duration", "the recording is shorter than one 30-s epoch");
  return table;
}

}  // namespace staging_detail

namespace {

using namespace staging_detail;

// Channels and model, chosen by label: the result's eeg_channels/eog_channel/model, and the labels to
// compute the recipe on with their column prefixes, in the model's slot order.
struct StagingChoice {
  RecordingStaging result;
  std::vector<std::string> channels, prefixes;
  std::optional<StagingModel> model;
};

// A model file's layout as the shipped model with the same channel slots.
StagingModelId model_of_slots(const std::vector<std::string>& slots) {
  if (slots.size() == 1) return StagingModelId::Eeg1;
  if (slots.size() == 2) return slots.back() == "eog" ? StagingModelId::Eeg1Eog : StagingModelId::Eeg2;
  return StagingModelId::EegEog;
}

StagingChoice choose_staging(const std::vector<SignalInfo>& signals, const RecordingStagingOptions& options,
                             const std::string& file) {
  StagingChoice choice;
  RecordingStaging& out = choice.result;
  if (!options.model_file.empty()) {
    const StagingModel& model = choice.model.emplace(StagingModel::load(options.model_file));
    if (model.recipe() != kTimedomainRecipe)
      throw Error(options.model_file.string(), "recipe", "the model stages " + model.recipe() + " tables (stage --features), not recordings");
    const auto& slots = model.channel_slots();
    // Labels not given: those the model was trained on, where the recording has them.
    const StagingChannels trained = trained_channels_present(options.model_file, signals);
    const StagingChannels picked = pick_staging_channels(signals, options.eeg.empty() ? trained.eeg : options.eeg,
                                                         options.eog.empty() ? trained.eog : options.eog, file);
    choice.channels = channels_for_slots(file, picked, slots);
    choice.prefixes = slots;
    out.model_file = options.model_file;
    out.model = model_of_slots(slots);
    const bool has_eog = slots.back() == "eog";
    out.eeg_channels.assign(choice.channels.begin(), choice.channels.end() - (has_eog ? 1 : 0));
    if (has_eog) out.eog_channel = choice.channels.back();
    return choice;
  }
  StagingChannels picked = pick_staging_channels(signals, options.eeg, options.eog, file);
  out.eeg_channels = std::move(picked.eeg);
  out.eog_channel = std::move(picked.eog);
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
  // The domain check needs only the table: with more than one channel (threads as the recipe's) it
  // runs beside the model load and classifier.
  auto check = [&table, &prefixes = choice.prefixes] { return check_domain(table, prefixes, prefixes, DomainReference::load()); };
  const bool beside = options.threads != 1 && choice.prefixes.size() > 1 && std::thread::hardware_concurrency() > 1;
  std::future<DomainCheck> domain = std::async(beside ? std::launch::async : std::launch::deferred, check);
  if (!choice.model) choice.model.emplace(StagingModel::load(choice.result.model));
  const StagingModel& model = *choice.model;
  StagingOptions staging_options;
  staging_options.channels = choice.prefixes;
  staging_options.hmm = options.hmm;
  staging_options.age_years = options.age_years;
  staging_options.sex = options.sex;
  choice.result.n3_variance_inflation = model.n3_variance_inflation();
  choice.result.epochs = model.stage_rows(table, staging_options);
  choice.result.domain = domain.get();
  return std::move(choice.result);
}

}  // namespace

RecordingStaging stage_recording(const Recording& recording, const RecordingStagingOptions& options) {
  const std::string file = recording.path().string();
  StagingChoice choice = choose_staging(recording.signals(), options, file);
  const FeatureTable table = staging_feature_table(recording, choice.channels, choice.prefixes, options.threads);
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
