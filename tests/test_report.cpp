// The HTML reports render in a real browser: headless Chromium screenshots, with every figure region
// holding a drawing (not blank).
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "psgkit/compare.hpp"
#include "psgkit/io.hpp"
#include "psgkit/report.hpp"
#include "psgkit/simulate.hpp"
#include "support.hpp"

using namespace psgkit;

namespace {

const char* kChromiumFlags =
    " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking"
    " --disable-component-update --disable-sync --hide-scrollbars --force-device-scale-factor=1";

std::string chromium() {
  for (const char* candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (std::filesystem::exists(candidate)) return candidate;
  return "";
}

struct Image {
  int width = 0, height = 0;
  std::vector<std::array<uint8_t, 3>> rgb;
};

uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) | (uint32_t(uint8_t(s[at + 2])) << 8) |
         uint32_t(uint8_t(s[at + 3]));
}

// Minimal PNG decoder for Chromium's screenshots: 8-bit RGB or RGBA, non-interlaced.
Image decode_png(const std::string& png) {
  REQUIRE(png.size() > 8);
  REQUIRE(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  Image image;
  int color_type = 0;
  std::string idat;
  for (size_t at = 8; at + 8 <= png.size();) {
    const uint32_t length = be32(png, at);
    const std::string type = png.substr(at + 4, 4);
    if (type == "IHDR") {
      image.width = static_cast<int>(be32(png, at + 8));
      image.height = static_cast<int>(be32(png, at + 12));
      REQUIRE(png[at + 16] == 8);
      color_type = png[at + 17];
      REQUIRE(png[at + 20] == 0);
    } else if (type == "IDAT") {
      idat += png.substr(at + 8, length);
    }
    at += 12 + length;
  }
  REQUIRE((color_type == 2 || color_type == 6));
  const size_t channels = color_type == 6 ? 4 : 3, stride = channels * static_cast<size_t>(image.width);
  std::vector<uint8_t> raw((stride + 1) * static_cast<size_t>(image.height));
  uLongf raw_size = raw.size();
  REQUIRE(uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) == Z_OK);
  std::vector<uint8_t> previous(stride, 0), row(stride);
  image.rgb.reserve(static_cast<size_t>(image.width) * static_cast<size_t>(image.height));
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* line = &raw[static_cast<size_t>(y) * (stride + 1)];
    const uint8_t filter = line[0];
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= channels ? row[i - channels] : 0, b = previous[i], c = i >= channels ? previous[i - channels] : 0;
      int predictor = 0;
      switch (filter) {
        case 0: predictor = 0; break;
        case 1: predictor = a; break;
        case 2: predictor = b; break;
        case 3: predictor = (a + b) / 2; break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          predictor = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
          break;
        }
        default: FAIL("bad PNG filter " << int(filter));
      }
      row[i] = static_cast<uint8_t>(line[1 + i] + predictor);
    }
    for (int x = 0; x < image.width; ++x) {
      const uint8_t* p = &row[static_cast<size_t>(x) * channels];
      image.rgb.push_back({p[0], p[1], p[2]});
    }
    previous = row;
  }
  return image;
}

