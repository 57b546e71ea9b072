#include "psgkit/report.hpp"

#include <fmt/format.h>

#include <algorithm>
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

ordered_json parallel_measures_json(const CohortResult& result) {
  ordered_json measures = ordered_json::object();
  for (const auto& m : result.parallel) {
    const ParallelComparison& c = m.stats;
    ordered_json arms = ordered_json::object();
    for (const auto* arm : {&c.reference, &c.treated})
      arms[arm == &c.treated ? result.treated : result.reference] = {
          {"n", arm->n}, {"mean_before", number(arm->mean_before)}, {"mean_after", number(arm->mean_after)},
          {"mean_change", number(arm->mean_change)}, {"sd_change", number(arm->sd_change)}};
    ordered_json between = {{"diff_change", number(c.welch.mean_diff)},
                            {"welch_p", number(c.welch.p_value)},
                            {"mannwhitney_p", number(c.mann_whitney.p_value)},
                            {"hedges_g", number(c.effect.g)},
                            {"ci95_low", number(c.ci.lower)},
                            {"ci95_high", number(c.ci.upper)},
                            {"ancova_effect", number(c.ancova.estimate)},
                            {"ancova_se", number(c.ancova.se)},
                            {"ancova_p", number(c.ancova.p_value)},
                            {"ancova_ci95_low", number(c.ancova.ci95_low)},
                            {"ancova_ci95_high", number(c.ancova.ci95_high)},
                            {"p_holm", number(m.p_holm)}};
    measures[m.name] = {{"unit", m.unit}, {"deep_sleep", m.deep_sleep}, {"arms", std::move(arms)},
                        {"between", std::move(between)}, {"notes", c.notes}};
  }
  return measures;
}

