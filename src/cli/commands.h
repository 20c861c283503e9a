#pragma once
// Each command group lives in its own file (cli/<group>.cpp) and registers its subcommands
// here; main.cpp calls every add_*_commands. A command parses flags, calls the library,
// prints; nothing else.
#include <CLI/CLI.hpp>

namespace tessera::cli {

// Options every command shares (DESIGN.md "Command line").
struct GlobalOptions {
  int threads = 0;  // 0: all cores
  bool json = false;
};
GlobalOptions& global_options();

void add_info_commands(CLI::App& app);
void add_bench_commands(CLI::App& app);
void add_tokenize_commands(CLI::App& app);  // tokenize, tokenizer train (cli/tokenize.cpp)
void add_lm_commands(CLI::App& app);
void add_gym_commands(CLI::App& app);
void add_mt_commands(CLI::App& app);
void add_data_commands(CLI::App& app);  // data build, data corpus, data check (cli/data.cpp)
void add_serve_commands(CLI::App& app);  // serve, ask (cli/serve.cpp)
void add_sae_commands(CLI::App& app);  // sae harvest|train|eval|inspect|sweep|export (cli/sae.cpp)
void add_translate_commands(CLI::App& app);  // translate (cli/translate.cpp)
// init, export, bench lm (cli/model_tools.cpp); after add_bench_commands
void add_model_tools_commands(CLI::App& app);
// quantize, bench ternary (cli/quantize.cpp); after add_bench_commands
void add_quantize_commands(CLI::App& app);
void add_convert_commands(CLI::App& app);    // convert (cli/convert.cpp)
void add_bench_ssd_commands(CLI::App& app);  // bench ssd (cli/bench_ssd.cpp); after add_bench_commands
// bench translate (cli/bench_translate.cpp); after add_bench_commands
void add_bench_translate_commands(CLI::App& app);

}  // namespace tessera::cli
