#include "psgkit/report.hpp"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "psgkit/plots.hpp"

namespace psgkit {
using nlohmann::ordered_json;

namespace {

ordered_json number(double value) { return std::isfinite(value) ? ordered_json(value) : ordered_json(nullptr); }

// The domain check's fields (domain.hpp) of an automatically staged recording.
void add_domain(ordered_json& j, const NightAnalysis& night) {
  if (night.domain) j.update(ordered_json::parse(night.domain->to_json()));
}

ordered_json night_json(const NightAnalysis& night) {
  ordered_json j;
  j["path"] = night.path.string();
  j["staged_automatically"] = night.staged_automatically;
  j["epochs"] = night.hypnogram.size();
  j["epoch_s"] = night.hypnogram.epoch_s;
  j["notes"] = night.notes;
  add_domain(j, night);
  return j;
}

ordered_json cohort_measures_json(const CohortComparison& comparison) {
  ordered_json measures = ordered_json::object();
  for (const auto& m : comparison.measures) {
    ordered_json j;
    j["unit"] = m.unit;
    j["n"] = m.n;
    j["mean_before"] = number(m.mean_before);
    j["mean_after"] = number(m.mean_after);
    j["mean_diff"] = number(m.mean_diff);
    j["sd_diff"] = number(m.sd_diff);
    j["ttest_p"] = number(m.ttest_p);
    j["wilcoxon_p"] = number(m.wilcoxon_p);
    j["hedges_g"] = number(m.hedges_g);
    j["ci95_low"] = number(m.ci95_low);
    j["ci95_high"] = number(m.ci95_high);
    j["p_holm"] = number(m.p_holm);
    measures[m.name] = std::move(j);
  }
  return measures;
}

std::string format_value(double value) {
  if (!std::isfinite(value)) return "–";
  if (std::fabs(value) >= 1000 || value == std::round(value)) return fmt::format("{:.0f}", value);
  if (std::fabs(value) >= 10) return fmt::format("{:.1f}", value);
  return fmt::format("{:.3g}", value);
}

std::string format_p(double p) {
  if (!std::isfinite(p)) return "–";
  return p < 0.001 ? std::string("&lt;0.001") : fmt::format("{:.3f}", p);
}

const char* kStyle = R"(<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1040px;color:#1f2933;}
h1{font-size:22px;margin-bottom:4px;} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #d9e2ec;padding-bottom:4px;}
table{border-collapse:collapse;font-size:13px;margin:8px 0;} th,td{padding:3px 10px;border-bottom:1px solid #e4e7eb;text-align:right;}
th:first-child,td:first-child{text-align:left;} tr.deep td{background:#f0f7ff;} td.up{color:#0b6e4f;} td.down{color:#b42318;}
figure{margin:12px 0;} figcaption{font-size:12px;color:#52606d;} .notes{font-size:12px;color:#52606d;} .warn{font-size:13px;color:#b42318;font-weight:bold;} .fail{color:#b42318;}
</style>)";

std::string page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + xml_escape(title) +
         "</title>" + kStyle + "</head><body>\n<h1>" + xml_escape(title) + "</h1>\n" + body + "</body></html>\n";
}

std::string figure(const std::string& svg, const std::string& caption) {
  return "<figure>" + svg + "<figcaption>" + xml_escape(caption) + "</figcaption></figure>\n";
}

std::string change_class(double difference) {
  if (!std::isfinite(difference) || difference == 0) return "";
  return difference > 0 ? " class=\"up\"" : " class=\"down\"";
}

std::string night_figures(const NightAnalysis& night, const std::string& label, double span_h) {
  std::string out;
  PlotOptions options;
  options.time_span_h = span_h;
  if (!night.hypnogram.probabilities.empty()) {
    options.title = label + ": hypnodensity (automatic staging)";
    out += figure(hypnodensity_svg(night.hypnogram, options), label + " night: stage probabilities per 30-s epoch.");
  }
  if (night.spectrogram) {
    options.title = label + ": spectrogram";
    out += figure(spectrogram_svg(*night.spectrogram, options), label + " night: EEG power per 30-s epoch, dB.");
  }
  return out;
}

}  // namespace

std::string comparison_json(const NightAnalysis& before, const NightAnalysis& after,
                            const std::vector<MeasureChange>& changes) {
  ordered_json j;
  j["before"] = night_json(before);
  j["after"] = night_json(after);
  ordered_json measures = ordered_json::array();
  for (const auto& c : changes) {
    measures.push_back({{"name", c.name}, {"unit", c.unit}, {"before", number(c.before)}, {"after", number(c.after)},
                        {"difference", number(c.difference)}, {"percent_change", number(c.percent_change)},
                        {"deep_sleep", c.deep_sleep}});
  }
  j["measures"] = std::move(measures);
  return j.dump(2) + "\n";
}

std::string cohort_json(const CohortResult& result) {
  ordered_json j;
  j["sessions"] = result.sessions;
  ordered_json subjects = ordered_json::array();
  for (const auto& subject : result.subjects) {
    ordered_json s;
    s["subject"] = subject;
    ordered_json nights = ordered_json::object();
    for (const auto& n : result.nights) {
      if (n.subject != subject) continue;
      ordered_json night;
      night["path"] = n.path.string();
      if (n.analysis) {
        ordered_json values = ordered_json::object();
        for (const auto& m : n.analysis->measures) values[m.name] = number(m.value);
        night["staged_automatically"] = n.analysis->staged_automatically;
        add_domain(night, *n.analysis);
        if (!n.analysis->warnings.empty()) night["warnings"] = n.analysis->warnings;
        night["measures"] = std::move(values);
      } else {
        night["error"] = n.error;
      }
      nights[n.session] = std::move(night);
    }
    s["nights"] = std::move(nights);
    subjects.push_back(std::move(s));
  }
  j["subjects"] = std::move(subjects);
  j["excluded"] = result.excluded;
  j["measures"] = result.comparisons.empty() ? ordered_json::object() : cohort_measures_json(result.comparisons.front());
  ordered_json comparisons = ordered_json::array();
  for (const auto& c : result.comparisons)
    comparisons.push_back({{"baseline", c.baseline}, {"session", c.session}, {"measures", cohort_measures_json(c)}});
  j["comparisons"] = std::move(comparisons);
  return j.dump(2) + "\n";
}

std::string comparison_html(const NightAnalysis& before, const NightAnalysis& after,
                            const std::vector<MeasureChange>& changes) {
  std::string body = "<p class=\"notes\">Before: " + xml_escape(before.path.string()) + "<br>After: " +
                     xml_escape(after.path.string()) + "</p>\n";
  for (const auto* night : {&before, &after})
    for (const auto& note : night->notes)
      body += std::string("<p class=\"") + (note.starts_with("WARNING") ? "warn" : "notes") + "\">" +
              xml_escape((night == &before ? "Before: " : "After: ") + note) + "</p>\n";
  body += "<h2>Measures</h2>\n<table><tr><th>Measure</th><th>Unit</th><th>Before</th><th>After</th>"
          "<th>Difference</th><th>% change</th></tr>\n";
  for (const auto& c : changes) {
    body += std::string("<tr") + (c.deep_sleep ? " class=\"deep\"" : "") + "><td>" + xml_escape(c.name) + "</td><td>" +
            xml_escape(c.unit) + "</td><td>" + format_value(c.before) + "</td><td>" + format_value(c.after) + "</td><td" +
            change_class(c.difference) + ">" + format_value(c.difference) + "</td><td>" +
            format_value(c.percent_change) + "</td></tr>\n";
  }
  body += "</table>\n<h2>Hypnograms</h2>\n";
  body += figure(hypnogram_before_after_svg(before.hypnogram, after.hypnogram),
                 "Hypnograms on a common time axis (hours from the recording start).");
  const double span_h = std::max(before.hypnogram.start_s + before.hypnogram.duration_s(),
                                 after.hypnogram.start_s + after.hypnogram.duration_s()) / 3600.0;
  const std::string figures = night_figures(before, "Before", span_h) + night_figures(after, "After", span_h);
  if (!figures.empty()) body += "<h2>Per-night figures</h2>\n" + figures;
  return page("psgkit: before/after comparison", body);
}

std::string cohort_html(const CohortResult& result) {
  std::string body;
  size_t ok = 0;
  for (const auto& n : result.nights) ok += n.analysis ? 1 : 0;
  body += fmt::format("<p class=\"notes\">{} subjects, {} of {} nights analysed. Sessions: ", result.subjects.size(), ok,
                      result.nights.size());
  for (size_t i = 0; i < result.sessions.size(); ++i) body += (i ? ", " : "") + xml_escape(result.sessions[i]);
  body += " (the first is the baseline).</p>\n";
  if (!result.excluded.empty()) {
    body += "<h2>Left out</h2>\n<ul>\n";
    for (const auto& e : result.excluded) body += "<li class=\"fail\">" + xml_escape(e) + "</li>\n";
    body += "</ul>\n";
  }
  for (const auto& comparison : result.comparisons) {
    body += "<h2>" + xml_escape(comparison.session) + " vs " + xml_escape(comparison.baseline) + "</h2>\n";
    body += "<table><tr><th>Measure</th><th>Unit</th><th>n</th><th>Mean " + xml_escape(comparison.baseline) +
            "</th><th>Mean " + xml_escape(comparison.session) +
            "</th><th>Mean diff</th><th>95 % CI</th><th>Hedges g</th><th>t-test p</th><th>Wilcoxon p</th><th>Holm p</th></tr>\n";
    for (const auto& m : comparison.measures) {
      body += std::string("<tr") + (m.deep_sleep ? " class=\"deep\"" : "") + "><td>" + xml_escape(m.name) + "</td><td>" +
              xml_escape(m.unit) + "</td><td>" + std::to_string(m.n) + "</td><td>" + format_value(m.mean_before) +
              "</td><td>" + format_value(m.mean_after) + "</td><td" + change_class(m.mean_diff) + ">" +
              format_value(m.mean_diff) + "</td><td>" + format_value(m.ci95_low) + " … " + format_value(m.ci95_high) +
              "</td><td>" + format_value(m.hedges_g) + "</td><td>" + format_p(m.ttest_p) + "</td><td>" +
              format_p(m.wilcoxon_p) + "</td><td>" + format_p(m.p_holm) + "</td></tr>\n";
    }
    body += "</table>\n";
    std::vector<std::string> panels;
    for (const auto& m : comparison.measures) {
      const bool plottable = std::any_of(m.values.begin(), m.values.end(), [](const PairedValue& v) {
        return std::isfinite(v.before) && std::isfinite(v.after);
      });
      if (!m.deep_sleep || !plottable) continue;
      PlotOptions options;
      options.width_px = 320;
      panels.push_back(paired_svg(m.values, m.name, m.unit, options, comparison.baseline, comparison.session));
    }
    if (!panels.empty())
      body += figure(combine_svg(panels, 3), "Deep-sleep measures per subject, " + comparison.baseline + " to " +
                                                 comparison.session + "; the thick line is the mean.");
  }
  body += "<h2>Nights</h2>\n<table><tr><th>Subject</th><th>Session</th><th>File</th><th>N3 (min)</th><th>TST (min)</th>"
          "<th>Staging</th></tr>\n";
  for (const auto& n : result.nights) {
    body += "<tr><td>" + xml_escape(n.subject) + "</td><td>" + xml_escape(n.session) + "</td><td>" +
            xml_escape(n.path.filename().string()) + "</td>";
    if (n.analysis)
      body += "<td>" + format_value(n.analysis->value("N3")) + "</td><td>" + format_value(n.analysis->value("TST")) +
              "</td><td>" + (n.analysis->staged_automatically ? "automatic" : "expert") +
              (n.analysis->domain && n.analysis->domain->warning
                   ? "<br><span class=\"warn\">" + xml_escape(n.analysis->domain->message()) + "</span>"
                   : "") +
              "</td></tr>\n";
    else
      body += "<td colspan=\"3\" class=\"fail\">" + xml_escape(n.error) + "</td></tr>\n";
  }
  body += "</table>\n";
  return page("psgkit: cohort report", body);
}

std::string comparison_text(const std::vector<MeasureChange>& changes) {
  std::string out = fmt::format("{:<22} {:>7} {:>12} {:>12} {:>12} {:>9}\n", "measure", "unit", "before", "after",
                                "difference", "% change");
  for (const auto& c : changes)
    out += fmt::format("{:<22} {:>7} {:>12} {:>12} {:>12} {:>9}\n", c.name, c.unit, format_value(c.before),
                       format_value(c.after), format_value(c.difference), format_value(c.percent_change));
  return out;
}

std::string cohort_text(const CohortResult& result) {
  std::string out;
  for (const auto& comparison : result.comparisons) {
    out += fmt::format("{} vs {}\n", comparison.session, comparison.baseline);
    out += fmt::format("{:<22} {:>3} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8}\n", "measure", "n", "mean_bef", "mean_aft",
                       "mean_diff", "t_p", "wilc_p", "holm_p");
    for (const auto& m : comparison.measures)
      out += fmt::format("{:<22} {:>3} {:>10} {:>10} {:>10} {:>8.4f} {:>8.4f} {:>8.4f}\n", m.name, m.n,
                         format_value(m.mean_before), format_value(m.mean_after), format_value(m.mean_diff), m.ttest_p,
                         m.wilcoxon_p, m.p_holm);
  }
  for (const auto& e : result.excluded) out += "left out: " + e + "\n";
  return out;
}

}  // namespace psgkit
