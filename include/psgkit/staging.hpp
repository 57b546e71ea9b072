// Automatic sleep staging: one stage (W, N1, N2, N3, REM) per 30-s epoch with a probability for each
// stage, from per-epoch feature tables of the two Sleep-EDF recipes (see recipes.hpp) or a Recording.
//
// Pipeline (same code at training and inference, src/staging/staging.cpp):
//  1. Per-channel base features of the recipe; amplitude-like ones (std, iqr, var, band PSDs) as ln.
//     The bandpower recipe adds ln relative band powers (band / sum of the five bands).
//  2. Per-recording robust normalisation: z = (x - median) / IQR over the recording's own epochs.
//  3. Context across epochs, in recording time (onset_s; rows missing from the table are simply
//     absent from the windows): a centred triangular-weighted mean of z over ±7 epochs (7.5 min) and
//     a past mean over the current and 3 previous epochs (2 min), as in YASA (Vallat & Walker, eLife
//     2021), and a centred SD of z over ±5 epochs.
//  4. Gradient-boosted trees (XGBoost multi:softprob, Chen & Guestrin 2016) give p(stage | features);
//     trained with libxgboost, evaluated by psgkit itself (the same probabilities, bit for bit).
//  5. HMM smoothing: p / class prior = scaled likelihood, forward-backward posterior with the 5x5
//     epoch-to-epoch transition matrix learnt from the training hypnograms; a gap of g missing epochs
//     between two rows uses the transition matrix to the power g + 1.
//
// Shipped models (data/models, rebuilt by `psgkit train`):
//   a  staging-a-eeg-eog.ubj    sleepedf-timedomain: fpz_cz, pz_oz, eog
//   b  staging-b-eeg2.ubj       sleepedf-timedomain: fpz_cz, pz_oz
//   c  staging-c-eeg1.ubj       sleepedf-timedomain: one EEG channel (any montage)
//   d  staging-d-bandpower.ubj  sleepedf-bandpower: fpz_cz, pz_oz
//   e  staging-e-eeg1-eog.ubj   sleepedf-timedomain: one EEG channel (any montage) + one EOG
// Model e also takes the subject's age and sex (optional; XGBoost's missing-value branches
// when unknown; StagingModel::takes_demographics). Every model blends the per-recording
// normalisation with the training distribution when a recording is shorter than 4 h
// (data/models/README.md).
#pragma once

#include <array>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "psgkit/domain.hpp"
#include "psgkit/feature_table.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/recipes.hpp"

