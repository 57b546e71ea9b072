// Training a staging model on the user's own scored nights (psgkit train --manifest): features from
// stage_recording's own code (staging_internal.hpp), XGBoost training, subject-wise cross-validation
// and report rows from the shipped models' training (staging_train_internal.hpp).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "boosted_trees_internal.hpp"
#include "mapped_file_internal.hpp"
#include "psgkit/error.hpp"
#include "psgkit/io.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/staging.hpp"
#include "staging_internal.hpp"
#include "staging_train_internal.hpp"

namespace psgkit {

using namespace staging_detail;
using namespace staging_train;

namespace {

json model_metadata(const std::filesystem::path& model_file) {
  const auto trees = detail::BoostedTrees::from_ubjson(detail::MappedFile(model_file).bytes(), model_file.string());
  return json::parse(trees.attributes().at(kMetaAttribute));
}


const char* const kStageNames[kNumSleepStages] = {"W", "N1", "N2", "N3", "REM"};

// SHA-256 (FIPS 180-4): the manifest's fingerprint in the model record.
std::string sha256_hex(std::string_view data) {
  static constexpr uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
      0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
      0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
      0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
      0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
      0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
      0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
      0xc67178f2};
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::string msg(data);
  const uint64_t bits = static_cast<uint64_t>(data.size()) * 8;
  msg += static_cast<char>(0x80);
  while (msg.size() % 64 != 56) msg += '\0';
  for (int i = 7; i >= 0; --i) msg += static_cast<char>((bits >> (8 * i)) & 0xff);
  auto rotr = [](uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
  for (size_t block = 0; block < msg.size(); block += 64) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i) {
      const auto* p = reinterpret_cast<const unsigned char*>(msg.data() + block + 4 * i);
      w[i] = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
    }
    for (int i = 16; i < 64; ++i) {
      const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      const uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
  }
  char hex[65];
  for (int i = 0; i < 8; ++i) std::snprintf(hex + 8 * i, 9, "%08x", h[i]);
  return std::string(hex, 64);
}

std::vector<std::string> split_labels(const std::string& cell) {
  std::vector<std::string> out;
  std::string item;
  for (char c : cell + ",") {
    if (c == ',' || c == ';') {
      while (!item.empty() && item.back() == ' ') item.pop_back();
      if (!item.empty()) out.push_back(item);
      item.clear();
    } else if (!(item.empty() && c == ' ')) {
      item += c;
    }
  }
  return out;
}

// Channel layouts of user models: those of the shipped one-EEG, two-EEG and two-EEG + EOG models, so
// --from can continue any of them and the slot names (column prefixes) stay the shipped ones.
struct Layout {
  StagingModelId id = StagingModelId::Eeg1;
  std::vector<std::string> slots;
};

Layout layout_for(size_t n_eeg, bool eog, const std::string& where) {
  if (n_eeg == 1 && !eog) return {StagingModelId::Eeg1, {"eeg"}};
  if (n_eeg == 2 && !eog) return {StagingModelId::Eeg2, {"fpz_cz", "pz_oz"}};
  if (n_eeg == 2 && eog) return {StagingModelId::EegEog, {"fpz_cz", "pz_oz", "eog"}};
  throw Error(where, "--eeg", "channel layouts are one EEG, two EEG, or two EEG + EOG (those of models c, b, a); got " +
                                  std::to_string(n_eeg) + " EEG" + (eog ? " + EOG" : ""));
}

// One night's training data. The recording's samples and recipe table live only inside
// extract_night(): what is kept is the design matrix, the labels and the onsets.
struct Extracted {
  Night night;
  std::vector<float> design;
  std::vector<StageProbabilities> start_proba;  // the --from model's classifier probabilities
  json info;                                    // the report's entry for the night
  std::string error;                            // non-empty: the night failed
  std::exception_ptr crash;                     // anything that is not a psgkit::Error
};

Extracted extract_night(const ManifestNight& m, size_t index, const Layout& layout, const DesignSpec& spec,
                        const ManifestTrainOptions& options, const StagingModel* start) {
  Extracted e;
  const std::string where = "night " + std::to_string(index + 1) + " (subject " + m.subject + ", " + m.path.string() + ")";
  try {
    const Recording recording = Recording::open(m.path);
    const StagingChannels picked =
        pick_staging_channels(recording, m.eeg.empty() ? options.eeg : m.eeg, m.eog.empty() ? options.eog : m.eog);
    const std::vector<std::string> channels = channels_for_slots(m.path.string(), picked, layout.slots);
    Hypnogram hyp;
    if (m.hypnogram.empty()) {
      hyp = hypnogram_from_annotations(recording.annotations(), kEpochS, m.path.string());
      if (std::all_of(hyp.stages.begin(), hyp.stages.end(), [](Stage s) { return s == Stage::UNS; }))
        throw Error(m.path.string(), "hypnogram", "no hypnogram given and the recording has no sleep stage annotations");
    } else {
      hyp = read_hypnogram(m.hypnogram, kEpochS);
    }
    const std::string hyp_name = m.hypnogram.empty() ? m.path.string() + " (annotations)" : m.hypnogram.string();
    const FeatureTable table = staging_feature_table(recording, channels, layout.slots,
                                                     options.jobs > 1 ? 1 : 0);  // parallel nights already fill the cores
    Night& n = e.night;
    n.name = m.path.stem().string();
    n.subject = m.subject;
    n.idx = epoch_indices(table.onset_s, kEpochS);
    // Labels on the recording's 30-s grid; a hypnogram that starts off the grid takes the nearest epoch.
    std::array<long, kNumSleepStages> per_stage{};
    long overlap = 0, unscored = 0;
    for (double t : table.onset_s) {
      const long k = std::lround((t - hyp.start_s) / kEpochS);
      int label = -1;
      if (k >= 0 && k < static_cast<long>(hyp.size())) {
        ++overlap;
        const Stage s = hyp.stages[static_cast<size_t>(k)];
        if (s == Stage::UNS) ++unscored;
        else label = static_cast<int>(s);
      }
      if (label >= 0) ++per_stage[static_cast<size_t>(label)];
      n.label.push_back(label);
    }
    const double rec_end_s = table.onset_s.back() + kEpochS;
    if (overlap == 0)
      throw Error(m.path.string(), "hypnogram",
                  "no overlap with hypnogram " + hyp_name + " (recording 0-" + format_double(rec_end_s) + " s, hypnogram " +
                      format_double(hyp.start_s) + "-" + format_double(hyp.start_s + hyp.duration_s()) + " s)");
    const long sleep = per_stage[1] + per_stage[2] + per_stage[3] + per_stage[4];
    const auto n_stages = std::count_if(per_stage.begin(), per_stage.end(), [](long c) { return c > 0; });
    if (sleep == 0) throw Error(hyp_name, "stage", "no sleep epoch (N1, N2, N3, REM) scored where it overlaps " + m.path.string());
    if (n_stages < 2) throw Error(hyp_name, "stage", "only one stage scored where it overlaps " + m.path.string());
    for (size_t r = 0; r + 1 < n.label.size(); ++r)
      if (n.label[r] >= 0 && n.label[r + 1] >= 0 && n.idx[r + 1] == n.idx[r] + 1)
        n.transitions[static_cast<size_t>(n.label[r])][static_cast<size_t>(n.label[r + 1])] += 1;
    e.design = build_design(table, spec, layout.slots, n.idx);
    if (start) {
      StagingOptions start_options;
      start_options.channels = layout.slots;
      e.start_proba = start->predict_proba(table, start_options);
    }
    n.table.onset_s = table.onset_s;  // the feature columns are not needed again
    set_masks(n, 1e12);               // train on every labelled epoch; score within 30 min of sleep
    json fs = json::array();
    for (const auto& label : channels) fs.push_back(recording.signals()[static_cast<size_t>(recording.require_signal(label))].fs_hz);
    json stages = json::object();
    for (int s = 0; s < kNumSleepStages; ++s) stages[kStageNames[s]] = per_stage[static_cast<size_t>(s)];
    e.info = {{"night", index + 1}, {"subject", m.subject}, {"path", m.path.string()}, {"hypnogram", hyp_name},
              {"channels", channels}, {"fs_hz", fs}, {"recording_epochs", table.rows()},
              {"hypnogram_epochs", hyp.size()}, {"overlap_epochs", overlap}, {"unscored_epochs", unscored},
              {"epochs_per_stage", stages}};
    if (overlap != static_cast<long>(table.rows()) || overlap != static_cast<long>(hyp.size()))
      e.info["note"] = "hypnogram (" + std::to_string(hyp.size()) + " epochs from " + format_double(hyp.start_s) +
                       " s) and recording (" + std::to_string(table.rows()) + " epochs) differ in length; the " +
                       std::to_string(overlap) + " overlapping epochs are used";
  } catch (const Error& err) {
    e.error = where + ": " + err.what();
  } catch (...) {
    e.crash = std::current_exception();
  }
  return e;
}

json stage_counts_json(const std::array<long, kNumSleepStages>& counts) {
  json out = json::object();
  for (int s = 0; s < kNumSleepStages; ++s) out[kStageNames[s]] = counts[static_cast<size_t>(s)];
  return out;
}

}  // namespace

