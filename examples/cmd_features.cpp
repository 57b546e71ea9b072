// `psgkit features` (per-epoch feature tables) and `psgkit spectrum` (average PSD over chosen epochs).
#include <iostream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "psgkit/error.hpp"
#include "psgkit/features.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/io.hpp"
#include "psgkit/recipes.hpp"
#include "psgkit/recording.hpp"

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const size_t end = comma == std::string::npos ? text.size() : comma;
    std::string item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// The CSV of write_feature_csv, for stdout.
std::string feature_csv_text(const psgkit::FeatureTable& table) {
  std::string out = "onset_s";
  for (const auto& name : table.columns) out += "," + name;
  out += '\n';
  for (size_t r = 0; r < table.rows(); ++r) {
    out += psgkit::format_double(table.onset_s[r]);
    for (size_t c = 0; c < table.cols(); ++c) out += "," + psgkit::format_double(table.at(r, c));
    out += '\n';
  }
  return out;
}

}  // namespace

static const psgkit_cli::Register reg_features([](CLI::App& app) {
  struct Args {
    std::string file, channels, recipe = "default", output;
    double epoch_s = 30.0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("features", "Per-epoch EEG features (default set or a Sleep-EDF recipe) as CSV");
  cmd->add_option("file", args->file, "EDF/EDF+/BDF recording")->required();
  cmd->add_option("--channels", args->channels, "comma-separated signal labels (default: EEG channels by label)");
  cmd->add_option("--epoch", args->epoch_s, "epoch length in seconds (Sleep-EDF recipes: 30 only)")->capture_default_str();
  cmd->add_option("--recipe", args->recipe, "default | sleepedf-bandpower | sleepedf-timedomain")->capture_default_str();
  cmd->add_option("-o,--output", args->output, "output CSV (default: stdout)");
  cmd->callback([args] {
    const psgkit::Recipe recipe = psgkit::parse_recipe(args->recipe);
    if (recipe != psgkit::Recipe::Default && args->epoch_s != 30.0)
      throw psgkit::Error("", "--epoch", "the Sleep-EDF recipes are defined on 30-s epochs");
    const auto recording = psgkit::Recording::open(args->file);
    auto channels = split_list(args->channels);
    if (channels.empty()) {
      channels = psgkit::pick_feature_channels(recording, recipe);
      std::cerr << "psgkit features: channels picked by label: " << join(channels) << '\n';
    }
    psgkit::RecipeOptions options;
    options.features.epoch_s = args->epoch_s;
    std::vector<std::string> notes;
    const auto table = psgkit::compute_recipe(recording, channels, recipe, options, &notes);
    for (const auto& note : notes) std::cerr << "psgkit features: note: " << note << '\n';
    if (args->output.empty() || args->output == "-") psgkit_cli::emit("", feature_csv_text(table));
    else psgkit::write_feature_csv(args->output, table);
  });
});

static const psgkit_cli::Register reg_spectrum([](CLI::App& app) {
  struct Args {
    std::string file, channel, hypnogram, stages, method = "welch", output;
    double epoch_s = 30.0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("spectrum", "Average PSD of one channel over chosen epochs (freq_hz,psd_uv2_per_hz)");
  cmd->add_option("file", args->file, "EDF/EDF+/BDF recording")->required();
  cmd->add_option("--channel", args->channel, "signal label")->required();
  cmd->add_option("--hypnogram", args->hypnogram, "hypnogram file (any format psgkit reads)");
  cmd->add_option("--stages", args->stages, "comma-separated stages to average, e.g. N2,N3 (needs --hypnogram)");
  cmd->add_option("--method", args->method, "welch (4-s Hann, 50 % overlap) | multitaper (NW = 4 over the epoch)")
      ->capture_default_str();
  cmd->add_option("--epoch", args->epoch_s, "epoch length in seconds")->capture_default_str();
  cmd->add_option("-o,--output", args->output, "output CSV (default: stdout)");
  cmd->callback([args] {
    psgkit::AveragePsdOptions options;
    options.epoch_s = args->epoch_s;
    if (args->method == "multitaper") options.method = psgkit::PsdMethod::Multitaper;
    else if (args->method != "welch") throw psgkit::Error("", "--method", "expected welch or multitaper, got '" + args->method + "'");
    const auto stage_names = split_list(args->stages);
    if (!stage_names.empty() && args->hypnogram.empty())
      throw psgkit::Error("", "--stages", "needs --hypnogram");
    const auto recording = psgkit::Recording::open(args->file);
    const int index = recording.require_signal(args->channel);
    const double fs_hz = recording.signals()[static_cast<size_t>(index)].fs_hz;
    std::vector<bool> use_epoch;
    if (!args->hypnogram.empty()) {
      const auto hypnogram = psgkit::read_hypnogram(args->hypnogram, args->epoch_s);
      options.offset_s = hypnogram.start_s;
      std::vector<psgkit::Stage> wanted;
      for (const auto& name : stage_names) {
        const auto stage = psgkit::parse_stage(name);
        if (!stage) throw psgkit::Error("", "--stages", "unknown stage '" + name + "'");
        wanted.push_back(*stage);
      }
      for (const auto stage : hypnogram.stages) {
        bool use = wanted.empty() ? stage != psgkit::Stage::UNS : false;
        for (const auto w : wanted) use = use || stage == w;
        use_epoch.push_back(use);
      }
    }
    const auto samples = recording.read(index);
    size_t n_used = 0;
    const auto psd = psgkit::average_psd(samples, fs_hz, use_epoch, options, &n_used);
    std::cerr << "psgkit spectrum: " << args->channel << ": mean of " << n_used << " epoch(s), " << args->method << '\n';
    std::string out = "freq_hz,psd_uv2_per_hz\n";
    for (size_t k = 0; k < psd.freq_hz.size(); ++k)
      out += psgkit::format_double(psd.freq_hz[k]) + "," + psgkit::format_double(psd.power[k]) + "\n";
    psgkit_cli::emit(args->output, out);
  });
});
