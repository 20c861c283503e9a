// Mamba2ForCausalLM against an independent naive f64 implementation written here (token by
// token, from the definitions), checkpoint round trips in the transformers layout, decoding with
// states, a few training steps, and bad-input errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include <unistd.h>

#include "../core/torch_save_writer.h"
#include "tessera/core/autograd.h"
#include "tessera/core/io/safetensors.h"
#include "tessera/models/mamba2.h"
#include "tessera/models/mamba2_original.h"
#include "tessera/models/presets.h"

namespace tessera::models {
namespace {

namespace fs = std::filesystem;

nlohmann::json small_config(bool tied) {
  return {{"model_type", "mamba2"},
          {"vocab_size", 29},
          {"hidden_size", 8},
          {"num_hidden_layers", 2},
          {"expand", 2},
          {"num_heads", 4},
          {"head_dim", 4},
          {"state_size", 5},
          {"n_groups", 2},
          {"conv_kernel", 3},
          {"chunk_size", 4},
          {"layer_norm_epsilon", 1e-5},
          {"tie_word_embeddings", tied},
          {"initializer_range", 0.3},
          {"bos_token_id", 0},
          {"eos_token_id", 1}};
}

using Weights = std::map<std::string, std::vector<double>>;

Weights weights_of(CausalLM& model) {
  Weights w;
  for (auto& [name, t] : model.parameters()) w[name] = t->to_vector<double>();
  return w;
}

std::vector<double> matvec(const std::vector<double>& W, const std::vector<double>& x,
                           int64_t out) {
  const int64_t in = static_cast<int64_t>(x.size());
  std::vector<double> y(out, 0.0);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) y[o] += W[o * in + i] * x[i];
  return y;
}

std::vector<double> rmsnorm(const std::vector<double>& x, const std::vector<double>& w,
                            double eps) {
  double ms = 0;
  for (double v : x) ms += v * v;
  ms /= x.size();
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] / std::sqrt(ms + eps) * w[i];
  return y;
}

double silu(double v) {
  return v / (1 + std::exp(-v));
}

// Logits [T][V] of one sequence, token by token with the recurrence, as mamba_ssm's step().
std::vector<std::vector<double>> naive_logits(const nlohmann::json& c, Weights& w,
                                              const std::vector<int64_t>& ids) {
  const int64_t d = c["hidden_size"], H = c["num_heads"], P = c["head_dim"], N = c["state_size"];
  const int64_t G = c["n_groups"], K = c["conv_kernel"], V = c["vocab_size"],
                layers = c["num_hidden_layers"];
  const int64_t inner = H * P, conv_dim = inner + 2 * G * N, proj = 2 * inner + 2 * G * N + H;
  const double eps = c["layer_norm_epsilon"];
  std::vector<std::vector<std::vector<double>>> conv_hist(layers);  // inputs seen so far
  std::vector<std::vector<double>> ssm(layers, std::vector<double>(H * P * N, 0.0));
  std::vector<std::vector<double>> out;
  const auto& emb = w["backbone.embeddings.weight"];
  for (int64_t id : ids) {
    std::vector<double> x(emb.begin() + id * d, emb.begin() + (id + 1) * d);
    for (int64_t l = 0; l < layers; ++l) {
      const std::string p = "backbone.layers." + std::to_string(l) + ".";
      std::vector<double> u = rmsnorm(x, w[p + "norm.weight"], eps);
      std::vector<double> zxbcdt = matvec(w[p + "mixer.in_proj.weight"], u, proj);
      std::vector<double> xbc(zxbcdt.begin() + inner, zxbcdt.begin() + inner + conv_dim);
      conv_hist[l].push_back(xbc);
      const auto& cw = w[p + "mixer.conv1d.weight"];
      const auto& cb = w[p + "mixer.conv1d.bias"];
      std::vector<double> conv(conv_dim);
      const int64_t T = static_cast<int64_t>(conv_hist[l].size());
      for (int64_t ch = 0; ch < conv_dim; ++ch) {
        double acc = cb[ch];
        for (int64_t k = 0; k < K; ++k) {
          const int64_t src = T - K + k;
          if (src >= 0) acc += cw[ch * K + k] * conv_hist[l][src][ch];
        }
        conv[ch] = silu(acc);
      }
      std::vector<double> y(inner);
      for (int64_t h = 0; h < H; ++h) {
        const int64_t g = h / (H / G);
        const double dt =
            std::log1p(std::exp(zxbcdt[2 * inner + 2 * G * N + h] + w[p + "mixer.dt_bias"][h]));
        const double A = -std::exp(w[p + "mixer.A_log"][h]);
        for (int64_t pp = 0; pp < P; ++pp) {
          const double xv = conv[h * P + pp];
          double acc = w[p + "mixer.D"][h] * xv;
          for (int64_t n = 0; n < N; ++n) {
            double& s = ssm[l][(h * P + pp) * N + n];
            s = std::exp(dt * A) * s + dt * xv * conv[inner + g * N + n];
            acc += s * conv[inner + G * N + g * N + n];
          }
          y[h * P + pp] = acc;
        }
      }
      // Gated RMSNorm within each group of inner / G channels.
      const int64_t gs = inner / G;
      std::vector<double> normed(inner);
      for (int64_t g = 0; g < G; ++g) {
        double ms = 0;
        for (int64_t i = g * gs; i < (g + 1) * gs; ++i) {
          y[i] *= silu(zxbcdt[i]);
          ms += y[i] * y[i];
        }
        ms /= gs;
        for (int64_t i = g * gs; i < (g + 1) * gs; ++i)
          normed[i] = y[i] / std::sqrt(ms + eps) * w[p + "mixer.norm.weight"][i];
      }
      std::vector<double> o = matvec(w[p + "mixer.out_proj.weight"], normed, d);
      for (int64_t i = 0; i < d; ++i) x[i] += o[i];
    }
    std::vector<double> h = rmsnorm(x, w["backbone.norm_f.weight"], eps);
    out.push_back(matvec(w.count("lm_head.weight") ? w["lm_head.weight"] : emb, h, V));
  }
  return out;
}