std::vector<ManifestNight> read_training_manifest(const std::filesystem::path& manifest) {
  const CsvTable csv = read_csv(manifest);
  const int subject = csv.require_column("subject"), path = csv.require_column("path"),
            hypnogram = csv.require_column("hypnogram"), eeg = csv.column("eeg"), eog = csv.column("eog");
  const std::filesystem::path base = manifest.parent_path();
  auto resolve = [&](const std::string& cell) {
    const std::filesystem::path p(cell);
    return p.is_absolute() || base.empty() ? p : base / p;
  };
  std::vector<ManifestNight> out;
  for (size_t r = 0; r < csv.rows.size(); ++r) {
    const auto& row = csv.rows[r];
    for (int col : {subject, path})
      if (row[static_cast<size_t>(col)].empty())
        throw Error(manifest.string(), "row " + std::to_string(r + 1) + ", column " + csv.header[static_cast<size_t>(col)], "empty");
    ManifestNight n;
    n.subject = row[static_cast<size_t>(subject)];
    n.path = resolve(row[static_cast<size_t>(path)]);
    if (!row[static_cast<size_t>(hypnogram)].empty()) n.hypnogram = resolve(row[static_cast<size_t>(hypnogram)]);
    if (eeg >= 0) n.eeg = split_labels(row[static_cast<size_t>(eeg)]);
    if (eog >= 0) n.eog = row[static_cast<size_t>(eog)];
    out.push_back(std::move(n));
  }
  if (out.empty()) throw Error(manifest.string(), "rows", "the manifest lists no night");
  return out;
}

