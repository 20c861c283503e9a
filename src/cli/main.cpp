// The `tessera` executable: global flags, command registration, and the mapping of errors to
// exit codes (0 success, 2 bad usage or bad input, 1 other failure).
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "tessera/core/error.h"
#include "tessera/core/parallel.h"

#ifndef TESSERA_VERSION
#define TESSERA_VERSION "dev"
#endif

namespace tessera::cli {
GlobalOptions& global_options() {
  static GlobalOptions options;
  return options;
}
}  // namespace tessera::cli

int main(int argc, char** argv) {
  using namespace tessera;
  CLI::App app{"Tessera: one C++ engine for the language-model systems of June 2024"};
  app.set_version_flag("--version", std::string("tessera ") + TESSERA_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // --threads may follow the command name too
  auto& options = cli::global_options();
  app.add_option("--threads", options.threads, "worker threads (0: all cores)")
      ->check(CLI::NonNegativeNumber);
  app.parse_complete_callback([&] { set_num_threads(options.threads); });

  cli::add_info_commands(app);
  cli::add_bench_commands(app);
  cli::add_tokenize_commands(app);
  cli::add_lm_commands(app);
  cli::add_gym_commands(app);
  cli::add_mt_commands(app);
  cli::add_data_commands(app);
  cli::add_serve_commands(app);
  cli::add_sae_commands(app);
  cli::add_translate_commands(app);
  cli::add_model_tools_commands(app);
  cli::add_quantize_commands(app);
  cli::add_convert_commands(app);
  cli::add_bench_ssd_commands(app);
  cli::add_bench_translate_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "tessera: %s (see --help)\n", e.what());
    return 2;
  } catch (const Error& e) {
    std::fprintf(stderr, "tessera: error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tessera: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
