// `tessera quantize` (an HGRN-Bit folder -> the same model with every BitLinear packed to
// ternary codes and its scale stored) and `tessera bench ternary` (the packed products vs
// OpenBLAS sgemv/sgemm on the same shapes).
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tessera/core/parallel.h"
#include "tessera/models/hgrn_bit.h"
#include "tessera/nn/bitlinear_bench.h"

namespace tessera::cli {

namespace {

namespace fs = std::filesystem;

// Files beside the weights that the quantized folder needs unchanged.
const char* const kCompanionFiles[] = {"tokenizer.json", "tokenizer.model", "tokenizer_config.json",
                                       "special_tokens_map.json", "generation_config.json"};

void run_quantize(const std::string& model_dir, const std::string& out_dir,
                  const std::string& packing_name, const std::string& embeddings, bool json) {
  const nn::TernaryPacking packing = nn::parse_ternary_packing(packing_name);
  auto model = models::load_model(model_dir);
  auto* hgrn = dynamic_cast<models::HgrnBitModel*>(model.get());
  TESSERA_CHECK_INPUT(hgrn != nullptr, "{}: model_type {} has no ternary layers (hgrn_bit has)",
                      model_dir, model->model_type());
  auto quantized = hgrn->quantized(packing, embeddings);
  // The same model held in f32: every parameter at 4 bytes, BitLinear weights at their logical
  // [out, in] size (the input may itself be packed).
  int64_t source_bytes = 0;
  for (auto& [name, t] : quantized->parameters()) {
    if (name.ends_with(".weight_packed") || name.ends_with("_scale")) continue;
    source_bytes += t->numel() * 4;
  }
  for (auto& [name, layer] : quantized->bit_linears())
    source_bytes += layer->out_features * layer->in_features * 4;
  fs::create_directories(out_dir);
  models::save_model(*quantized, out_dir);
  for (const char* file : kCompanionFiles) {
    fs::path from = fs::path(model_dir) / file;
    if (fs::is_regular_file(from)) {
      fs::copy_file(from, fs::path(out_dir) / file, fs::copy_options::overwrite_existing);
    }
  }
  // Statistics: how ternary the weights are and what the packing saves.
  int64_t weights = 0, zeros = 0, packed_bytes = 0;
  nlohmann::json layers = nlohmann::json::array();
  for (auto& [name, layer] : quantized->bit_linears()) {
    auto [trits, factor] = layer->ternary_weights();
    int64_t z = 0;
    for (int8_t t : trits) z += t == 0;
    weights += static_cast<int64_t>(trits.size());
    zeros += z;
    packed_bytes += static_cast<int64_t>(layer->weight_packed.nbytes());
    layers.push_back(
        {{"name", name},
         {"shape", {layer->out_features, layer->in_features}},
         {"weight_scale", factor},
         {"zero_fraction", static_cast<double>(z) / static_cast<double>(trits.size())}});
  }
  const int64_t resident = quantized->resident_weight_bytes();
  const double bits =
      8.0 * static_cast<double>(packed_bytes) / static_cast<double>(std::max<int64_t>(weights, 1));
  if (json) {
    nlohmann::json out = {
        {"out", out_dir},
        {"packing", packing_name},
        {"embeddings", embeddings},
        {"ternary_weights", weights},
        {"zero_fraction", static_cast<double>(zeros) / std::max<int64_t>(weights, 1)},
        {"bits_per_weight", bits},
        {"packed_bytes", packed_bytes},
        {"f32_bytes", source_bytes},
        {"resident_bytes", resident},
        {"ratio_to_f32", static_cast<double>(resident) / static_cast<double>(source_bytes)},
        {"layers", layers}};
    std::puts(out.dump(2).c_str());
    return;
  }
  std::puts(fmt::format("wrote {} ({} packing)", out_dir, packing_name).c_str());
  std::puts(
      fmt::format("ternary weights: {} in {} BitLinear layers, {:.1f}% zeros, {:.2f} bits each",
                  weights, layers.size(),
                  100.0 * static_cast<double>(zeros) / std::max<int64_t>(weights, 1), bits)
          .c_str());
  std::puts(fmt::format("resident weights: {:.2f} MB (f32 model: {:.2f} MB, ratio 1/{:.1f})",
                        resident / 1e6, source_bytes / 1e6,
                        static_cast<double>(source_bytes) /
                            static_cast<double>(std::max<int64_t>(resident, 1)))
                .c_str());
}

std::vector<nn::TernaryBenchShape> parse_shapes(const std::vector<std::string>& texts) {
  std::vector<nn::TernaryBenchShape> shapes;
  for (const std::string& text : texts) {
    long long rows = 0, cols = 0;
    char extra = 0;
    TESSERA_CHECK_INPUT(std::sscanf(text.c_str(), "%lldx%lld%c", &rows, &cols, &extra) == 2 &&
                            rows > 0 && cols > 0 && rows <= (1 << 20) && cols <= (1 << 20),
                        "--shape \"{}\": expected OUTxIN, e.g. 2048x5632", text);
    shapes.push_back({rows, cols});
  }
  return shapes;
}

void print_bench(const std::vector<nn::TernaryBenchRow>& rows, bool json) {
  if (json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& r : rows) {
      arr.push_back({{"kernel", r.kernel},
                     {"shape", fmt::format("{}x{}", r.rows, r.cols)},
                     {"batch", r.batch},
                     {"seconds", r.seconds},
                     {"baseline", r.baseline_name},
                     {"baseline_seconds", r.baseline_seconds},
                     {"speedup", r.speedup()},
                     {"weight_bytes", r.weight_bytes},
                     {"baseline_weight_bytes", r.baseline_weight_bytes},
                     {"threads", num_threads()}});
    }
    std::puts(arr.dump(2).c_str());
    return;
  }
  std::puts(fmt::format("{:<9} {:>10} {:>5} {:>11} {:>9} {:>11} {:>8} {:>9}", "kernel", "out x in",
                        "batch", "tessera us", "baseline", "base us", "speedup", "weights")
                .c_str());
  for (const auto& r : rows) {
    std::puts(fmt::format("{:<9} {:>10} {:>5} {:>11.1f} {:>9} {:>11.1f} {:>7.2f}x {:>8.2f}MB",
                          r.kernel, fmt::format("{}x{}", r.rows, r.cols), r.batch, r.seconds * 1e6,
                          r.baseline_name, r.baseline_seconds * 1e6, r.speedup(),
                          r.weight_bytes / 1e6)
                  .c_str());
  }
  std::puts(
      fmt::format("threads: {}; median of the repeats; speedup = baseline time / tessera time "
                  "(ours includes int8 activation quantization and rescaling)",
                  num_threads())
          .c_str());
}

}  // namespace