TrainedStagingModel train_staging_model(const std::filesystem::path& manifest, const ManifestTrainOptions& options,
                                        std::ostream* log) {
  const auto t_start = std::chrono::steady_clock::now();
  const std::string where = manifest.string();
  if (options.cross_validate && options.folds < 2) throw Error(where, "--folds", "needs at least 2 folds");
  if (options.jobs < 1) throw Error(where, "--jobs", "needs at least 1");
  if (options.rounds < 1) throw Error(where, "--rounds", "needs at least 1");
  const std::string manifest_sha256 = sha256_hex(read_file(manifest));
  const std::vector<ManifestNight> entries = read_training_manifest(manifest);

  // Starting model and channel layout.
  std::optional<StagingModel> start;
  std::string start_bytes, start_name;
  std::filesystem::path start_file;
  if (!options.from.empty()) {
    const auto id = parse_staging_model_id(options.from);
    const std::filesystem::path file = id ? staging_model_dir() / staging_model_file_name(*id) : std::filesystem::path(options.from);
    start = StagingModel::load(file);
    start_file = file;
    start_bytes = read_file(file);
    start_name = id ? "shipped model " + options.from : file.string();
    if (start->recipe() != kTimedomainRecipe)
      throw Error(file.string(), "recipe", "--from needs a model of recordings (sleepedf-timedomain), not " + start->recipe());
  }
  Layout layout;
  if (start) {
    const auto& slots = start->channel_slots();
    const bool eog = std::find(slots.begin(), slots.end(), "eog") != slots.end();
    layout = layout_for(slots.size() - (eog ? 1 : 0), eog, options.from);
    if (!options.eeg.empty() && options.eeg.size() != slots.size() - (eog ? 1 : 0))
      throw Error(where, "--eeg", start_name + " takes " + std::to_string(slots.size() - (eog ? 1 : 0)) + " EEG channel(s), got " +
                                      std::to_string(options.eeg.size()));
  } else {
    size_t n_eeg = options.eeg.empty() ? 1 : options.eeg.size();
    bool eog = !options.eog.empty();
    for (const auto& e : entries) {
      if (options.eeg.empty() && !e.eeg.empty()) n_eeg = e.eeg.size();
      eog = eog || !e.eog.empty();
    }
    layout = layout_for(n_eeg, eog, where);
  }
  DesignSpec spec{kTimedomainRecipe, layout.slots};
  if (start) {
    // The adapted model normalises short recordings against its starting model's training reference.
    const json meta = model_metadata(start_file);
    if (meta.contains("reference")) {
      spec.reference_median = meta.at("reference").at("median").get<std::vector<double>>();
      spec.reference_iqr = meta.at("reference").at("iqr").get<std::vector<double>>();
    }
  }
  const std::vector<std::string> design_names = design_feature_names(spec);
  if (start && design_names != start->design_columns())
    throw Error(options.from, "design", "the model's feature design differs from this psgkit's; --from cannot continue it");
  const size_t n_eeg_slots = layout.slots.size() - (layout.id == StagingModelId::EegEog ? 1 : 0);
  for (size_t i = 0; i < entries.size(); ++i)
    if (!entries[i].eeg.empty() && entries[i].eeg.size() != n_eeg_slots)
      throw Error(where, "row " + std::to_string(i + 1) + ", column eeg",
                  "the model takes " + std::to_string(n_eeg_slots) + " EEG label(s), got " + std::to_string(entries[i].eeg.size()));

  // Features, night by night, `jobs` nights at a time.
  std::vector<Extracted> extracted(entries.size());
  std::atomic<size_t> next{0};
  std::mutex done_mutex;
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < entries.size();) {
      extracted[i] = extract_night(entries[i], i, layout, spec, options, start ? &*start : nullptr);
      if (options.on_night_done) {
        const std::lock_guard lock(done_mutex);
        options.on_night_done(entries[i].subject + " " + entries[i].path.filename().string(),
                              extracted[i].crash ? "unexpected error" : extracted[i].error);
      }
    }
  };
  {
    std::vector<std::jthread> pool;
    for (int j = 1; j < std::min<int>(options.jobs, static_cast<int>(entries.size())); ++j) pool.emplace_back(worker);
    worker();
  }
  const double extract_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();

  TrainedStagingModel out;
  std::vector<Night> nights;
  Designs designs;
  designs.n_cols = design_names.size();
  std::vector<std::vector<StageProbabilities>> start_proba;
  json night_info = json::array();
  std::array<long, kNumSleepStages> per_stage{};
  std::set<double> rates;
  std::map<std::string, int> nights_of_subject;
  std::vector<std::set<std::string>> labels_of_slot(layout.slots.size());
  for (auto& e : extracted) {
    if (e.crash) std::rethrow_exception(e.crash);
    if (!e.error.empty()) {
      if (!options.skip_bad) throw Error(where, "night", e.error + " (--skip-bad leaves such nights out)");
      out.skipped.push_back(e.error);
      if (log) *log << "skipped " << e.error << std::endl;
      continue;
    }
    e.night.night = ++nights_of_subject[e.night.subject];
    for (int s = 0; s < kNumSleepStages; ++s) per_stage[static_cast<size_t>(s)] += e.info.at("epochs_per_stage").at(kStageNames[s]).get<long>();
    for (const auto& fs : e.info.at("fs_hz")) rates.insert(fs.get<double>());
    for (size_t s = 0; s < layout.slots.size(); ++s) labels_of_slot[s].insert(e.info.at("channels").at(s).get<std::string>());
    night_info.push_back(std::move(e.info));
    nights.push_back(std::move(e.night));
    designs.per_night.push_back({std::move(e.design)});
    start_proba.push_back(std::move(e.start_proba));
  }
  extracted.clear();
  if (nights.empty()) throw Error(where, "nights", "no usable night (" + std::to_string(out.skipped.size()) + " skipped)");
  if (std::count_if(per_stage.begin(), per_stage.end(), [](long c) { return c > 0; }) < 2)
    throw Error(where, "stage", "the nights' hypnograms score fewer than two stages; nothing to learn");
  // A stage the nights never score cannot be learnt (a --from model keeps only what it knew).
  json warnings = json::array();
  for (int s = 0; s < kNumSleepStages; ++s)
    if (per_stage[static_cast<size_t>(s)] == 0)
      warnings.push_back(std::string("no ") + kStageNames[s] + " epoch in the training labels: the model " +
                         (start ? "was not adapted for " : "cannot predict ") + kStageNames[s]);
  if (log)
    for (const auto& w : warnings) *log << "warning: " << w.get<std::string>() << std::endl;
  if (log) *log << "features of " << nights.size() << " nights in " << extract_s << " s" << std::endl;

  ModelConfig cfg;
  cfg.id = layout.id;
  cfg.spec = spec;
  cfg.views = {layout.slots};
  cfg.rounds = options.rounds;
  cfg.start_model = start_bytes;

  json cv_json = nullptr, cv_record = nullptr;
  double n3_variance_inflation = 1.0;  // the expected-N3 interval's, calibrated when CV runs
  std::string md_cv;
  const size_t n_subjects = nights_of_subject.size();
  if (!options.cross_validate) {
    md_cv = "No cross-validation (--no-cv).\n";
    cv_record = {{"done", false}, {"reason", "--no-cv"}};
  } else if (n_subjects < 2) {
    md_cv = "No cross-validation: the manifest has one subject, and folds must hold out whole subjects.\n";
    cv_record = {{"done", false}, {"reason", "fewer than two subjects"}};
  } else {
    const int folds = std::min<int>(options.folds, static_cast<int>(n_subjects));
    const CvPredictions cv = cross_validate(cfg, nights, designs, folds, log);
    const json with_hmm = summarise(nights, cv, cv.hmm, 0, folds), without = summarise(nights, cv, cv.raw, 0, folds);
    cv_json = {{"folds", folds}, {"hmm", with_hmm}, {"no_hmm", without}};
    const double fitted = with_hmm.at("n3").at("variance_inflation_all_nights").get<double>();
    if (std::isfinite(fitted)) n3_variance_inflation = round4(fitted);
    cv_record = {{"done", true}, {"folds", folds}, {"hmm", headline(with_hmm)}, {"no_hmm", headline(without)}};
    md_cv = std::to_string(folds) + " subject-wise folds (every night of a subject in one fold), scored on expert-scored "
            "epochs from 30 min before the first to 30 min after the last sleep epoch; HMM transitions and priors from "
            "the training folds.\n\n" + std::string(kReportTableHead) +
            markdown_row(start ? "adapted model, classifier + HMM" : "classifier + HMM", with_hmm) +
            markdown_row(start ? "adapted model, classifier only" : "classifier only", without);
    if (start) {
      // The starting model never saw these nights: its predictions need no refit, only the same folds.
      CvPredictions s;
      s.fold_of_night = cv.fold_of_night;
      for (size_t ni = 0; ni < nights.size(); ++ni) {
        s.hmm.push_back({hmm_posterior(start_proba[ni], nights[ni].idx, start->hmm())});
        s.raw.push_back({start_proba[ni]});
      }
      const json s_hmm = summarise(nights, s, s.hmm, 0, folds), s_raw = summarise(nights, s, s.raw, 0, folds);
      cv_json["start_hmm"] = s_hmm;
      cv_json["start_no_hmm"] = s_raw;
      cv_record["start_hmm"] = headline(s_hmm);
      cv_record["start_no_hmm"] = headline(s_raw);
      md_cv += markdown_row("starting model (" + start_name + "), classifier + HMM", s_hmm) +
               markdown_row("starting model (" + start_name + "), classifier only", s_raw);
    }
    md_cv += "\nPer fold (classifier + HMM):\n\n| fold | epochs | accuracy | kappa | macro-F1 |\n|---|---|---|---|---|\n";
    for (const auto& f : with_hmm.at("folds"))
      md_cv += "| " + std::to_string(f.at("fold").get<int>()) + " | " + std::to_string(f.at("n_epochs").get<long>()) + " | " +
               fmt3(f.at("accuracy").get<double>()) + " | " + fmt3(f.at("kappa").get<double>()) + " | " +
               fmt3(f.at("macro_f1").get<double>()) + " |\n";
    md_cv += "\nPooled confusion (classifier + HMM; rows expert, columns automatic):\n\n" + confusion_markdown(with_hmm.at("pooled"));
    md_cv += "\nPer night (classifier + HMM, held out):\n\n| night | fold | epochs | accuracy | kappa | N3 min expert | N3 min auto |\n|---|---|---|---|---|---|---|\n";
    for (const auto& n : with_hmm.at("nights"))
      md_cv += "| " + n.at("night").get<std::string>() + " | " + std::to_string(n.at("fold").get<int>()) + " | " +
               std::to_string(n.at("n_epochs").get<long>()) + " | " + fmt3(n.at("accuracy").get<double>()) + " | " +
               fmt3(n.at("kappa").get<double>()) + " | " + fmt1(n.at("n3_min_truth").get<double>()) + " | " +
               fmt1(n.at("n3_min_pred").get<double>()) + " |\n";
  }

  std::vector<size_t> all(nights.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  const Trained final_model = train_on(cfg, nights, designs, all);

  json slot_labels = json::object();
  for (size_t s = 0; s < layout.slots.size(); ++s) slot_labels[layout.slots[s]] = labels_of_slot[s];
  const json record = {
      {"trained_by", "psgkit train --manifest"},
      {"psgkit_version", PSGKIT_VERSION},
      {"manifest", manifest.filename().string()},
      {"manifest_sha256", manifest_sha256},
      {"from", start ? json(start_name) : json(nullptr)},
      {"recipe", spec.recipe},
      {"feature_layout", {{"slots", layout.slots}, {"channel_features", channel_features(spec.recipe)},
                          {"n_design_features", design_names.size()}}},
      {"channel_labels", slot_labels},
      {"labels", {"W", "N1", "N2", "N3", "REM"}},
      {"not_labels", "UNS: unscored, movement and artefact epochs"},
      {"sampling_rates_hz", rates},
      {"n_nights", nights.size()},
      {"n_subjects", n_subjects},
      {"n_skipped", out.skipped.size()},
      {"epochs_per_stage", stage_counts_json(per_stage)},
      {"cv", cv_record},
      {"warnings", warnings},
      {"xgboost", config_json(cfg).at("xgboost")}};
  out.model_ubj = model_bytes(cfg, final_model, designs.n_cols, n3_variance_inflation, record);
  out.record_json = record.dump(1) + "\n";

  json report = {{"record", record}, {"cv", cv_json}, {"nights", night_info}, {"skipped", out.skipped},
                 {"seconds", {{"features", std::round(extract_s * 10) / 10},
                              {"total", std::round(std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count() * 10) / 10}}}};
  out.report_json = report.dump(1) + "\n";

  std::string md = "# Staging model report\n\nWritten by `psgkit train --manifest " + manifest.filename().string() +
                   "` (psgkit " PSGKIT_VERSION ", manifest SHA-256 " + manifest_sha256 + ").\n\n";
  md += "Model: channel slots";
  for (size_t s = 0; s < layout.slots.size(); ++s) {
    md += (s ? ", " : " ") + layout.slots[s] + " = ";
    std::string labels;
    for (const auto& l : labels_of_slot[s]) labels += (labels.empty() ? "" : " / ") + l;
    md += labels;
  }
  md += "; " + std::string(start ? "continued from " + start_name + " with " : "trained from scratch, ") +
        std::to_string(options.rounds) + " boosting rounds.\n\n";
  md += "Training data: " + std::to_string(nights.size()) + " nights of " + std::to_string(n_subjects) +
        " subjects; sampling rates (Hz):";
  for (double r : rates) md += " " + format_double(r);
  md += "; labelled epochs per stage: ";
  for (int s = 0; s < kNumSleepStages; ++s) md += std::string(s ? ", " : "") + kStageNames[s] + " " + std::to_string(per_stage[static_cast<size_t>(s)]);
  md += " (UNS, movement and artefact epochs are not labels).\n\n";
  for (const auto& w : warnings) md += "**Warning:** " + w.get<std::string>() + ".\n\n";
  std::string notes;
  for (const auto& n : night_info)
    if (n.contains("note")) notes += "- night " + std::to_string(n.at("night").get<size_t>()) + " (" + n.at("path").get<std::string>() + "): " + n.at("note").get<std::string>() + "\n";
  if (!notes.empty()) md += "## Hypnogram and recording of different lengths\n\n" + notes + "\n";
  if (!out.skipped.empty()) {
    md += "## Nights left out (--skip-bad)\n\n";
    for (const auto& s : out.skipped) md += "- " + s + "\n";
    md += "\n";
  }
  md += "## Cross-validation\n\n" + md_cv;
  out.report_markdown = md;
  if (log) *log << "trained on " << nights.size() << " nights in "
                << std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count() << " s" << std::endl;
  return out;
}

