#include "psgkit/plots.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

#include "psgkit/error.hpp"
#include "psgkit/spectral.hpp"

namespace psgkit {
namespace {

constexpr const char* kInk = "#2c3e50";
constexpr const char* kGrid = "#e3e7ec";
constexpr const char* kRemColour = "#d62728";
constexpr const char* kIncrease = "#6b8fb5";  // paired plot: subject lines going up / down
constexpr const char* kDecrease = "#b5876b";
// Stage colours, indexed by Stage (W, N1, N2, N3, REM).
constexpr std::array<const char*, kNumSleepStages> kStageColours{"#f4c542", "#9fd3ee", "#4a90c8", "#1d3b78", "#d62728"};

std::string num(double v) { return fmt::format("{:.1f}", v); }


// A figure body in a width x height user-unit box; finish() wraps it into a standalone document.
struct Canvas {
  double width, height;
  std::string body;

  void text(double x, double y, std::string_view content, std::string_view anchor = "start", double size = 12,
            std::string_view extra = "") {
    body += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"{}\" font-size=\"{}\"{}{}>{}</text>\n", num(x), num(y),
                        anchor, size, extra.empty() ? "" : " ", extra, xml_escape(content));
  }
  void line(double x1, double y1, double x2, double y2, std::string_view stroke, double stroke_width,
            std::string_view cls = "") {
    body += fmt::format("<line{} x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"/>\n",
                        cls.empty() ? "" : fmt::format(" class=\"{}\"", cls), num(x1), num(y1), num(x2), num(y2),
                        stroke, stroke_width);
  }
  void rect(double x, double y, double w, double h, std::string_view fill, std::string_view extra = "") {
    body += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"{}{}/>\n", num(x), num(y),
                        num(w), num(h), fill, extra.empty() ? "" : " ", extra);
  }
  std::string finish() const {
    return fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
        "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" fill=\"{2}\">\n"
        "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n{3}</svg>\n",
        num(width), num(height), kInk, body);
  }
};

// Plot area inside the canvas margins.
struct Frame {
  double left, top, right, bottom;
  double width() const { return right - left; }
  double height() const { return bottom - top; }
};

Frame make_frame(Canvas& canvas, const PlotOptions& options, double left, double right, double bottom) {
  double top = 14;
  if (!options.title.empty()) {
    canvas.text(left, 22, options.title, "start", 15, "font-weight=\"bold\"");
    top = 36;
  }
  return {left, top, canvas.width - right, canvas.height - bottom};
}

// Hour ticks along the bottom of `frame`, vertical grid lines (unless over an image), axis label.
void time_axis(Canvas& canvas, const Frame& frame, double span_h, bool grid = true) {
  const double step_h = span_h <= 1.5 ? 0.25 : span_h <= 13 ? 1 : span_h <= 26 ? 2 : std::ceil(span_h / 12);
  for (int k = 0;; ++k) {
    const double h = k * step_h;
    if (h > span_h + 1e-9) break;
    const double x = frame.left + h / span_h * frame.width();
    if (grid) canvas.line(x, frame.top, x, frame.bottom, kGrid, 1);
    canvas.line(x, frame.bottom, x, frame.bottom + 5, kInk, 1);
    canvas.text(x, frame.bottom + 18, fmt::format("{:g}", h), "middle", 11);
  }
  canvas.line(frame.left, frame.bottom, frame.right, frame.bottom, kInk, 1);
  canvas.text(frame.right, frame.bottom + 32, "Time (h from recording start)", "end", 11);
}

double data_span_h(const Hypnogram& h) { return (h.start_s + h.duration_s()) / 3600.0; }

