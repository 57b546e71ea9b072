// `psgkit hypnogram convert`: read any hypnogram format, optionally re-epoch, write CSV/staging/EDF+.
#include <memory>
#include <string>

#include "cli.hpp"
#include "psgkit/error.hpp"
#include "psgkit/hypnogram.hpp"

namespace {

struct ConvertArgs {
  std::string input, output, format = "csv";
  double epoch_s = 30.0;
};

const psgkit_cli::Register reg([](CLI::App& app) {
  auto* hyp = app.add_subcommand("hypnogram", "Hypnogram tools");
  hyp->require_subcommand(1);
  auto args = std::make_shared<ConvertArgs>();
  auto* cmd = hyp->add_subcommand("convert", "Convert (and re-epoch) a hypnogram, e.g. DREAMS 5-s text to 30-s CSV");
  cmd->add_option("input", args->input, "EDF+ annotations, interval CSV, staging CSV or DREAMS text")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", args->output, "output file")->required();
  cmd->add_option("--epoch", args->epoch_s, "epoch length of the output, seconds (majority rule when longer)")
      ->capture_default_str();
  cmd->add_option("--format", args->format, "csv (onset_s,duration_s,stage), staging (needs probabilities) or edf")
      ->check(CLI::IsMember({"csv", "staging", "edf"}))
      ->capture_default_str();
  cmd->callback([args] {
    const psgkit::Hypnogram hypnogram = psgkit::read_hypnogram(args->input, args->epoch_s);
    if (args->format == "csv") {
      psgkit::write_hypnogram_csv(args->output, hypnogram);
    } else if (args->format == "staging") {
      psgkit::write_staging_csv(args->output, hypnogram);
    } else {
      psgkit::write_hypnogram_edf(args->output, hypnogram);
    }
  });
});

}  // namespace
