#pragma once
// The `mt` command group. Its subcommands live in several files (evaluation here, the NLLB
// training and translation commands elsewhere); each file adds its subcommands to the group
// returned by mt_command_group, which creates the group on first use.
#include <CLI/CLI.hpp>

namespace tessera::cli {

CLI::App* mt_command_group(CLI::App& app);
// NLLB: mt build-corpus, mt train (cli/mt_nllb.cpp).
void add_mt_nllb_commands(CLI::App& group);

}  // namespace tessera::cli
