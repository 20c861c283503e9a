// The Llama model against an independent naive f64 implementation written here, plus
// checkpoint round trips, decoding with the cache, and bad-input errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include <unistd.h>

#include "tessera/core/io/safetensors.h"
#include "tessera/models/llama.h"

namespace tessera::models {
namespace {

namespace fs = std::filesystem;

nlohmann::json small_config(bool tied, bool llama3) {
  nlohmann::json c = {{"model_type", "llama"},       {"vocab_size", 37},
                      {"hidden_size", 16},           {"intermediate_size", 24},
                      {"num_hidden_layers", 2},      {"num_attention_heads", 4},
                      {"num_key_value_heads", 2},    {"max_position_embeddings", 64},
                      {"rms_norm_eps", 1e-5},        {"rope_theta", 1000.0},
                      {"tie_word_embeddings", tied}, {"initializer_range", 0.2},
                      {"bos_token_id", 1},           {"eos_token_id", 2}};
  if (llama3) {
    c["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 16}};
  }
  return c;
}

using Weights = std::map<std::string, std::vector<double>>;

Weights weights_of(CausalLM& model) {
  Weights w;
  for (auto& [name, t] : model.parameters()) w[name] = t->to_vector<double>();
  return w;
}

// y[out] = W[out, in] x[in]
std::vector<double> matvec(const std::vector<double>& W, const std::vector<double>& x, int64_t out) {
  int64_t in = static_cast<int64_t>(x.size());
  std::vector<double> y(out, 0.0);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) y[o] += W[o * in + i] * x[i];
  return y;
}

std::vector<double> rmsnorm(const std::vector<double>& x, const std::vector<double>& w, double eps) {
  double ms = 0;
  for (double v : x) ms += v * v;
  ms /= x.size();
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] / std::sqrt(ms + eps) * w[i];
  return y;
}

// Logits [T][V] of LlamaForCausalLM, straight from the definitions.
std::vector<std::vector<double>> naive_logits(const LlamaConfig& c, Weights& w,
                                              const std::vector<int64_t>& ids) {
  const int64_t T = ids.size(), d = c.hidden_size, H = c.num_attention_heads,
                Hkv = c.num_key_value_heads, hd = c.effective_head_dim();
  std::vector<double> inv = nn::rope_inverse_frequencies(hd, c.rope).to_vector<double>();
  auto rotate = [&](std::vector<double>& v, int64_t heads, int64_t pos) {
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < hd / 2; ++i) {
        double a = v[h * hd + i], b = v[h * hd + i + hd / 2], ang = pos * inv[i];
        v[h * hd + i] = a * std::cos(ang) - b * std::sin(ang);
        v[h * hd + i + hd / 2] = b * std::cos(ang) + a * std::sin(ang);
      }
  };
  std::vector<std::vector<double>> x(T);
  for (int64_t t = 0; t < T; ++t)
    x[t].assign(w["model.embed_tokens.weight"].begin() + ids[t] * d,
                w["model.embed_tokens.weight"].begin() + (ids[t] + 1) * d);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    std::vector<std::vector<double>> q(T), k(T), v(T);
    for (int64_t t = 0; t < T; ++t) {
      auto h = rmsnorm(x[t], w[p + "input_layernorm.weight"], c.rms_norm_eps);
      q[t] = matvec(w[p + "self_attn.q_proj.weight"], h, H * hd);
      k[t] = matvec(w[p + "self_attn.k_proj.weight"], h, Hkv * hd);
      v[t] = matvec(w[p + "self_attn.v_proj.weight"], h, Hkv * hd);
      rotate(q[t], H, t);
      rotate(k[t], Hkv, t);
    }
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> att(H * hd, 0.0);
      for (int64_t h = 0; h < H; ++h) {
        int64_t g = h / (H / Hkv);
        std::vector<double> s(t + 1);
        double mx = -1e300, z = 0;
        for (int64_t j = 0; j <= t; ++j) {
          s[j] = 0;
          for (int64_t e = 0; e < hd; ++e) s[j] += q[t][h * hd + e] * k[j][g * hd + e];
          s[j] /= std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, s[j]);
        }
        for (double& sj : s) z += (sj = std::exp(sj - mx));
        for (int64_t j = 0; j <= t; ++j)
          for (int64_t e = 0; e < hd; ++e) att[h * hd + e] += s[j] / z * v[j][g * hd + e];
      }
      auto o = matvec(w[p + "self_attn.o_proj.weight"], att, d);
      for (int64_t i = 0; i < d; ++i) x[t][i] += o[i];
      auto h2 = rmsnorm(x[t], w[p + "post_attention_layernorm.weight"], c.rms_norm_eps);
      auto gate = matvec(w[p + "mlp.gate_proj.weight"], h2, c.intermediate_size);
      auto up = matvec(w[p + "mlp.up_proj.weight"], h2, c.intermediate_size);
      for (int64_t i = 0; i < c.intermediate_size; ++i) gate[i] = gate[i] / (1 + std::exp(-gate[i])) * up[i];
      auto down = matvec(w[p + "mlp.down_proj.weight"], gate, d);
      for (int64_t i = 0; i < d; ++i) x[t][i] += down[i];
    }
  }
  std::vector<std::vector<double>> logits(T);
  const auto& head = c.tie_word_embeddings ? w["model.embed_tokens.weight"] : w["lm_head.weight"];
  for (int64_t t = 0; t < T; ++t) logits[t] = matvec(head, rmsnorm(x[t], w["model.norm.weight"], c.rms_norm_eps), c.vocab_size);
  return logits;
}