// Renders `html` and checks each <figure>: non-white pixels cover part of it, in several colours.
void check_figures_render(const std::string& html, const std::filesystem::path& dir, size_t min_figures) {
  const std::string browser = chromium();
  if (browser.empty()) {
    MESSAGE("SKIPPED: chromium is not installed (apt-get install chromium)");
    return;
  }
  // A copy of the page with a script that writes the figures' boxes and the page height into the DOM.
  const std::string probe =
      "<script>addEventListener('load',()=>{const r=[...document.querySelectorAll('figure')].map(f=>{"
      "const b=f.getBoundingClientRect();return [b.x,b.y,b.width,b.height]});const p=document.createElement('pre');"
      "p.id='probe';p.textContent=JSON.stringify({rects:r,height:document.documentElement.scrollHeight});"
      "document.body.appendChild(p);});</script>";
  std::string probed = html;
  probed.insert(probed.rfind("</body>"), probe);
  write_file_atomic(dir / "probe.html", probed);
  const std::string profile = " --user-data-dir=" + (dir / "profile").string();
  const auto dom = psgkit_test::run_command(browser + kChromiumFlags + profile + " --window-size=1100,900 --dump-dom file://" +
                                            (dir / "probe.html").string() + " 2>/dev/null");
  REQUIRE(dom.exit_code == 0);
  const size_t start = dom.output.find("<pre id=\"probe\">");
  REQUIRE(start != std::string::npos);
  const size_t from = start + std::string("<pre id=\"probe\">").size();
  const auto probe_json = nlohmann::json::parse(dom.output.substr(from, dom.output.find("</pre>", from) - from));
  const int height = probe_json["height"].get<int>() + 20;
  REQUIRE(probe_json["rects"].size() >= min_figures);

  write_file_atomic(dir / "page.html", html);
  const auto shot = psgkit_test::run_command(browser + kChromiumFlags + profile + " --window-size=1100," +
                                             std::to_string(height) + " --screenshot=" + (dir / "shot.png").string() +
                                             " file://" + (dir / "page.html").string() + " 2>&1");
  REQUIRE_MESSAGE(std::filesystem::exists(dir / "shot.png"), shot.output);
  const Image image = decode_png(read_file(dir / "shot.png"));
  REQUIRE(image.width == 1100);
  for (const auto& rect : probe_json["rects"]) {
    const int x0 = static_cast<int>(rect[0].get<double>()), y0 = static_cast<int>(rect[1].get<double>());
    const int x1 = std::min(image.width, x0 + static_cast<int>(rect[2].get<double>()));
    const int y1 = std::min(image.height, y0 + static_cast<int>(rect[3].get<double>()));
    REQUIRE(x1 > x0);
    REQUIRE(y1 > y0);
    size_t inked = 0;
    std::set<uint32_t> colours;
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) {
        const auto& p = image.rgb[static_cast<size_t>(y) * static_cast<size_t>(image.width) + static_cast<size_t>(x)];
        if (p[0] < 235 || p[1] < 235 || p[2] < 235) ++inked;
        colours.insert((uint32_t(p[0]) << 16) | (uint32_t(p[1]) << 8) | p[2]);
      }
    const double area = double(x1 - x0) * double(y1 - y0);
    INFO("figure at " << x0 << "," << y0 << " size " << x1 - x0 << "x" << y1 - y0);
    CHECK(inked / area > 0.02);
    CHECK(colours.size() >= 4);
  }
}

std::string stage_csv(const std::vector<Stage>& stages) {
  std::string out = "onset_s,duration_s,stage\n";
  for (size_t i = 0; i < stages.size(); ++i) out += std::to_string(i * 30) + ",30," + std::string(to_string(stages[i])) + "\n";
  return out;
}

}  // namespace

TEST_CASE("compare report renders its figures in headless Chromium") {
  psgkit_test::TempDir dir("report-compare");
  const auto demo = psgkit_test::source_dir() / "data/demo";
  SimulationOptions options;
  options.fs_hz = 100;
  options.duration_s = 2 * 3600;
  write_simulated_night(dir / "before.edf", read_hypnogram(demo / "before.csv"), options);
  options.swa_gain = 1.4;
  write_simulated_night(dir / "after.edf", read_hypnogram(demo / "after.csv"), options);
  const auto before = analyse_night({dir / "before.edf", std::nullopt});
  const auto after = analyse_night({dir / "after.edf", std::nullopt});
  REQUIRE(before.spectrogram.has_value());
  // before/after hypnograms + per night: hypnodensity and spectrogram
  check_figures_render(comparison_html(before, after, compare_nights(before, after)), dir.path, 5);
}

