// `psgkit evaluate`: agreement of a predicted hypnogram with a reference hypnogram.
#include <memory>
#include <string>

#include "cli.hpp"
#include "psgkit/evaluate.hpp"
#include "psgkit/hypnogram.hpp"

namespace {

struct EvaluateArgs {
  std::string truth, pred, output;
  double epoch_s = 30.0;
  double crop_wake_min = -1;
  bool json = false;
};

const psgkit_cli::Register reg([](CLI::App& app) {
  auto args = std::make_shared<EvaluateArgs>();
  auto* cmd = app.add_subcommand("evaluate", "Compare a predicted hypnogram with a reference (accuracy, kappa, F1)");
  cmd->add_option("--truth", args->truth, "reference hypnogram (EDF+ annotations, CSV, staging CSV, DREAMS text)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--pred", args->pred, "predicted hypnogram (any format the truth may have)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--crop-wake", args->crop_wake_min,
                  "keep only epochs from MIN minutes before the first to MIN minutes after the last sleep epoch of the truth")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--epoch", args->epoch_s, "epoch length both hypnograms are read at, seconds")->capture_default_str();
  cmd->add_flag("--json", args->json, "print JSON instead of the table");
  cmd->add_option("-o,--output", args->output, "write to this file instead of stdout");
  cmd->callback([args] {
    const psgkit::Hypnogram truth = psgkit::read_hypnogram(args->truth, args->epoch_s);
    const psgkit::Hypnogram pred = psgkit::read_hypnogram(args->pred, args->epoch_s);
    psgkit::EvaluateOptions options;
    if (args->crop_wake_min >= 0) options.crop_wake_min = args->crop_wake_min;
    const psgkit::Agreement agreement = psgkit::evaluate(truth, pred, options);
    psgkit_cli::emit(args->output, args->json ? psgkit::agreement_json(agreement) : psgkit::format_agreement(agreement));
  });
});

}  // namespace
