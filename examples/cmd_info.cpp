// `psgkit info FILE [--json]`: header facts, signals, annotation count, gaps and warnings of a recording.
#include <fmt/format.h>

#include <memory>
#include <string>

#include "cli.hpp"
#include "psgkit/error.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/staging.hpp"

namespace {

struct InfoArgs {
  std::string input, model;
  bool json = false;
};

std::string info_text(const psgkit::Recording& rec) {
  std::string out;
  out += fmt::format("file:       {}\n", rec.path().string());
  out += fmt::format("type:       {} (read by {})\n", psgkit::to_string(rec.file_type()),
                     rec.opened_by_edflib() ? "EDFlib" : "psgkit's tolerant parser");
  out += fmt::format("start:      {}\n", rec.start().iso8601());
  out += fmt::format("duration:   {} s ({} records of {} s)\n", rec.duration_s(), rec.n_records(), rec.record_duration_s());
  out += fmt::format("signals:    {}\n", rec.signals().size());
  for (size_t i = 0; i < rec.signals().size(); ++i) {
    const psgkit::SignalInfo& s = rec.signals()[i];
    out += fmt::format("  {:3d} {:<16} {:>9.4g} Hz  {:<6} (file: {}){}{}\n", i, s.label, s.fs_hz, s.unit, s.file_unit,
                       s.transducer.empty() ? "" : "  " + s.transducer, s.prefilter.empty() ? "" : "  " + s.prefilter);
  }
  out += fmt::format("annotations: {}\n", rec.annotations().size());
  for (const psgkit::Gap& g : rec.gaps()) out += fmt::format("gap:        {} s at {} s\n", g.duration_s, g.start_s);
  for (const std::string& w : rec.warnings()) out += fmt::format("warning:    {}\n", w);
  return out;
}

const psgkit_cli::Register reg([](CLI::App& app) {
  auto args = std::make_shared<InfoArgs>();
  auto* cmd = app.add_subcommand("info", "Summarise an EDF/EDF+/BDF recording (header, signals, annotations, warnings)");
  cmd->add_option("file", args->input, "EDF, EDF+C, EDF+D, BDF, BDF+C or BDF+D file");
  cmd->add_option("--model", args->model, "print a staging model file's record (JSON) instead");
  cmd->add_flag("--json", args->json, "print JSON instead of text");
  cmd->callback([args] {
    if (args->input.empty() == args->model.empty()) throw psgkit::Error("", "file", "give a recording FILE or --model FILE");
    if (!args->model.empty()) {
      psgkit_cli::emit("", psgkit::staging_model_info_json(args->model));
      return;
    }
    const psgkit::Recording rec = psgkit::Recording::open(args->input);
    psgkit_cli::emit("", args->json ? psgkit::recording_info_json(rec) + "\n" : info_text(rec));
  });
});

}  // namespace