namespace psgkit {

class Recording;

// The shipped models a, b, c, d, e (e: one EEG of any derivation + one EOG).
enum class StagingModelId { EegEog, Eeg2, Eeg1, Bandpower, Eeg1Eog };

// "a", "b", "c", "d", "e".
std::string_view to_string(StagingModelId id);
// Accepts "a".."e" and "eeg-eog", "eeg2", "eeg1", "bandpower", "eeg1-eog"; nullopt otherwise.
std::optional<StagingModelId> parse_staging_model_id(std::string_view text);
// File name inside the model folder, e.g. "staging-a-eeg-eog.ubj".
std::string staging_model_file_name(StagingModelId id);

// Folder of the shipped models: $PSGKIT_MODEL_DIR if set, else <source tree>/data/models if it holds
// the models, else <install prefix>/share/psgkit/models. Throws psgkit::Error naming every folder
// tried when none holds staging-a-eeg-eog.ubj (or $PSGKIT_MODEL_DIR lacks it).
std::filesystem::path staging_model_dir();

using StageProbabilities = std::array<float, kNumSleepStages>;  // W, N1, N2, N3, REM

// Epoch-to-epoch HMM over W, N1, N2, N3, REM (Rabiner 1989, scaled forward-backward).
struct StagingHmm {
  std::array<std::array<double, kNumSleepStages>, kNumSleepStages> transition{};  // rows sum to 1
  std::array<double, kNumSleepStages> prior{};  // class frequencies of the classifier's training rows
  // Emission = p^evidence_exponent / prior^prior_exponent (1, 1: the scaled likelihood of a hybrid
  // classifier-HMM, Bourlard & Morgan 1994). The classifier already sees ±7.5 min of context, so the
  // shipped models use tempered values chosen by cross-validation (notes/staging.md).
  double evidence_exponent = 1.0;
  double prior_exponent = 1.0;
};

// Forward-backward posterior P(stage_t | all epochs) from classifier probabilities `proba` (one row
// per table row, each summing to 1) at epoch indices `epoch_index` (strictly increasing integers;
// index k means onset = start + k * 30 s). Emission = proba^a / prior^b (see StagingHmm); initial
// distribution = prior; a step of d epochs uses transition^d. Throws psgkit::Error on bad input.
std::vector<StageProbabilities> hmm_posterior(const std::vector<StageProbabilities>& proba,
                                              const std::vector<long>& epoch_index, const StagingHmm& hmm);

// Epoch indices from onsets (seconds): round((onset_s - onset_s[0]) / epoch_s). Throws psgkit::Error
// if onsets are not increasing by at least one epoch or are not on a multiple of epoch_s (±1 s).
std::vector<long> epoch_indices(const std::vector<double>& onset_s, double epoch_s = 30.0);

struct StagingOptions {
  // Column prefixes in the table for the model's channel slots, in the model's order (e.g. {"c3_a1"}
  // for the one-channel model). Empty: the slot names themselves ("fpz_cz", "pz_oz", "eog"; the
  // one-channel model then takes "fpz_cz").
  std::vector<std::string> channels;
  bool hmm = true;  // false: raw classifier probabilities
  // Subject inputs for models that take them (StagingModel::takes_demographics; ignored otherwise).
  // Unknown = nullopt. Age in years (0-130), sex 'F' or 'M'; anything else throws psgkit::Error.
  std::optional<double> age_years;
  std::optional<char> sex;
};

// Staging of the rows of a feature table.
struct StagedEpochs {
  std::vector<double> onset_s;                     // the table's onsets (gaps kept)
  std::vector<Stage> stages;                       // argmax of probabilities
  std::vector<StageProbabilities> probabilities;   // sum to 1
  // Regular 30-s grid from the first to the last onset; epochs without a row are UNS with
  // probabilities (0.2 each).
  Hypnogram to_hypnogram() const;
};

// `epoch,onset_s,stage,confidence,p_W,p_N1,p_N2,p_N3,p_REM` with one row per staged row, keeping the
// rows' onsets (confidence = max probability; epoch = (onset_s - first onset) / 30 s, so gaps show in
// both columns and read_hypnogram() reads it back). Gap-free results give exactly the bytes of
// write_staging_csv(path, staged.to_hypnogram()) (hypnogram.hpp), which cannot represent gaps.
std::string staged_epochs_csv(const StagedEpochs& staged);
void write_staged_epochs_csv(const std::filesystem::path& path, const StagedEpochs& staged);  // atomic

class StagingModel {
 public:
  // Loads a model file written by train_staging_models (XGBoost UBJSON with psgkit metadata), read by
  // psgkit itself (libxgboost is needed only to train). Throws psgkit::Error naming the file (and the
  // field) if it is missing or not a psgkit staging model.
  static StagingModel load(const std::filesystem::path& file);
  // Loads a shipped model from staging_model_dir().
  static StagingModel load(StagingModelId id);

  StagingModel(StagingModel&&) noexcept;
  StagingModel& operator=(StagingModel&&) noexcept;
  ~StagingModel();

  const std::filesystem::path& path() const;
  // "sleepedf-timedomain" or "sleepedf-bandpower".
  const std::string& recipe() const;
  // Channel slots, e.g. {"fpz_cz", "pz_oz", "eog"}, or {"eeg"} for the one-channel model.
  const std::vector<std::string>& channel_slots() const;
  // Per-channel recipe feature names (column = <prefix>_<name>).
  const std::vector<std::string>& channel_features() const;
  const StagingHmm& hmm() const;
  // Variance inflation L of the expected-N3 interval, fitted in cross-validation so that the 95 %
  // interval covers the expert N3 minutes of ~95 % of held-out nights: pass it as
  // SleepStatsOptions::n3_variance_inflation (sleep_stats.hpp). 1 for files that lack it.
  double n3_variance_inflation() const;
  // True when the design has the age and sex columns (StagingOptions::age_years / sex are used).
  bool takes_demographics() const;
  // True for a stacked model: second-level trees over the first level's probabilities of rows r ± k.
  bool has_second_level() const;