void write_trained_staging_model(const TrainedStagingModel& trained, const std::filesystem::path& model_file) {
  std::filesystem::path stem = model_file;
  stem.replace_extension();
  write_file_atomic(model_file, trained.model_ubj);
  write_file_atomic(stem.string() + ".report.md", trained.report_markdown);
  write_file_atomic(stem.string() + ".report.json", trained.report_json);
}

StagingChannels staging_detail::trained_channels_present(const std::filesystem::path& model_file,
                                                         const std::vector<SignalInfo>& signals) {
  const json meta = model_metadata(model_file);
  StagingChannels out;
  if (!meta.contains("record")) return out;
  for (const auto& slot_json : meta.at("slots")) {
    const std::string slot = slot_json.get<std::string>();
    std::string found;
    for (const auto& label : meta.at("record").at("channel_labels").at(slot))
      if (found.empty() && find_label(signals, label.get<std::string>()) >= 0) found = label.get<std::string>();
    if (slot == "eog") out.eog = found;
    else if (found.empty()) return {};  // an EEG slot without a trained label: choose by preference
    else out.eeg.push_back(found);
  }
  return out;
}

std::string staging_model_info_json(const std::filesystem::path& model_file) {
  const StagingModel model = StagingModel::load(model_file);  // validates the file and its metadata
  json meta = model_metadata(model_file);
  meta["file"] = model_file.string();
  meta["n_design_features"] = model.design_columns().size();
  return meta.dump(1) + "\n";
}

}  // namespace psgkit
