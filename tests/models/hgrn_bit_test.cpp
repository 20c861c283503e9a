// HGRN-Bit: released config keys and tensor names, a released-style bf16 folder loading,
// save/load round trips, decoding equal to the full forward, training that lowers the loss
// with gradients reaching every parameter, and the quantized (packed) folder loading through
// load_model and agreeing with the latent model.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "tessera/core/autograd.h"
#include "tessera/core/io/safetensors.h"
#include "tessera/core/optim.h"
#include "tessera/models/hgrn_bit.h"
#include "tessera/models/presets.h"

namespace tessera::models {
namespace {

namespace fs = std::filesystem;

nlohmann::json small_config() {
  // The released layout (ridger/MMfreeLM-*) in miniature: same keys, intermediate_size null.
  return {{"model_type", "hgrn_bit"},
          {"vocab_size", 61},
          {"hidden_size", 32},
          {"num_hidden_layers", 2},
          {"attn_mode", "fused_recurrent"},
          {"num_heads", 1},
          {"expand_ratio", 1},
          {"use_short_conv", false},
          {"conv_size", 4},
          {"share_conv_kernel", true},
          {"use_lower_bound", true},
          {"hidden_ratio", 4},
          {"intermediate_size", nullptr},
          {"hidden_act", "swish"},
          {"max_position_embeddings", 2048},
          {"rms_norm_eps", 1e-6},
          {"use_cache", true},
          {"pad_token_id", nullptr},
          {"bos_token_id", 1},
          {"eos_token_id", 2},
          {"tie_word_embeddings", false},
          {"initializer_range", 0.02},
          {"fuse_cross_entropy", true},
          {"transformers_version", "4.40.0"}};
}

fs::path temp_dir(const std::string& name) {
  fs::path p =
      fs::temp_directory_path() / ("tessera_hgrn_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

Tensor ids_of(std::vector<int64_t> v, int64_t B) {
  const int64_t T = static_cast<int64_t>(v.size()) / B;
  return Tensor::from_vector<int64_t>(v, {B, T});
}

void expect_close(const Tensor& a, const Tensor& b, double tol) {
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  ASSERT_EQ(va.size(), vb.size());
  double worst = 0;
  for (size_t k = 0; k < va.size(); ++k)
    worst = std::max(worst, std::abs(va[k] - vb[k]) / (1 + std::abs(vb[k])));
  EXPECT_LT(worst, tol);
}

TEST(HgrnBit, ReleasedTensorNamesAndShapes) {
  auto model = create_model(small_config(), 1);
  std::map<std::string, Shape> shapes;
  for (auto& [name, t] : model->parameters()) shapes[name] = t->shape();
  // 32 * 4 * 2 / 3 = 85 -> 256 (upstream's rounding to a multiple of 256).
  EXPECT_EQ(shapes.at("model.layers.1.mlp.gate_proj.weight"), (Shape{512, 32}));
  EXPECT_EQ(shapes.at("model.layers.1.mlp.down_proj.weight"), (Shape{32, 256}));
  EXPECT_EQ(shapes.at("model.layers.0.attn.i_proj.norm.weight"), (Shape{32}));
  EXPECT_EQ(shapes.at("model.layers.0.attn.g_norm.weight"), (Shape{32}));
  EXPECT_EQ(shapes.at("model.lower_bounds"), (Shape{2, 32}));
  EXPECT_EQ(shapes.at("lm_head.weight"), (Shape{61, 32}));
  EXPECT_EQ(shapes.at("lm_head.norm.weight"), (Shape{32}));
  for (const char* name :
       {"model.embeddings.weight", "model.norm.weight", "model.layers.0.attn_norm.weight",
        "model.layers.0.mlp_norm.weight", "model.layers.0.attn.f_proj.weight",
        "model.layers.0.attn.g_proj.weight", "model.layers.0.attn.o_proj.weight"}) {
    EXPECT_TRUE(shapes.count(name)) << name;
  }
  EXPECT_EQ(shapes.size(), 5u + 2u * 15u);  // 5 top-level, 15 per block
}

TEST(HgrnBit, ReleasedBf16FolderLoadsAndSavesRoundTrip) {
  auto model = create_model(small_config(), 2);
  fs::path dir = temp_dir("released");
  fs::create_directories(dir);
  io::NamedTensors tensors;
  for (auto& [name, t] : model->parameters()) tensors.emplace_back(name, t->to(DType::bf16));
  io::save_safetensors((dir / "model.safetensors").string(), tensors, {{"format", "pt"}});
  write_json_file((dir / "config.json").string(), small_config());
  auto loaded = load_model(dir.string());
  Tensor ids = ids_of({3, 7, 11, 5, 9, 2, 60, 0}, 2);
  Tensor logits = loaded->forward(ids);
  EXPECT_EQ(logits.shape(), (Shape{2, 4, 61}));
  fs::path again = temp_dir("resaved");
  save_model(*loaded, again.string());
  expect_close(load_model(again.string())->forward(ids), logits, 1e-6);
  fs::remove_all(dir);
  fs::remove_all(again);
}

TEST(HgrnBit, DecodingEqualsFullForward) {
  auto model = create_model(small_config(), 3);
  nn::set_requires_grad(model->parameters(), false);
  Tensor ids = ids_of({3, 7, 11, 5, 9, 2, 4, 8, 1, 0, 33, 12}, 2);
  Tensor full = model->forward(ids);
  auto s0 = model->new_state(), s1 = model->new_state();
  std::vector<DecodeState*> states = {s0.get(), s1.get()};
  Tensor prefill = model->forward_step(ids.narrow(1, 0, 3), states);
  expect_close(prefill, full.select(1, 2), 1e-4);
  for (int64_t t = 3; t < 6; ++t) {
    Tensor step = model->forward_step(ids.narrow(1, t, 1).contiguous(), states);
    expect_close(step, full.select(1, t), 1e-4);
  }
  EXPECT_EQ(s0->length(), 6);
}

TEST(HgrnBit, TrainingLowersTheLossAndReachesEveryParameter) {
  nlohmann::json config = preset_config("hgrn_bit", "tiny");
  config["vocab_size"] = 40;
  config["max_position_embeddings"] = 64;
  auto model = create_model(config, 4);
  std::vector<NamedParameter> params;
  for (auto& [name, t] : model->parameters()) {
    t->requires_grad_(true);
    params.push_back({name, *t});
  }
  AdamW opt(params);
  std::vector<int64_t> seq;
  for (int i = 0; i < 33; ++i) seq.push_back((i * 7) % 13);
  Tensor all = Tensor::from_vector<int64_t>(seq, {1, 33});
  Tensor inputs = all.narrow(1, 0, 32).contiguous(), targets = all.narrow(1, 1, 32).reshape({32});
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    opt.zero_grad();
    Tensor loss = cross_entropy(model->forward(inputs).reshape({32, 40}), targets);
    loss.backward();
    if (step == 0) {
      for (auto& [name, t] : model->parameters()) {
        ASSERT_TRUE(t->grad().defined()) << name;
        double norm = 0;
        for (double g : t->grad().to_vector<double>()) norm += g * g;
        EXPECT_GT(norm, 0.0) << name;
      }
      first = loss.item<double>();
    }
    last = loss.item<double>();
    opt.step(3e-3);
  }
  EXPECT_LT(last, first * 0.6) << first << " -> " << last;
}

TEST(HgrnBit, QuantizedFolderLoadsAndMatchesTheLatentModel) {
  auto model = create_model(small_config(), 5);
  nn::set_requires_grad(model->parameters(), false);
  auto* hgrn = dynamic_cast<HgrnBitModel*>(model.get());
  ASSERT_NE(hgrn, nullptr);
  Tensor ids = ids_of({3, 7, 11, 5, 9, 2, 4, 8}, 1);
  Tensor latent = model->forward(ids);
  const int64_t latent_bytes = model->resident_weight_bytes();
  struct Variant {
    nn::TernaryPacking packing;
    const char* embeddings;
  };
  for (Variant v :
       {Variant{nn::TernaryPacking::two_bit, "bf16"}, Variant{nn::TernaryPacking::base3, "bf16"},
        Variant{nn::TernaryPacking::two_bit, "int8"}}) {
    const auto packing = v.packing;
    fs::path dir =
        temp_dir(std::string("quantized_") + nn::ternary_packing_name(packing) + v.embeddings);
    auto q = hgrn->quantized(packing, v.embeddings);
    save_model(*q, dir.string());
    auto loaded = load_model(dir.string());
    auto* packed = dynamic_cast<HgrnBitModel*>(loaded.get());
    ASSERT_NE(packed, nullptr);
    EXPECT_TRUE(packed->is_packed());
    // Same integers; only the bf16 embeddings and float rounding differ.
    expect_close(loaded->forward(ids), latent, 2e-2);
    auto state = loaded->new_state();
    std::vector<DecodeState*> states = {state.get()};
    expect_close(loaded->forward_step(ids, states), loaded->forward(ids).select(1, 7), 1e-4);
    EXPECT_LT(loaded->resident_weight_bytes() * 6, latent_bytes);
    // Re-exporting a packed model keeps every stored scale.
    auto twice = packed->quantized(nn::TernaryPacking::two_bit);
    auto a = q->bit_linears(), b = twice->bit_linears();
    for (size_t k = 0; k < a.size(); ++k) {
      EXPECT_EQ(a[k].second->weight_scale.item<float>(), b[k].second->weight_scale.item<float>());
    }
    fs::remove_all(dir);
  }
}

TEST(HgrnBit, ConfigErrorsAreClear) {
  auto bad = [](const char* key, nlohmann::json value) {
    nlohmann::json c = small_config();
    c[key] = value;
    return c;
  };
  EXPECT_THROW(create_model(bad("use_short_conv", true)), Error);
  EXPECT_THROW(create_model(bad("expand_ratio", 2)), Error);
  EXPECT_THROW(create_model(bad("tie_word_embeddings", true)), Error);
  EXPECT_THROW(create_model(bad("hidden_act", "gelu")), Error);
  EXPECT_THROW(create_model(bad("num_heads", 5)), Error);
  EXPECT_THROW(create_model(bad("quantization_config", nlohmann::json{{"quant_method", "gptq"}})),
               Error);
  auto model = create_model(small_config(), 1);
  EXPECT_THROW(model->forward(Tensor::from_vector<int64_t>({1, 2, 3}, {3})), Error);
}

TEST(HgrnBit, CorruptPackedCodesAreRejected) {
  auto model = create_model(small_config(), 6);
  auto q = dynamic_cast<HgrnBitModel*>(model.get())->quantized(nn::TernaryPacking::two_bit);
  for (auto& [name, t] : q->parameters()) {
    if (name == "lm_head.weight_packed") t->data<uint8_t>()[0] = 0xff;  // code 3
  }
  EXPECT_THROW(q->forward(ids_of({1, 2}, 1)), Error);
}

}  // namespace
}  // namespace tessera::models
