// Reports of a comparison: JSON for programs and a self-contained HTML page for people (inline CSS
// and SVG figures, no scripts, no external fetches).
#pragma once

#include <string>
#include <vector>

#include "psgkit/compare.hpp"

namespace psgkit {

// {"before": {...night...}, "after": {...}, "measures": [{name, unit, before, after, difference,
// percent_change}, ...]}; a night is {path, staged_automatically, notes, epochs, epoch_s}.
// NaN is written as null.
std::string comparison_json(const NightAnalysis& before, const NightAnalysis& after,
                            const std::vector<MeasureChange>& changes);

// {"design": "paired" | "parallel" | "crossover", "sessions",
//  "subjects": [{subject, arm | sequence (parallel | crossover), nights: {session or condition:
//  {[period,] path, measures: {name: value}} | {path, error}}}], "excluded": [...], "measures": ...}.
// NaN -> null. Per design, "measures" is {name: ...} with
//  - paired: {n, mean_before, mean_after, mean_diff, sd_diff, ttest_p, wilcoxon_p, hedges_g,
//    ci95_low, ci95_high, p_holm, unit} for the first later session, plus "comparisons":
//    [{baseline, session, measures}] for every later session;
//  - parallel ("arms": {reference, treated}): {unit, deep_sleep, arms: {<arm>: {n, mean_before,
//    mean_after, mean_change, sd_change}}, between: {diff_change, welch_p, mannwhitney_p, hedges_g,
//    ci95_low, ci95_high, ancova_effect, ancova_se, ancova_p, ancova_ci95_low, ancova_ci95_high,
//    p_holm}, notes};
//  - crossover ("conditions": {reference, treated, A, B}): {unit, deep_sleep, n, n_AB, n_BA,
//    mean_<condition> for both, mean_diff, sd_diff, paired_ttest_p, wilcoxon_p, hedges_g, ci95_low,
//    ci95_high, effect, effect_se, effect_p, effect_ci95_low, effect_ci95_high, period_p, carryover_p,
//    p_holm, notes}. See compare.hpp and paired_stats.hpp for the definitions.
std::string cohort_json(const CohortResult& result);

// One page: the table of every measure (before, after, difference, % change; deep-sleep measures
// first), before/after hypnograms on a common axis, hypnodensities of automatically staged nights,
// and spectrograms of recordings.
std::string comparison_html(const NightAnalysis& before, const NightAnalysis& after,
                            const std::vector<MeasureChange>& changes);

// One page: the design, per-measure statistics (deep-sleep measures first), figures of the deep-sleep
// measures (paired: per-subject lines per comparison; parallel: each arm's changes as dots with the
// mean and 95 % CI; crossover: per-subject lines from the reference to the treated night), for
// parallel and crossover designs a forest plot of the effect of every measure with its Holm-adjusted
// significance, the per-night table, and what failed or was left out.
std::string cohort_html(const CohortResult& result);

// Plain-text table of a comparison for the terminal.
std::string comparison_text(const std::vector<MeasureChange>& changes);
// Plain-text summary of a cohort for the terminal.
std::string cohort_text(const CohortResult& result);

}  // namespace psgkit