void expect_logits_match(CausalLM& model, const LlamaConfig& c, Weights w, double tol) {
  std::vector<int64_t> ids = {1, 5, 36, 7, 7, 0, 12};
  Tensor logits = model.forward(Tensor::from_vector(ids, {1, 7}));
  auto ref = naive_logits(c, w, ids);
  for (int64_t t = 0; t < 7; ++t)
    for (int64_t v = 0; v < c.vocab_size; ++v) ASSERT_NEAR(logits.at({0, t, v}), ref[t][v], tol) << t << "," << v;
}

class LlamaVariants : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(LlamaVariants, LogitsMatchNaiveImplementation) {
  auto [tied, llama3] = GetParam();
  auto model = create_model(small_config(tied, llama3), 7);
  LlamaConfig c = LlamaConfig::from_json(small_config(tied, llama3));
  expect_logits_match(*model, c, weights_of(*model), 2e-5);
}

INSTANTIATE_TEST_SUITE_P(TiedAndRope, LlamaVariants,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()));

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("tessera_llama_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

TEST(Llama, SaveLoadRoundTripKeepsLogits) {
  auto model = create_model(small_config(false, true), 3);
  fs::path dir = temp_dir("roundtrip");
  save_model(*model, dir.string());
  auto loaded = load_model(dir.string());
  Tensor ids = Tensor::from_vector<int64_t>({3, 4, 5}, {1, 3});
  EXPECT_EQ(model->forward(ids).to_vector<float>(), loaded->forward(ids).to_vector<float>());
  EXPECT_EQ(loaded->config_json()["rope_scaling"]["rope_type"], "llama3");
  fs::remove_all(dir);
}

TEST(Llama, Bf16CheckpointLoadsAsF32) {
  auto model = create_model(small_config(true, false), 4);
  fs::path dir = temp_dir("bf16");
  fs::create_directories(dir);
  io::NamedTensors tensors;
  for (auto& [name, t] : model->parameters()) tensors.emplace_back(name, t->to(DType::bf16));
  io::save_safetensors((dir / "model.safetensors").string(), tensors);
  write_json_file((dir / "config.json").string(), small_config(true, false));
  auto loaded = load_model(dir.string());
  Weights w;
  for (auto& [name, t] : tensors) w[name] = t.to(DType::f32).to_vector<double>();
  expect_logits_match(*loaded, LlamaConfig::from_json(small_config(true, false)), w, 2e-5);
  fs::remove_all(dir);
}

TEST(Llama, ShapeMismatchNamesTheTensor) {
  auto model = create_model(small_config(false, false), 5);
  fs::path dir = temp_dir("mismatch");
  save_model(*model, dir.string());
  nlohmann::json wrong = small_config(false, false);
  wrong["intermediate_size"] = 20;
  write_json_file((dir / "config.json").string(), wrong);
  try {
    load_model(dir.string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput);
    EXPECT_NE(std::string(e.what()).find("model.layers.0.mlp.gate_proj.weight has shape [24, 16]"),
              std::string::npos)
        << e.what();
  }
  fs::remove_all(dir);
}

TEST(Llama, ConfigErrorsAreClear) {
  nlohmann::json c = small_config(false, false);
  c.erase("hidden_size");
  EXPECT_THROW(create_model(c), Error);
  c = small_config(false, false);
  c["model_type"] = "gpt9";
  try {
    create_model(c);
    FAIL();
  } catch (const Error& e) {
    // The message lists every registered architecture, llama among them.
    const std::string message = e.what();
    EXPECT_NE(message.find("\"gpt9\" is not supported (known: "), std::string::npos) << message;
    EXPECT_NE(message.find("llama"), std::string::npos) << message;
  }
}

TEST(Llama, CachedDecodingEqualsFullForward) {
  auto model = create_model(small_config(false, true), 6);
  std::vector<int64_t> ids = {1, 9, 8, 30, 2, 4};
  Tensor full = model->forward(Tensor::from_vector(ids, {1, 6}));
  auto state = model->new_state();
  std::vector<DecodeState*> states{state.get()};
  Tensor prefill = model->forward_step(Tensor::from_vector<int64_t>({1, 9, 8}, {1, 3}), states);
  for (int64_t v = 0; v < 37; ++v) ASSERT_NEAR(prefill.at({0, v}), full.at({0, 2, v}), 1e-5);
  for (int64_t t = 3; t < 6; ++t) {
    Tensor step = model->forward_step(Tensor::from_vector<int64_t>({ids[t]}, {1, 1}), states);
    for (int64_t v = 0; v < 37; ++v) ASSERT_NEAR(step.at({0, v}), full.at({0, t, v}), 1e-5) << t;
  }
  EXPECT_EQ(state->length(), 6);
}

TEST(Llama, BatchedStepsEqualOneByOne) {
  auto model = create_model(small_config(true, false), 8);
  auto a = model->new_state(), b = model->new_state();
  std::vector<DecodeState*> both{a.get(), b.get()};
  // Different prompt lengths: feed the first separately so the caches differ in length.
  std::vector<DecodeState*> only_a{a.get()};
  model->forward_step(Tensor::from_vector<int64_t>({5, 6, 7}, {1, 3}), only_a);
  std::vector<DecodeState*> only_b{b.get()};
  model->forward_step(Tensor::from_vector<int64_t>({9}, {1, 1}), only_b);
  Tensor batched = model->forward_step(Tensor::from_vector<int64_t>({11, 12}, {2, 1}), both);
  Tensor ra = model->forward(Tensor::from_vector<int64_t>({5, 6, 7, 11}, {1, 4}));
  Tensor rb = model->forward(Tensor::from_vector<int64_t>({9, 12}, {1, 2}));
  for (int64_t v = 0; v < 37; ++v) {
    ASSERT_NEAR(batched.at({0, v}), ra.at({0, 3, v}), 1e-5);
    ASSERT_NEAR(batched.at({1, v}), rb.at({0, 1, v}), 1e-5);
  }
}

}  // namespace
}  // namespace tessera::models