TEST_CASE("cohort report renders its paired plots in headless Chromium") {
  psgkit_test::TempDir dir("report-cohort");
  std::string manifest = "subject,session,path\n";
  for (int s = 0; s < 5; ++s) {
    std::vector<Stage> before(60, Stage::W), after(60, Stage::W);
    std::fill(before.begin() + 10, before.begin() + 40 + s, Stage::N2);
    std::fill(before.begin() + 20, before.begin() + 25 + s, Stage::N3);
    std::fill(after.begin() + 8, after.begin() + 45, Stage::N2);
    std::fill(after.begin() + 15, after.begin() + 27 + 2 * s, Stage::N3);
    const std::string id = "s" + std::to_string(s);
    write_file_atomic(dir / (id + "b.csv"), stage_csv(before));
    write_file_atomic(dir / (id + "a.csv"), stage_csv(after));
    manifest += id + ",before," + id + "b.csv\n" + id + ",after," + id + "a.csv\n";
  }
  write_file_atomic(dir / "manifest.csv", manifest);
  const auto result = run_cohort(read_manifest(dir / "manifest.csv"));
  REQUIRE(result.all_ok());
  check_figures_render(cohort_html(result), dir.path, 1);
}

TEST_CASE("parallel and crossover cohort reports draw arm dots, subject lines and a forest plot in Chromium") {
  psgkit_test::TempDir dir("report-trials");
  // Night k: N2 from epoch 10, N3 for 6 + k epochs from epoch 20, REM after; 80 epochs.
  auto night = [&](const std::string& name, int k) {
    std::vector<Stage> stages(80, Stage::W);
    std::fill(stages.begin() + 10, stages.begin() + 60 + k % 5, Stage::N2);
    std::fill(stages.begin() + 20, stages.begin() + 26 + k, Stage::N3);
    std::fill(stages.begin() + 60 + k % 5, stages.begin() + 70, Stage::REM);
    write_file_atomic(dir / name, stage_csv(stages));
    return name;
  };
  std::string parallel = "subject,arm,session,path\n", crossover = "subject,period,condition,path\n";
  for (int s = 0; s < 8; ++s) {
    const std::string id = "s" + std::to_string(s), arm = s % 2 ? "drug" : "placebo";
    parallel += id + "," + arm + ",before," + night(id + "b.csv", s) + "\n";
    parallel += id + "," + arm + ",after," + night(id + "a.csv", s + (s % 2 ? 6 : 1) + s % 3) + "\n";
    crossover += id + ",1," + (s % 2 ? "drug" : "placebo") + "," + id + "b.csv\n";
    crossover += id + ",2," + (s % 2 ? "placebo" : "drug") + "," + id + "a.csv\n";
  }
  write_file_atomic(dir / "parallel.csv", parallel);
  write_file_atomic(dir / "crossover.csv", crossover);
  const auto count = [](const std::string& html, const std::string& needle) {
    size_t n = 0;
    for (size_t at = html.find(needle); at != std::string::npos; at = html.find(needle, at + 1)) ++n;
    return n;
  };

  const auto p = run_cohort(read_manifest(dir / "parallel.csv"));
  REQUIRE(p.all_ok());
  const std::string p_html = cohort_html(p);
  CHECK(p_html.find("Design: parallel") != std::string::npos);
  CHECK(count(p_html, "<line class=\"mean\"") >= 2);  // per arm of each deep-sleep panel
  CHECK(count(p_html, "<line class=\"ci\"") >= 2);
  CHECK(count(p_html, "<circle class=\"subject\"") >= 8);  // N3 panel alone: one dot per subject
  // Forest: one row per measure, a dot or "n/a".
  CHECK(count(p_html, "<circle class=\"estimate") + count(p_html, ">n/a<") == p.parallel.size());
  check_figures_render(p_html, dir.path, 2);

  const auto x = run_cohort(read_manifest(dir / "crossover.csv"));
  REQUIRE(x.all_ok());
  const std::string x_html = cohort_html(x);
  CHECK(x_html.find("Design: crossover") != std::string::npos);
  CHECK(count(x_html, "<line class=\"subject\"") >= 8);  // N3 panel: one line per subject
  CHECK(count(x_html, "<circle class=\"estimate") + count(x_html, ">n/a<") == x.crossover.size());
  check_figures_render(x_html, dir.path, 2);
}
