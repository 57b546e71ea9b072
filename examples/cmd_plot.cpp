// `psgkit plot`: SVG hypnogram / hypnodensity of a hypnogram file, or spectrogram of an EDF channel.
#include <cmath>
#include <memory>
#include <string>

#include "cli.hpp"
#include "psgkit/error.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/plots.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/spectral.hpp"

namespace {

struct PlotArgs {
  std::string input, output, kind = "hypnogram", channel, title;
  double max_freq_hz = 30.0;
};

const psgkit_cli::Register reg([](CLI::App& app) {
  auto args = std::make_shared<PlotArgs>();
  auto* cmd = app.add_subcommand("plot", "Draw a hypnogram, hypnodensity or spectrogram as a self-contained SVG");
  cmd->add_option("file", args->input,
                  "hypnogram (any format psgkit reads) for hypnogram/hypnodensity; EDF/BDF for spectrogram")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--kind", args->kind, "hypnogram, hypnodensity (needs stage probabilities) or spectrogram")
      ->check(CLI::IsMember({"hypnogram", "hypnodensity", "spectrogram"}))
      ->capture_default_str();
  cmd->add_option("--channel", args->channel, "signal label for --kind spectrogram, e.g. C4-M1");
  cmd->add_option("--max-freq", args->max_freq_hz, "highest frequency of the spectrogram, Hz")->capture_default_str();
  cmd->add_option("--title", args->title, "figure title (default: the file name)");
  cmd->add_option("-o,--output", args->output, "output SVG (stdout when - or absent)");
  cmd->callback([args] {
    psgkit::PlotOptions options;
    options.title = args->title.empty() ? std::filesystem::path(args->input).filename().string() : args->title;
    std::string svg;
    if (args->kind == "spectrogram") {
      if (args->channel.empty()) throw psgkit::Error(args->input, "--channel", "--kind spectrogram needs --channel");
      const psgkit::Recording recording = psgkit::Recording::open(args->input);
      const int signal = recording.require_signal(args->channel);
      const std::vector<float> samples = recording.read(signal);
      const auto& info = recording.signals()[static_cast<size_t>(signal)];
      options.title += " \u2014 " + info.label;
      // 30-s epochs, Welch with 4-s Hann segments and 50 % overlap (YASA's default for staging features).
      psgkit::WelchOptions welch;
      welch.fs_hz = info.fs_hz;
      welch.nperseg = static_cast<int>(std::lround(4.0 * info.fs_hz));
      svg = psgkit::spectrogram_svg(psgkit::spectrogram(samples, welch, 30.0), options, args->max_freq_hz,
                                    (info.unit == "uV" ? std::string("\u00b5V") : info.unit) + "\u00b2/Hz");
    } else {
      const psgkit::Hypnogram hypnogram = psgkit::read_hypnogram(args->input);
      svg = args->kind == "hypnogram" ? psgkit::hypnogram_svg(hypnogram, options)
                                      : psgkit::hypnodensity_svg(hypnogram, options);
    }
    psgkit_cli::emit(args->output, svg);
  });
});

}  // namespace