ordered_json crossover_measures_json(const CohortResult& result) {
  ordered_json measures = ordered_json::object();
  for (const auto& m : result.crossover) {
    const CrossoverComparison& c = m.stats;
    ordered_json j;
    j["unit"] = m.unit;
    j["deep_sleep"] = m.deep_sleep;
    j["n"] = c.n_ab + c.n_ba;
    j["n_AB"] = c.n_ab;
    j["n_BA"] = c.n_ba;
    j["mean_" + result.treated] = number(c.mean_treated);
    j["mean_" + result.reference] = number(c.mean_reference);
    j["mean_diff"] = number(c.within.t_test.mean_diff);
    j["sd_diff"] = number(c.within.t_test.sd_diff);
    j["paired_ttest_p"] = number(c.within.t_test.p_value);
    j["wilcoxon_p"] = number(c.within.wilcoxon.p_value);
    j["hedges_g"] = number(c.within.effect.g);
    j["ci95_low"] = number(c.within.ci.lower);
    j["ci95_high"] = number(c.within.ci.upper);
    j["effect"] = number(c.effect.mean_diff);
    j["effect_se"] = number(c.effect.se);
    j["effect_p"] = number(c.effect.p_value);
    j["effect_ci95_low"] = number(c.effect.ci95_low);
    j["effect_ci95_high"] = number(c.effect.ci95_high);
    j["period_p"] = number(c.period.p_value);
    j["carryover_p"] = number(c.carryover.p_value);
    j["p_holm"] = number(m.p_holm);
    j["notes"] = c.notes;
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
table.wide{display:block;overflow-x:auto;max-width:100%;} figure{margin:12px 0;} figcaption{font-size:12px;color:#52606d;} .notes{font-size:12px;color:#52606d;} .warn{font-size:13px;color:#b42318;font-weight:bold;} .fail{color:#b42318;}
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

// Deep-sleep measures first, each group in the nights' order.
template <typename Measure>
std::vector<const Measure*> deep_sleep_first(const std::vector<Measure>& measures) {
  std::vector<const Measure*> order;
  for (const auto& m : measures) order.push_back(&m);
  std::stable_partition(order.begin(), order.end(), [](const Measure* m) { return m->deep_sleep; });
  return order;
}

std::string row_class(bool deep_sleep) { return deep_sleep ? "<tr class=\"deep\">" : "<tr>"; }

std::string forest_figure(const std::vector<ForestRow>& rows, const std::string& axis_label, const std::string& caption) {
  if (rows.empty()) return "";
  PlotOptions options;
  options.title = "Effects across measures";
  return "<h2>Forest plot</h2>\n" + figure(forest_svg(rows, axis_label, options), caption);
}

std::string parallel_html(const CohortResult& result) {
  const std::string trt = xml_escape(result.treated), ref = xml_escape(result.reference);
  std::string body = "<h2>" + trt + " vs " + ref + " (change from " + xml_escape(result.sessions[0]) + " to " +
                     xml_escape(result.sessions[1]) + ")</h2>\n";
  body += "<table class=\"wide\"><tr><th>Measure</th><th>Unit</th><th>n " + trt + "</th><th>n " + ref + "</th><th>Change " + trt +
          "</th><th>Change " + ref + "</th><th>Diff</th><th>95 % CI (bootstrap)</th><th>Hedges g</th><th>ANCOVA effect</th>"
          "<th>ANCOVA 95 % CI</th><th>ANCOVA p</th><th>Welch p</th><th>Mann-Whitney p</th><th>Holm p</th></tr>\n";
  std::vector<std::string> panels;
  std::vector<ForestRow> forest;
  for (const auto* m : deep_sleep_first(result.parallel)) {
    const ParallelComparison& c = m->stats;
    body += row_class(m->deep_sleep) + "<td>" + xml_escape(m->name) + "</td><td>" + xml_escape(m->unit) + "</td><td>" +
            std::to_string(c.treated.n) + "</td><td>" + std::to_string(c.reference.n) + "</td><td>" +
            format_value(c.treated.mean_change) + "</td><td>" + format_value(c.reference.mean_change) + "</td><td" +
            change_class(c.welch.mean_diff) + ">" + format_value(c.welch.mean_diff) + "</td><td>" +
            format_value(c.ci.lower) + " … " + format_value(c.ci.upper) + "</td><td>" + format_value(c.effect.g) +
            "</td><td>" + format_value(c.ancova.estimate) + "</td><td>" + format_value(c.ancova.ci95_low) + " … " +
            format_value(c.ancova.ci95_high) + "</td><td>" + format_p(c.ancova.p_value) + "</td><td>" +
            format_p(c.welch.p_value) + "</td><td>" + format_p(c.mann_whitney.p_value) + "</td><td>" +
            format_p(m->p_holm) + "</td></tr>\n";
    // Pooled SD of the change scores puts every measure's effect on one axis.
    const double nt = static_cast<double>(c.treated.n), nr = static_cast<double>(c.reference.n);
    const double sd = std::sqrt(((nt - 1) * c.treated.sd_change * c.treated.sd_change +
                                 (nr - 1) * c.reference.sd_change * c.reference.sd_change) / (nt + nr - 2));
    forest.push_back({m->name, c.ancova.estimate / sd, c.ancova.ci95_low / sd, c.ancova.ci95_high / sd,
                      std::isfinite(m->p_holm) && m->p_holm < 0.05});
    if (!m->deep_sleep) continue;
    std::vector<ArmPoints> arms(2);
    arms[0] = {result.reference, {}, c.reference.mean_change, c.reference.ci95_low, c.reference.ci95_high};
    arms[1] = {result.treated, {}, c.treated.mean_change, c.treated.ci95_low, c.treated.ci95_high};
    for (const auto& v : m->values) arms[v.treated ? 1 : 0].changes.push_back(v.after - v.before);
    if (std::none_of(arms.begin(), arms.end(), [](const ArmPoints& a) {
          return std::any_of(a.changes.begin(), a.changes.end(), [](double x) { return std::isfinite(x); });
        }))
      continue;
    PlotOptions options;
    options.width_px = 320;
    panels.push_back(arm_change_svg(arms, m->name, m->unit, options));
  }
  body += "</table>\n";
  if (!panels.empty())
    body += figure(combine_svg(panels, 3), "Deep-sleep measures: each subject's change from " + result.sessions[0] +
                                               " to " + result.sessions[1] +
                                               " per arm (dots), the arm's mean change (red) and its 95 % t-interval (bar).");
  body += forest_figure(forest, "ANCOVA effect / pooled SD of the change scores",
                        "Baseline-adjusted effect of " + result.treated + " vs " + result.reference +
                            " per measure with its 95 % CI, in units of the pooled SD of the change scores; filled: "
                            "Holm-adjusted ANCOVA p < 0.05.");
  return body;
}

std::string crossover_html(const CohortResult& result) {
  const std::string trt = xml_escape(result.treated), ref = xml_escape(result.reference);
  std::string body = "<h2>" + trt + " vs " + ref + " (two-period crossover)</h2>\n";
  if (!result.crossover_baseline.empty())
    body += "<p class=\"notes\">Values are each period's change from its " + xml_escape(result.crossover_baseline) +
            " night.</p>\n";
  body += "<table class=\"wide\"><tr><th>Measure</th><th>Unit</th><th>n (AB/BA)</th><th>Mean " + ref + "</th><th>Mean " + trt +
          "</th><th>Mean diff</th><th>95 % CI (bootstrap)</th><th>Hedges g</th><th>Paired t p</th><th>Wilcoxon p</th>"
          "<th>Effect</th><th>Effect 95 % CI</th><th>Effect p</th><th>Period p</th><th>Carry-over p</th><th>Holm p</th></tr>\n";
  std::vector<std::string> panels;
  std::vector<ForestRow> forest;
  for (const auto* m : deep_sleep_first(result.crossover)) {
    const CrossoverComparison& c = m->stats;
    body += row_class(m->deep_sleep) + "<td>" + xml_escape(m->name) + "</td><td>" + xml_escape(m->unit) + "</td><td>" +
            std::to_string(c.n_ab + c.n_ba) + " (" + std::to_string(c.n_ab) + "/" + std::to_string(c.n_ba) + ")</td><td>" +
            format_value(c.mean_reference) + "</td><td>" + format_value(c.mean_treated) + "</td><td" +
            change_class(c.within.t_test.mean_diff) + ">" + format_value(c.within.t_test.mean_diff) + "</td><td>" +
            format_value(c.within.ci.lower) + " … " + format_value(c.within.ci.upper) + "</td><td>" +
            format_value(c.within.effect.g) + "</td><td>" + format_p(c.within.t_test.p_value) + "</td><td>" +
            format_p(c.within.wilcoxon.p_value) + "</td><td>" + format_value(c.effect.mean_diff) + "</td><td>" +
            format_value(c.effect.ci95_low) + " … " + format_value(c.effect.ci95_high) + "</td><td>" +
            format_p(c.effect.p_value) + "</td><td>" + format_p(c.period.p_value) + "</td><td>" +
            format_p(c.carryover.p_value) + "</td><td>" + format_p(m->p_holm) + "</td></tr>\n";
    const double sd = c.within.t_test.sd_diff;
    forest.push_back({m->name, c.effect.mean_diff / sd, c.effect.ci95_low / sd, c.effect.ci95_high / sd,
                      std::isfinite(m->p_holm) && m->p_holm < 0.05});
    const bool plottable = std::any_of(m->values.begin(), m->values.end(), [](const PairedValue& v) {
      return std::isfinite(v.before) && std::isfinite(v.after);
    });
    if (!m->deep_sleep || !plottable) continue;
    PlotOptions options;
    options.width_px = 320;
    panels.push_back(paired_svg(m->values, m->name, m->unit, options, result.reference, result.treated));
  }
  body += "</table>\n";
  if (!panels.empty())
    body += figure(combine_svg(panels, 3), "Deep-sleep measures per subject, " + result.reference + " night to " +
                                               result.treated + " night; the thick line is the mean.");
  body += forest_figure(forest, "period-adjusted effect / SD of the within-subject differences",
                        "Period-adjusted effect of " + result.treated + " vs " + result.reference +
                            " per measure with its 95 % CI, in units of the SD of the within-subject differences; "
                            "filled: Holm-adjusted p < 0.05.");
  return body;
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
  j["design"] = to_string(result.design);
  if (result.design == StudyDesign::parallel) j["arms"] = {{"reference", result.reference}, {"treated", result.treated}};
  if (result.design == StudyDesign::crossover)
    j["conditions"] = {{"reference", result.reference}, {"treated", result.treated}, {"A", result.treated},
                       {"B", result.reference}};
  if (!result.crossover_baseline.empty()) j["response"] = "change from each period's " + result.crossover_baseline + " night";
  j["sessions"] = result.sessions;
  ordered_json subjects = ordered_json::array();
  for (size_t i = 0; i < result.subjects.size(); ++i) {
    const std::string& subject = result.subjects[i];
    ordered_json s;
    s["subject"] = subject;
    if (result.design != StudyDesign::paired)
      s[result.design == StudyDesign::parallel ? "arm" : "sequence"] =
          result.groups[i].empty() ? ordered_json(nullptr) : ordered_json(result.groups[i]);
    ordered_json nights = ordered_json::object();
    for (const auto& n : result.nights) {
      if (n.subject != subject) continue;
      ordered_json night;
      if (!n.period.empty()) night["period"] = n.period;
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
  if (result.design == StudyDesign::parallel) {
    j["measures"] = parallel_measures_json(result);
  } else if (result.design == StudyDesign::crossover) {
    j["measures"] = crossover_measures_json(result);
  } else {
    j["measures"] = result.comparisons.empty() ? ordered_json::object() : cohort_measures_json(result.comparisons.front());
    ordered_json comparisons = ordered_json::array();
    for (const auto& c : result.comparisons)
      comparisons.push_back({{"baseline", c.baseline}, {"session", c.session}, {"measures", cohort_measures_json(c)}});
    j["comparisons"] = std::move(comparisons);
  }
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
  body += fmt::format("<p class=\"notes\">Design: {}. {} subjects, {} of {} nights analysed. ", to_string(result.design),
                      result.subjects.size(), ok, result.nights.size());
  if (result.design == StudyDesign::crossover) {
    body += "Conditions: A = " + xml_escape(result.treated) + " (treated), B = " + xml_escape(result.reference) +
            " (reference); sequence AB had A in period 1.</p>\n";
  } else {
    body += "Sessions: ";
    for (size_t i = 0; i < result.sessions.size(); ++i) body += (i ? ", " : "") + xml_escape(result.sessions[i]);
    body += " (the first is the baseline)";
    if (result.design == StudyDesign::parallel)
      body += ". Arms: " + xml_escape(result.treated) + " (treated) vs " + xml_escape(result.reference) + " (reference)";
    body += ".</p>\n";
  }
  if (!result.excluded.empty()) {
    body += "<h2>Left out</h2>\n<ul>\n";
    for (const auto& e : result.excluded) body += "<li class=\"fail\">" + xml_escape(e) + "</li>\n";
    body += "</ul>\n";
  }
  if (result.design == StudyDesign::parallel) body += parallel_html(result);
  if (result.design == StudyDesign::crossover) body += crossover_html(result);
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
  body += std::string("<h2>Nights</h2>\n<table><tr><th>Subject</th><th>") +
          (result.design == StudyDesign::crossover ? "Condition (period)" : "Session") + "</th><th>File</th><th>N3 (min)</th><th>TST (min)</th>"
          "<th>Staging</th></tr>\n";
  for (const auto& n : result.nights) {
    body += "<tr><td>" + xml_escape(n.subject) + "</td><td>" + xml_escape(n.session) +
            (n.period.empty() ? "" : " (" + xml_escape(n.period) + ")") + "</td><td>" +
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
  std::string out = fmt::format("design: {}\n", to_string(result.design));
  auto p = [](double v) { return std::isfinite(v) ? fmt::format("{:.4f}", v) : std::string("–"); };
  if (result.design == StudyDesign::parallel) {
    out += fmt::format("{} (treated) vs {} (reference), change from {} to {}\n", result.treated, result.reference,
                       result.sessions[0], result.sessions[1]);
    out += fmt::format("{:<22} {:>4} {:>4} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8}\n", "measure", "n_t", "n_r",
                       "chg_trt", "chg_ref", "diff_chg", "ancova", "ancova_p", "welch_p", "mw_p", "holm_p");
    for (const auto* m : deep_sleep_first(result.parallel)) {
      const ParallelComparison& c = m->stats;
      out += fmt::format("{:<22} {:>4} {:>4} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8}\n", m->name, c.treated.n,
                         c.reference.n, format_value(c.treated.mean_change), format_value(c.reference.mean_change),
                         format_value(c.welch.mean_diff), format_value(c.ancova.estimate), p(c.ancova.p_value),
                         p(c.welch.p_value), p(c.mann_whitney.p_value), p(m->p_holm));
    }
  } else if (result.design == StudyDesign::crossover) {
    out += fmt::format("A = {} (treated), B = {} (reference); AB/BA crossover\n", result.treated, result.reference);
    if (!result.crossover_baseline.empty())
      out += "values: change from each period's " + result.crossover_baseline + " night\n";
    out += fmt::format("{:<22} {:>3} {:>10} {:>10} {:>10} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8}\n", "measure", "n", "mean_B",
                       "mean_A", "mean_diff", "t_p", "effect", "effect_p", "period_p", "carry_p", "holm_p");
    for (const auto* m : deep_sleep_first(result.crossover)) {
      const CrossoverComparison& c = m->stats;
      out += fmt::format("{:<22} {:>3} {:>10} {:>10} {:>10} {:>8} {:>10} {:>8} {:>8} {:>8} {:>8}\n", m->name,
                         c.n_ab + c.n_ba, format_value(c.mean_reference), format_value(c.mean_treated),
                         format_value(c.within.t_test.mean_diff), p(c.within.t_test.p_value),
                         format_value(c.effect.mean_diff), p(c.effect.p_value), p(c.period.p_value),
                         p(c.carryover.p_value), p(m->p_holm));
    }
  }
  for (const auto& comparison : result.comparisons) {
    out += fmt::format("{} vs {}\n", comparison.session, comparison.baseline);
    out += fmt::format("{:<22} {:>3} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8}\n", "measure", "n", "mean_bef", "mean_aft",
                       "mean_diff", "t_p", "wilc_p", "holm_p");
    for (const auto* m : deep_sleep_first(comparison.measures))
      out += fmt::format("{:<22} {:>3} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8}\n", m->name, m->n,
                         format_value(m->mean_before), format_value(m->mean_after), format_value(m->mean_diff),
                         p(m->ttest_p), p(m->wilcoxon_p), p(m->p_holm));
  }
  for (const auto& e : result.excluded) out += "left out: " + e + "\n";
  return out;
}

}  // namespace psgkit
