// Self-contained SVG figures: hypnogram, hypnodensity, spectrogram, before/after panels and the
// paired cohort plot. Every function returns a complete <svg> document (no external fonts, scripts,
// stylesheets or links; a spectrogram embeds its image as a PNG data URI that psgkit encodes itself:
// palette PNG, zlib "stored" blocks, CRC-32 and Adler-32 per RFC 2083 / RFC 1950 / RFC 1951).
// Save with psgkit::write_file_atomic. Times on the x axes are hours from the recording start.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "psgkit/hypnogram.hpp"
#include "psgkit/spectral.hpp"

namespace psgkit {

struct PlotOptions {
  std::string title;           // drawn above the plot; empty: none
  double width_px = 960;       // figure size in SVG user units (pixels)
  double height_px = 0;        // 0: the kind's default (hypnogram 260, hypnodensity 260, spectrogram 320, paired 420)
  double time_span_h = 0;      // x-axis extent in hours; 0: the data's; set it to align several panels
};

// Step plot, W at the top then REM, N1, N2, N3 (YASA's order); REM drawn thick in red. One
// <line class="run ..."> per run of equal stages and one <line class="step"> per stage change.
// UNS runs are drawn on an extra "?" row only when present. Throws psgkit::Error if empty.
std::string hypnogram_svg(const Hypnogram& hypnogram, const PlotOptions& options = {});

// Stacked stage probabilities over time (W, N1, N2, N3, REM from top to bottom; one
// <path class="band ..."> per stage). Throws psgkit::Error if hypnogram.probabilities is empty.
std::string hypnodensity_svg(const Hypnogram& hypnogram, const PlotOptions& options = {});

// Image of 10*log10(power) of a psgkit::spectrogram() result (spectral.hpp; column width = the
// spacing of onset_s, or 30 s for a single epoch), bins from 0 to max_freq_hz, frequency upward,
// colour limits at the 2nd and 98th percentiles, with a dB colour bar (`unit`: the power unit).
// Columns are averaged down to at most max_columns and frequency bins to at most max_rows to keep the
// SVG small (~60-80 kB for an 8-h night). Throws psgkit::Error for inconsistent sizes or no data.
std::string spectrogram_svg(const Spectrogram& spectrogram, const PlotOptions& options = {},
                            double max_freq_hz = 30.0, const std::string& unit = "\u00b5V\u00b2/Hz", int max_columns = 720,
                            int max_rows = 64);

// Panels (complete SVGs from the functions here) laid out in `columns` columns, each nested as an
// <svg> element; a figure title on top when `title` is non-empty. Throws psgkit::Error if a panel is
// not an <svg> document with width and height.
std::string combine_svg(const std::vector<std::string>& panels, int columns = 1, const std::string& title = "");

// Before/after hypnograms one above the other on a common time axis, each titled with its label
// and its N3 and total sleep minutes.
std::string hypnogram_before_after_svg(const Hypnogram& before, const Hypnogram& after,
                                       const std::string& before_label = "Before",
                                       const std::string& after_label = "After", const PlotOptions& options = {});

// One subject of a paired (before/after) comparison.
struct PairedValue {
  std::string subject;
  double before = 0, after = 0;  // in the measure's unit; NaN values are left out of the mean
};

// Per-subject lines from before to after for one measure, with the mean as a thick line and the
// mean change in the subtitle. One <line class="subject"> per subject with both values finite.
// Throws psgkit::Error if no subject has both values.
std::string paired_svg(const std::vector<PairedValue>& values, const std::string& measure, const std::string& unit,
                       const PlotOptions& options = {}, const std::string& before_label = "Before",
                       const std::string& after_label = "After");

// One arm of a parallel-group trial: each subject's change in a measure, with the arm's mean change
// and its 95 % confidence interval (computed by the caller, e.g. paired_stats.hpp ArmChange).
struct ArmPoints {
  std::string label;
  std::vector<double> changes;  // NaN values are not drawn
  double mean = 0, ci95_low = 0, ci95_high = 0;
};

// Per arm, one column of dots (one <circle class="subject"> per finite change, jittered sideways by
// a fixed pattern), the mean as a short thick <line class="mean"> and the CI as a vertical
// <line class="ci"> with caps; a dashed line at zero change. Throws psgkit::Error if no arm has a
// finite change.
std::string arm_change_svg(const std::vector<ArmPoints>& arms, const std::string& measure, const std::string& unit,
                           const PlotOptions& options = {});

// One row of a forest plot.
struct ForestRow {
  std::string label;
  double estimate = 0, ci95_low = 0, ci95_high = 0;  // rows with a non-finite estimate are drawn as "n/a"
  bool significant = false;  // drawn filled; open otherwise
};

// Forest plot: one row per entry, top to bottom, the CI as <line class="ci"> and the estimate as
// <circle class="estimate significant"> or <circle class="estimate"> (open), a vertical line at 0,
// and the x axis labelled `axis_label`. Throws psgkit::Error if `rows` is empty.
std::string forest_svg(const std::vector<ForestRow>& rows, const std::string& axis_label,
                       const PlotOptions& options = {});

// Text escaped for XML/HTML content and attribute values (&, <, >, ").
std::string xml_escape(std::string_view text);

// The PNG encoder behind spectrogram_svg, public for tests.
namespace png {
uint32_t crc32(std::span<const uint8_t> bytes, uint32_t crc = 0);  // ISO-HDLC CRC-32 (PNG, zlib)
uint32_t adler32(std::span<const uint8_t> bytes);                  // RFC 1950
// 8-bit palette PNG, rows top to bottom, `indices` width*height palette indices.
std::string encode_indexed(int width, int height, std::span<const uint8_t> indices,
                           std::span<const std::array<uint8_t, 3>> palette);
std::string base64(std::string_view bytes);
}  // namespace png

}  // namespace psgkit