void add_quantize_commands(CLI::App& app) {
  struct QuantizeOptions {
    std::string model, out, packing = "2bit", embeddings = "bf16";
    bool json = false;
  };
  auto q = std::make_shared<QuantizeOptions>();
  auto* cmd = app.add_subcommand(
      "quantize", "Pack an HGRN-Bit model's BitLinear weights to ternary codes (2-bit or base-3)");
  cmd->add_option("--model", q->model, "model folder (hgrn_bit)")->required();
  cmd->add_option("--out", q->out, "output folder")->required();
  cmd->add_option("--packing", q->packing, "2bit (4 weights/byte) or base3 (5 weights/byte)")
      ->check(CLI::IsMember({"2bit", "base3"}));
  cmd->add_option("--embeddings", q->embeddings,
                  "embedding table: bf16 (lossless for bf16 releases) or int8 (per-row absmax)")
      ->check(CLI::IsMember({"bf16", "int8"}));
  cmd->add_flag("--json", q->json, "machine-readable statistics");
  cmd->callback([q] {
    run_quantize(q->model, q->out, q->packing, q->embeddings, q->json || global_options().json);
  });

  CLI::App* bench = nullptr;
  try {
    bench = app.get_subcommand("bench");
  } catch (const CLI::OptionNotFound&) {
    bench = app.add_subcommand("bench", "Micro-benchmarks against raw baselines");
  }
  struct BenchOptions {
    int repeats = 7;
    std::vector<std::string> shapes = {"2048x2048", "5632x2048", "2048x5632"};
    std::vector<int64_t> batches = {1, 8};
    bool json = false;
  };
  auto b = std::make_shared<BenchOptions>();
  auto* ternary = bench->add_subcommand(
      "ternary", "Packed ternary products vs OpenBLAS sgemv/sgemm (same shapes)");
  ternary->add_option("--repeats", b->repeats, "timed runs per row (median)")
      ->check(CLI::PositiveNumber);
  ternary->add_option("--shape", b->shapes, "weight shapes OUTxIN (repeatable)");
  ternary->add_option("--batch", b->batches, "tokens per product (repeatable)")
      ->check(CLI::Range(1, 4096));
  ternary->add_flag("--json", b->json, "machine-readable output");
  ternary->callback([b] {
    print_bench(nn::bench_ternary(b->repeats, parse_shapes(b->shapes), b->batches),
                b->json || global_options().json);
  });
}

}  // namespace tessera::cli