  // The classifier's input for a table: row-major rows × design_columns().size() floats, NaN where a
  // value is missing (see data/models/README.md for the columns). Throws psgkit::Error naming a missing
  // column.
  std::vector<std::string> design_columns() const;
  std::vector<float> design_matrix(const FeatureTable& table, const StagingOptions& options = {}) const;
  // Classifier probabilities per row (no HMM): psgkit's own evaluation of the model's boosted trees,
  // bit for bit XGBoost's predictions. A stacked model (has_second_level()) then feeds these first-level
  // probabilities of the neighbouring rows to its second-level trees and returns their probabilities.
  // Throws psgkit::Error naming a missing column.
  std::vector<StageProbabilities> predict_proba(const FeatureTable& table, const StagingOptions& options = {}) const;
  // Classifier + HMM (unless options.hmm is false).
  StagedEpochs stage_rows(const FeatureTable& table, const StagingOptions& options = {}) const;
  // stage_rows() as a hypnogram on the 30-s grid (see StagedEpochs::to_hypnogram).
  Hypnogram stage(const FeatureTable& table, const StagingOptions& options = {}) const;

  struct Impl;

 private:
  explicit StagingModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Detects the recipe of a table from its columns: the shipped model whose columns it has, preferring
// a > b > c for timedomain tables (c uses fpz_cz, else pz_oz) and d for bandpower. Throws psgkit::Error
// listing what was looked for.
StagingModelId detect_staging_model(const FeatureTable& table);

// ---- Training (psgkit train) ----

struct StagingTrainOptions {
  std::filesystem::path data_dir;   // ../shared/data layout: sleep-edf-153/, sleep-edf/
  std::filesystem::path out_dir;    // model files + staging-cv-report.{json,md}
  std::vector<StagingModelId> models = {StagingModelId::EegEog, StagingModelId::Eeg2, StagingModelId::Eeg1,
                                        StagingModelId::Bandpower, StagingModelId::Eeg1Eog};
  bool cross_validate = true;       // false: only the final models
  int folds = 10;                   // subject-wise folds for the timedomain models
  int max_nights = 0;               // > 0: only the first N nights (tests / quick runs)
  int rounds = 0;                   // > 0: override the boosting rounds (tests)
  bool ablation = false;            // also cross-validate feature/HMM variants of model a
  // Model a with a second level (stacked sequential learning over the first level's out-of-fold
  // probabilities of rows r ± 7; not shipped: its 10-fold CV gained 0.001 accuracy and lost N3 F1,
  // notes/staging.md).
  bool stack = false;
  bool reference_only = false;      // only write the domain reference (domain.hpp), no model
};

// Trains the models deterministically (fixed seeds, one thread: byte-identical files on rerun) and
// writes the cross-validation report; with timedomain models also the domain reference
// (kDomainReferenceFileName, from every training night). Progress lines go to `log` when not null. Throws psgkit::Error.
void train_staging_models(const StagingTrainOptions& options, std::ostream* log);

// ---- Training on your own scored nights (psgkit train --manifest) ----

// One manifest row: `subject,path,hypnogram[,eeg][,eog]`.
struct ManifestNight {
  std::string subject;
  std::filesystem::path path;       // EDF/EDF+/BDF recording
  std::filesystem::path hypnogram;  // any format read_hypnogram() reads; empty: the EDF+'s own stage annotations
  std::vector<std::string> eeg;     // this night's EEG labels (cell "A,B" or "A;B"); empty: the options' labels
  std::string eog;                  // this night's EOG label; empty: the options' label
};

// Reads the manifest; relative paths are relative to the manifest's folder. Throws psgkit::Error naming
// the file, line and column for a missing column or an empty subject/path cell.
std::vector<ManifestNight> read_training_manifest(const std::filesystem::path& manifest);

struct ManifestTrainOptions {
  // Continue boosting from this model ("a", "b", "c" or a model file): its channel layout and feature
  // design are kept and `rounds` trees per class are added. Empty: train from scratch.
  std::string from;
  // EEG / EOG labels of every night (a night's manifest cell overrides). Empty EEG: picked by label as
  // `psgkit stage` does. The layout (channel slots) is one EEG, two EEG, or two EEG + EOG (those of
  // models c, b, a): the --from model's, else the number of EEG labels given (default one) and an EOG
  // slot when an EOG label is given anywhere.
  std::vector<std::string> eeg;
  std::string eog;
  bool cross_validate = true;
  int folds = 10;        // subject-wise folds (capped at the number of subjects); >= 2
  int jobs = 1;          // nights whose features are extracted in parallel
  bool skip_bad = false; // leave out (and report) nights that fail, instead of failing
  int rounds = 60;       // boosting rounds (XGBoost settings otherwise those of the shipped models)
  // Called after each night's features (extracted or failed: `error` non-empty), from the thread that
  // extracted them, one call at a time; `night` is "subject path".
  std::function<void(const std::string& night, const std::string& error)> on_night_done;
};

struct TrainedStagingModel {
  std::string model_ubj;        // the model file (StagingModel::load reads it once written)
  std::string record_json;      // what the model file records about its training (also in the file)
  std::string report_json;      // record + cross-validation + per-night details
  std::string report_markdown;
  std::vector<std::string> skipped;  // "night N (subject, path): reason" of nights left out (skip_bad)
};

// Extracts every night's features with stage_recording's own code (channel choice, sleepedf-timedomain
// recipe at 100 Hz, design matrix), night by night (`jobs` at a time, each night's signals released
// once its design matrix is built); labels from the hypnogram on the recording's 30-s grid (UNS,
// movement and artefact epochs are not labels; a hypnogram shorter or longer than the recording gives
// its overlap, reported). Subject-wise cross-validation (src/staging/staging_train.cpp's, metrics from
// evaluate.hpp; with `from`, the starting model is scored on the same folds), then the final model on
// every night. Deterministic for a given manifest and options. Writes nothing. Throws psgkit::Error
// naming the night and file (no overlap, missing channel, no sleep or a single scored stage,
// unreadable files) unless skip_bad, or when no usable night or fewer than two stages remain.
TrainedStagingModel train_staging_model(const std::filesystem::path& manifest, const ManifestTrainOptions& options,
                                        std::ostream* log = nullptr);

// Writes `model_file`, then `<stem>.report.md` and `<stem>.report.json` beside it (each atomically).
void write_trained_staging_model(const TrainedStagingModel& trained, const std::filesystem::path& model_file);

// The psgkit metadata of a model file as JSON text: recipe, channel slots, design, HMM and, for models
// from train_staging_model, the training record. Throws psgkit::Error like StagingModel::load.
std::string staging_model_info_json(const std::filesystem::path& model_file);

// ---- Recordings ----

struct RecordingStagingOptions {
  std::vector<std::string> eeg;            // EEG labels; empty: picked by label (see pick_staging_channels)
  std::string eog;                         // EOG label; empty: picked by label, none if absent
  // Default: with the Sleep-EDF pair Fpz-Cz + Pz-Oz (or two --eeg), a with an EOG, else b; otherwise
  // e with an EOG, else c.
  std::optional<StagingModelId> model;
  // A model file (e.g. from train_staging_model) instead of a shipped model: its channel slots decide
  // how many EEG channels (first picked ones) and whether an EOG is used.
  std::filesystem::path model_file;
  bool hmm = true;
  std::optional<double> age_years;         // subject's age in years, if known (see StagingOptions)
  std::optional<char> sex;                 // 'F' or 'M', if known
  // Threads for the recipe (RecipeOptions::threads): 0, one per channel used (model e on two cores, c
  // on one), at most the hardware's; 1 when the caller already runs nights in parallel. Same output.
  unsigned threads = 0;
};

struct RecordingStaging {
  StagedEpochs epochs;                     // every whole 30-s epoch from the recording start (to_hypnogram())
  std::vector<std::string> eeg_channels;   // labels used
  std::string eog_channel;                 // label used, empty if none
  StagingModelId model = StagingModelId::EegEog;  // for a model file: the shipped model with its layout
  std::filesystem::path model_file;                // the model file used, empty for a shipped model
  DomainCheck domain;                      // distance of the recording's features from the training nights'
  double n3_variance_inflation = 1.0;      // the model's (StagingModel::n3_variance_inflation)
};

// Stages a recording: picks channels, resamples to 100 Hz, computes the sleepedf-timedomain recipe
// and applies the matching shipped model; measures the features against the shipped domain reference
// (domain.hpp). Throws psgkit::Error.
RecordingStaging stage_recording(const Recording& recording, const RecordingStagingOptions& options = {});
// The same on signals held in memory (µV; e.g. arrays from Python or MNE), chosen by their labels as
// in a recording. Equal to stage_recording of a recording whose signals hold these values: the recipe
// reads 100-Hz signals in double and resamples other rates from float (compute_recipe on
// SignalSamples). `source` names the input in errors. Throws psgkit::Error.
RecordingStaging stage_signals(std::span<const SignalSamples> signals, const RecordingStagingOptions& options = {},
                               const std::string& source = "");

}  // namespace psgkit