// Round step for about `target` ticks over [lo, hi] (1, 2, 2.5 or 5 times a power of ten).
double nice_step(double lo, double hi, int target) {
  const double raw = (hi - lo) / target;
  if (!(raw > 0)) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

// A value axis [lo, hi] padded and rounded to ticks of `step`.
struct ValueAxis {
  double lo, hi, step;
};
ValueAxis value_axis(double lo, double hi) {
  const double pad = hi > lo ? 0.08 * (hi - lo) : std::max(1.0, std::abs(hi) * 0.1);
  const double step = nice_step(lo - pad, hi + pad, 6);
  return {std::floor((lo - pad) / step) * step, std::ceil((hi + pad) / step) * step, step};
}

// ---- PNG colour map: our own five-point ramp (dark navy -> violet -> rose -> orange -> pale yellow).
std::array<std::array<uint8_t, 3>, 256> make_palette() {
  constexpr std::array<std::array<double, 3>, 5> stops{{
      {20, 20, 50}, {70, 45, 140}, {180, 60, 120}, {244, 132, 80}, {252, 236, 160}}};
  std::array<std::array<uint8_t, 3>, 256> palette{};
  for (int i = 0; i < 256; ++i) {
    const double pos = i / 255.0 * (stops.size() - 1);
    const auto k = std::min<size_t>(static_cast<size_t>(pos), stops.size() - 2);
    const double w = pos - static_cast<double>(k);
    for (int c = 0; c < 3; ++c)
      palette[i][c] = static_cast<uint8_t>(std::lround(stops[k][c] + w * (stops[k + 1][c] - stops[k][c])));
  }
  return palette;
}

std::string hex_colour(const std::array<uint8_t, 3>& rgb) {
  return fmt::format("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
}

double percentile(std::vector<double> values, double q) {
  const auto k = static_cast<size_t>(std::lround(q * static_cast<double>(values.size() - 1)));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
  return values[k];
}

// Root-tag attribute of a panel produced by Canvas::finish().
std::optional<double> root_attribute(std::string_view svg, std::string_view name) {
  const size_t end = svg.find('>');
  if (end == std::string_view::npos) return std::nullopt;
  std::string key(1, ' ');  // appended piecewise: GCC 12 warns (-Wrestrict) on " " + std::string(...)
  key.append(name).append("=\"");
  const size_t at = svg.substr(0, end).find(key);
  if (at == std::string_view::npos) return std::nullopt;
  return std::strtod(std::string(svg.substr(at + key.size(), 32)).c_str(), nullptr);
}

}  // namespace

// ---------------------------------------------------------------------------------------------- PNG
namespace png {

uint32_t crc32(std::span<const uint8_t> bytes, uint32_t crc) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (uint8_t b : bytes) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

uint32_t adler32(std::span<const uint8_t> bytes) {
  uint32_t a = 1, b = 0;
  for (uint8_t v : bytes) {
    a = (a + v) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

namespace {
void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xFF);
}
void chunk(std::string& out, std::string_view type, std::string_view data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  std::string typed(type);
  typed += data;
  out += typed;
  put_u32(out, crc32({reinterpret_cast<const uint8_t*>(typed.data()), typed.size()}));
}
}  // namespace

std::string encode_indexed(int width, int height, std::span<const uint8_t> indices,
                           std::span<const std::array<uint8_t, 3>> palette) {
  if (width <= 0 || height <= 0 || indices.size() != static_cast<size_t>(width) * static_cast<size_t>(height) ||
      palette.empty() || palette.size() > 256)
    throw Error("", "png", "bad image size or palette");
  std::string ihdr;
  put_u32(ihdr, static_cast<uint32_t>(width));
  put_u32(ihdr, static_cast<uint32_t>(height));
  ihdr += std::string{'\x08', '\x03', '\x00', '\x00', '\x00'};  // 8-bit, palette, deflate, filter 0, no interlace
  std::string plte;
  for (const auto& rgb : palette)
    for (uint8_t c : rgb) plte += static_cast<char>(c);
  // Scanlines, each prefixed by filter type 0 (None).
  std::string raw;
  raw.reserve(indices.size() + static_cast<size_t>(height));
  for (int y = 0; y < height; ++y) {
    raw += '\0';
    raw.append(reinterpret_cast<const char*>(indices.data()) + static_cast<size_t>(y) * width, static_cast<size_t>(width));
  }
  // zlib stream of deflate "stored" blocks (RFC 1951 3.2.4): no compression, no dependencies.
  std::string zlib{'\x78', '\x01'};
  for (size_t at = 0; at < raw.size() || at == 0;) {
    const size_t n = std::min<size_t>(65535, raw.size() - at);
    const bool last = at + n >= raw.size();
    zlib += static_cast<char>(last ? 1 : 0);
    zlib += static_cast<char>(n & 0xFF);
    zlib += static_cast<char>(n >> 8);
    zlib += static_cast<char>(~n & 0xFF);
    zlib += static_cast<char>((~n >> 8) & 0xFF);
    zlib.append(raw, at, n);
    at += n;
    if (last) break;
  }
  put_u32(zlib, adler32({reinterpret_cast<const uint8_t*>(raw.data()), raw.size()}));
  std::string out("\x89PNG\r\n\x1a\n", 8);
  chunk(out, "IHDR", ihdr);
  chunk(out, "PLTE", plte);
  chunk(out, "IDAT", zlib);
  chunk(out, "IEND", "");
  return out;
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t b0 = static_cast<uint8_t>(bytes[i]);
    const uint32_t b1 = i + 1 < bytes.size() ? static_cast<uint8_t>(bytes[i + 1]) : 0;
    const uint32_t b2 = i + 2 < bytes.size() ? static_cast<uint8_t>(bytes[i + 2]) : 0;
    const uint32_t v = (b0 << 16) | (b1 << 8) | b2;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

}  // namespace png

// ---------------------------------------------------------------------------------------- hypnogram
std::string hypnogram_svg(const Hypnogram& hypnogram, const PlotOptions& options) {
  if (hypnogram.stages.empty()) throw Error("", "hypnogram", "has no epochs to plot");
  const bool has_uns = std::find(hypnogram.stages.begin(), hypnogram.stages.end(), Stage::UNS) != hypnogram.stages.end();
  // Rows from the top; YASA's order puts REM between wake and N1.
  std::vector<Stage> rows;
  if (has_uns) rows.push_back(Stage::UNS);
  for (Stage s : {Stage::W, Stage::REM, Stage::N1, Stage::N2, Stage::N3}) rows.push_back(s);
  Canvas canvas{options.width_px, options.height_px > 0 ? options.height_px : 260, {}};
  const Frame frame = make_frame(canvas, options, 56, 16, 40);
  const double span_h = options.time_span_h > 0 ? options.time_span_h : data_span_h(hypnogram);
  const double row_h = frame.height() / static_cast<double>(rows.size());
  auto y_of = [&](Stage s) {
    const auto row = std::find(rows.begin(), rows.end(), s) - rows.begin();
    return frame.top + (static_cast<double>(row) + 0.5) * row_h;
  };
  auto x_of = [&](double t_s) { return frame.left + t_s / 3600.0 / span_h * frame.width(); };

  for (Stage s : rows) {
    canvas.line(frame.left, y_of(s), frame.right, y_of(s), kGrid, 1);
    canvas.text(frame.left - 8, y_of(s) + 4, s == Stage::UNS ? "?" : to_string(s), "end", 12);
  }
  time_axis(canvas, frame, span_h);
  // Legend in the title row.
  canvas.line(frame.right - 130, 18, frame.right - 110, 18, kInk, 2);
  canvas.text(frame.right - 105, 22, "W / NREM", "start", 11);
  canvas.line(frame.right - 45, 18, frame.right - 25, 18, kRemColour, 4);
  canvas.text(frame.right - 20, 22, "REM", "start", 11);

  const size_t n = hypnogram.size();
  std::string runs, steps;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && hypnogram.stages[j] == hypnogram.stages[i]) ++j;
    const Stage s = hypnogram.stages[i];
    const double x_begin = x_of(hypnogram.onset_s(i)), x_end = x_of(hypnogram.onset_s(j));
    if (i > 0) canvas.line(x_begin, y_of(hypnogram.stages[i - 1]), x_begin, y_of(s), kInk, 1, "step");
    if (s == Stage::REM)
      canvas.line(x_begin, y_of(s), x_end, y_of(s), kRemColour, 4, "run rem");
    else
      canvas.line(x_begin, y_of(s), x_end, y_of(s), s == Stage::UNS ? "#999999" : kInk, 2, "run");
    i = j;
  }
  return canvas.finish();
}

