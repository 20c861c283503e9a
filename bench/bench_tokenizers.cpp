// Encode throughput of the byte-level BPE tokenizers on the 10 MB mixed corpus written by
// bench/compare/tokenizers_corpus.js; bench/compare/tokenizers_run.sh runs this side by side
// with npm tiktoken (WASM) on the same text.
//
//   export TESSERA_BENCH_CORPUS=build/bench/tokenizers_corpus.txt
//   export TESSERA_TOKENIZER_DIR=<folder with tiktoken/cl100k_base.tiktoken, llama3/tokenizer.json>
//   bench_tokenizers --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// The fixture folder is the one tests/text generates (build/<name>/tests/text/reference).
// Each benchmark encodes every document of the corpus once per iteration with encode_batch
// on N OpenMP threads; bytes/s is reported against wall-clock time.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tessera/text/tokenizer.h"

namespace {

std::string env_or_die(const char* name) {
  const char* value = std::getenv(name);
  if (!value) {
    std::fprintf(stderr, "bench_tokenizers: set %s (see the comment at the top of the file)\n",
                 name);
    std::exit(2);
  }
  return value;
}

const std::vector<std::string>& corpus_documents() {
  static const std::vector<std::string> documents = [] {
    std::ifstream in(env_or_die("TESSERA_BENCH_CORPUS"), std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string text = buffer.str();
    std::vector<std::string> docs;
    const std::string separator = "\n\x1E\n";
    size_t begin = 0;
    while (begin <= text.size()) {
      size_t end = text.find(separator, begin);
      if (end == std::string::npos) end = text.size();
      docs.push_back(text.substr(begin, end - begin));
      begin = end + separator.size();
    }
    return docs;
  }();
  return documents;
}

const tessera::text::Tokenizer& tokenizer(const std::string& relative_path) {
  static std::map<std::string, std::unique_ptr<tessera::text::Tokenizer>> loaded;
  auto& slot = loaded[relative_path];
  if (!slot)
    slot = tessera::text::load_tokenizer(env_or_die("TESSERA_TOKENIZER_DIR") + "/" + relative_path);
  return *slot;
}

void encode_corpus(benchmark::State& state, const std::string& tokenizer_path) {
  const auto& documents = corpus_documents();
  const auto& tok = tokenizer(tokenizer_path);
  const int threads = static_cast<int>(state.range(0));
  omp_set_num_threads(threads);
  size_t bytes = 0;
  for (const auto& doc : documents) bytes += doc.size() + 3;
  size_t tokens = 0;
  uint64_t checksum = 0;  // the same rolling checksum as tokenizers_tiktoken.js
  for (auto _ : state) {
    const auto ids = tok.encode_batch(documents);
    state.PauseTiming();
    tokens = 0;
    checksum = 0;
    for (const auto& doc_ids : ids) {
      tokens += doc_ids.size();
      for (int32_t id : doc_ids)
        checksum = (checksum * 31 + static_cast<uint64_t>(id)) % 1000000007;
    }
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["checksum"] = static_cast<double>(checksum);
  state.counters["threads"] = threads;
}

void BM_EncodeCl100k(benchmark::State& state) {
  encode_corpus(state, "tiktoken/cl100k_base.tiktoken");
}
void BM_EncodeLlama3(benchmark::State& state) {
  encode_corpus(state, "llama3/tokenizer.json");
}
void BM_EncodeO200k(benchmark::State& state) {
  encode_corpus(state, "tiktoken/o200k_base.tiktoken");
}

// Wall-clock rates (UseRealTime) plus the process CPU time of all threads, so runs on a
// shared machine can also be compared per CPU second.
#define TESSERA_TOKENIZER_BENCHMARK(name)                                        \
  BENCHMARK(name)->Arg(1)->Arg(2)->UseRealTime()->MeasureProcessCPUTime()->Unit( \
      benchmark::kMillisecond)
TESSERA_TOKENIZER_BENCHMARK(BM_EncodeCl100k);
TESSERA_TOKENIZER_BENCHMARK(BM_EncodeLlama3);
TESSERA_TOKENIZER_BENCHMARK(BM_EncodeO200k);

}  // namespace

BENCHMARK_MAIN();
