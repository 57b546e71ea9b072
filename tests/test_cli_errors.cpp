// The CLI refuses bad input clearly: for every command `psgkit --help` lists, a missing file, an empty
// file and a truncated EDF end with an exit code in 1..127 (never a signal) and a message on stderr
// naming the file. A failed output (unwritable folder, write error mid-file) leaves no file behind:
// neither a half-written target nor a temporary.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "psgkit/hypnogram.hpp"
#include "psgkit/io.hpp"
#include "psgkit/recording.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using psgkit_test::run_command;

namespace {

std::string shell_quoted(const fs::path& p) { return "'" + p.string() + "'"; }

// Runs the CLI with stdout discarded; the result holds stderr only.
psgkit_test::CommandResult run_cli(const std::string& args) {
  return run_command(shell_quoted(psgkit_test::cli_path()) + " " + args + " 2>&1 >/dev/null");
}

// Subcommand names from `psgkit --help`.
std::vector<std::string> listed_commands() {
  const auto help = run_command(shell_quoted(psgkit_test::cli_path()) + " --help 2>&1");
  std::vector<std::string> names;
  std::istringstream in(help.output);
  std::string line;
  bool in_list = false;
  while (std::getline(in, line)) {
    if (line.starts_with("Subcommands:")) {
      in_list = true;
    } else if (in_list && line.size() > 2 && line[0] == ' ' && line[1] == ' ' && line[2] != ' ') {
      names.push_back(line.substr(2, line.find(' ', 2) - 2));
    }
  }
  return names;
}

enum class Input { Recording, Hypnogram, FeatureTable, Manifest, DataFolder };

// How each command takes its input file ({in}) and output ({out}).
struct CommandUse {
  Input input;
  std::string args;
};

const std::map<std::string, std::vector<CommandUse>>& command_uses() {
  static const std::map<std::string, std::vector<CommandUse>> uses = {
      {"info", {{Input::Recording, "info {in}"}}},
      {"features", {{Input::Recording, "features {in} -o {out}"}}},
      {"spectrum", {{Input::Recording, "spectrum {in} --channel EEG0 -o {out}"}}},
      {"stage", {{Input::Recording, "stage {in} -o {out}"}, {Input::FeatureTable, "stage --features {in} -o {out}"}}},
      {"hypnogram", {{Input::Hypnogram, "hypnogram convert {in} -o {out}"}}},
      {"stats", {{Input::Hypnogram, "stats {in} -o {out}"}}},
      {"evaluate", {{Input::Hypnogram, "evaluate --truth {in} --pred {in} -o {out}"}}},
      {"plot", {{Input::Hypnogram, "plot {in} -o {out}"}}},
      {"simulate", {{Input::Hypnogram, "simulate --hypnogram {in} -o {out}"}}},
      {"compare", {{Input::Recording, "compare {in} {in} -o {out}"}, {Input::Hypnogram, "compare {in} {in} -o {out}"}}},
      {"cohort", {{Input::Manifest, "cohort {in} -o {out}"}}},
      {"train", {{Input::DataFolder, "train --data {in} -o {out} --no-cv --max-nights 1"}}},
  };
  return uses;
}

std::string fill(std::string text, const fs::path& in, const fs::path& out) {
  for (const auto& [key, value] : {std::pair{"{in}", shell_quoted(in)}, std::pair{"{out}", shell_quoted(out)}})
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
      text.replace(at, std::string(key).size(), value);
  return text;
}

// Names of the entries of `dir` (non-recursive).
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

// Regular files anywhere under `dir` (an output folder made before the failure is harmless).
std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) names.push_back(e.path().string());
  return names;
}

// A valid 60-s EDF+ with two EEG signals and a stage annotation.
std::string valid_edf_bytes(const psgkit_test::TempDir& dir) {
  std::vector<psgkit::SignalToWrite> signals(2);
  for (int s = 0; s < 2; ++s) {
    signals[static_cast<size_t>(s)].label = "EEG" + std::to_string(s);
    signals[static_cast<size_t>(s)].fs_hz = 100;
    signals[static_cast<size_t>(s)].samples.resize(6000);
    for (size_t i = 0; i < 6000; ++i)
      signals[static_cast<size_t>(s)].samples[i] =
          static_cast<float>(20 * std::sin(0.05 * static_cast<double>(i) * (s + 1)));
  }
  psgkit::write_edf(dir / "valid.edf", signals, {{0, 30, "Sleep stage W"}, {30, 30, "Sleep stage 2"}});
  return psgkit::read_file(dir / "valid.edf");
}

}  // namespace

