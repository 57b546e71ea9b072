// The psgkit CLI: each examples/cmd_*.cpp registers its subcommands here; they only parse
// arguments and call the library.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace psgkit_cli {

using CommandFactory = std::function<void(CLI::App& app)>;

std::vector<CommandFactory>& command_factories();

// `static const Register r([](CLI::App& app) { auto* cmd = app.add_subcommand(...); ... });`
struct Register {
  explicit Register(CommandFactory factory) { command_factories().push_back(std::move(factory)); }
};

// Writes text to `path` atomically, or to stdout when `path` is empty or "-".
void emit(const std::string& path, const std::string& text);

}  // namespace psgkit_cli