Tensor ids_tensor(const std::vector<std::vector<int64_t>>& rows) {
  std::vector<int64_t> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return Tensor::from_vector(
      flat, {static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())});
}

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("tessera_mamba2_" + std::to_string(::getpid()) + "_" +
                                        std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

TEST(Mamba2Model, MatchesNaiveRecurrenceForBothHeads) {
  NoGrad no_grad;
  for (bool tied : {true, false}) {
    nlohmann::json c = small_config(tied);
    auto model = create_model(c, 3);
    Weights w = weights_of(*model);
    EXPECT_EQ(w.count("lm_head.weight"), tied ? 0u : 1u);
    std::vector<std::vector<int64_t>> rows = {{3, 7, 1, 28, 5, 5, 0, 12, 9, 4, 2},
                                              {8, 8, 2, 19, 6, 1, 0, 3, 3, 27, 11}};
    Tensor logits = model->forward(ids_tensor(rows));
    ASSERT_EQ(logits.shape(), (Shape{2, 11, 29}));
    for (int64_t b = 0; b < 2; ++b) {
      auto ref = naive_logits(c, w, rows[b]);
      for (int64_t t = 0; t < 11; ++t)
        for (int64_t v = 0; v < 29; ++v)
          ASSERT_NEAR(logits.at({b, t, v}), ref[t][v], 1e-4)
              << "b " << b << " t " << t << " v " << v;
    }
  }
}

TEST(Mamba2Model, DecodingWithStatesMatchesForward) {
  NoGrad no_grad;
  auto model = create_model(small_config(true), 4);
  std::vector<std::vector<int64_t>> rows = {{3, 7, 1, 28, 5, 5, 0, 12, 9},
                                            {8, 8, 2, 19, 6, 1, 0, 3, 3}};
  Tensor full = model->forward(ids_tensor(rows));
  auto s0 = model->new_state(), s1 = model->new_state();
  Tensor prefill =
      model->forward_step(ids_tensor({{3, 7, 1, 28, 5}, {8, 8, 2, 19, 6}}), {s0.get(), s1.get()});
  for (int64_t v = 0; v < 29; ++v) EXPECT_NEAR(prefill.at({1, v}), full.at({1, 4, v}), 1e-4);
  for (int64_t t = 5; t < 9; ++t) {
    Tensor step =
        model->forward_step(ids_tensor({{rows[0][t]}, {rows[1][t]}}), {s0.get(), s1.get()});
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t v = 0; v < 29; ++v) ASSERT_NEAR(step.at({b, v}), full.at({b, t, v}), 1e-4);
  }
  EXPECT_EQ(s0->length(), 9);
}

TEST(Mamba2Model, SaveLoadRoundTripInTransformersLayout) {
  NoGrad no_grad;
  TempDir dir;
  auto model = create_model(small_config(false), 5);
  save_model(*model, dir.path.string());
  nlohmann::json saved = read_json_file((dir.path / "config.json").string());
  EXPECT_EQ(saved["model_type"], "mamba2");
  EXPECT_EQ(saved["architectures"][0], "Mamba2ForCausalLM");
  auto tensors = io::SafetensorsFile::open((dir.path / "model.safetensors").string());
  EXPECT_TRUE(tensors.has("backbone.layers.1.mixer.conv1d.weight"));
  EXPECT_EQ(tensors.info("backbone.layers.1.mixer.conv1d.weight").shape,
            (Shape{36, 1, 3}));  // conv_dim = inner 16 + 2 groups x state 5 x 2
  auto loaded = load_model(dir.path.string());
  Tensor ids = ids_tensor({{1, 2, 3, 4, 5, 6}});
  Tensor a = model->forward(ids), b = loaded->forward(ids);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
}

