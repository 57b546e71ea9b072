#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "psgkit/error.hpp"
#include "psgkit/hypnogram.hpp"
#include "psgkit/io.hpp"
#include "psgkit/plots.hpp"
#include "psgkit/spectral.hpp"
#include "support.hpp"

using namespace psgkit;

namespace {

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// Parse-level well-formedness: every tag closes in order, attributes quoted, one root <svg> with a
// viewBox, nothing fetched from elsewhere.
void check_well_formed(const std::string& svg) {
  REQUIRE(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.find("viewBox=\"0 0 ") != std::string::npos);
  std::vector<std::string> stack;
  size_t roots = 0;
  for (size_t at = svg.find('<'); at != std::string::npos; at = svg.find('<', at + 1)) {
    const size_t end = svg.find('>', at);
    REQUIRE(end != std::string::npos);
    std::string tag = svg.substr(at + 1, end - at - 1);
    REQUIRE(count(tag, "\"") % 2 == 0);
    if (tag.front() == '/') {
      REQUIRE(!stack.empty());
      CHECK(tag.substr(1) == stack.back());
      stack.pop_back();
      if (stack.empty()) ++roots;
    } else if (tag.back() != '/') {
      stack.push_back(tag.substr(0, tag.find_first_of(" \n")));
    } else if (stack.empty()) {
      FAIL("self-closing element outside the root");
    }
  }
  CHECK(stack.empty());
  CHECK(roots == 1);
  // No fetches: the only URL is the SVG namespace.
  CHECK(count(svg, "http") == 1);
  CHECK(svg.find("<script") == std::string::npos);
  CHECK(svg.find("@import") == std::string::npos);
  CHECK(svg.find("url(") == std::string::npos);
}

Hypnogram hand_hypnogram() {
  // W W N1 N2 N2 N3 N3 N3 N2 REM REM W: 7 runs, 2 of them... REM once, W twice.
  Hypnogram h;
  h.stages = {Stage::W,  Stage::W,  Stage::N1, Stage::N2,  Stage::N2,  Stage::N3,
              Stage::N3, Stage::N3, Stage::N2, Stage::REM, Stage::REM, Stage::W};
  return h;
}

std::string base64_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int v = value(c);
    if (v < 0) break;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) | (uint32_t(uint8_t(s[at + 2])) << 8) |
         uint32_t(uint8_t(s[at + 3]));
}

std::span<const uint8_t> bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

}  // namespace

TEST_CASE("CRC-32 and Adler-32 check values") {
  CHECK(png::crc32(bytes("123456789")) == 0xCBF43926u);
  CHECK(png::adler32(bytes("Wikipedia")) == 0x11E60398u);
  CHECK(png::base64("Man") == "TWFu");
  CHECK(png::base64("Ma") == "TWE=");
  CHECK(png::base64("M") == "TQ==");
}

