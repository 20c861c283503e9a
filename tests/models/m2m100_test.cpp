// M2M-100 (dense NLLB-200 layout) and NLLB-MoE against an independent naive f64 encoder-decoder
// written here from the upstream definitions, plus padding, incremental decoding, checkpoint
// round trips with tied-name aliases, and bad-input errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include <unistd.h>

#include "../core/torch_save_writer.h"
#include "tessera/core/io/safetensors.h"
#include "tessera/models/m2m100.h"
#include "tessera/models/presets.h"

namespace tessera::models {
namespace {

namespace fs = std::filesystem;

nlohmann::json small_config(bool moe) {
  nlohmann::json c = {{"model_type", moe ? "nllb-moe" : "m2m_100"},
                      {"vocab_size", 41},
                      {"d_model", 16},
                      {"encoder_layers", 2},
                      {"decoder_layers", 2},
                      {"encoder_attention_heads", 4},
                      {"decoder_attention_heads", 2},
                      {"encoder_ffn_dim", 24},
                      {"decoder_ffn_dim", 20},
                      {"max_position_embeddings", 32},
                      {"activation_function", "relu"},
                      {"scale_embedding", true},
                      {"pad_token_id", 1},
                      {"bos_token_id", 0},
                      {"eos_token_id", 2},
                      {"decoder_start_token_id", 2},
                      {"init_std", 0.3}};
  if (moe) {
    c["num_experts"] = 4;
    c["encoder_sparse_step"] = 2;
    c["decoder_sparse_step"] = 1;
    c["moe_token_dropout"] = 0.2;
    c["expert_capacity"] = 8;
  }
  return c;
}

using Weights = std::map<std::string, std::vector<double>>;
using Matrix = std::vector<std::vector<double>>;

struct Naive {
  const M2M100Config& c;
  Weights& w;

