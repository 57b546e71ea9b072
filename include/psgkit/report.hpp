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

// {"sessions", "subjects": [{subject, nights: {session: {path, measures: {name: value}} | {path, error}}}],
//  "excluded": [...], "measures": {name: {n, mean_before, mean_after, mean_diff, sd_diff, ttest_p,
//  wilcoxon_p, hedges_g, ci95_low, ci95_high, p_holm, unit}} for the first later session,
//  "comparisons": [{baseline, session, measures: {...}}] for every later session}. NaN -> null.
std::string cohort_json(const CohortResult& result);

// One page: the table of every measure (before, after, difference, % change; deep-sleep measures
// first), before/after hypnograms on a common axis, hypnodensities of automatically staged nights,
// and spectrograms of recordings.
std::string comparison_html(const NightAnalysis& before, const NightAnalysis& after,
                            const std::vector<MeasureChange>& changes);

// One page: per-measure statistics of each comparison, paired plots of the deep-sleep measures, the
// per-subject table, and what failed or was left out.
std::string cohort_html(const CohortResult& result);

// Plain-text table of a comparison for the terminal.
std::string comparison_text(const std::vector<MeasureChange>& changes);
// Plain-text summary of a cohort for the terminal.
std::string cohort_text(const CohortResult& result);

}  // namespace psgkit
