// `psgkit simulate`: a synthetic PSG (EDF+) following a hypnogram, for demos, tests and benchmarks.
#include <memory>
#include <string>

#include "cli.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/simulate.hpp"

namespace {

struct SimulateArgs {
  std::string hypnogram, output;
  psgkit::SimulationOptions options;
  double duration_h = 0;
};

const psgkit_cli::Register reg([](CLI::App& app) {
  auto args = std::make_shared<SimulateArgs>();
  auto* cmd = app.add_subcommand(
      "simulate",
      "Write a synthetic PSG (C4-M1, Fpz-Cz, EOG E1-M2, EMG Chin in uV, plus --extra-eeg derivations; EDF+ with "
      "stage annotations) that follows a hypnogram. For tests and demos only, never training data");
  cmd->add_option("--hypnogram", args->hypnogram, "hypnogram in any format psgkit reads (30-s epochs)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", args->output, "output EDF+ file")->required();
  cmd->add_option("--fs", args->options.fs_hz, "sampling rate of every channel, Hz (whole number)")->capture_default_str();
  cmd->add_option("--seed", args->options.seed, "random seed (same seed, same file)")->capture_default_str();
  cmd->add_option("--swa-gain", args->options.swa_gain, "slow-wave amplitude factor (power scales with its square)")
      ->capture_default_str();
  cmd->add_option("--duration-h", args->duration_h, "simulate only the first H hours of the hypnogram (0: all)")
      ->capture_default_str();
  cmd->add_option("--extra-eeg", args->options.extra_eeg,
                  "extra EEG derivations after the four channels: C3-M2, O2-M1, F4-M1, O1-M2 (0-4, in this order)")
      ->capture_default_str();
  cmd->callback([args] {
    const psgkit::Hypnogram hypnogram = psgkit::read_hypnogram(args->hypnogram);
    psgkit::SimulationOptions options = args->options;
    options.duration_s = args->duration_h * 3600.0;
    psgkit::write_simulated_night(args->output, hypnogram, options);
  });
});

}  // namespace
