// `tessera bench gemm|ops`: side-by-side throughput tables (text or --json).
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tessera/core/microbench.h"
#include "tessera/core/parallel.h"

namespace tessera::cli {

namespace {

void print_rows(const std::vector<BenchRow>& rows, bool json) {
  if (json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const BenchRow& r : rows) {
      arr.push_back({{"name", r.name}, {"shape", r.shape}, {"unit", r.unit}, {"value", r.value},
                     {"baseline", r.baseline}, {"baseline_name", r.baseline_name},
                     {"ratio", r.ratio()}, {"seconds", r.seconds}, {"threads", num_threads()}});
    }
    std::puts(arr.dump(2).c_str());
    return;
  }
  std::puts(fmt::format("{:<11} {:>16} {:>12} {:>12} {:>14} {:>7}", "op", "shape", "tessera",
                        "baseline", "baseline is", "ratio").c_str());
  for (const BenchRow& r : rows) {
    std::puts(fmt::format("{:<11} {:>16} {:>12} {:>12} {:>14} {:>7.3f}", r.name, r.shape,
                          fmt::format("{:.1f} {}", r.value, r.unit == "GFLOP/s" ? "GF/s" : "GB/s"),
                          fmt::format("{:.1f}", r.baseline), r.baseline_name, r.ratio())
                  .c_str());
  }
  std::puts(fmt::format("threads: {}; median of the repeats; ratio = tessera / baseline", num_threads()).c_str());
}

}  // namespace

void add_bench_commands(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Micro-benchmarks against raw baselines");
  bench->require_subcommand(1);
  struct Options {
    int repeats = 5;
    int64_t megabytes = 64;
    bool json = false;
  };
  auto options = std::make_shared<Options>();

  auto* gemm = bench->add_subcommand("gemm", "Tensor matmul vs raw OpenBLAS sgemm (GFLOP/s)");
  gemm->add_option("--repeats", options->repeats, "timed runs per row (median)")->check(CLI::PositiveNumber);
  gemm->add_flag("--json", options->json, "machine-readable output");
  gemm->callback([options] { print_rows(bench_gemm(options->repeats), options->json); });

  auto* ops = bench->add_subcommand("ops", "Elementwise and norm kernels vs memcpy (GB/s)");
  ops->add_option("--repeats", options->repeats, "timed runs per row (median)")->check(CLI::PositiveNumber);
  ops->add_option("--megabytes", options->megabytes, "size of each f32 operand")->check(CLI::Range(1, 4096));
  ops->add_flag("--json", options->json, "machine-readable output");
  ops->callback([options] { print_rows(bench_ops(options->repeats, options->megabytes), options->json); });
}

}  // namespace tessera::cli
