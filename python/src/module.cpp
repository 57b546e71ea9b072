// psgkit._psgkit: the C++ side of the Python package. It only converts arguments and results and calls
// the library (with the GIL released around every call that reads or computes); DataFrames,
// docstrings and argument checks live in psgkit/__init__.py.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "psgkit/compare.hpp"
#include "psgkit/error.hpp"
#include "psgkit/features.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/plots.hpp"
#include "psgkit/recipes.hpp"
#include "psgkit/recording.hpp"
#include "psgkit/report.hpp"
#include "psgkit/sleep_stats.hpp"
#include "psgkit/staging.hpp"

namespace py = pybind11;
using psgkit::Hypnogram;
using psgkit::Recording;

namespace {

using FloatArray = py::array_t<float, py::array::c_style>;
using DoubleArray = py::array_t<double, py::array::c_style>;

template <class T>
py::array_t<T> to_array(const std::vector<T>& v) {
  return py::array_t<T>(static_cast<py::ssize_t>(v.size()), v.data());
}

// {columns, onset_s, values (rows × cols), notes}
py::dict table_dict(const psgkit::FeatureTable& table, const std::vector<std::string>& notes) {
  py::dict out;
  out["columns"] = table.columns;
  out["onset_s"] = to_array(table.onset_s);
  DoubleArray values({table.rows(), table.cols()});
  std::copy(table.values.begin(), table.values.end(), values.mutable_data());
  out["values"] = values;
  out["notes"] = notes;
  return out;
}

py::dict staged_dict(const psgkit::RecordingStaging& r) {
  py::dict out;
  const auto& e = r.epochs;
  out["onset_s"] = to_array(e.onset_s);
  std::vector<std::string> stages;
  for (psgkit::Stage s : e.stages) stages.emplace_back(psgkit::to_string(s));
  out["stage"] = stages;
  FloatArray p({e.probabilities.size(), size_t{psgkit::kNumSleepStages}});
  for (size_t i = 0; i < e.probabilities.size(); ++i)
    std::copy(e.probabilities[i].begin(), e.probabilities[i].end(), p.mutable_data() + i * psgkit::kNumSleepStages);
  out["p"] = p;
  out["epoch"] = psgkit::epoch_indices(e.onset_s, 30.0);
  out["eeg"] = r.eeg_channels;
  out["eog"] = r.eog_channel;
  out["model"] = r.model_file.empty() ? std::string(psgkit::to_string(r.model)) : r.model_file.string();
  return out;
}

psgkit::RecordingStagingOptions staging_options(const std::vector<std::string>& eeg, const std::string& eog,
                                                const std::optional<std::string>& model, bool hmm) {
  psgkit::RecordingStagingOptions options;
  options.eeg = eeg;
  options.eog = eog;
  options.hmm = hmm;
  // As `psgkit stage --model`: a shipped model's letter, else a model file (psgkit train --manifest).
  if (model) {
    options.model = psgkit::parse_staging_model_id(*model);
    if (!options.model) options.model_file = *model;
  }
  return options;
}

// In-memory signals: (label, fs_hz, float64 µV array) triples, kept alive by `arrays` while the GIL is released.
std::vector<psgkit::SignalSamples> signal_samples(const py::list& signals, std::vector<DoubleArray>& arrays) {
  std::vector<psgkit::SignalSamples> out;
  for (const py::handle item : signals) {
    const auto t = item.cast<py::tuple>();
    arrays.push_back(t[2].cast<DoubleArray>());
    const DoubleArray& a = arrays.back();
    out.push_back({t[0].cast<std::string>(), t[1].cast<double>(),
                   std::span<const double>(a.data(), static_cast<size_t>(a.size()))});
  }
  return out;
}

psgkit::SleepStatsOptions stats_options(std::optional<double> lights_off_s, std::optional<double> lights_on_s) {
  psgkit::SleepStatsOptions options;
  options.lights_off_s = lights_off_s;
  options.lights_on_s = lights_on_s;
  return options;
}

psgkit::PlotOptions plot_options(const std::string& title, double width_px, double height_px) {
  psgkit::PlotOptions options;
  options.title = title;
  options.width_px = width_px;
  options.height_px = height_px;
  return options;
}

}  // namespace

