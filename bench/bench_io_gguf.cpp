// GGUF loading costs: dequantising 16M weights (64 MB of f32 output) from each block format,
// against memcpy of the 64 MB output (the bandwidth floor) and f16 -> f32 conversion (what a
// plain F16 file costs); and GgufFile::open of a file whose metadata holds a 128k-token
// vocabulary (strings, scores, types), the part of opening a real model that is not mmap.
// Arguments: thread count (1, 2). Bytes processed count the f32 output only.
//
//   bench_io_gguf --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <vector>

#include "tessera/core/io/gguf.h"
#include "tessera/core/parallel.h"
#include "tessera/kernels/cpu/elementwise.h"

namespace {

using namespace tessera;
using namespace tessera::io;

constexpr int64_t kElements = int64_t{16} << 20;

// Valid blocks of `type`: random quant bytes with small finite f16 scales (every block format
// keeps d, and dmin where present, in its first or last bytes; writing them through the
// quantisers where possible keeps the data realistic).
std::vector<uint8_t> blocks_of(GgmlType type) {
  const GgmlTypeTraits& traits = ggml_type_traits(type);
  const int64_t count = kElements / traits.block_size;
  std::vector<uint8_t> bytes(static_cast<size_t>(count * traits.block_bytes));
  std::vector<float> values(static_cast<size_t>(kElements));
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (float& v : values) v = normal(rng);
  if (type == GgmlType::Q8_0) {
    quantize_q8_0(values.data(), bytes.data(), kElements);
  } else if (type == GgmlType::Q4_0) {
    quantize_q4_0(values.data(), bytes.data(), kElements);
  } else {
    std::uniform_int_distribution<int> byte(0, 255);
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(byte(rng));
    // K-quants: scales at the start (Q4_K, Q5_K) or the end (Q2_K, Q3_K, Q6_K) of each block;
    // overwrite both candidate spots with a small f16 so no block holds inf or NaN.
    const uint16_t small = f32_to_f16(0.001f);
    for (int64_t i = 0; i < count; ++i) {
      uint8_t* block = bytes.data() + i * traits.block_bytes;
      std::memcpy(block, &small, 2);
      std::memcpy(block + 2, &small, 2);
      std::memcpy(block + traits.block_bytes - 2, &small, 2);
      std::memcpy(block + traits.block_bytes - 4, &small, 2);
    }
  }
  return bytes;
}

void set_bytes(benchmark::State& state) {
  state.SetBytesProcessed(state.iterations() * kElements * 4);
  state.counters["threads"] = static_cast<double>(num_threads());
}

void BM_Dequantize(benchmark::State& state, GgmlType type) {
  set_num_threads(static_cast<int>(state.range(0)));
  const std::vector<uint8_t> blocks = blocks_of(type);
  std::vector<float> out(static_cast<size_t>(kElements));
  for (auto _ : state) {
    dequantize_blocks(type, blocks.data(), out.data(), kElements);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state);
}

void BM_MemcpyBaseline(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  std::vector<float> in(static_cast<size_t>(kElements), 1.0f), out(in.size());
  for (auto _ : state) {
    parallel_for(0, kElements, 1 << 20, [&](int64_t lo, int64_t hi) {
      std::memcpy(out.data() + lo, in.data() + lo, static_cast<size_t>(hi - lo) * 4);
    });
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state);
}

void BM_F16ToF32(benchmark::State& state) {
  set_num_threads(static_cast<int>(state.range(0)));
  std::vector<uint16_t> in(static_cast<size_t>(kElements), f32_to_f16(0.5f));
  std::vector<float> out(in.size());
  for (auto _ : state) {
    kernels::f16_to_f32(in.data(), out.data(), kElements);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state);
}

std::string vocabulary_file() {
  const std::string path =
      (std::filesystem::temp_directory_path() / "tessera-bench-vocab.gguf").string();
  if (std::filesystem::exists(path)) return path;
  constexpr int kVocab = 128256;  // Llama 3
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (int i = 0; i < kVocab; ++i) {
    tokens.push_back("tok" + std::to_string(i * 2654435761u % 1000003));
    scores.push_back(-static_cast<float>(i));
    types.push_back(1);
  }
  std::vector<std::string> merges(280147, "a b");
  save_gguf(path,
            {{"general.architecture", GgufValue::string("llama")},
             {"tokenizer.ggml.tokens", GgufValue::string_array(tokens)},
             {"tokenizer.ggml.scores", GgufValue::array(scores)},
             {"tokenizer.ggml.token_type", GgufValue::array(types)},
             {"tokenizer.ggml.merges", GgufValue::string_array(merges)}},
            {});
  return path;
}

void BM_OpenVocabulary(benchmark::State& state) {
  const std::string path = vocabulary_file();
  for (auto _ : state) {
    GgufFile file = GgufFile::open(path);
    benchmark::DoNotOptimize(file.metadata().size());
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(std::filesystem::file_size(path)));
}

BENCHMARK(BM_MemcpyBaseline)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_F16ToF32)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Dequantize, Q8_0, GgmlType::Q8_0)
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Dequantize, Q4_0, GgmlType::Q4_0)
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Dequantize, Q4_K, GgmlType::Q4_K)
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Dequantize, Q6_K, GgmlType::Q6_K)
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_OpenVocabulary)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
