// psgkit command-line tool: `psgkit <command> --help` for each command.
#include <exception>
#include <iostream>

#include "cli.hpp"
#include "psgkit/error.hpp"
#include "psgkit/io.hpp"
#include "psgkit/night_record.hpp"

namespace psgkit_cli {

std::vector<CommandFactory>& command_factories() {
  static std::vector<CommandFactory> factories;
  return factories;
}

void emit(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::cout << text;
    std::cout.flush();
  } else {
    psgkit::write_file_atomic(path, text);
  }
}

}  // namespace psgkit_cli

int main(int argc, char** argv) {
  CLI::App app{"psgkit: polysomnography from EDF to before/after deep-sleep comparison"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "psgkit " + std::string(psgkit::psgkit_version()));
  for (const auto& factory : psgkit_cli::command_factories()) factory(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Error& e) {  // parse errors, --help, and RuntimeError(code) from a command
    return app.exit(e);
  } catch (const psgkit::Error& e) {
    std::cerr << "psgkit: error: " << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "psgkit: error: " << e.what() << '\n';
    return 2;
  }
  return 0;
}
