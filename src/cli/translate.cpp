// `tessera translate`: NLLB-style translation of lines from stdin (or --input) with an
// m2m_100 / nllb-moe model folder: greedy, sampling or beam search, n-best lists, int8 weights.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tessera/core/error.h"
#include "tessera/mt/translate.h"

namespace tessera::cli {

namespace {

struct TranslateCliOptions {
  std::string model_dir, src, tgt, input, output;
  int64_t beam = 4, nbest = 1, batch = 32, no_repeat = 0, max_source = 1024, min_length = 0;
  double length_penalty = 1.0, max_ratio = 1.5, temperature = 1.0, top_p = 1.0;
  int64_t max_offset = 10, top_k = 0;
  uint64_t seed = 0;
  bool sample = false, legacy = false, int8 = false, json = false, stats = false;
  std::string early_stopping = "when-full";
};

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::string line;
  if (path.empty() || path == "-") {
    while (std::getline(std::cin, line)) lines.push_back(line);
  } else {
    std::ifstream in(path);
    TESSERA_CHECK_INPUT(in.good(), "{}: cannot open", path);
    while (std::getline(in, line)) lines.push_back(line);
  }
  for (auto& l : lines)
    if (!l.empty() && l.back() == '\r') l.pop_back();
  return lines;
}

}  // namespace

void add_translate_commands(CLI::App& app) {
  auto o = std::make_shared<TranslateCliOptions>();
  auto* cmd = app.add_subcommand(
      "translate", "Translate lines (stdin or --input) with an NLLB / M2M-100 model folder");
  cmd->add_option("--model", o->model_dir,
                  "model folder: config.json, model.safetensors, sentencepiece.bpe.model")
      ->required();
  cmd->add_option("--src", o->src, "source language code (NLLB form, e.g. eng_Latn)")->required();
  cmd->add_option("--tgt", o->tgt, "target language code (e.g. fra_Latn)")->required();
  cmd->add_option("--input", o->input, "input file, one sentence per line (default: stdin)");
  cmd->add_option("--output", o->output, "output file (default: stdout)");
  cmd->add_option("--beam", o->beam, "beam size (1: greedy)")->check(CLI::PositiveNumber);
  cmd->add_option("--nbest", o->nbest, "hypotheses per line (<= beam)")->check(CLI::PositiveNumber);
  cmd->add_option("--length-penalty", o->length_penalty, "score = log p / length^penalty");
  cmd->add_option("--max-length-ratio", o->max_ratio,
                  "max generated tokens = ratio * source tokens + offset");
  cmd->add_option("--max-length-offset", o->max_offset, "see --max-length-ratio");
  cmd->add_option("--min-length", o->min_length, "no EOS before this many generated tokens");
  cmd->add_option("--no-repeat-ngram", o->no_repeat,
                  "forbid repeating n-grams of this size (0: off)");
  cmd->add_option("--early-stopping", o->early_stopping, "when-full, heuristic or never")
      ->check(CLI::IsMember({"when-full", "heuristic", "never"}));
  cmd->add_option("--batch", o->batch, "sentences decoded together (sorted by length)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-source-tokens", o->max_source, "cut longer sources")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--sample", o->sample, "sample instead of searching (beam 1)");
  cmd->add_option("--temperature", o->temperature, "sampling temperature");
  cmd->add_option("--top-k", o->top_k, "sampling: keep the k most likely tokens (0: off)");
  cmd->add_option("--top-p", o->top_p, "sampling: nucleus mass");
  cmd->add_option("--seed", o->seed, "sampling seed");
  cmd->add_flag("--legacy", o->legacy, "legacy NLLB source layout: tokens </s> src_lang");
  cmd->add_flag("--int8", o->int8,
                "int8 weights with per-row scales (inference; norms, biases and routers stay f32)");
  cmd->add_flag("--stats", o->stats, "print tokens/s on stderr");
  cmd->add_flag("--json", o->json, "one JSON object per line with the n-best list and scores");
  cmd->callback([o] {
    if (o->sample) o->beam = 1;
    TESSERA_CHECK_INPUT(o->nbest <= o->beam, "--nbest {} exceeds --beam {}", o->nbest, o->beam);
    mt::TranslationModel tm = mt::load_translation_model(o->model_dir);
    if (o->int8) tm.model->quantize_int8();
    mt::TranslateOptions t;
    t.src_lang = o->src;
    t.tgt_lang = o->tgt;
    t.legacy_source_layout = o->legacy;
    t.max_source_tokens = o->max_source;
    t.decode.beam_size = o->beam;
    t.decode.num_return = o->nbest;
    t.decode.length_penalty = o->length_penalty;
    t.decode.max_length_ratio = o->max_ratio;
    t.decode.max_length_offset = o->max_offset;
    t.decode.min_length = o->min_length;
    t.decode.no_repeat_ngram_size = o->no_repeat;
    t.decode.batch_size = o->batch;
    t.decode.early_stopping = o->early_stopping == "never"       ? infer::EarlyStopping::never
                              : o->early_stopping == "heuristic" ? infer::EarlyStopping::heuristic
                                                                 : infer::EarlyStopping::when_full;
    t.decode.sample = o->sample;
    t.decode.sampling.temperature = o->temperature;
    t.decode.sampling.top_k = o->top_k;
    t.decode.sampling.top_p = o->top_p;
    t.decode.sampling.seed = o->seed;
    std::vector<std::string> lines = read_lines(o->input);
    infer::DecodeStats stats;
    auto results = mt::translate_lines(*tm.model, tm.tokenizer, lines, t, &stats);
    std::FILE* out = stdout;
    if (!o->output.empty()) {
      out = std::fopen(o->output.c_str(), "wb");
      TESSERA_CHECK_INPUT(out != nullptr, "{}: cannot write", o->output);
    }
    for (const auto& nbest : results) {
      if (o->json) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& c : nbest)
          list.push_back({{"text", c.text},
                          {"score", c.score},
                          {"log_prob", c.log_prob},
                          {"tokens", c.tokens}});
        fmt::print(out, "{}\n", nlohmann::json{{"translations", list}}.dump());
      } else if (o->nbest > 1) {
        for (const auto& c : nbest) fmt::print(out, "{:.4f}\t{}\n", c.score, c.text);
      } else {
        fmt::print(out, "{}\n", nbest.empty() ? "" : nbest[0].text);
      }
    }
    if (out != stdout) std::fclose(out);
    if (o->stats) {
      fmt::print(stderr,
                 "translated {} sentences: {} source tokens, {} generated tokens in {:.3f} s "
                 "({:.1f} tokens/s)\n",
                 stats.sentences, stats.source_tokens, stats.generated_tokens, stats.seconds,
                 stats.seconds > 0 ? stats.generated_tokens / stats.seconds : 0.0);
    }
  });
}

}  // namespace tessera::cli