// ------------------------------------------------------------------------------------- hypnodensity
std::string hypnodensity_svg(const Hypnogram& hypnogram, const PlotOptions& options) {
  if (hypnogram.probabilities.empty())
    throw Error("", "probabilities", "the hypnogram has no stage probabilities (a staging CSV or psgkit stage output has them)");
  if (hypnogram.probabilities.size() != hypnogram.size())
    throw Error("", "probabilities", "need one row per epoch");
  Canvas canvas{options.width_px, options.height_px > 0 ? options.height_px : 260, {}};
  const Frame frame = make_frame(canvas, options, 56, 16, 40);
  const double span_h = options.time_span_h > 0 ? options.time_span_h : data_span_h(hypnogram);
  auto x_of = [&](double t_s) { return frame.left + t_s / 3600.0 / span_h * frame.width(); };

  // Stage order from the top: W, N1, N2, N3, REM. Band k is drawn as the area from the cumulative
  // boundary above it down to the bottom, each painted over the previous, so every path holds one
  // boundary only (half the size of closed bands).
  const size_t n = hypnogram.size();
  const double x_first = x_of(hypnogram.onset_s(0)), x_last = x_of(hypnogram.onset_s(n));
  std::vector<double> cumulative(n, 0.0);
  for (int s = 0; s < kNumSleepStages; ++s) {
    std::string d = fmt::format("M{} {}", num(x_first), num(frame.bottom));
    for (size_t i = 0; i < n; ++i) {
      const double y = frame.top + std::clamp(cumulative[i], 0.0, 1.0) * frame.height();
      if (i == 0) d += fmt::format(" L{} {}", num(x_first), num(y));
      d += fmt::format(" {} {}", num(x_of(hypnogram.onset_s(i) + 0.5 * hypnogram.epoch_s)), num(y));
      if (i + 1 == n) d += fmt::format(" {} {}", num(x_last), num(y));
      cumulative[i] += hypnogram.probabilities[i][static_cast<size_t>(s)];
    }
    d += fmt::format(" {} {}Z", num(x_last), num(frame.bottom));
    canvas.body += fmt::format("<path class=\"band {}\" d=\"{}\" fill=\"{}\" stroke=\"none\"/>\n",
                               to_string(static_cast<Stage>(s)), d, kStageColours[static_cast<size_t>(s)]);
  }
  for (double p : {0.0, 0.5, 1.0}) {
    const double y = frame.bottom - p * frame.height();
    canvas.line(frame.left - 5, y, frame.left, y, kInk, 1);
    canvas.text(frame.left - 8, y + 4, fmt::format("{:g}", p), "end", 11);
  }
  canvas.text(14, frame.top + frame.height() / 2, "Probability", "middle", 11,
              fmt::format("transform=\"rotate(-90 14 {})\"", num(frame.top + frame.height() / 2)));
  time_axis(canvas, frame, span_h, false);
  for (int s = 0; s < kNumSleepStages; ++s) {
    const double x = frame.right - 5 * 58 + s * 58;
    canvas.rect(x, 12, 12, 12, kStageColours[static_cast<size_t>(s)]);
    canvas.text(x + 16, 22, to_string(static_cast<Stage>(s)), "start", 11);
  }
  return canvas.finish();
}

