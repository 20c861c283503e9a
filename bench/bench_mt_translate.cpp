// Translation throughput of an NLLB-shaped encoder-decoder with random weights: beam search
// over a batch of random source sentences, f32 vs int8 weights. Generated tokens per second
// is the counter to read ("tokens_per_second"). The shape comes from TESSERA_NLLB_SHAPE:
// "600m" (facebook/nllb-200-distilled-600M: d_model 1024, 12+12 layers, FFN 4096, 256,206
// ids) or "mini" (d_model 512, 6+6 layers, FFN 2048, 32,000 ids); default mini.
// Source length (TESSERA_NLLB_SRC_LEN, default 24) and batch (TESSERA_NLLB_BATCH, default 32).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "tessera/core/rng.h"
#include "tessera/infer/beam.h"
#include "tessera/models/seq2seq.h"

namespace {

using namespace tessera;

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : fallback;
}

nlohmann::json shape_config() {
  const char* s = std::getenv("TESSERA_NLLB_SHAPE");
  const std::string shape = s ? s : "mini";
  const bool big = shape == "600m";
  return {{"model_type", "m2m_100"},
          {"vocab_size", big ? 256206 : 32000},
          {"d_model", big ? 1024 : 512},
          {"encoder_layers", big ? 12 : 6},
          {"decoder_layers", big ? 12 : 6},
          {"encoder_attention_heads", big ? 16 : 8},
          {"decoder_attention_heads", big ? 16 : 8},
          {"encoder_ffn_dim", big ? 4096 : 2048},
          {"decoder_ffn_dim", big ? 4096 : 2048},
          {"max_position_embeddings", 1024},
          {"init_std", 0.02}};
}

models::Seq2SeqLM& model_for(bool int8) {
  static std::map<bool, std::unique_ptr<models::Seq2SeqLM>> models;
  auto& m = models[int8];
  if (!m) {
    m = models::create_seq2seq_model(shape_config(), 1);
    if (int8) m->quantize_int8();
  }
  return *m;
}

void BM_TranslateBeam(benchmark::State& state) {
  const bool int8 = state.range(0) != 0;
  const int64_t beam = state.range(1);
  models::Seq2SeqLM& model = model_for(int8);
  const int64_t batch = env_int("TESSERA_NLLB_BATCH", 32),
                src_len = env_int("TESSERA_NLLB_SRC_LEN", 24);
  Generator gen(7);
  std::vector<std::vector<int32_t>> sources(batch);
  for (auto& s : sources) {
    for (int64_t t = 0; t < src_len; ++t)
      s.push_back(static_cast<int32_t>(gen.randint(4, model.vocab_size())));
    s.push_back(2);
  }
  infer::DecodeOptions o;
  o.beam_size = beam;
  o.batch_size = batch;
  // Random weights rarely choose EOS: a fixed length (the source length) keeps runs comparable.
  o.max_length_ratio = 1.0;
  o.max_length_offset = 0;
  int64_t tokens = 0;
  for (auto _ : state) {
    infer::DecodeStats stats;
    auto out = infer::decode(model, sources, o, &stats);
    benchmark::DoNotOptimize(out);
    tokens += stats.generated_tokens;
  }
  state.counters["tokens_per_second"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
  state.counters["weight_MB"] = static_cast<double>(model.resident_weight_bytes()) / 1e6;
}
BENCHMARK(BM_TranslateBeam)
    ->ArgNames({"int8", "beam"})
    ->Args({0, 4})
    ->Args({1, 4})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