PYBIND11_MODULE(_psgkit, m) {
  m.attr("__version__") = PSGKIT_VERSION;

  // psgkit.Error: a ValueError with .file, .field and .message (the text without "file: field: ").
  static py::exception<psgkit::Error> error_type(m, "Error", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const psgkit::Error& e) {
      std::string message = e.what();
      for (const std::string* part : {&e.file(), &e.field()})
        if (!part->empty() && message.rfind(*part + ": ", 0) == 0) message.erase(0, part->size() + 2);
      py::object err = py::handle(error_type)(e.what());  // an instance, to carry the attributes
      err.attr("file") = e.file();
      err.attr("field") = e.field();
      err.attr("message") = message;
      PyErr_SetObject(error_type.ptr(), err.ptr());
    }
  });

  py::class_<Recording, std::shared_ptr<Recording>>(m, "Recording")
      .def_static("open", [](const std::filesystem::path& path) {
        py::gil_scoped_release release;
        return std::make_shared<Recording>(Recording::open(path));
      })
      .def_property_readonly("path", &Recording::path)
      .def_property_readonly("file_type", [](const Recording& r) { return std::string(psgkit::to_string(r.file_type())); })
      .def_property_readonly("patient", &Recording::patient)
      .def_property_readonly("recording_id", &Recording::recording_id)
      .def_property_readonly("start_fields", [](const Recording& r) {
        const auto& s = r.start();
        return py::make_tuple(s.year, s.month, s.day, s.hour, s.minute, s.second, s.subsecond_s);
      })
      .def_property_readonly("n_records", &Recording::n_records)
      .def_property_readonly("record_duration_s", &Recording::record_duration_s)
      .def_property_readonly("duration_s", [](const Recording& r) {
        py::gil_scoped_release release;
        return r.duration_s();
      })
      .def_property_readonly("opened_by_edflib", &Recording::opened_by_edflib)
      .def("signal_list", [](const Recording& r) {
        py::list out;
        for (const auto& s : r.signals()) {
          py::dict d;
          d["label"] = s.label;
          d["unit"] = s.unit;
          d["fs_hz"] = s.fs_hz;
          d["n_samples"] = s.n_samples;
          d["transducer"] = s.transducer;
          d["prefilter"] = s.prefilter;
          d["file_unit"] = s.file_unit;
          out.append(d);
        }
        return out;
      })
      .def("annotation_columns", [](const Recording& r) {
        {
          py::gil_scoped_release release;
          r.annotations();  // the first call walks every data record
        }
        std::vector<double> onset, duration;
        std::vector<std::string> text;
        for (const auto& a : r.annotations()) {
          onset.push_back(a.onset_s);
          duration.push_back(a.duration_s);
          text.push_back(a.text);
        }
        return py::make_tuple(to_array(onset), to_array(duration), text);
      })
      .def("gap_list", [](const Recording& r) {
        std::vector<std::pair<double, double>> out;
        for (const auto& g : r.gaps()) out.emplace_back(g.start_s, g.duration_s);
        return out;
      })
      .def_property_readonly("warnings", &Recording::warnings)
      .def("info_json", [](const Recording& r) {
        py::gil_scoped_release release;
        return psgkit::recording_info_json(r);
      })
      .def("require_signal", &Recording::require_signal)
      // Samples [first, first + n) of each signal into one new (signals × n) float32 array: the library
      // decodes straight into its rows, so the samples are written once.
      .def("read_rows", [](const Recording& r, const std::vector<int>& signals, int64_t first, int64_t n) {
        FloatArray out({signals.size(), static_cast<size_t>(n)});
        float* data = out.mutable_data();
        std::vector<std::span<float>> rows;
        for (size_t i = 0; i < signals.size(); ++i)
          rows.emplace_back(data + i * static_cast<size_t>(n), static_cast<size_t>(n));
        {
          py::gil_scoped_release release;
          r.read(signals, first, rows);  // one pass over the data records
        }
        return out;
      });

  py::class_<Hypnogram>(m, "Hypnogram")
      .def(py::init<>())
      .def_readwrite("epoch_s", &Hypnogram::epoch_s)
      .def_readwrite("start_s", &Hypnogram::start_s)
      .def_property(
          "stages",
          [](const Hypnogram& h) {
            std::vector<std::string> out;
            for (auto s : h.stages) out.emplace_back(psgkit::to_string(s));
            return out;
          },
          [](Hypnogram& h, const std::vector<std::string>& labels) {
            std::vector<psgkit::Stage> stages;
            for (size_t i = 0; i < labels.size(); ++i) {
              const auto s = psgkit::parse_stage(labels[i]);
              if (!s) throw psgkit::Error("", "stages", "epoch " + std::to_string(i) + ": '" + labels[i] + "' is not a sleep stage");
              stages.push_back(*s);
            }
            h.stages = std::move(stages);
          })
      .def_property(
          "probabilities",
          [](const Hypnogram& h) {
            FloatArray p({h.probabilities.size(), size_t{psgkit::kNumSleepStages}});
            for (size_t i = 0; i < h.probabilities.size(); ++i)
              std::copy(h.probabilities[i].begin(), h.probabilities[i].end(), p.mutable_data() + i * psgkit::kNumSleepStages);
            return p;
          },
          [](Hypnogram& h, const FloatArray& p) {
            if (p.ndim() != 2 || p.shape(1) != psgkit::kNumSleepStages)
              throw py::value_error("probabilities: expected an (epochs × 5) array of p_W, p_N1, p_N2, p_N3, p_REM");
            h.probabilities.resize(static_cast<size_t>(p.shape(0)));
            for (size_t i = 0; i < h.probabilities.size(); ++i)
              std::copy_n(p.data() + i * psgkit::kNumSleepStages, psgkit::kNumSleepStages, h.probabilities[i].begin());
          })
      .def_property_readonly("events", [](const Hypnogram& h) {
        std::vector<py::tuple> out;
        for (const auto& e : h.events) out.push_back(py::make_tuple(e.onset_s, e.duration_s, e.text));
        return out;
      })
      .def("__len__", &Hypnogram::size)
      .def("reepoch", &Hypnogram::reepoch, py::arg("new_epoch_s"));

  m.def("read_hypnogram", [](const std::filesystem::path& path, double epoch_s) {
    py::gil_scoped_release release;
    return psgkit::read_hypnogram(path, epoch_s);
  });

  m.def("pick_feature_channels", [](const Recording& r, const std::string& recipe) {
    return psgkit::pick_feature_channels(r, psgkit::parse_recipe(recipe));
  });
  m.def("features_recording", [](const Recording& r, const std::vector<std::string>& channels, const std::string& recipe,
                                 double epoch_s) {
    std::vector<std::string> notes;
    psgkit::FeatureTable table;
    {
      py::gil_scoped_release release;
      psgkit::RecipeOptions options;
      options.features.epoch_s = epoch_s;
      table = psgkit::compute_recipe(r, channels, psgkit::parse_recipe(recipe), options, &notes);
    }
    return table_dict(table, notes);
  });
  m.def("features_signals", [](const py::list& signals, const std::string& recipe, double epoch_s) {
    std::vector<DoubleArray> arrays;
    const auto samples = signal_samples(signals, arrays);
    std::vector<std::string> notes;
    psgkit::FeatureTable table;
    {
      py::gil_scoped_release release;
      psgkit::RecipeOptions options;
      options.features.epoch_s = epoch_s;
      table = psgkit::compute_recipe(samples, psgkit::parse_recipe(recipe), options, &notes, "array");
    }
    return table_dict(table, notes);
  });

  m.def("stage_recording", [](const Recording& r, const std::vector<std::string>& eeg, const std::string& eog,
                              const std::optional<std::string>& model, bool hmm) {
    const auto options = staging_options(eeg, eog, model, hmm);
    psgkit::RecordingStaging result;
    {
      py::gil_scoped_release release;
      result = psgkit::stage_recording(r, options);
    }
    return staged_dict(result);
  });
  m.def("stage_signals", [](const py::list& signals, const std::vector<std::string>& eeg, const std::string& eog,
                            const std::optional<std::string>& model, bool hmm) {
    const auto options = staging_options(eeg, eog, model, hmm);
    std::vector<DoubleArray> arrays;
    const auto samples = signal_samples(signals, arrays);
    psgkit::RecordingStaging result;
    {
      py::gil_scoped_release release;
      result = psgkit::stage_signals(samples, options, "array");
    }
    return staged_dict(result);
  });
  m.def("hypnogram_of_staging", [](const std::vector<double>& onset_s, const std::vector<std::string>& stages,
                                   const FloatArray& p) {
    psgkit::StagedEpochs staged;
    staged.onset_s = onset_s;
    for (const auto& label : stages) {
      const auto s = psgkit::parse_stage(label);
      if (!s) throw psgkit::Error("", "stage", "'" + label + "' is not a sleep stage");
      staged.stages.push_back(*s);
    }
    if (p.ndim() != 2 || p.shape(1) != psgkit::kNumSleepStages || static_cast<size_t>(p.shape(0)) != stages.size())
      throw py::value_error("p_W..p_REM: expected one row of 5 probabilities per epoch");
    staged.probabilities.resize(stages.size());
    for (size_t i = 0; i < stages.size(); ++i)
      std::copy_n(p.data() + i * psgkit::kNumSleepStages, psgkit::kNumSleepStages, staged.probabilities[i].begin());
    return staged.to_hypnogram();
  });

  m.def("sleep_statistics", [](const Hypnogram& h, std::optional<double> lights_off_s, std::optional<double> lights_on_s) {
    psgkit::SleepStatistics stats;
    {
      py::gil_scoped_release release;
      stats = psgkit::sleep_statistics(h, stats_options(lights_off_s, lights_on_s));
    }
    py::dict out;
    for (const auto& s : stats.values) out[py::str(s.name)] = s.value;
    return out;
  });

  py::class_<psgkit::NightAnalysis, std::shared_ptr<psgkit::NightAnalysis>>(m, "Night")
      .def_property_readonly("path", [](const psgkit::NightAnalysis& n) { return n.path; })
      .def_readonly("is_recording", &psgkit::NightAnalysis::is_recording)
      .def_readonly("staged_automatically", &psgkit::NightAnalysis::staged_automatically)
      .def_readonly("hypnogram", &psgkit::NightAnalysis::hypnogram)
      .def_readonly("notes", &psgkit::NightAnalysis::notes)
      .def("measure_list", [](const psgkit::NightAnalysis& n) {
        std::vector<py::tuple> out;
        for (const auto& m : n.measures) out.push_back(py::make_tuple(m.name, m.value, m.unit, m.deep_sleep));
        return out;
      })
      .def("statistics_dict", [](const psgkit::NightAnalysis& n) {
        py::dict out;
        for (const auto& s : n.statistics.values) out[py::str(s.name)] = s.value;
        return out;
      })
      .def("spectrogram_svg", [](const psgkit::NightAnalysis& n, const std::string& title, double width_px,
                                 double height_px, double max_freq_hz) {
        if (!n.spectrogram) throw psgkit::Error(n.path.string(), "spectrogram", "a night read from a hypnogram file has no EEG");
        py::gil_scoped_release release;
        return psgkit::spectrogram_svg(*n.spectrogram, plot_options(title, width_px, height_px), max_freq_hz);
      });

  m.def("analyse_night", [](const std::filesystem::path& path, const std::optional<std::filesystem::path>& hypnogram,
                            const std::vector<std::string>& eeg, const std::string& swa_channel,
                            std::optional<double> lights_off_s, std::optional<double> lights_on_s) {
    psgkit::NightAnalysisOptions options;
    options.staging.eeg = eeg;
    options.swa_channel = swa_channel;
    options.stats = stats_options(lights_off_s, lights_on_s);
    py::gil_scoped_release release;
    return std::make_shared<psgkit::NightAnalysis>(psgkit::analyse_night({path, hypnogram}, options));
  });
  m.def("compare_nights", [](const psgkit::NightAnalysis& before, const psgkit::NightAnalysis& after) {
    std::vector<py::tuple> out;
    for (const auto& c : psgkit::compare_nights(before, after))
      out.push_back(py::make_tuple(c.name, c.unit, c.before, c.after, c.difference, c.percent_change, c.deep_sleep));
    return out;
  });
  m.def("comparison_json", [](const psgkit::NightAnalysis& before, const psgkit::NightAnalysis& after) {
    py::gil_scoped_release release;
    return psgkit::comparison_json(before, after, psgkit::compare_nights(before, after));
  });
  m.def("cohort_json", [](const std::filesystem::path& manifest, int jobs, const std::vector<std::string>& eeg,
                          const std::string& swa_channel) {
    py::gil_scoped_release release;
    psgkit::CohortOptions options;
    options.jobs = jobs;
    options.night.staging.eeg = eeg;
    options.night.swa_channel = swa_channel;
    return psgkit::cohort_json(psgkit::run_cohort(psgkit::read_manifest(manifest), options));
  });

  m.def("hypnogram_svg", [](const Hypnogram& h, const std::string& title, double width_px, double height_px) {
    py::gil_scoped_release release;
    return psgkit::hypnogram_svg(h, plot_options(title, width_px, height_px));
  });
  m.def("hypnodensity_svg", [](const Hypnogram& h, const std::string& title, double width_px, double height_px) {
    py::gil_scoped_release release;
    return psgkit::hypnodensity_svg(h, plot_options(title, width_px, height_px));
  });
  m.def("before_after_svg", [](const Hypnogram& before, const Hypnogram& after, const std::string& before_label,
                               const std::string& after_label, double width_px) {
    py::gil_scoped_release release;
    return psgkit::hypnogram_before_after_svg(before, after, before_label, after_label, plot_options("", width_px, 0));
  });
}