// ------------------------------------------------------------------------------------- spectrogram
std::string spectrogram_svg(const Spectrogram& sg, const PlotOptions& options, double max_freq_hz,
                            const std::string& unit, int max_columns, int max_rows) {
  const size_t n_t = sg.rows(), stride = sg.cols();
  if (n_t == 0 || sg.power.size() != n_t * stride)
    throw Error("", "spectrogram", "needs at least one epoch and power of size epochs x frequencies");
  size_t n_f = 0;
  while (n_f < stride && sg.freq_hz[n_f] <= max_freq_hz + 1e-9) ++n_f;
  if (n_f < 2) throw Error("", "max_freq_hz", "fewer than two frequency bins at or below " + fmt::format("{:g}", max_freq_hz) + " Hz");
  const double column_s = n_t > 1 ? sg.onset_s[1] - sg.onset_s[0] : 30.0;
  if (max_columns < 1 || max_rows < 1) throw Error("", "max_columns", "must be positive");
  // Average adjacent columns / bins (linear power) down to the pixel budget.
  const size_t group_t = (n_t + static_cast<size_t>(max_columns) - 1) / static_cast<size_t>(max_columns);
  const size_t group_f = (n_f + static_cast<size_t>(max_rows) - 1) / static_cast<size_t>(max_rows);
  const size_t width = (n_t + group_t - 1) / group_t, height = (n_f + group_f - 1) / group_f;
  std::vector<double> db(width * height);
  std::vector<double> finite;
  for (size_t c = 0; c < width; ++c)
    for (size_t r = 0; r < height; ++r) {
      double sum = 0;
      int count = 0;
      for (size_t t = c * group_t; t < std::min(n_t, (c + 1) * group_t); ++t)
        for (size_t f = r * group_f; f < std::min(n_f, (r + 1) * group_f); ++f) {
          sum += sg.power[t * stride + f];
          ++count;
        }
      const double value = sum > 0 ? 10 * std::log10(sum / count) : -std::numeric_limits<double>::infinity();
      db[(height - 1 - r) * width + c] = value;  // image rows run from the highest frequency down
      if (std::isfinite(value)) finite.push_back(value);
    }
  if (finite.empty()) throw Error("", "power", "no positive power values to plot");
  double lo = percentile(finite, 0.02), hi = percentile(finite, 0.98);
  if (!(hi > lo)) hi = lo + 1;
  const auto palette = make_palette();
  std::vector<uint8_t> pixels(db.size());
  for (size_t i = 0; i < db.size(); ++i)
    pixels[i] = static_cast<uint8_t>(std::isfinite(db[i]) ? std::clamp(std::lround(255 * (db[i] - lo) / (hi - lo)), 0L, 255L) : 0);
  const std::string png = png::encode_indexed(static_cast<int>(width), static_cast<int>(height), pixels, palette);

  Canvas canvas{options.width_px, options.height_px > 0 ? options.height_px : 320, {}};
  const Frame frame = make_frame(canvas, options, 56, 90, 40);
  const double t_begin_s = sg.onset_s.front(), t_end_s = sg.onset_s.back() + column_s;
  const double span_h = options.time_span_h > 0 ? options.time_span_h : t_end_s / 3600.0;
  auto x_of = [&](double t_s) { return frame.left + t_s / 3600.0 / span_h * frame.width(); };
  const double f_lo = sg.freq_hz.front(), f_hi = sg.freq_hz[n_f - 1];
  auto y_of = [&](double f) { return frame.bottom - (f - f_lo) / (f_hi - f_lo) * frame.height(); };
  canvas.body += fmt::format(
      "<image class=\"spectrogram\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" preserveAspectRatio=\"none\" "
      "href=\"data:image/png;base64,{}\"/>\n",
      num(x_of(t_begin_s)), num(frame.top), num(x_of(t_end_s) - x_of(t_begin_s)), num(frame.height()), png::base64(png));
  time_axis(canvas, frame, span_h, false);
  const double f_step = nice_step(f_lo, f_hi, 6);
  for (double f = std::ceil(f_lo / f_step) * f_step; f <= f_hi + 1e-9; f += f_step) {
    canvas.line(frame.left - 5, y_of(f), frame.left, y_of(f), kInk, 1);
    canvas.text(frame.left - 8, y_of(f) + 4, fmt::format("{:g}", f), "end", 11);
  }
  canvas.text(16, frame.top + frame.height() / 2, "Frequency (Hz)", "middle", 11,
              fmt::format("transform=\"rotate(-90 16 {})\"", num(frame.top + frame.height() / 2)));
  // Colour bar: 32 swatches, dB labels at both ends and the middle.
  const double bar_x = frame.right + 16, bar_w = 14;
  constexpr int kSwatches = 32;
  for (int k = 0; k < kSwatches; ++k) {
    const double h = frame.height() / kSwatches;
    canvas.rect(bar_x, frame.bottom - (k + 1) * h, bar_w, h + 0.5, hex_colour(palette[static_cast<size_t>(k * 255 / (kSwatches - 1))]),
                "class=\"cbar\"");
  }
  for (double q : {0.0, 0.5, 1.0})
    canvas.text(bar_x + bar_w + 4, frame.bottom - q * frame.height() + 4, fmt::format("{:.0f}", lo + q * (hi - lo)), "start", 10);
  canvas.text(canvas.width - 4, frame.top - 6, "dB re 1 " + unit, "end", 10);
  return canvas.finish();
}

