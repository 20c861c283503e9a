// `tessera bench ssd`: the three forms of Mamba-2's SSM (kernels/cpu/ssd.h) timed side by side:
// (a) the token-by-token recurrence (what decoding, and llama.cpp's scan, do), (b) the chunked
// SSD algorithm for several chunk sizes, (c) the quadratic dual form (short sequences only).
#include <algorithm>
#include <cstdio>
#include <functional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tessera/core/error.h"
#include "tessera/core/microbench.h"
#include "tessera/core/parallel.h"
#include "tessera/core/rng.h"
#include "tessera/kernels/cpu/ssd.h"

namespace tessera::cli {

namespace {

struct SsdBenchOptions {
  std::vector<int64_t> lengths = {512, 2048, 8192, 16384};
  std::vector<int64_t> chunks = {64, 128, 256};
  std::vector<int> threads = {1, 2};
  int64_t heads = 24, head_dim = 64, state = 128, groups = 1, max_quadratic = 4096;
  int repeats = 5;
  bool json = false;
};

// Median milliseconds after one warm-up (first-touch page faults and BLAS buffers).
double time_ms(int repeats, const std::function<void()>& fn) {
  return 1000.0 * median_seconds(repeats, fn);
}

void run_bench(const SsdBenchOptions& o) {
  TESSERA_CHECK_INPUT(
      o.heads > 0 && o.head_dim > 0 && o.state > 0 && o.groups > 0 && o.heads % o.groups == 0,
      "bench ssd: heads must be a positive multiple of groups");
  nlohmann::json rows = nlohmann::json::array();
  if (!o.json)
    std::puts(fmt::format("{:>6} {:>7} {:>6} {:>13} {:>11} {:>13} {:>9}", "L", "threads", "chunk",
                          "(a) seq ms", "(b) chunk ms", "(c) quad ms", "(a)/(b)")
                  .c_str());
  for (int64_t L : o.lengths) {
    TESSERA_CHECK_INPUT(L > 0, "bench ssd: lengths must be positive, got {}", L);
    kernels::SsdShape s{1, L, o.heads, o.head_dim, o.groups, o.state};
    Generator gen(7);
    auto fill = [&](int64_t n, float lo, float hi) {
      std::vector<float> v(static_cast<size_t>(n));
      gen.fill_uniform(v.data(), n, lo, hi);
      return v;
    };
    auto x = fill(L * o.heads * o.head_dim, -1, 1), dt = fill(L * o.heads, 0.001f, 0.1f);
    auto A = fill(o.heads, -16, -1), D = fill(o.heads, 0, 1);
    auto B = fill(L * o.groups * o.state, -1, 1), C = fill(L * o.groups * o.state, -1, 1);
    std::vector<float> y(x.size()), final_state(static_cast<size_t>(s.state_elements()));
    for (int threads : o.threads) {
      set_num_threads(threads);
      const double sequential = time_ms(o.repeats, [&] {
        kernels::ssd_sequential<float>(s, x.data(), dt.data(), A.data(), B.data(), C.data(),
                                       D.data(), nullptr, final_state.data(), y.data());
      });
      double quadratic = -1;
      if (L <= o.max_quadratic) {
        quadratic = time_ms(o.repeats, [&] {
          kernels::ssd_quadratic<float>(s, x.data(), dt.data(), A.data(), B.data(), C.data(),
                                        D.data(), nullptr, final_state.data(), y.data());
        });
      }
      for (int64_t chunk : o.chunks) {
        TESSERA_CHECK_INPUT(chunk > 0, "bench ssd: chunk sizes must be positive, got {}", chunk);
        const double chunked = time_ms(o.repeats, [&] {
          kernels::ssd_chunked<float>(s, chunk, x.data(), dt.data(), A.data(), B.data(), C.data(),
                                      D.data(), nullptr, final_state.data(), y.data());
        });
        nlohmann::json row = {
            {"length", L},
            {"threads", threads},
            {"chunk", chunk},
            {"sequential_ms", sequential},
            {"chunked_ms", chunked},
            {"quadratic_ms", quadratic < 0 ? nlohmann::json() : nlohmann::json(quadratic)},
            {"speedup_chunked_vs_sequential", sequential / chunked}};
        rows.push_back(row);
        if (!o.json)
          std::puts(fmt::format("{:>6} {:>7} {:>6} {:>13.2f} {:>11.2f} {:>13} {:>9.2f}", L, threads,
                                chunk, sequential, chunked,
                                quadratic < 0 ? std::string("-") : fmt::format("{:.2f}", quadratic),
                                sequential / chunked)
                        .c_str());
        std::fflush(stdout);
      }
    }
  }
  if (o.json) {
    std::puts(nlohmann::json({{"heads", o.heads},
                              {"head_dim", o.head_dim},
                              {"state", o.state},
                              {"groups", o.groups},
                              {"batch", 1},
                              {"dtype", "f32"},
                              {"repeats", o.repeats},
                              {"rows", rows}})
                  .dump(2)
                  .c_str());
  } else {
    std::puts(
        fmt::format(
            "f32, batch 1, heads {}, head_dim {}, state {}, groups {}; median of {} runs (ms)",
            o.heads, o.head_dim, o.state, o.groups, o.repeats)
            .c_str());
  }
}

}  // namespace

void add_bench_ssd_commands(CLI::App& app) {
  auto* bench = app.get_subcommand("bench");
  auto* cmd =
      bench->add_subcommand("ssd", "Mamba-2 SSM: recurrence vs chunked SSD vs quadratic form (ms)");
  auto o = std::make_shared<SsdBenchOptions>();
  cmd->add_option("--lengths", o->lengths, "sequence lengths L")->delimiter(',');
  cmd->add_option("--chunks", o->chunks, "chunk sizes of the chunked form")->delimiter(',');
  cmd->add_option("--thread-counts", o->threads, "thread counts to time each row with")
      ->delimiter(',');
  cmd->add_option("--heads", o->heads, "heads")->check(CLI::PositiveNumber);
  cmd->add_option("--head-dim", o->head_dim, "head dimension P")->check(CLI::PositiveNumber);
  cmd->add_option("--state", o->state, "state size N")->check(CLI::PositiveNumber);
  cmd->add_option("--groups", o->groups, "B/C groups")->check(CLI::PositiveNumber);
  cmd->add_option("--max-quadratic", o->max_quadratic,
                  "longest L timed in the quadratic form (L^2 memory)");
  cmd->add_option("--repeats", o->repeats, "timed runs per row (median)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--json", o->json, "machine-readable output");
  cmd->callback([o] { run_bench(*o); });
}

}  // namespace tessera::cli