  std::vector<double> lin(const std::string& p, const std::vector<double>& x,
                          bool bias = true) const {
    const auto& W = w.at(p + "weight");
    int64_t in = static_cast<int64_t>(x.size()), out = static_cast<int64_t>(W.size()) / in;
    std::vector<double> y(out, 0.0);
    for (int64_t o = 0; o < out; ++o) {
      for (int64_t i = 0; i < in; ++i) y[o] += W[o * in + i] * x[i];
      if (bias) y[o] += w.at(p + "bias")[o];
    }
    return y;
  }
  std::vector<double> ln(const std::string& p, const std::vector<double>& x) const {
    double m = 0, v = 0;
    for (double a : x) m += a;
    m /= x.size();
    for (double a : x) v += (a - m) * (a - m);
    v /= x.size();
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      y[i] = (x[i] - m) / std::sqrt(v + 1e-5) * w.at(p + "weight")[i] + w.at(p + "bias")[i];
    return y;
  }
  Matrix embed(const std::vector<int64_t>& ids) const {
    const int64_t d = c.d_model, half = d / 2;
    Matrix x;
    for (size_t t = 0; t < ids.size(); ++t) {
      std::vector<double> row(d);
      double pos = static_cast<double>(t) + 2;  // padding_idx 1 + 1 + t
      for (int64_t i = 0; i < d; ++i) {
        double e = w.at("model.shared.weight")[ids[t] * d + i] * std::sqrt(double(d));
        int64_t k = i % half;
        double f = std::exp(-k * std::log(10000.0) / (half - 1));
        row[i] = e + (i < half ? std::sin(pos * f) : std::cos(pos * f));
      }
      x.push_back(row);
    }
    return x;
  }
  Matrix attention(const std::string& p, const Matrix& xq, const Matrix& xkv, int64_t heads,
                   bool causal) const {
    const int64_t d = c.d_model, hd = d / heads;
    Matrix q, k, v, out;
    for (auto& r : xq) q.push_back(lin(p + "q_proj.", r));
    for (auto& r : xkv) {
      k.push_back(lin(p + "k_proj.", r));
      v.push_back(lin(p + "v_proj.", r));
    }
    for (size_t t = 0; t < xq.size(); ++t) {
      std::vector<double> o(d, 0.0);
      for (int64_t h = 0; h < heads; ++h) {
        std::vector<double> s;
        size_t limit = causal ? t + 1 : xkv.size();
        double mx = -1e300;
        for (size_t j = 0; j < limit; ++j) {
          double a = 0;
          for (int64_t i = 0; i < hd; ++i) a += q[t][h * hd + i] * k[j][h * hd + i];
          s.push_back(a / std::sqrt(double(hd)));
          mx = std::max(mx, s.back());
        }
        double z = 0;
        for (double& a : s) z += (a = std::exp(a - mx));
        for (size_t j = 0; j < limit; ++j)
          for (int64_t i = 0; i < hd; ++i) o[h * hd + i] += s[j] / z * v[j][h * hd + i];
      }
      out.push_back(lin(p + "out_proj.", o));
    }
    return out;
  }
  std::vector<double> dense(const std::string& p, const std::vector<double>& x) const {
    auto h = lin(p + "fc1.", x);
    for (double& a : h) a = std::max(a, 0.0);
    return lin(p + "fc2.", h);
  }
  std::vector<double> sparse(const std::string& p, const std::vector<double>& x) const {
    const int64_t E = c.num_experts;
    auto logits = lin(p + "router.classifier.", x, false);
    double mx = *std::max_element(logits.begin(), logits.end()), z = 0;
    std::vector<double> pr(E);
    for (int64_t e = 0; e < E; ++e) z += (pr[e] = std::exp(logits[e] - mx));
    for (double& a : pr) a /= z;
    int64_t e1 = 0, e2 = -1;
    for (int64_t e = 1; e < E; ++e)
      if (pr[e] > pr[e1]) e1 = e;
    for (int64_t e = 0; e < E; ++e)
      if (e != e1 && (e2 < 0 || pr[e] > pr[e2])) e2 = e;
    double g1 = pr[e1] / (pr[e1] + pr[e2]), g2 = pr[e2] / (pr[e1] + pr[e2]);
    auto y1 = dense(p + "experts.expert_" + std::to_string(e1) + ".", x);
    auto y2 = dense(p + "experts.expert_" + std::to_string(e2) + ".", x);
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      y[i] = (1 - c.moe_token_dropout) * (g1 * y1[i] + g2 * y2[i]);
    return y;
  }
  std::vector<double> ffn(const std::string& p, bool is_sparse,
                          const std::vector<double>& x) const {
    if (!c.moe_layout) return dense(p, x);
    return is_sparse ? sparse(p + "ffn.", x) : dense(p + "ffn.", x);
  }
  static void add_to(Matrix& x, const Matrix& h) {
    for (size_t t = 0; t < x.size(); ++t)
      for (size_t i = 0; i < x[t].size(); ++i) x[t][i] += h[t][i];
  }
  Matrix logits(const std::vector<int64_t>& src, const std::vector<int64_t>& dec) const {
    const bool moe = c.moe_layout;
    const std::string ffn_ln = moe ? "ff_layer_norm." : "final_layer_norm.";
    Matrix x = embed(src);
    for (int64_t l = 0; l < c.encoder_layers; ++l) {
      std::string p = "model.encoder.layers." + std::to_string(l) + ".";
      Matrix h;
      for (auto& r : x) h.push_back(ln(p + "self_attn_layer_norm.", r));
      add_to(x, attention(p + "self_attn.", h, h, c.encoder_attention_heads, false));
      h.clear();
      for (auto& r : x) h.push_back(ffn(p, c.encoder_layer_sparse(l), ln(p + ffn_ln, r)));
      add_to(x, h);
    }
    for (auto& r : x) r = ln("model.encoder.layer_norm.", r);
    Matrix y = embed(dec);
    const std::string cross = moe ? "cross_attention" : "encoder_attn";
    for (int64_t l = 0; l < c.decoder_layers; ++l) {
      std::string p = "model.decoder.layers." + std::to_string(l) + ".";
      Matrix h;
      for (auto& r : y) h.push_back(ln(p + "self_attn_layer_norm.", r));
      add_to(y, attention(p + "self_attn.", h, h, c.decoder_attention_heads, true));
      h.clear();
      for (auto& r : y) h.push_back(ln(p + cross + "_layer_norm.", r));
      add_to(y, attention(p + cross + ".", h, x, c.decoder_attention_heads, false));
      h.clear();
      for (auto& r : y) h.push_back(ffn(p, c.decoder_layer_sparse(l), ln(p + ffn_ln, r)));
      add_to(y, h);
    }
    Matrix out;
    for (auto& r : y)
      out.push_back(lin("model.shared.", ln("model.decoder.layer_norm.", r), false));
    return out;
  }
};

Weights weights_of(Seq2SeqLM& model) {
  Weights w;
  for (auto& [name, t] : model.parameters()) w[name] = t->to_vector<double>();
  return w;
}

void expect_close(const Tensor& logits, const Matrix& ref, double tol) {
  ASSERT_EQ(logits.size(0), static_cast<int64_t>(ref.size()));
  std::vector<double> got = logits.contiguous().to_vector<double>();
  const int64_t V = logits.size(1);
  double worst = 0;
  for (size_t t = 0; t < ref.size(); ++t)
    for (int64_t v = 0; v < V; ++v) worst = std::max(worst, std::abs(got[t * V + v] - ref[t][v]));
  EXPECT_LT(worst, tol);
}

class M2M100Layouts : public ::testing::TestWithParam<bool> {};

TEST_P(M2M100Layouts, LogitsMatchNaiveReference) {
  auto model = create_seq2seq_model(small_config(GetParam()), 7);
  auto* m2m = dynamic_cast<M2M100Model*>(model.get());
  ASSERT_NE(m2m, nullptr);
  Weights w = weights_of(*model);
  // The pad row of the shared embedding starts at zero as nn.Embedding(padding_idx) does.
  for (int64_t i = 0; i < 16; ++i) EXPECT_EQ(w["model.shared.weight"][16 + i], 0.0);
  std::vector<int64_t> src = {5, 9, 13, 3, 22, 2}, dec = {2, 17, 8, 30, 11};
  Naive naive{m2m->config(), w};
  Matrix ref = naive.logits(src, dec);
  Tensor logits =
      model->forward(Tensor::from_vector(src, {1, 6}), Tensor::from_vector(dec, {1, 5})).logits;
  expect_close(logits.select(0, 0), ref, 2e-4);

  // Incremental decoding with the caches gives the same rows.
  auto states = model->encode(Tensor::from_vector(src, {1, 6}));
  for (size_t t = 0; t < dec.size(); ++t) {
    Tensor step = model->decode_step(Tensor::from_vector(std::vector<int64_t>{dec[t]}, {1, 1}),
                                     {states[0].get()});
    expect_close(step, Matrix{ref[t]}, 2e-4);
  }
}

TEST_P(M2M100Layouts, PaddedBatchEqualsSingleSequences) {
  auto model = create_seq2seq_model(small_config(GetParam()), 3);
  std::vector<int64_t> a_src = {5, 9, 13, 2}, b_src = {7, 2, 1, 1};  // b right-padded with pad 1
  std::vector<int64_t> a_dec = {2, 4, 6}, b_dec = {2, 8, 1};
  std::vector<int64_t> src = a_src, dec = a_dec;
  src.insert(src.end(), b_src.begin(), b_src.end());
  dec.insert(dec.end(), b_dec.begin(), b_dec.end());
  Tensor both =
      model->forward(Tensor::from_vector(src, {2, 4}), Tensor::from_vector(dec, {2, 3})).logits;
  Tensor b_alone = model
                       ->forward(Tensor::from_vector(std::vector<int64_t>{7, 2}, {1, 2}),
                                 Tensor::from_vector(std::vector<int64_t>{2, 8}, {1, 2}))
                       .logits;
  std::vector<double> x = both.select(0, 1).narrow(0, 0, 2).contiguous().to_vector<double>();
  std::vector<double> y = b_alone.select(0, 0).contiguous().to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(x[i], y[i], 1e-4);

  // Batched decoding over sequences of different source lengths equals one by one.
  auto states = model->encode(Tensor::from_vector(src, {2, 4}));
  EXPECT_EQ(states[0]->source_length(), 4);
  EXPECT_EQ(states[1]->source_length(), 2);
  Tensor step = model->decode_step(Tensor::from_vector(std::vector<int64_t>{2, 2}, {2, 1}),
                                   {states[0].get(), states[1].get()});
  std::vector<double> s1 = step.select(0, 1).to_vector<double>();
  std::vector<double> r1 = b_alone.select(0, 0).select(0, 0).to_vector<double>();
  for (size_t i = 0; i < s1.size(); ++i) ASSERT_NEAR(s1[i], r1[i], 1e-4);
  // A cloned state continues independently.
  auto fork = states[1]->clone();
  Tensor s2 =
      model->decode_step(Tensor::from_vector(std::vector<int64_t>{8}, {1, 1}), {fork.get()});
  std::vector<double> r2 = b_alone.select(0, 0).select(0, 1).to_vector<double>(),
                      g2 = s2.select(0, 0).to_vector<double>();
  for (size_t i = 0; i < g2.size(); ++i) ASSERT_NEAR(g2[i], r2[i], 1e-4);
  EXPECT_EQ(states[1]->length(), 1);
  EXPECT_EQ(fork->length(), 2);
}

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("tessera_m2m100_" + std::to_string(getpid()) + "_" + std::to_string(rand()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

TEST_P(M2M100Layouts, SaveLoadRoundTripAndTiedAliases) {
  auto model = create_seq2seq_model(small_config(GetParam()), 11);
  TempDir dir;
  save_seq2seq_model(*model, dir.path.string());
  auto loaded = load_seq2seq_model(dir.path.string());
  EXPECT_EQ(loaded->model_type(), GetParam() ? "nllb-moe" : "m2m_100");
  Tensor src = Tensor::from_vector(std::vector<int64_t>{4, 5, 2}, {1, 3});
  Tensor dec = Tensor::from_vector(std::vector<int64_t>{2, 9}, {1, 2});
  std::vector<double> a = model->forward(src, dec).logits.to_vector<double>();
  std::vector<double> b = loaded->forward(src, dec).logits.to_vector<double>();
  EXPECT_EQ(a, b);

  // A checkpoint that stores the shared embedding only under a tied name (lm_head.weight and
  // the per-stack embed_tokens, as transformers' pytorch exports do) loads the same.
  io::NamedTensors renamed;
  for (auto& [name, t] : model->parameters()) {
    if (name == "model.shared.weight") {
      renamed.emplace_back("model.encoder.embed_tokens.weight", *t);
      renamed.emplace_back("lm_head.weight", *t);
    } else {
      renamed.emplace_back(name, *t);
    }
  }
  io::save_safetensors((dir.path / "model.safetensors").string(), renamed);
  auto aliased = load_seq2seq_model(dir.path.string());
  EXPECT_EQ(aliased->forward(src, dec).logits.to_vector<double>(), a);

  // The same weights as a torch.save state dict (pytorch_model.bin, with the tied copies as
  // transformers writes them) load to the same logits.
  {
    TempDir bin_dir;
    fs::copy_file(dir.path / "config.json", bin_dir.path / "config.json");
    std::vector<std::pair<std::string, Tensor>> state;
    for (auto& [name, t] : model->parameters()) {
      state.emplace_back(name, *t);
      if (name == "model.shared.weight") {
        state.emplace_back("model.encoder.embed_tokens.weight", *t);
        state.emplace_back("model.decoder.embed_tokens.weight", *t);
        state.emplace_back("lm_head.weight", *t);
      }
    }
    tessera::testing::write_torch_checkpoint((bin_dir.path / "pytorch_model.bin").string(), state);
    auto from_bin = load_seq2seq_model(bin_dir.path.string());
    EXPECT_EQ(from_bin->forward(src, dec).logits.to_vector<double>(), a);
  }

  // A wrong shape and a stray tensor are named.
  renamed.emplace_back("model.encoder.extra.weight", Tensor::zeros({2}));
  io::save_safetensors((dir.path / "model.safetensors").string(), renamed);
  try {
    load_seq2seq_model(dir.path.string());
    FAIL() << "stray tensor accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.encoder.extra.weight"), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(DenseAndMoe, M2M100Layouts, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "NllbMoe" : "M2M100"; });

TEST(M2M100, MoeLayoutNamesMatchUpstream) {
  auto model = create_seq2seq_model(small_config(true), 1);
  std::set<std::string> names;
  for (auto& [name, t] : model->parameters()) names.insert(name);
  EXPECT_TRUE(names.count("model.encoder.layers.0.ffn.fc1.weight"));  // dense layer 0
  EXPECT_TRUE(
      names.count("model.encoder.layers.1.ffn.router.classifier.weight"));  // sparse every 2nd
  EXPECT_TRUE(names.count("model.encoder.layers.1.ffn.experts.expert_3.fc2.bias"));
  EXPECT_TRUE(names.count("model.decoder.layers.0.cross_attention.q_proj.weight"));
  EXPECT_TRUE(names.count("model.decoder.layers.0.ff_layer_norm.weight"));
  EXPECT_FALSE(names.count("lm_head.weight"));  // tied
  auto dense = create_seq2seq_model(small_config(false), 1);
  names.clear();
  for (auto& [name, t] : dense->parameters()) names.insert(name);
  EXPECT_TRUE(names.count("model.decoder.layers.1.encoder_attn.out_proj.bias"));
  EXPECT_TRUE(names.count("model.decoder.layers.1.encoder_attn_layer_norm.weight"));
  EXPECT_TRUE(names.count("model.encoder.layers.0.final_layer_norm.bias"));
  EXPECT_TRUE(names.count("model.encoder.layers.0.fc1.weight"));
}

TEST(M2M100, BadConfigsAreNamed) {
  nlohmann::json c = small_config(false);
  c.erase("d_model");
  EXPECT_THROW(create_seq2seq_model(c), Error);
  c = small_config(false);
  c["encoder_attention_heads"] = 5;
  try {
    create_seq2seq_model(c);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("encoder_attention_heads"), std::string::npos);
  }
  c = small_config(false);
  c["activation_function"] = "mish";
  EXPECT_THROW(create_seq2seq_model(c), Error);
  EXPECT_FALSE(is_seq2seq_config(nlohmann::json{{"model_type", "llama"}}));
  EXPECT_TRUE(is_seq2seq_config(small_config(true)));
}

TEST(M2M100, Int8WeightsStayCloseToF32AndShrinkTheModel) {
  for (bool moe : {false, true}) {
    nlohmann::json c = small_config(moe);
    c["init_std"] = 0.05;
    auto model = create_seq2seq_model(c, 5);
    Tensor src = Tensor::from_vector(std::vector<int64_t>{4, 5, 6, 7, 2}, {1, 5});
    Tensor dec = Tensor::from_vector(std::vector<int64_t>{2, 9, 10, 11}, {1, 4});
    std::vector<double> f32 = model->forward(src, dec).logits.to_vector<double>();
    const int64_t before = model->resident_weight_bytes();
    model->quantize_int8();
    EXPECT_TRUE(model->quantized());
    EXPECT_LT(model->resident_weight_bytes(), before);
    std::vector<double> q = model->forward(src, dec).logits.to_vector<double>();
    double err = 0, norm = 0;
    for (size_t i = 0; i < q.size(); ++i) {
      err += (q[i] - f32[i]) * (q[i] - f32[i]);
      norm += f32[i] * f32[i];
    }
    EXPECT_LT(std::sqrt(err / norm), 0.03) << (moe ? "moe" : "dense");
    // Incremental decoding uses the same int8 weights.
    auto states = model->encode(src);
    std::vector<double> step =
        model->decode_step(Tensor::from_vector(std::vector<int64_t>{2}, {1, 1}), {states[0].get()})
            .to_vector<double>();
    for (size_t v = 0; v < step.size(); ++v) EXPECT_NEAR(step[v], q[v], 1e-4);
    EXPECT_THROW(save_seq2seq_model(*model, "/tmp/never_written"), Error);
  }
}

// Training regularisers: layerdrop skips whole layers (with probability ~1 the model is its
// embeddings, final norms and head), none of them act at evaluation, and every training pass
// draws from the seed set_training gave.
TEST(M2M100, LayerdropAndDropoutsActOnlyInTraining) {
  for (bool moe : {false, true}) {
    nlohmann::json c = small_config(moe);
    c["dropout"] = 0.0;
    c["attention_dropout"] = 0.0;
    c["encoder_layerdrop"] = 0.999999;
    c["decoder_layerdrop"] = 0.999999;
    auto model = create_seq2seq_model(c, 3);
    nlohmann::json bare = c;
    bare["encoder_layers"] = 0;
    bare["decoder_layers"] = 0;
    auto no_layers = create_seq2seq_model(bare, 4);
    std::map<std::string, Tensor*> params;
    for (auto& [name, t] : model->parameters()) params[name] = t;
    for (auto& [name, t] : no_layers->parameters()) *t = params.at(name)->clone();
    Tensor src = Tensor::from_vector(std::vector<int64_t>{4, 5, 6, 2}, {1, 4});
    Tensor dec = Tensor::from_vector(std::vector<int64_t>{2, 7, 8}, {1, 3});
    std::vector<double> eval = model->forward(src, dec).logits.to_vector<double>();
    model->set_training(true, 1);
    std::vector<double> skipped = model->forward(src, dec).logits.to_vector<double>();
    std::vector<double> expected = no_layers->forward(src, dec).logits.to_vector<double>();
    double eval_differs = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_NEAR(skipped[i], expected[i], 1e-5) << (moe ? "moe" : "dense");
      eval_differs += std::abs(eval[i] - expected[i]);
    }
    EXPECT_GT(eval_differs, 1e-3) << "evaluation must run every layer";

    // Attention and activation dropout: training passes differ from evaluation, and two passes
    // from the same seed are identical.
    c["encoder_layerdrop"] = 0.0;
    c["decoder_layerdrop"] = 0.0;
    c["attention_dropout"] = 0.3;
    c["activation_dropout"] = 0.3;
    auto regularised = create_seq2seq_model(c, 3);
    std::vector<double> plain = regularised->forward(src, dec).logits.to_vector<double>();
    EXPECT_EQ(plain, eval);
    regularised->set_training(true, 7);
    std::vector<double> a = regularised->forward(src, dec).logits.to_vector<double>();
    regularised->set_training(true, 7);
    std::vector<double> b = regularised->forward(src, dec).logits.to_vector<double>();
    EXPECT_EQ(a, b);
    EXPECT_NE(a, plain);
  }
}

TEST(M2M100, PresetsHaveTheReleasedShapes) {
  // facebook/nllb-200-distilled-600M's config.json: the figures `tessera init --preset 600m` and
  // the benchmarks rely on.
  M2M100Config c = M2M100Config::from_json(preset_config("m2m_100", "600m"));
  EXPECT_EQ(c.vocab_size, 256206);
  EXPECT_EQ(c.d_model, 1024);
  EXPECT_EQ(c.encoder_layers, 12);
  EXPECT_EQ(c.decoder_layers, 12);
  EXPECT_EQ(c.encoder_attention_heads, 16);
  EXPECT_EQ(c.encoder_ffn_dim, 4096);
  EXPECT_EQ(c.max_position_embeddings, 1024);
  EXPECT_TRUE(c.scale_embedding);
  EXPECT_EQ(M2M100Config::from_json(preset_config("m2m_100", "1.3b")).decoder_layers, 24);
  EXPECT_EQ(M2M100Config::from_json(preset_config("m2m_100", "3.3b")).d_model, 2048);
  // The tiny presets build models that decode.
  for (const char* type : {"m2m_100", "nllb-moe"}) {
    auto model = create_seq2seq_model(preset_config(type, "tiny"), 1);
    EXPECT_EQ(model->model_type(), type);
    auto states = model->encode(Tensor::from_vector(std::vector<int64_t>{5, 6, 2}, {1, 3}));
    Tensor logits = model->decode_step(Tensor::from_vector(std::vector<int64_t>{2}, {1, 1}),
                                       {states[0].get()});
    EXPECT_EQ(logits.size(1), model->vocab_size());
  }
}

}  // namespace
}  // namespace tessera::models