TEST_CASE("every CLI command refuses a missing file, an empty file and a truncated EDF with a clear message") {
  if (psgkit_test::cli_path().empty()) {
    MESSAGE("SKIPPED: the psgkit CLI is not built (PSGKIT_BUILD_CLI=OFF)");
    return;
  }
  const std::vector<std::string> commands = listed_commands();
  REQUIRE_MESSAGE(commands.size() >= 2, "psgkit --help lists no subcommands");
  psgkit_test::TempDir dir("clierrors");
  const std::string edf = valid_edf_bytes(dir);
  const size_t header_bytes = 256 * 4;  // 2 signals + the annotation signal
  REQUIRE(edf.size() > header_bytes + 100);

  std::vector<std::pair<std::string, std::string>> bad_files = {
      {"empty.edf", ""},
      {"cut_in_fixed_header.edf", edf.substr(0, 100)},
      {"cut_in_signal_header.edf", edf.substr(0, 300)},
      {"cut_after_header.edf", edf.substr(0, header_bytes + 10)},
  };
  for (const auto& [name, bytes] : bad_files) psgkit::write_file_atomic(dir / name, bytes);
  fs::create_directories(dir / "empty_folder");

  int runs = 0;
  for (const std::string& command : commands) {
    const auto found = command_uses().find(command);
    if (found == command_uses().end()) {
      MESSAGE("not covered by test_cli_errors (add it to command_uses): " << command);
      continue;
    }
    for (const CommandUse& use : found->second) {
      std::vector<fs::path> inputs = {dir / "missing.edf"};
      if (use.input == Input::DataFolder) {
        inputs.push_back(dir / "empty.edf");  // a file where a folder belongs
      } else {
        for (const auto& [name, bytes] : bad_files) inputs.push_back(dir / name);
      }
      for (const fs::path& input : inputs) {
        const fs::path out = dir / "out" / "result.out";
        fs::remove_all(dir / "out");
        fs::create_directories(dir / "out");
        const std::string args = fill(use.args, input, out);
        CAPTURE(args);
        const auto result = run_cli(args);
        ++runs;
        CAPTURE(result.output);
        CHECK(result.exit_code >= 1);
        CHECK(result.exit_code <= 127);  // 128 + N: killed by signal N
        CHECK(result.output.find(input.filename().string()) != std::string::npos);
        CHECK(files_under(dir / "out").empty());  // no output and no temporary on failure
      }
    }
  }
  CHECK(runs > 0);
}

TEST_CASE("CLI output into a missing folder or under a file fails clearly and leaves nothing behind") {
  if (!psgkit_test::have_cli()) return;
  psgkit_test::TempDir dir("clierrors");
  psgkit::Hypnogram h;
  h.stages = {psgkit::Stage::W, psgkit::Stage::N2, psgkit::Stage::N3, psgkit::Stage::REM};
  psgkit::write_hypnogram_csv(dir / "in.csv", h);
  psgkit::write_file_atomic(dir / "a_file", "x");
  for (const fs::path& out : {dir / "no" / "such" / "folder" / "out.csv", dir / "a_file" / "out.csv"}) {
    CAPTURE(out);
    const auto result = run_cli("hypnogram convert " + shell_quoted(dir / "in.csv") + " -o " + shell_quoted(out));
    CHECK(result.exit_code >= 1);
    CHECK(result.exit_code <= 127);
    CHECK(result.output.find(out.string()) != std::string::npos);
    CHECK(!fs::exists(out));
  }
  CHECK(entries(dir.path).size() == 2);  // in.csv and a_file: no stray temporary

  // A read-only folder only stops non-root users (root writes anyway): check it where it applies.
  if (::geteuid() != 0) {
    fs::create_directories(dir / "read_only");
    fs::permissions(dir / "read_only", fs::perms::owner_read | fs::perms::owner_exec);
    const auto result =
        run_cli("hypnogram convert " + shell_quoted(dir / "in.csv") + " -o " + shell_quoted(dir / "read_only/out.csv"));
    fs::permissions(dir / "read_only", fs::perms::owner_all);
    CHECK(result.exit_code >= 1);
    CHECK(result.exit_code <= 127);
    CHECK(result.output.find("read_only") != std::string::npos);
    CHECK(entries(dir / "read_only").empty());
  }
}

// A write that fails mid-file (here: the file-size limit, RLIMIT_FSIZE, with SIGXFSZ ignored so write()
// returns EFBIG) must leave the previous output untouched and no temporary. Works for root too.
TEST_CASE("CLI output failing mid-write keeps the old file and leaves no temporary") {
  if (!psgkit_test::have_cli()) return;
  psgkit_test::TempDir dir("clierrors");
  psgkit::Hypnogram h;
  for (int i = 0; i < 960; ++i) h.stages.push_back(static_cast<psgkit::Stage>(i / 7 % 5));
  psgkit::write_hypnogram_csv(dir / "night.csv", h);  // 8 h: ~20 kB as CSV, ~100 kB of EDF once simulated

  struct Case {
    std::string name, args;
  };
  const std::vector<Case> cases = {
      {"out.csv", "hypnogram convert " + shell_quoted(dir / "night.csv") + " -o " + shell_quoted(dir / "out/out.csv")},
      {"out.edf", "hypnogram convert " + shell_quoted(dir / "night.csv") + " --format edf -o " +
                      shell_quoted(dir / "out/out.edf")},
      {"sim.edf", "simulate --hypnogram " + shell_quoted(dir / "night.csv") + " --duration-h 0.1 -o " +
                      shell_quoted(dir / "out/sim.edf")},
  };
  const auto commands = listed_commands();
  for (const auto& c : cases) {
    CAPTURE(c.args);
    const std::string command = c.args.substr(0, c.args.find(' '));
    if (std::find(commands.begin(), commands.end(), command) == commands.end()) continue;
    fs::remove_all(dir / "out");
    fs::create_directories(dir / "out");
    psgkit::write_file_atomic(dir / "out" / c.name, "old");
    // ulimit -f counts 512-byte (dash) or 1024-byte (bash) blocks: at most 2 kB, less than each output.
    const auto result = run_command("trap '' XFSZ; ulimit -f 2; " + shell_quoted(psgkit_test::cli_path()) + " " +
                                    c.args + " 2>&1 >/dev/null");
    CAPTURE(result.output);
    CHECK(result.exit_code >= 1);
    CHECK(result.exit_code <= 127);
    CHECK(result.output.find(c.name) != std::string::npos);
    CHECK(psgkit::read_file(dir / "out" / c.name) == "old");
    CHECK(entries(dir / "out").size() == 1);
  }
}