// The original state-spaces layout: mamba_ssm config keys (vocab padded to a multiple of 8),
// a torch.save pytorch_model.bin with backbone.embedding.* and the tied lm_head copy.
TEST(Mamba2Model, LoadsTheOriginalStateSpacesLayout) {
  NoGrad no_grad;
  nlohmann::json hf = small_config(true);
  hf["vocab_size"] = 32;
  auto source = create_model(hf, 8);
  const nlohmann::json original = {{"d_model", 8},
                                   {"d_intermediate", 0},
                                   {"n_layer", 2},
                                   {"vocab_size", 29},
                                   {"ssm_cfg",
                                    {{"layer", "Mamba2"},
                                     {"d_state", 5},
                                     {"d_conv", 3},
                                     {"expand", 2},
                                     {"headdim", 4},
                                     {"ngroups", 2},
                                     {"chunk_size", 4}}},
                                   {"attn_layer_idx", nlohmann::json::array()},
                                   {"rms_norm", true},
                                   {"residual_in_fp32", true},
                                   {"fused_add_norm", true},
                                   {"pad_vocab_size_multiple", 8},
                                   {"tie_embeddings", true}};
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (auto& [name, t] : source->parameters()) {
    std::string stored = name == "backbone.embeddings.weight" ? "backbone.embedding.weight" : name;
    tensors.emplace_back(
        stored, name.find("norm") != std::string::npos ? t->to(DType::bf16).to(DType::f32) : *t);
    if (name == "backbone.embeddings.weight") tensors.emplace_back("lm_head.weight", *t);
  }
  TempDir dir;
  write_json_file((dir.path / "config.json").string(), original);
  tessera::testing::write_torch_checkpoint((dir.path / "pytorch_model.bin").string(), tensors);
  auto loaded = load_model(dir.path.string());
  EXPECT_EQ(loaded->model_type(), "mamba2");
  EXPECT_EQ(loaded->vocab_size(), 32);
  Tensor ids = ids_tensor({{1, 2, 3, 4, 5, 6, 28}});
  Tensor a = source->forward(ids), b = loaded->forward(ids);
  auto av = a.to_vector<float>(), bv = b.to_vector<float>();
  for (size_t i = 0; i < av.size(); ++i)
    ASSERT_NEAR(av[i], bv[i], 1e-3) << i;  // norms went through bf16

  // The same weights with a mis-shaped tensor: the error names it.
  tensors[3].second = Tensor::zeros({3, 3});
  tessera::testing::write_torch_checkpoint((dir.path / "pytorch_model.bin").string(), tensors);
  try {
    load_model(dir.path.string());
    FAIL() << "accepted a mis-shaped tensor";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(tensors[3].first), std::string::npos) << e.what();
  }
  nlohmann::json mamba1 = original;
  mamba1["ssm_cfg"]["layer"] = "Mamba1";
  EXPECT_THROW(mamba2_config_from_original(mamba1), Error);
}

TEST(Mamba2Model, BadConfigsAndCheckpointsNameTheProblem) {
  nlohmann::json c = small_config(true);
  c["num_heads"] = 3;
  EXPECT_THROW(create_model(c), Error);
  c = small_config(true);
  c["n_groups"] = 3;
  EXPECT_THROW(create_model(c), Error);
  TempDir dir;
  NoGrad no_grad;
  auto model = create_model(small_config(true), 5);
  save_model(*model, dir.path.string());
  nlohmann::json other = small_config(true);
  other["state_size"] = 6;
  write_json_file((dir.path / "config.json").string(), other);
  try {
    load_model(dir.path.string());
    FAIL() << "loaded a checkpoint whose shapes disagree with config.json";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("backbone.layers.0.mixer.in_proj.weight"),
              std::string::npos)
        << e.what();
  }
}

TEST(Mamba2Model, PresetsBuildAndAFewStepsLowerTheLoss) {
  nlohmann::json preset = preset_config("mamba2", "tiny");
  preset["vocab_size"] = 50;
  auto tiny = create_model(preset, 1);
  int64_t count = 0;
  for (auto& [name, t] : tiny->parameters())
    if (name != "backbone.embeddings.weight") count += t->numel();
  EXPECT_GT(count, 700000);
  EXPECT_LT(count, 900000);

  auto model = create_model(small_config(true), 6);
  auto params = model->parameters();
  nn::set_requires_grad(params, true);
  Tensor ids = ids_tensor({{1, 5, 9, 13, 17, 21, 25, 2, 6, 10}});
  Tensor inputs = ids.narrow(1, 0, 9).contiguous(),
         targets = ids.narrow(1, 1, 9).contiguous().reshape({9});
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    Tensor loss = cross_entropy(model->forward(inputs).reshape({9, 29}), targets);
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
    for (auto& [name, t] : params) t->zero_grad();
    loss.backward();
    NoGrad no_grad;
    for (auto& [name, t] : params) {
      Tensor g = t->grad();
      ASSERT_TRUE(g.defined()) << name << " got no gradient";
      add_(*t, mul(g, -0.1));
    }
  }
  EXPECT_LT(last, first * 0.5) << first << " -> " << last;
}

}  // namespace
}  // namespace tessera::models
