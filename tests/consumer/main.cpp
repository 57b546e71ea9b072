// Stages nothing, reads nothing: proves the installed headers compile and the library links.
#include <psgkit/hypnogram.hpp>
#include <psgkit/sleep_stats.hpp>

#include <cstdio>

int main() {
  psgkit::Hypnogram hypnogram;
  hypnogram.stages = {psgkit::Stage::W, psgkit::Stage::N2, psgkit::Stage::N3, psgkit::Stage::N3, psgkit::Stage::W};
  const double n3_min = psgkit::sleep_statistics(hypnogram).at("N3");
  std::printf("N3 %.1f min\n", n3_min);
  return n3_min == 1.0 ? 0 : 1;
}