TEST_CASE("PNG encoder: chunks with valid CRCs, stored zlib blocks that rebuild the scanlines") {
  const int width = 300, height = 250;  // 75 250 raw bytes: two stored blocks
  std::vector<uint8_t> indices(static_cast<size_t>(width * height));
  for (size_t i = 0; i < indices.size(); ++i) indices[i] = static_cast<uint8_t>(i * 7);
  std::vector<std::array<uint8_t, 3>> palette(256);
  for (int i = 0; i < 256; ++i) palette[static_cast<size_t>(i)] = {uint8_t(i), uint8_t(255 - i), 0};
  const std::string file = png::encode_indexed(width, height, indices, palette);
  REQUIRE(file.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  std::vector<std::string> types;
  std::string idat;
  for (size_t at = 8; at < file.size();) {
    const uint32_t length = be32(file, at);
    const std::string type = file.substr(at + 4, 4);
    types.push_back(type);
    CHECK(png::crc32(bytes(std::string_view(file).substr(at + 4, 4 + length))) == be32(file, at + 8 + length));
    if (type == "IHDR") {
      CHECK(be32(file, at + 8) == uint32_t(width));
      CHECK(be32(file, at + 12) == uint32_t(height));
    }
    if (type == "IDAT") idat = file.substr(at + 8, length);
    at += 12 + length;
  }
  CHECK(types == std::vector<std::string>{"IHDR", "PLTE", "IDAT", "IEND"});
  // zlib: header, stored blocks (BTYPE 00, LEN, NLEN), Adler-32 of the raw scanlines.
  REQUIRE(idat.size() > 6);
  CHECK((uint8_t(idat[0]) * 256 + uint8_t(idat[1])) % 31 == 0);
  std::string raw;
  size_t at = 2;
  bool last = false;
  while (!last) {
    last = idat[at] & 1;
    CHECK((idat[at] & 6) == 0);
    const unsigned len = uint8_t(idat[at + 1]) | (uint8_t(idat[at + 2]) << 8);
    const unsigned nlen = uint8_t(idat[at + 3]) | (uint8_t(idat[at + 4]) << 8);
    CHECK((len ^ 0xFFFF) == nlen);
    raw += idat.substr(at + 5, len);
    at += 5 + len;
  }
  CHECK(be32(idat, at) == png::adler32(bytes(raw)));
  REQUIRE(raw.size() == size_t(width + 1) * height);
  CHECK(raw[0] == 0);
  CHECK(uint8_t(raw[1 + 5]) == indices[5]);
  CHECK(uint8_t(raw[(width + 1) * 7 + 1 + 9]) == indices[size_t(width) * 7 + 9]);
}

TEST_CASE("hypnogram SVG: one run line per run, one step per change, REM highlighted") {
  const Hypnogram h = hand_hypnogram();
  PlotOptions options;
  options.title = "Night <1> & co";
  const std::string svg = hypnogram_svg(h, options);
  check_well_formed(svg);
  CHECK(count(svg, "class=\"run") == 7);
  CHECK(count(svg, "class=\"run rem\"") == 1);
  CHECK(count(svg, "class=\"step\"") == 6);
  CHECK(svg.find("Night &lt;1&gt; &amp; co") != std::string::npos);
  CHECK(svg.find(">?<") == std::string::npos);  // no UNS row without UNS epochs
  Hypnogram with_uns = h;
  with_uns.stages[4] = Stage::UNS;
  CHECK(hypnogram_svg(with_uns).find(">?<") != std::string::npos);
  CHECK_THROWS_AS(hypnogram_svg(Hypnogram{}), Error);
}

TEST_CASE("hypnodensity SVG: five stacked bands; needs probabilities") {
  Hypnogram h = hand_hypnogram();
  CHECK_THROWS_WITH_AS(hypnodensity_svg(h), doctest::Contains("probabilities"), Error);
  for (size_t i = 0; i < h.size(); ++i) {
    std::array<float, kNumSleepStages> p{0.05f, 0.05f, 0.05f, 0.05f, 0.05f};
    p[static_cast<size_t>(h.stages[i])] = 0.8f;
    h.probabilities.push_back(p);
  }
  const std::string svg = hypnodensity_svg(h);
  check_well_formed(svg);
  CHECK(count(svg, "<path class=\"band") == 5);
  for (const char* stage : {"band W\"", "band N1\"", "band N2\"", "band N3\"", "band REM\""})
    CHECK(svg.find(stage) != std::string::npos);
}

TEST_CASE("spectrogram SVG: downsampled embedded PNG of the expected size, small file") {
  Spectrogram sg;
  const size_t n_epochs = 960;
  for (int k = 0; k <= 256; ++k) sg.freq_hz.push_back(k * 0.25);  // 0-64 Hz
  for (size_t e = 0; e < n_epochs; ++e) {
    sg.onset_s.push_back(30.0 * static_cast<double>(e));
    for (double f : sg.freq_hz) sg.power.push_back(100.0 / (1 + f) * (1 + 0.5 * std::sin(e * 0.01)));
  }
  const std::string svg = spectrogram_svg(sg, {}, 30.0);
  check_well_formed(svg);
  CHECK(svg.size() < 150000);
  const size_t at = svg.find("href=\"data:image/png;base64,");
  REQUIRE(at != std::string::npos);
  const size_t data_at = at + std::string("href=\"data:image/png;base64,").size();
  const std::string file = base64_decode(std::string_view(svg).substr(data_at, svg.find('"', data_at) - data_at));
  REQUIRE(file.size() > 33);
  CHECK(file.substr(1, 3) == "PNG");
  CHECK(be32(file, 16) == 480u);  // 960 epochs averaged in pairs (max 720 columns)
  CHECK(be32(file, 20) == 61u);   // 121 bins up to 30 Hz, averaged in pairs (max 64 rows)
  CHECK(count(svg, "class=\"cbar\"") == 32);
  sg.power.pop_back();
  CHECK_THROWS_AS(spectrogram_svg(sg), Error);
}

TEST_CASE("combine and before/after: nested panels on a common axis, N3 minutes in the titles") {
  const Hypnogram before = hand_hypnogram();
  Hypnogram after = hand_hypnogram();
  after.stages[4] = Stage::N3;
  const std::string svg = hypnogram_before_after_svg(before, after);
  check_well_formed(svg);
  CHECK(count(svg, "<svg x=") == 2);
  CHECK(svg.find("Before: N3 1.5 min, total sleep 4.5 min") != std::string::npos);
  CHECK(svg.find("After: N3 2.0 min") != std::string::npos);
  const std::string grid = combine_svg({hypnogram_svg(before), hypnogram_svg(after), hypnogram_svg(before)}, 2, "Grid");
  check_well_formed(grid);
  CHECK(grid.find("width=\"1920.0\"") != std::string::npos);
  CHECK_THROWS_AS(combine_svg({"<g/>"}), Error);
}

TEST_CASE("paired cohort SVG: one line per complete subject and the mean") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<PairedValue> values{
      {"s01", 30, 55}, {"s02", 42, 60}, {"s03", 20, 18}, {"s04", 35, nan}, {"s05", 26, 53}};
  const std::string svg = paired_svg(values, "N3 duration", "min");
  check_well_formed(svg);
  CHECK(count(svg, "class=\"subject\"") == 4);
  CHECK(count(svg, "class=\"mean\"") == 1);
  CHECK(svg.find("n = 4, mean 29.5 \u2192 46.5 min (change +17)") != std::string::npos);
  CHECK(svg.find(">s04<") == std::string::npos);
  CHECK_THROWS_AS(paired_svg({{"x", nan, 1}}, "N3", "min"), Error);
}

