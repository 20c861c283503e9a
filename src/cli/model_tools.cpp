// Model-file tools: `tessera init` (a randomly initialised model folder of any registered
// architecture, encoder-decoders included, for benchmarks and tests), `tessera export` (a Llama folder as llama.cpp GGUF)
// and `tessera bench lm` (prefill and decode tokens/s, as llama.cpp's llama-bench measures
// them: pp = one forward over P prompt tokens, tg = N single-token steps from an empty state).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tessera/core/autograd.h"
#include "tessera/core/error.h"
#include "tessera/core/microbench.h"
#include "tessera/core/parallel.h"
#include "tessera/core/rng.h"
#include "tessera/models/causal_lm.h"
#include "tessera/models/gguf_export.h"
#include "tessera/models/presets.h"
#include "tessera/models/seq2seq.h"

namespace tessera::cli {

namespace {

double elapsed_seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Tensor random_ids(int64_t count, int64_t vocab, Generator& gen) {
  Tensor ids = Tensor::empty({1, count}, DType::i32);
  for (int64_t i = 0; i < count; ++i) {
    ids.data<int32_t>()[i] = static_cast<int32_t>(gen.next_u64() % static_cast<uint64_t>(vocab));
  }
  return ids;
}

void add_init(CLI::App& app) {
  auto* cmd = app.add_subcommand("init", "Write a randomly initialised model folder (config.json + model.safetensors)");
  struct Options {
    std::string model_type = "llama", preset = "tiny", config_path, out;
    int64_t vocab_size = 32000, max_positions = 2048;
    uint64_t seed = 0;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model-type", o->model_type, "architecture (model_type)");
  cmd->add_option("--preset", o->preset, "model size (see `tessera train --help`)");
  cmd->add_option("--config", o->config_path, "config.json whose keys override the preset");
  cmd->add_option("--vocab-size", o->vocab_size, "vocabulary size (default: the preset's, else 32000)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-positions", o->max_positions, "max_position_embeddings (default: the preset's, else 2048)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->seed, "initialisation seed");
  cmd->add_option("--out", o->out, "output folder")->required();
  cmd->callback([o, cmd] {
    nlohmann::json config = models::preset_config(o->model_type, o->preset);
    // The NLLB presets carry their real vocabulary; the causal-LM ones leave it to the caller.
    if (cmd->count("--vocab-size") || !config.contains("vocab_size")) config["vocab_size"] = o->vocab_size;
    if (cmd->count("--max-positions") || !config.contains("max_position_embeddings"))
      config["max_position_embeddings"] = o->max_positions;
    if (!o->config_path.empty()) config.update(models::read_json_file(o->config_path));
    int64_t params = 0;
    std::string model_type;
    if (models::is_seq2seq_config(config)) {
      auto model = models::create_seq2seq_model(config, o->seed);
      models::save_seq2seq_model(*model, o->out);
      for (auto& [name, t] : model->parameters()) params += t->numel();
      model_type = model->model_type();
    } else {
      auto model = models::create_model(config, o->seed);
      models::save_model(*model, o->out);
      for (auto& [name, t] : model->parameters()) params += t->numel();
      model_type = model->model_type();
    }
    fmt::print("wrote a random {} model ({:.2f}M parameters) to {}\n", model_type, params / 1e6, o->out);
  });
}

void add_export(CLI::App& app) {
  auto* cmd = app.add_subcommand("export", "Write a model folder in another format (llama -> llama.cpp GGUF)");
  struct Options {
    std::string model, out, format = "gguf", type = "f32";
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "model folder (or file) to read")->required();
  cmd->add_option("--out", o->out, "output file")->required();
  cmd->add_option("--format", o->format, "output format")->check(CLI::IsMember({"gguf"}));
  cmd->add_option("--type", o->type, "weight matrices as f32, f16, bf16, q8_0 or q4_0")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0", "q4_0"}));
  cmd->callback([o] {
    auto model = models::load_model(o->model);
    models::GgufExportOptions options;
    const std::map<std::string, io::GgmlType> types = {{"f32", io::GgmlType::F32},
                                                       {"f16", io::GgmlType::F16},
                                                       {"bf16", io::GgmlType::BF16},
                                                       {"q8_0", io::GgmlType::Q8_0},
                                                       {"q4_0", io::GgmlType::Q4_0}};
    options.matrix_type = types.at(o->type);
    models::save_llama_gguf(*model, o->out, options);
    fmt::print("wrote {} ({} matrices) to {}\n", o->format, o->type, o->out);
  });
}

void add_bench_lm(CLI::App& app) {
  auto* bench = app.get_subcommand("bench");
  auto* cmd = bench->add_subcommand("lm", "Prefill and decode tokens/s of a model (llama-bench's pp and tg)");
  struct Options {
    std::string model;
    int64_t prompt_tokens = 512, gen_tokens = 128;
    int repeats = 5;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "model folder or .gguf file")->required();
  cmd->add_option("--prompt-tokens", o->prompt_tokens, "pp: tokens in one prefill forward (0 skips)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--gen-tokens", o->gen_tokens, "tg: single-token decode steps (0 skips)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--repeats", o->repeats, "timed runs (median)")->check(CLI::PositiveNumber);
  cmd->add_flag("--json", o->json, "machine-readable output");
  cmd->callback([o] {
    NoGrad no_grad;
    auto model = models::load_model(o->model);
    Generator gen(1234);
    const int64_t vocab = model->vocab_size();
    std::vector<double> prefill_rates, decode_rates;
    // One untimed warm-up of each, so first-touch page faults and cache allocation are not timed.
    for (int run = -1; run < o->repeats; ++run) {
      if (o->prompt_tokens > 0) {
        auto state = model->new_state();
        Tensor ids = random_ids(o->prompt_tokens, vocab, gen);
        auto start = std::chrono::steady_clock::now();
        model->forward_step(ids, {state.get()});
        if (run >= 0) prefill_rates.push_back(o->prompt_tokens / elapsed_seconds(start));
      }
      if (o->gen_tokens > 0) {
        auto state = model->new_state();
        Tensor ids = random_ids(o->gen_tokens, vocab, gen);
        auto start = std::chrono::steady_clock::now();
        for (int64_t i = 0; i < o->gen_tokens; ++i) model->forward_step(ids.narrow(1, i, 1), {state.get()});
        if (run >= 0) decode_rates.push_back(o->gen_tokens / elapsed_seconds(start));
      }
    }
    nlohmann::json result = {{"model", o->model},
                             {"model_type", model->model_type()},
                             {"threads", num_threads()},
                             {"weight_bytes", model->resident_weight_bytes()},
                             {"repeats", o->repeats}};
    if (!prefill_rates.empty()) result["pp"] = {{"tokens", o->prompt_tokens}, {"tokens_per_s", median(prefill_rates)}};
    if (!decode_rates.empty()) result["tg"] = {{"tokens", o->gen_tokens}, {"tokens_per_s", median(decode_rates)}};
    if (o->json) {
      std::puts(result.dump(2).c_str());
      return;
    }
    fmt::print("{} ({}), {} threads, {} weight bytes; median of {} runs\n", o->model, model->model_type(),
               num_threads(), model->resident_weight_bytes(), o->repeats);
    if (!prefill_rates.empty()) fmt::print("pp{:<6} {:10.1f} tokens/s\n", o->prompt_tokens, median(prefill_rates));
    if (!decode_rates.empty()) fmt::print("tg{:<6} {:10.1f} tokens/s\n", o->gen_tokens, median(decode_rates));
  });
}

}  // namespace

void add_model_tools_commands(CLI::App& app) {
  add_init(app);
  add_export(app);
  add_bench_lm(app);
}

}  // namespace tessera::cli
