// recording_info_json: the header summary behind `psgkit info --json` and Python's Recording.info().
#include <nlohmann/json.hpp>

#include "psgkit/recording.hpp"

namespace psgkit {

std::string recording_info_json(const Recording& rec) {
  nlohmann::json out;
  out["file"] = rec.path().string();
  out["file_type"] = std::string(to_string(rec.file_type()));
  out["reader"] = rec.opened_by_edflib() ? "edflib" : "psgkit";
  out["start"] = rec.start().iso8601();
  out["patient"] = rec.patient();
  out["recording"] = rec.recording_id();
  out["duration_s"] = rec.duration_s();
  out["n_records"] = rec.n_records();
  out["record_duration_s"] = rec.record_duration_s();
  out["signals"] = nlohmann::json::array();
  for (const SignalInfo& s : rec.signals()) {
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
  for (const Gap& g : rec.gaps()) out["gaps"].push_back({{"start_s", g.start_s}, {"duration_s", g.duration_s}});
  out["warnings"] = rec.warnings();
  return out.dump(2);
}

}  // namespace psgkit