// ----------------------------------------------------------------------------------------- combine
std::string combine_svg(const std::vector<std::string>& panels, int columns, const std::string& title) {
  if (panels.empty() || columns < 1) throw Error("", "panels", "need at least one panel and one column");
  struct Panel {
    double width, height;
    std::string_view inner;
  };
  std::vector<Panel> parsed;
  for (size_t i = 0; i < panels.size(); ++i) {
    const std::string_view svg = panels[i];
    const auto w = root_attribute(svg, "width"), h = root_attribute(svg, "height");
    const size_t open_end = svg.find('>'), close = svg.rfind("</svg>");
    if (svg.substr(0, 4) != "<svg" || !w || !h || open_end == std::string_view::npos || close == std::string_view::npos ||
        close < open_end)
      throw Error("", "panel " + std::to_string(i), "is not an <svg> document with width and height");
    parsed.push_back({*w, *h, svg.substr(open_end + 1, close - open_end - 1)});
  }
  const auto n_cols = static_cast<size_t>(columns);
  const size_t n_rows = (parsed.size() + n_cols - 1) / n_cols;
  double cell_w = 0, cell_h = 0;
  for (const auto& p : parsed) {
    cell_w = std::max(cell_w, p.width);
    cell_h = std::max(cell_h, p.height);
  }
  const double title_h = title.empty() ? 0 : 34;
  Canvas canvas{cell_w * static_cast<double>(std::min(n_cols, parsed.size())), title_h + cell_h * static_cast<double>(n_rows), {}};
  if (!title.empty()) canvas.text(12, 24, title, "start", 17, "font-weight=\"bold\"");
  for (size_t i = 0; i < parsed.size(); ++i) {
    const double x = cell_w * static_cast<double>(i % n_cols), y = title_h + cell_h * static_cast<double>(i / n_cols);
    canvas.body += fmt::format("<svg x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\">", num(x), num(y),
                               num(parsed[i].width), num(parsed[i].height), num(parsed[i].width), num(parsed[i].height));
    canvas.body += parsed[i].inner;
    canvas.body += "</svg>\n";
  }
  return canvas.finish();
}

