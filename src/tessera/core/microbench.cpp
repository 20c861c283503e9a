#include "tessera/core/microbench.h"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "tessera/core/autograd.h"
#include "tessera/core/ops.h"
#include "tessera/core/rng.h"

namespace tessera {

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double median_seconds(int repeats, const std::function<void()>& fn) {
  fn();  // warm-up: page faults, thread start-up, BLAS buffers
  std::vector<double> times;
  for (int i = 0; i < std::max(repeats, 1); ++i) {
    auto start = std::chrono::steady_clock::now();
    fn();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return median(std::move(times));
}

std::vector<BenchRow> bench_gemm(int repeats) {
  NoGrad no_grad;
  struct Case {
    int64_t M, K, N;
  };
  // The shapes of the issue: square, a matrix-vector product (decode), a wide projection.
  const Case cases[] = {{1024, 1024, 1024}, {4096, 4096, 1}, {512, 4096, 4096}};
  std::vector<BenchRow> rows;
  Generator gen(1);
  for (const Case& c : cases) {
    Tensor a = rand_normal({c.M, c.K}, 0, 1, gen), b = rand_normal({c.K, c.N}, 0, 1, gen);
    Tensor out_raw = Tensor::empty({c.M, c.N});
    double flops = 2.0 * static_cast<double>(c.M) * static_cast<double>(c.N) * static_cast<double>(c.K);
    double raw = median_seconds(repeats, [&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(c.M), static_cast<int>(c.N),
                  static_cast<int>(c.K), 1.0f, a.data<float>(), static_cast<int>(c.K), b.data<float>(),
                  static_cast<int>(c.N), 0.0f, out_raw.data<float>(), static_cast<int>(c.N));
    });
    double ours = median_seconds(repeats, [&] { Tensor c_out = matmul(a, b); });
    BenchRow row;
    row.name = "matmul";
    row.shape = fmt::format("{}x{}x{}", c.M, c.K, c.N);
    row.unit = "GFLOP/s";
    row.value = flops / ours / 1e9;
    row.baseline = flops / raw / 1e9;
    row.baseline_name = "cblas_sgemm";
    row.seconds = ours;
    rows.push_back(row);
  }
  return rows;
}

std::vector<BenchRow> bench_ops(int repeats, int64_t megabytes) {
  NoGrad no_grad;
  const int64_t n = megabytes * (1 << 20) / 4;  // f32 elements
  const int64_t width = 4096;                   // row length for softmax and norms
  const int64_t rows = n / width;
  Generator gen(2);
  Tensor x = rand_normal({rows, width}, 0, 1, gen), y = rand_normal({rows, width}, 0, 1, gen);
  Tensor w = rand_normal({width}, 1, 0.1, gen), bias = rand_normal({width}, 0, 0.1, gen);
  Tensor dst = Tensor::empty({rows, width});
  const double bytes = static_cast<double>(rows * width) * 4.0;
  double copy = median_seconds(repeats, [&] { std::memcpy(dst.raw_data(), x.raw_data(), static_cast<size_t>(bytes)); });
  double copy_gbs = 2.0 * bytes / copy / 1e9;  // memcpy reads and writes every byte

  struct Op {
    const char* name;
    double streams;  // buffers of `bytes` read or written
    std::function<Tensor()> run;
  };
  const Op ops[] = {
      {"add", 3, [&] { return add(x, y); }},
      {"mul", 3, [&] { return mul(x, y); }},
      {"exp", 2, [&] { return exp(x); }},
      {"silu", 2, [&] { return silu(x); }},
      {"gelu_tanh", 2, [&] { return gelu(x, GeluApproximation::tanh); }},
      {"softmax", 2, [&] { return softmax(x, -1); }},
      {"rms_norm", 2, [&] { return rms_norm(x, w, 1e-5); }},
      {"layer_norm", 2, [&] { return layer_norm(x, w, bias, 1e-5); }},
  };
  std::vector<BenchRow> out;
  out.push_back({"memcpy", fmt::format("{}", rows * width), "GB/s", copy_gbs, copy_gbs, "memcpy", copy});
  for (const Op& op : ops) {
    double t = median_seconds(repeats, [&] { Tensor r = op.run(); });
    BenchRow row;
    row.name = op.name;
    row.shape = fmt::format("{}x{}", rows, width);
    row.unit = "GB/s";
    row.value = op.streams * bytes / t / 1e9;
    row.baseline = copy_gbs;
    row.baseline_name = "memcpy";
    row.seconds = t;
    out.push_back(row);
  }
  return out;
}

}  // namespace tessera
