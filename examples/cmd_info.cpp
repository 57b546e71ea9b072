// `psgkit info FILE [--json]`: header facts, signals, annotation count, gaps and warnings of a recording.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
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

nlohmann::json info_json(const psgkit::Recording& rec) {
  nlohmann::json out;
  out["file"] = rec.path().string();
  out["file_type"] = std::string(psgkit::to_string(rec.file_type()));
  out["reader"] = rec.opened_by_edflib() ? "edflib" : "psgkit";
  out["start"] = rec.start().iso8601();
  out["patient"] = rec.patient();
  out["recording"] = rec.recording_id();
  out["duration_s"] = rec.duration_s();
  out["n_records"] = rec.n_records();
  out["record_duration_s"] = rec.record_duration_s();
  out["signals"] = nlohmann::json::array();
  for (const psgkit::SignalInfo& s : rec.signals()) {
    out["signals"].push_back({{"label", s.label},
                              {"unit", s.unit},
                              {"file_unit", s.file_unit},
                              {"fs", s.fs_hz},
                              {"n_samples", s.n_samples},
                              {"transducer", s.transducer},
                              {"prefilter", s.prefilter},
                              {"physical_min", s.physical_min},
                              {"physical_max", s.physical_max},
                              {"digital_min", s.digital_min},
                              {"digital_max", s.digital_max}});
  }
  out["annotations"] = rec.annotations().size();
  out["gaps"] = nlohmann::json::array();
  for (const psgkit::Gap& g : rec.gaps()) out["gaps"].push_back({{"start_s", g.start_s}, {"duration_s", g.duration_s}});
  out["warnings"] = rec.warnings();
  return out;
}

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
    psgkit_cli::emit("", args->json ? info_json(rec).dump(2) + "\n" : info_text(rec));
  });
});

}  // namespace
