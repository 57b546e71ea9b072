// `psgkit train` (rebuild the staging models + cross-validation report) and `psgkit stage`.
#include <iostream>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli.hpp"
#include "progress.hpp"
#include "psgkit/error.hpp"
#include "psgkit/feature_table.hpp"
#include "psgkit/io.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/staging.hpp"

namespace {

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

psgkit::StagingModelId model_id_option(const std::string& text) {
  const auto id = psgkit::parse_staging_model_id(text);
  if (!id) throw psgkit::Error("", "--model", "unknown model '" + text + "' (a, b, c, d or e)");
  return *id;
}

std::string staged_json(const psgkit::StagedEpochs& staged, const nlohmann::json& info) {
  nlohmann::json epochs = nlohmann::json::array();
  for (size_t i = 0; i < staged.onset_s.size(); ++i) {
    const auto& p = staged.probabilities[i];
    epochs.push_back({{"onset_s", staged.onset_s[i]},
                      {"stage", std::string(psgkit::to_string(staged.stages[i]))},
                      {"confidence", *std::max_element(p.begin(), p.end())},
                      {"p", p}});
  }
  nlohmann::json out = info;
  out["epoch_s"] = 30.0;
  out["stages"] = {"W", "N1", "N2", "N3", "REM"};
  out["epochs"] = epochs;
  return out.dump(1) + "\n";
}

// The domain check (timedomain models only) goes to stderr, as a warning above the threshold, and
// into the JSON.
void write_result(const std::string& out, bool as_json, const psgkit::StagedEpochs& staged, nlohmann::json info,
                  const std::optional<psgkit::DomainCheck>& domain) {
  if (domain) {
    std::cerr << "psgkit stage: " << (domain->warning ? "WARNING: " : "") << domain->message() << "\n";
    info.update(nlohmann::json::parse(domain->to_json()));
  }
  psgkit_cli::emit(out, as_json ? staged_json(staged, info) : psgkit::staged_epochs_csv(staged));
}

const psgkit_cli::Register reg_stage([](CLI::App& app) {
  auto* cmd = app.add_subcommand("stage", "Stage 30-s epochs (W/N1/N2/N3/REM + probabilities) from an EDF or a features table");
  struct Args {
    std::string input, features, eeg, eog, out, model, sex;
    bool json = false, no_hmm = false;
    std::optional<double> age_years;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("file", args->input, "EDF/EDF+/BDF recording");
  cmd->add_option("--features", args->features,
                  "stage a per-epoch features table instead (sleepedf-timedomain or sleepedf-bandpower columns, "
                  "recipe detected from the columns)");
  cmd->add_option("--eeg", args->eeg, "EEG channel label(s), comma-separated (default: picked by label)");
  cmd->add_option("--eog", args->eog, "EOG channel label (default: picked by label; none if absent)");
  cmd->add_option("--model", args->model,
                  "a (Fpz-Cz+Pz-Oz+EOG), b (Fpz-Cz+Pz-Oz), c (1 EEG), e (1 EEG + EOG), d (bandpower table), or a model "
                  "file from `psgkit train --manifest`; default: from the channels");
  cmd->add_option("--age", args->age_years, "subject's age in years (optional model input)");
  cmd->add_option("--sex", args->sex, "subject's sex, F or M (optional model input)")->check(CLI::IsMember({"F", "M"}));
  cmd->add_option("-o,--out", args->out, "output file (default: stdout)");
  cmd->add_flag("--json", args->json, "write JSON (channels, model, per-epoch stage and probabilities) instead of CSV");
  cmd->add_flag("--no-hmm", args->no_hmm, "raw classifier probabilities, without HMM smoothing");
  cmd->callback([args] {
    if (args->features.empty() == args->input.empty())
      throw psgkit::Error("", "file", "give either a recording FILE or --features TABLE.csv");
    if (!args->features.empty()) {
      const psgkit::FeatureTable table = psgkit::read_feature_csv(args->features);
      const bool file_model = !args->model.empty() && !psgkit::parse_staging_model_id(args->model);
      const psgkit::StagingModelId id = file_model ? psgkit::StagingModelId::Eeg1
                                        : args->model.empty() ? psgkit::detect_staging_model(table)
                                                              : model_id_option(args->model);
      const psgkit::StagingModel model = file_model ? psgkit::StagingModel::load(args->model) : psgkit::StagingModel::load(id);
      psgkit::StagingOptions options;
      options.hmm = !args->no_hmm;
      options.age_years = args->age_years;
      if (!args->sex.empty()) options.sex = args->sex[0];
      options.channels = split_commas(args->eeg);
      const std::string eeg1 = table.column("fpz_cz_std") >= 0 ? "fpz_cz" : "pz_oz";
      const auto& slots = model.channel_slots();
      if (options.channels.empty() && slots == std::vector<std::string>{"eeg"}) options.channels = {eeg1};
      if (options.channels.empty() && slots == std::vector<std::string>{"eeg", "eog"}) options.channels = {eeg1, "eog"};
      const psgkit::StagedEpochs staged = model.stage_rows(table, options);
      std::optional<psgkit::DomainCheck> domain;
      if (model.recipe() != "sleepedf-bandpower")
        domain = psgkit::check_domain(table, options.channels.empty() ? slots : options.channels, slots,
                                      psgkit::DomainReference::load());
      const std::string model_name = file_model ? args->model : std::string(psgkit::to_string(id));
      std::cerr << "psgkit stage: model " << model_name << " (" << model.path().filename().string() << "), "
                << staged.onset_s.size() << " epochs\n";
      write_result(args->out, args->json, staged,
                   {{"input", args->features}, {"model", model_name}, {"hmm", options.hmm}}, domain);
      return;
    }
    const psgkit::Recording recording = psgkit::Recording::open(args->input);
    psgkit::RecordingStagingOptions options;
    options.eeg = split_commas(args->eeg);
    options.eog = args->eog;
    options.hmm = !args->no_hmm;
    options.age_years = args->age_years;
    if (!args->sex.empty()) options.sex = args->sex[0];
    if (!args->model.empty() && !psgkit::parse_staging_model_id(args->model)) options.model_file = args->model;
    else if (!args->model.empty()) options.model = model_id_option(args->model);
    const psgkit::RecordingStaging result = psgkit::stage_recording(recording, options);
    const std::string model_name = result.model_file.empty() ? std::string(psgkit::to_string(result.model)) : result.model_file.string();
    std::string eeg_list;
    for (const auto& ch : result.eeg_channels) eeg_list += (eeg_list.empty() ? "" : ", ") + ch;
    std::cerr << "psgkit stage: EEG " << eeg_list << "; EOG " << (result.eog_channel.empty() ? "none" : result.eog_channel)
              << "; model " << model_name << "; " << result.epochs.onset_s.size() << " epochs\n";
    write_result(args->out, args->json, result.epochs,
                 {{"input", args->input}, {"eeg", result.eeg_channels}, {"eog", result.eog_channel},
                  {"model", model_name}, {"hmm", options.hmm}},
                 result.domain);
  });
});

const psgkit_cli::Register reg_train([](CLI::App& app) {
  auto* cmd = app.add_subcommand("train",
                                 "Train a staging model on your own scored nights (--manifest), or rebuild the shipped "
                                 "models and their cross-validation report");
  struct Args {
    std::string data = "../shared/data", out, models = "a,b,c,d,e", manifest, from, eeg, eog;
    bool no_cv = false, ablation = false, stack = false, reference_only = false, skip_bad = false;
    int folds = 10, max_nights = 0, rounds = 0, jobs = 1;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--manifest", args->manifest,
                  "CSV subject,path,hypnogram[,eeg][,eog] of your nights (hypnogram empty: the EDF+'s stage annotations)");
  cmd->add_option("-o,--out", args->out, "with --manifest: the model file to write (and <stem>.report.md/.json beside it); "
                                         "else the output folder for the shipped models and report (default data/models)");
  cmd->add_option("--from", args->from, "with --manifest: continue boosting from a shipped model (a, b, c) or a model file");
  cmd->add_option("--eeg", args->eeg, "with --manifest: EEG label(s) of every night, comma-separated (default: picked by label)");
  cmd->add_option("--eog", args->eog, "with --manifest: EOG label of every night (adds an EOG slot; needs two EEG)");
  cmd->add_option("-j,--jobs", args->jobs, "with --manifest: nights whose features are extracted in parallel")->check(CLI::PositiveNumber);
  cmd->add_flag("--skip-bad", args->skip_bad, "with --manifest: leave out nights that fail (listed in the report) instead of stopping");
  cmd->add_option("--data", args->data, "shared data folder (sleep-edf-153/, sleep-edf/)")->capture_default_str();
  cmd->add_option("--models", args->models, "models to build: comma-separated subset of a,b,c,d,e (each writes its own staging-cv-report-<id>.{json,md})")->capture_default_str();
  cmd->add_flag("--no-cv", args->no_cv, "skip cross-validation (models only; no report for the shipped models)");
  cmd->add_flag("--ablation", args->ablation, "also cross-validate feature variants of model a");
  cmd->add_flag("--stack", args->stack, "model a with a second level over its out-of-fold probabilities of neighbouring epochs (experiment, not shipped)");
  cmd->add_flag("--reference-only", args->reference_only,
                "only rebuild the domain reference (staging-reference.json) from the timedomain nights");
  cmd->add_option("--folds", args->folds, "subject-wise folds")->capture_default_str();
  cmd->add_option("--max-nights", args->max_nights, "use only the first N nights of each data set (quick runs)");
  cmd->add_option("--rounds", args->rounds, "override the boosting rounds (default 60)");
  cmd->callback([args] {
    if (!args->manifest.empty()) {
      if (args->out.empty()) throw psgkit::Error("", "-o", "give the model file to write: -o my-model.ubj");
      if (args->data != "../shared/data" || args->models != "a,b,c,d,e" || args->ablation || args->stack || args->max_nights > 0)
        throw psgkit::Error("", "--manifest", "--data, --models, --ablation and --max-nights rebuild the shipped models; not with --manifest");
      psgkit::ManifestTrainOptions options;
      options.from = args->from;
      options.eeg = split_commas(args->eeg);
      options.eog = args->eog;
      options.cross_validate = !args->no_cv;
      options.folds = args->folds;
      options.jobs = args->jobs;
      options.skip_bad = args->skip_bad;
      if (args->rounds > 0) options.rounds = args->rounds;
      std::optional<psgkit_cli::Progress> progress(std::in_place, "train", psgkit::read_training_manifest(args->manifest).size());
      options.on_night_done = [&](const std::string& night, const std::string& error) { progress->item_done(night, error); };
      const psgkit::TrainedStagingModel trained = psgkit::train_staging_model(args->manifest, options, &std::cerr);
      progress.reset();
      psgkit::write_trained_staging_model(trained, args->out);
      std::cerr << "psgkit train: wrote " << args->out << " and its report" << std::endl;
      return;
    }
    for (const auto* flag : {&args->from, &args->eeg, &args->eog})
      if (!flag->empty()) throw psgkit::Error("", "--from/--eeg/--eog", "only with --manifest");
    psgkit::StagingTrainOptions options;
    options.data_dir = args->data;
    options.out_dir = args->out.empty() ? "data/models" : args->out;
    options.models.clear();
    for (const auto& m : split_commas(args->models)) options.models.push_back(model_id_option(m));
    options.cross_validate = !args->no_cv;
    options.ablation = args->ablation;
    options.stack = args->stack;
    options.reference_only = args->reference_only;
    options.folds = args->folds;
    options.max_nights = args->max_nights;
    options.rounds = args->rounds;
    psgkit::train_staging_models(options, &std::cerr);
  });
});

}  // namespace