std::string hypnogram_before_after_svg(const Hypnogram& before, const Hypnogram& after, const std::string& before_label,
                                       const std::string& after_label, const PlotOptions& options) {
  PlotOptions panel = options;
  panel.time_span_h = options.time_span_h > 0 ? options.time_span_h : std::max(data_span_h(before), data_span_h(after));
  panel.height_px = options.height_px > 0 ? options.height_px : 220;
  auto titled = [&](const Hypnogram& h, const std::string& label) {
    double n3_min = 0, sleep_min = 0;
    for (Stage s : h.stages) {
      if (s == Stage::N3) n3_min += h.epoch_s / 60;
      if (is_sleep(s)) sleep_min += h.epoch_s / 60;
    }
    PlotOptions o = panel;
    o.title = fmt::format("{}: N3 {:.1f} min, total sleep {:.1f} min", label, n3_min, sleep_min);
    return hypnogram_svg(h, o);
  };
  return combine_svg({titled(before, before_label), titled(after, after_label)}, 1, options.title);
}

// ------------------------------------------------------------------------------------------ paired
std::string paired_svg(const std::vector<PairedValue>& values, const std::string& measure, const std::string& unit,
                       const PlotOptions& options, const std::string& before_label, const std::string& after_label) {
  std::vector<const PairedValue*> complete;
  for (const auto& v : values)
    if (std::isfinite(v.before) && std::isfinite(v.after)) complete.push_back(&v);
  if (complete.empty()) throw Error("", "values", "no subject has both a before and an after value");
  double lo = complete.front()->before, hi = lo, sum_before = 0, sum_after = 0;
  for (const auto* v : complete) {
    lo = std::min({lo, v->before, v->after});
    hi = std::max({hi, v->before, v->after});
    sum_before += v->before;
    sum_after += v->after;
  }
  const double n = static_cast<double>(complete.size());
  const double mean_before = sum_before / n, mean_after = sum_after / n;
  const ValueAxis axis = value_axis(lo, hi);
  const double step = axis.step, y_lo = axis.lo, y_hi = axis.hi;

  PlotOptions o = options;
  if (o.title.empty()) o.title = measure;
  Canvas canvas{o.width_px, o.height_px > 0 ? o.height_px : 420, {}};
  Frame frame = make_frame(canvas, o, 70, 16, 40);
  frame.top += 18;  // room for the subtitle
  canvas.text(frame.left, frame.top - 8,
              fmt::format("n = {}, mean {:.3g} \u2192 {:.3g} {} (change {:+.3g})", complete.size(), mean_before, mean_after,
                          unit, mean_after - mean_before),
              "start", 12);
  auto y_of = [&](double v) { return frame.bottom - (v - y_lo) / (y_hi - y_lo) * frame.height(); };
  const double x_before = frame.left + 0.22 * frame.width(), x_after = frame.left + 0.62 * frame.width();
  for (double v = y_lo; v <= y_hi + step * 1e-6; v += step) {
    canvas.line(frame.left, y_of(v), frame.right, y_of(v), kGrid, 1);
    canvas.text(frame.left - 8, y_of(v) + 4, fmt::format("{:g}", v), "end", 11);
  }
  const double y_mid = frame.top + frame.height() / 2;
  canvas.text(16, y_mid, measure + (unit.empty() ? "" : " (" + unit + ")"), "middle", 11,
              fmt::format("transform=\"rotate(-90 16 {})\"", num(y_mid)));
  canvas.text(x_before, frame.bottom + 20, before_label, "middle", 12);
  canvas.text(x_after, frame.bottom + 20, after_label, "middle", 12);
  const bool label_subjects = complete.size() <= 30;
  for (const auto* v : complete) {
    const char* colour = v->after >= v->before ? kIncrease : kDecrease;
    canvas.line(x_before, y_of(v->before), x_after, y_of(v->after), colour, 1.5, "subject");
    canvas.body += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\"/><circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\"/>\n",
                               num(x_before), num(y_of(v->before)), colour, num(x_after), num(y_of(v->after)), colour);
    if (label_subjects) canvas.text(x_after + 8, y_of(v->after) + 4, v->subject, "start", 10, "fill=\"#667788\"");
  }
  canvas.line(x_before, y_of(mean_before), x_after, y_of(mean_after), kRemColour, 4, "mean");
  canvas.body += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"6\" fill=\"{}\"/><circle cx=\"{}\" cy=\"{}\" r=\"6\" fill=\"{}\"/>\n",
                             num(x_before), num(y_of(mean_before)), kRemColour, num(x_after), num(y_of(mean_after)), kRemColour);
  const double legend_x = frame.right - 150;
  const std::array<std::array<const char*, 2>, 3> legend{{{kIncrease, "subject, increase"},
                                                           {kDecrease, "subject, decrease"},
                                                           {kRemColour, "mean"}}};
  for (size_t k = 0; k < legend.size(); ++k) {
    const double y = frame.top + 10 + 20 * static_cast<double>(k);
    canvas.line(legend_x, y, legend_x + 22, y, legend[k][0], k == 2 ? 4 : 1.5);
    canvas.text(legend_x + 28, y + 4, legend[k][1], "start", 11);
  }
  return canvas.finish();
}

