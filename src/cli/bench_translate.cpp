// `tessera bench translate`: target tokens per second of beam-search translation for any
// encoder-decoder folder, f32 or int8, the figure CTranslate2 and Marian report. The work is
// fixed so that two engines can be compared on the same weights: the same source id lines
// (from --sources, or random ones from a seed), and exactly --length target tokens per sentence
// (EOS is banned until then and the length limit ends every hypothesis there), so neither side
// can win by stopping early on random weights.
#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tessera/core/autograd.h"
#include "tessera/core/error.h"
#include "tessera/core/microbench.h"
#include "tessera/core/parallel.h"
#include "tessera/core/rng.h"
#include "tessera/infer/beam.h"
#include "tessera/models/seq2seq.h"

namespace tessera::cli {

namespace {

struct BenchTranslateOptions {
  std::string model, sources_path;
  int64_t sentences = 32, source_length = 24, length = 24, beam = 4, batch = 32;
  int repeats = 5;
  uint64_t seed = 7;
  bool int8 = false, json = false;
};

// One source per line as space-separated ids, checked against the vocabulary.
std::vector<std::vector<int32_t>> read_source_ids(const std::string& path, int64_t vocab) {
  std::ifstream in(path);
  TESSERA_CHECK_INPUT(in.good(), "{}: cannot open the sources file", path);
  std::vector<std::vector<int32_t>> sources;
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    std::istringstream fields(line);
    std::vector<int32_t> ids;
    std::string field;
    while (fields >> field) {
      size_t used = 0;
      long long id = -1;
      try {
        id = std::stoll(field, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      TESSERA_CHECK_INPUT(used == field.size() && id >= 0 && id < vocab,
                          "{}:{}: \"{}\" is not a token id below the vocabulary size {}", path,
                          line_no, field, vocab);
      ids.push_back(static_cast<int32_t>(id));
    }
    TESSERA_CHECK_INPUT(!ids.empty(), "{}:{}: empty source line", path, line_no);
    sources.push_back(std::move(ids));
  }
  TESSERA_CHECK_INPUT(!sources.empty(), "{}: no source lines", path);
  return sources;
}

// Random ids above the special tokens, then EOS: the shape of an NLLB source without its
// language code (the model does not care on random weights).
std::vector<std::vector<int32_t>> random_sources(const BenchTranslateOptions& o,
                                                 const models::Seq2SeqLM& model) {
  Generator gen(o.seed);
  std::vector<std::vector<int32_t>> sources(static_cast<size_t>(o.sentences));
  for (auto& s : sources) {
    for (int64_t t = 0; t < o.source_length; ++t)
      s.push_back(static_cast<int32_t>(gen.randint(4, model.vocab_size())));
    s.push_back(static_cast<int32_t>(model.eos_token_id()));
  }
  return sources;
}

void run_bench_translate(const BenchTranslateOptions& o) {
  NoGrad no_grad;
  auto model = models::load_seq2seq_model(o.model);
  if (o.int8) model->quantize_int8();
  const auto sources = o.sources_path.empty() ? random_sources(o, *model)
                                              : read_source_ids(o.sources_path, model->vocab_size());
  infer::DecodeOptions d;
  d.beam_size = o.beam;
  d.batch_size = o.batch;
  d.length_penalty = 1.0;
  d.max_length_ratio = 0;  // the limit is --length whatever the source length
  d.max_length_offset = o.length;
  d.min_length = o.length;
  TESSERA_CHECK_INPUT(o.length < model->max_positions(),
                      "--length {} does not fit the model's {} positions", o.length,
                      model->max_positions());
  infer::DecodeStats stats;
  const double seconds =
      median_seconds(o.repeats, [&] { infer::decode(*model, sources, d, &stats); });
  // Every run generates the same tokens: --length per sentence.
  const int64_t tokens = stats.generated_tokens;
  const double rate = static_cast<double>(tokens) / seconds;
  const char* type = o.int8 ? "int8" : "f32";
  if (o.json) {
    nlohmann::json j = {{"model", o.model},
                        {"model_type", model->model_type()},
                        {"weights", type},
                        {"weight_bytes", model->resident_weight_bytes()},
                        {"threads", num_threads()},
                        {"sentences", sources.size()},
                        {"target_tokens", tokens},
                        {"beam", o.beam},
                        {"batch", o.batch},
                        {"repeats", o.repeats},
                        {"seconds", seconds},
                        {"tokens_per_s", rate}};
    std::puts(j.dump(2).c_str());
    return;
  }
  fmt::print("{} ({}, {}), {} threads, {} weight bytes; beam {}, batch {}\n", o.model,
             model->model_type(), type, num_threads(), model->resident_weight_bytes(), o.beam,
             o.batch);
  fmt::print("{} sentences, {} target tokens; median of {} runs: {:.2f} s, {:.1f} target tokens/s\n",
             sources.size(), tokens, o.repeats, seconds, rate);
}

}  // namespace

void add_bench_translate_commands(CLI::App& app) {
  auto* bench = app.get_subcommand("bench");
  auto* cmd = bench->add_subcommand(
      "translate", "Beam-search translation tokens/s of an encoder-decoder (fixed target length)");
  auto o = std::make_shared<BenchTranslateOptions>();
  cmd->add_option("--model", o->model, "encoder-decoder model folder (m2m_100, nllb-moe)")->required();
  cmd->add_option("--sources", o->sources_path,
                  "source id lines (space-separated ids, EOS included); default: random ones");
  cmd->add_option("--sentences", o->sentences, "random sources: how many")->check(CLI::PositiveNumber);
  cmd->add_option("--source-length", o->source_length, "random sources: ids before EOS")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->seed, "random sources: seed");
  cmd->add_option("--length", o->length, "target tokens generated per sentence")->check(CLI::PositiveNumber);
  cmd->add_option("--beam", o->beam, "beam size")->check(CLI::PositiveNumber);
  cmd->add_option("--batch", o->batch, "sentences decoded together")->check(CLI::PositiveNumber);
  cmd->add_option("--repeats", o->repeats, "timed runs (median)")->check(CLI::PositiveNumber);
  cmd->add_flag("--int8", o->int8, "int8 weights with per-row scales");
  cmd->add_flag("--json", o->json, "machine-readable output");
  cmd->callback([o] { run_bench_translate(*o); });
}

}  // namespace tessera::cli
