// Loading safetensors checkpoints: zero-copy mmap views vs the copying baseline (read() of the
// whole file into memory, what a loader without mmap does), with and without touching every
// byte afterwards, and bf16 -> f32 conversion on load vs a plain memcpy of the output size.
// The file (64 tensors x 4 MiB = 256 MiB, f32 and bf16) is generated once in the temp folder;
// the page cache is warm for every variant, so the numbers compare CPU work, not the disk.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "tessera/core/io/safetensors.h"

namespace {

using namespace tessera;

constexpr int kTensors = 64;
constexpr int64_t kElementsPerTensor = 1 << 20;  // 4 MiB of f32

std::string checkpoint(DType dtype) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("tessera-bench-io-" + std::string(dtype_name(dtype)) + ".safetensors"))
                               .string();
  if (std::filesystem::exists(path)) return path;
  io::NamedTensors tensors;
  for (int i = 0; i < kTensors; ++i) {
    tensors.emplace_back("layers." + std::to_string(i) + ".weight",
                         Tensor::full({kElementsPerTensor}, 0.5 + i, dtype));
  }
  io::save_safetensors(path, tensors);
  return path;
}

// Sums one byte per 4 KiB page and the tensor's last byte: enough to fault every page in.
uint64_t touch(const void* data, size_t nbytes) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t sum = 0;
  for (size_t i = 0; i < nbytes; i += 4096) sum += p[i];
  return nbytes ? sum + p[nbytes - 1] : sum;
}

void BM_ZeroCopyOpenGetAll(benchmark::State& state) {
  const std::string path = checkpoint(DType::f32);
  const bool touch_pages = state.range(0) != 0;
  for (auto _ : state) {
    io::SafetensorsFile file = io::SafetensorsFile::open(path);
    uint64_t sum = 0;
    for (const std::string& name : file.names()) {
      const Tensor t = file.get(name);
      if (touch_pages) sum += touch(t.raw_data(), t.nbytes());
      benchmark::DoNotOptimize(t.raw_data());
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(state.iterations() * std::filesystem::file_size(path));
}
BENCHMARK(BM_ZeroCopyOpenGetAll)->Arg(0)->Arg(1)->ArgName("touch")->Unit(benchmark::kMillisecond);

// Baseline: read() the whole file into a fresh buffer, as a copying loader must.
void BM_CopyReadWholeFile(benchmark::State& state) {
  const std::string path = checkpoint(DType::f32);
  const size_t size = std::filesystem::file_size(path);
  const bool touch_pages = state.range(0) != 0;
  for (auto _ : state) {
    std::vector<uint8_t> buffer(size);
    int fd = ::open(path.c_str(), O_RDONLY);
    size_t done = 0;
    while (done < size) {
      ssize_t n = ::read(fd, buffer.data() + done, size - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    uint64_t sum = touch_pages ? touch(buffer.data(), size) : 0;
    benchmark::DoNotOptimize(sum);
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetBytesProcessed(state.iterations() * size);
}
BENCHMARK(BM_CopyReadWholeFile)->Arg(0)->Arg(1)->ArgName("touch")->Unit(benchmark::kMillisecond);

void BM_Bf16ToF32OnLoad(benchmark::State& state) {
  io::SafetensorsFile file = io::SafetensorsFile::open(checkpoint(DType::bf16));
  for (auto _ : state) {
    for (const std::string& name : file.names()) {
      Tensor t = file.get(name, DType::f32);
      benchmark::DoNotOptimize(std::as_const(t).raw_data());
    }
  }
  state.SetBytesProcessed(state.iterations() * kTensors * kElementsPerTensor * 4);
}
BENCHMARK(BM_Bf16ToF32OnLoad)->Unit(benchmark::kMillisecond);

// Baseline for the conversion: allocating and filling the same f32 output with memcpy.
void BM_MemcpyF32OfSameSize(benchmark::State& state) {
  io::SafetensorsFile file = io::SafetensorsFile::open(checkpoint(DType::f32));
  for (auto _ : state) {
    for (const std::string& name : file.names()) {
      const Tensor source = file.get(name);
      Tensor out = Tensor::empty(source.shape(), DType::f32);
      std::memcpy(out.raw_data(), source.raw_data(), source.nbytes());
      benchmark::DoNotOptimize(std::as_const(out).raw_data());
    }
  }
  state.SetBytesProcessed(state.iterations() * kTensors * kElementsPerTensor * 4);
}
BENCHMARK(BM_MemcpyF32OfSameSize)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