std::string arm_change_svg(const std::vector<ArmPoints>& arms, const std::string& measure, const std::string& unit,
                           const PlotOptions& options) {
  double lo = 0, hi = 0;  // zero change is always on the axis
  bool any = false;
  for (const auto& arm : arms)
    for (const double v : {arm.mean, arm.ci95_low, arm.ci95_high})
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  for (const auto& arm : arms)
    for (const double v : arm.changes)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v), any = true;
  if (!any) throw Error("", "changes", "no arm has a finite change");
  const ValueAxis axis = value_axis(lo, hi);
  PlotOptions o = options;
  if (o.title.empty()) o.title = measure;
  Canvas canvas{o.width_px, o.height_px > 0 ? o.height_px : 420, {}};
  const Frame frame = make_frame(canvas, o, 70, 16, 40);
  auto y_of = [&](double v) { return frame.bottom - (v - axis.lo) / (axis.hi - axis.lo) * frame.height(); };
  for (double v = axis.lo; v <= axis.hi + axis.step * 1e-6; v += axis.step) {
    canvas.line(frame.left, y_of(v), frame.right, y_of(v), kGrid, 1);
    canvas.text(frame.left - 8, y_of(v) + 4, fmt::format("{:g}", v), "end", 11);
  }
  canvas.body += fmt::format("<line class=\"zero\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" "
                             "stroke-dasharray=\"4 3\"/>\n",
                             num(frame.left), num(y_of(0)), num(frame.right), num(y_of(0)), kInk);
  const double y_mid = frame.top + frame.height() / 2;
  canvas.text(16, y_mid, "change in " + measure + (unit.empty() ? "" : " (" + unit + ")"), "middle", 11,
              fmt::format("transform=\"rotate(-90 16 {})\"", num(y_mid)));
  const double column_w = frame.width() / static_cast<double>(std::max<size_t>(arms.size(), 1));
  for (size_t a = 0; a < arms.size(); ++a) {
    const ArmPoints& arm = arms[a];
    const double x = frame.left + (static_cast<double>(a) + 0.5) * column_w;
    const char* colour = a == 0 ? kIncrease : kDecrease;
    size_t n = 0;
    for (size_t i = 0; i < arm.changes.size(); ++i) {
      if (!std::isfinite(arm.changes[i])) continue;
      // Fixed sideways jitter (-2..2 steps) so equal changes stay visible.
      const double dx = (static_cast<double>(i % 5) - 2.0) * 6.0 - 18.0;
      canvas.body += fmt::format("<circle class=\"subject\" cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{}\" "
                                 "fill-opacity=\"0.8\"/>\n",
                                 num(x + dx), num(y_of(arm.changes[i])), colour);
      ++n;
    }
    if (std::isfinite(arm.ci95_low) && std::isfinite(arm.ci95_high)) {
      const double xc = x + 18;
      canvas.line(xc, y_of(arm.ci95_low), xc, y_of(arm.ci95_high), kInk, 2, "ci");
      canvas.line(xc - 5, y_of(arm.ci95_low), xc + 5, y_of(arm.ci95_low), kInk, 2);
      canvas.line(xc - 5, y_of(arm.ci95_high), xc + 5, y_of(arm.ci95_high), kInk, 2);
    }
    if (std::isfinite(arm.mean)) canvas.line(x + 8, y_of(arm.mean), x + 28, y_of(arm.mean), kRemColour, 4, "mean");
    canvas.text(x, frame.bottom + 20, fmt::format("{} (n = {})", arm.label, n), "middle", 12);
  }
  canvas.text(frame.right, frame.top + 10, "red: mean change; bar: 95 % CI", "end", 11);
  return canvas.finish();
}