TEST_CASE("psgkit plot writes hypnogram and spectrogram SVGs") {
  if (!psgkit_test::have_cli()) return;
  psgkit_test::TempDir dir("plot-cli");
  const std::string cli = psgkit_test::cli_path();
  const std::string csv = (psgkit_test::source_dir() / "data/demo/before.csv").string();
  auto run = [&](const std::string& args) {
    const auto r = psgkit_test::run_command(cli + " " + args + " 2>&1");
    INFO(args << "\n" << r.output);
    return r;
  };
  REQUIRE(run("plot " + csv + " -o " + (dir / "h.svg").string()).exit_code == 0);
  const std::string hyp = read_file(dir / "h.svg");
  check_well_formed(hyp);
  CHECK(count(hyp, "class=\"run") == 65);  // data/demo/before.csv has 65 runs
  const auto no_probabilities = run("plot " + csv + " --kind hypnodensity -o " + (dir / "d.svg").string());
  CHECK(no_probabilities.exit_code == 1);
  CHECK(no_probabilities.output.find("probabilities") != std::string::npos);

  REQUIRE(run("simulate --hypnogram " + csv + " --fs 100 --duration-h 1 -o " + (dir / "n.edf").string()).exit_code == 0);
  REQUIRE(run("plot " + (dir / "n.edf").string() + " --kind spectrogram --channel C4-M1 -o " + (dir / "s.svg").string())
              .exit_code == 0);
  const std::string spec = read_file(dir / "s.svg");
  check_well_formed(spec);
  CHECK(spec.find("data:image/png;base64,") != std::string::npos);
  CHECK(run("plot " + (dir / "n.edf").string() + " --kind spectrogram --channel Nope -o " + (dir / "x.svg").string())
            .exit_code == 1);
}