std::string forest_svg(const std::vector<ForestRow>& rows, const std::string& axis_label, const PlotOptions& options) {
  if (rows.empty()) throw Error("", "rows", "a forest plot needs at least one row");
  double lo = 0, hi = 0;
  for (const auto& r : rows)
    for (const double v : {r.estimate, r.ci95_low, r.ci95_high})
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  const ValueAxis axis = value_axis(lo, hi);
  PlotOptions o = options;
  constexpr double kRow = 22;
  Canvas canvas{o.width_px, o.height_px > 0 ? o.height_px : 90 + kRow * static_cast<double>(rows.size()), {}};
  const Frame frame = make_frame(canvas, o, 190, 24, 44);
  auto x_of = [&](double v) { return frame.left + (v - axis.lo) / (axis.hi - axis.lo) * frame.width(); };
  for (double v = axis.lo; v <= axis.hi + axis.step * 1e-6; v += axis.step) {
    canvas.line(x_of(v), frame.top, x_of(v), frame.bottom, kGrid, 1);
    canvas.text(x_of(v), frame.bottom + 18, fmt::format("{:g}", v), "middle", 11);
  }
  canvas.line(x_of(0), frame.top, x_of(0), frame.bottom, kInk, 1.5, "zero");
  canvas.text(frame.left + frame.width() / 2, frame.bottom + 36, axis_label, "middle", 11);
  const double row_h = frame.height() / static_cast<double>(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const ForestRow& r = rows[i];
    const double y = frame.top + (static_cast<double>(i) + 0.5) * row_h;
    canvas.text(frame.left - 10, y + 4, r.label, "end", 11);
    if (!std::isfinite(r.estimate)) {
      canvas.text(x_of(0) + 6, y + 4, "n/a", "start", 10, "fill=\"#667788\"");
      continue;
    }
    if (std::isfinite(r.ci95_low) && std::isfinite(r.ci95_high))
      canvas.line(x_of(r.ci95_low), y, x_of(r.ci95_high), y, kInk, 1.5, "ci");
    canvas.body += fmt::format("<circle class=\"estimate{}\" cx=\"{}\" cy=\"{}\" r=\"4.5\" fill=\"{}\" "
                               "stroke=\"{}\" stroke-width=\"1.5\"/>\n",
                               r.significant ? " significant" : "", num(x_of(r.estimate)), num(y),
                               r.significant ? kRemColour : "#ffffff", r.significant ? kRemColour : kInk);
  }
  canvas.text(frame.right, frame.top - 2, "filled: Holm-adjusted p < 0.05", "end", 11);
  return canvas.finish();
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace psgkit
