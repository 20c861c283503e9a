#include "tessera/models/llama.h"

#include "tessera/core/autograd.h"
#include "tessera/models/config_json.h"

namespace tessera::models {

LlamaConfig LlamaConfig::from_json(const nlohmann::json& j) {
  LlamaConfig c;
  c.vocab_size = config_require<int64_t>(j, "vocab_size");
  c.hidden_size = config_require<int64_t>(j, "hidden_size");
  c.intermediate_size = config_require<int64_t>(j, "intermediate_size");
  c.num_hidden_layers = config_require<int64_t>(j, "num_hidden_layers");
  c.num_attention_heads = config_require<int64_t>(j, "num_attention_heads");
  c.num_key_value_heads = config_value_or<int64_t>(j, "num_key_value_heads", c.num_attention_heads);
  c.head_dim = config_value_or<int64_t>(j, "head_dim", 0);
  c.max_position_embeddings = config_value_or<int64_t>(j, "max_position_embeddings", 2048);
  c.rms_norm_eps = config_value_or<double>(j, "rms_norm_eps", 1e-6);
  c.rope.theta = config_value_or<double>(j, "rope_theta", 10000.0);
  c.tie_word_embeddings = config_value_or<bool>(j, "tie_word_embeddings", false);
  c.attention_bias = config_value_or<bool>(j, "attention_bias", false);
  c.initializer_range = config_value_or<double>(j, "initializer_range", 0.02);
  if (j.contains("bos_token_id")) c.bos_token_id = j["bos_token_id"];
  if (j.contains("eos_token_id")) c.eos_token_id = j["eos_token_id"];
  std::string act = config_value_or<std::string>(j, "hidden_act", "silu");
  TESSERA_CHECK_INPUT(act == "silu", "config.json: hidden_act \"{}\" is not supported (silu is)", act);
  if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) {
    const auto& r = j["rope_scaling"];
    c.rope.scaling_type = config_value_or<std::string>(r, "rope_type", config_value_or<std::string>(r, "type", ""));
    c.rope.factor = config_value_or<double>(r, "factor", 1.0);
    c.rope.low_freq_factor = config_value_or<double>(r, "low_freq_factor", 1.0);
    c.rope.high_freq_factor = config_value_or<double>(r, "high_freq_factor", 4.0);
    c.rope.original_max_positions = config_value_or<int64_t>(r, "original_max_position_embeddings", 8192);
  }
  TESSERA_CHECK_INPUT(c.vocab_size > 0 && c.hidden_size > 0 && c.num_hidden_layers >= 0 &&
                          c.intermediate_size > 0,
                      "config.json: sizes must be positive");
  TESSERA_CHECK_INPUT(c.num_attention_heads > 0 && c.num_key_value_heads > 0 &&
                          c.num_attention_heads % c.num_key_value_heads == 0,
                      "config.json: num_attention_heads {} is not a multiple of num_key_value_heads {}",
                      c.num_attention_heads, c.num_key_value_heads);
  TESSERA_CHECK_INPUT(c.head_dim > 0 || c.hidden_size % c.num_attention_heads == 0,
                      "config.json: hidden_size {} is not divisible by num_attention_heads {}",
                      c.hidden_size, c.num_attention_heads);
  return c;
}

nlohmann::json LlamaConfig::to_json() const {
  nlohmann::json j = {
      {"architectures", {"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"intermediate_size", intermediate_size},
      {"num_hidden_layers", num_hidden_layers},
      {"num_attention_heads", num_attention_heads},
      {"num_key_value_heads", num_key_value_heads},
      {"head_dim", effective_head_dim()},
      {"max_position_embeddings", max_position_embeddings},
      {"rms_norm_eps", rms_norm_eps},
      {"rope_theta", rope.theta},
      {"tie_word_embeddings", tie_word_embeddings},
      {"attention_bias", attention_bias},
      {"hidden_act", "silu"},
      {"initializer_range", initializer_range},
      {"bos_token_id", bos_token_id},
      {"eos_token_id", eos_token_id},
      {"torch_dtype", "float32"},
  };
  if (!rope.scaling_type.empty() && rope.scaling_type != "default") {
    j["rope_scaling"] = {{"rope_type", rope.scaling_type},
                         {"factor", rope.factor},
                         {"low_freq_factor", rope.low_freq_factor},
                         {"high_freq_factor", rope.high_freq_factor},
                         {"original_max_position_embeddings", rope.original_max_positions}};
  } else {
    j["rope_scaling"] = nullptr;
  }
  return j;
}

namespace {
struct LlamaState : DecodeState {
  std::vector<nn::LayerKVCache> layers;
  int64_t consumed = 0;
  int64_t length() const override { return consumed; }
};
}  // namespace

LlamaModel::LlamaModel(const LlamaConfig& config, uint64_t seed) : config_(config) {
  Generator gen(seed);
  const double std = config.initializer_range;
  const int64_t d = config.hidden_size, hd = config.effective_head_dim();
  embed_tokens_ = nn::Embedding::create(config.vocab_size, d, std, gen);
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    LlamaBlock block;
    block.input_layernorm = nn::RMSNorm::create(d, config.rms_norm_eps);
    block.post_attention_layernorm = nn::RMSNorm::create(d, config.rms_norm_eps);
    block.self_attn = nn::CausalSelfAttention::create(d, config.num_attention_heads,
                                                      config.num_key_value_heads, hd,
                                                      config.attention_bias, std, gen);
    block.mlp = nn::SwiGluMlp::create(d, config.intermediate_size, std, gen);
    layers_.push_back(std::move(block));
  }
  norm_ = nn::RMSNorm::create(d, config.rms_norm_eps);
  if (!config.tie_word_embeddings) lm_head_ = nn::Linear::create(d, config.vocab_size, false, std, gen);
  inv_freq_ = nn::rope_inverse_frequencies(hd, config.rope);
}

void LlamaModel::ensure_rope_tables(int64_t positions) {
  if (rope_cos_.defined() && rope_cos_.size(0) >= positions) return;
  int64_t n = std::max<int64_t>(positions, rope_cos_.defined() ? 2 * rope_cos_.size(0) : 256);
  auto [c, s] = rope_tables(inv_freq_, n, DType::f32);
  rope_cos_ = c;
  rope_sin_ = s;
}

Tensor LlamaModel::run_blocks(Tensor x, const Tensor& positions, int64_t stop_after,
                              const std::vector<std::vector<nn::LayerKVCache*>>* caches) {
  int64_t max_pos = 0;
  for (int64_t p : positions.to_vector<int64_t>()) max_pos = std::max(max_pos, p);
  ensure_rope_tables(max_pos + 1);
  for (int64_t i = 0; i < static_cast<int64_t>(layers_.size()); ++i) {
    if (stop_after >= 0 && i > stop_after) break;
    const LlamaBlock& block = layers_[i];
    Tensor h = block.input_layernorm.forward(x);
    h = block.self_attn.forward(h, positions, rope_cos_, rope_sin_, caches ? &(*caches)[i] : nullptr);
    x = add(x, h);
    x = add(x, block.mlp.forward(block.post_attention_layernorm.forward(x)));
  }
  return x;
}

Tensor LlamaModel::logits(const Tensor& hidden) const {
  Tensor h = norm_.forward(hidden);
  return lm_head_.weight.defined() ? lm_head_.forward(h) : linear(h, embed_tokens_.weight);
}

namespace {
Tensor default_positions(int64_t B, int64_t T) {
  return Tensor::arange(T).unsqueeze(0).expand({B, T}).contiguous();
}
void check_ids(const Tensor& ids) {
  TESSERA_CHECK_INPUT(ids.dim() == 2, "model input ids must be [batch, tokens], got {}",
                      shape_str(ids.shape()));
}
}  // namespace

Tensor LlamaModel::forward(const Tensor& ids) {
  check_ids(ids);
  Tensor x = embed_tokens_.forward(ids);
  x = run_blocks(x, default_positions(ids.size(0), ids.size(1)), -1, nullptr);
  return logits(x);
}

Tensor LlamaModel::hidden_states(const Tensor& ids, int64_t layer) {
  check_ids(ids);
  TESSERA_CHECK_INPUT(layer >= 0 && layer <= num_layers(), "layer {} outside [0, {}]", layer,
                      num_layers());
  Tensor x = embed_tokens_.forward(ids);
  if (layer == num_layers()) return norm_.forward(run_blocks(x, default_positions(ids.size(0), ids.size(1)), -1, nullptr));
  return run_blocks(x, default_positions(ids.size(0), ids.size(1)), layer, nullptr);
}

Tensor LlamaModel::forward_with_hook(const Tensor& ids, const ActivationHook& hook) {
  check_ids(ids);
  TESSERA_CHECK_INPUT(hook.layer >= 0 && hook.layer < num_layers(), "hook layer {} outside [0, {})", hook.layer,
                      num_layers());
  TESSERA_CHECK_INPUT(hook.site == "resid_pre" || hook.site == "resid_post" || hook.site == "mlp_out",
                      "hook site '{}' (expected resid_pre, resid_post or mlp_out)", hook.site);
  TESSERA_CHECK(static_cast<bool>(hook.replace), "forward_with_hook without a replace function");
  Tensor positions = default_positions(ids.size(0), ids.size(1));
  ensure_rope_tables(ids.size(1));
  Tensor x = embed_tokens_.forward(ids);
  // The same block computation as run_blocks, with the hook spliced in at its site.
  for (int64_t i = 0; i < num_layers(); ++i) {
    const LlamaBlock& block = layers_[i];
    const bool here = i == hook.layer;
    if (here && hook.site == "resid_pre") x = hook.replace(x);
    Tensor h = block.self_attn.forward(block.input_layernorm.forward(x), positions, rope_cos_, rope_sin_, nullptr);
    x = add(x, h);
    Tensor mlp_out = block.mlp.forward(block.post_attention_layernorm.forward(x));
    if (here && hook.site == "mlp_out") mlp_out = hook.replace(mlp_out);
    x = add(x, mlp_out);
    if (here && hook.site == "resid_post") x = hook.replace(x);
  }
  return logits(x);
}

std::unique_ptr<DecodeState> LlamaModel::new_state() const {
  auto state = std::make_unique<LlamaState>();
  state->layers.resize(layers_.size());
  return state;
}

Tensor LlamaModel::forward_step(const Tensor& ids, const std::vector<DecodeState*>& states) {
  NoGrad no_grad;
  check_ids(ids);
  const int64_t B = ids.size(0), T = ids.size(1);
  TESSERA_CHECK(static_cast<int64_t>(states.size()) == B, "forward_step: {} states for batch {}",
                states.size(), B);
  std::vector<std::vector<nn::LayerKVCache*>> caches(layers_.size());
  Tensor positions = Tensor::empty({B, T}, DType::i64);
  int64_t* pp = positions.data<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    auto* state = dynamic_cast<LlamaState*>(states[b]);
    TESSERA_CHECK(state != nullptr, "forward_step: state of another model type");
    for (size_t l = 0; l < layers_.size(); ++l) caches[l].push_back(&state->layers[l]);
    for (int64_t t = 0; t < T; ++t) pp[b * T + t] = state->consumed + t;
    TESSERA_CHECK_INPUT(state->consumed + T <= config_.max_position_embeddings,
                        "sequence of {} tokens exceeds max_position_embeddings {}",
                        state->consumed + T, config_.max_position_embeddings);
  }
  Tensor x = run_blocks(embed_tokens_.forward(ids), positions, -1, &caches);
  for (DecodeState* s : states) static_cast<LlamaState*>(s)->consumed += T;
  return logits(x.select(1, T - 1));
}

nn::ParameterRefs LlamaModel::parameters() {
  nn::ParameterRefs out;
  embed_tokens_.parameters("model.embed_tokens.", out);
  for (size_t i = 0; i < layers_.size(); ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    layers_[i].self_attn.parameters(p + "self_attn.", out);
    layers_[i].mlp.parameters(p + "mlp.", out);
    layers_[i].input_layernorm.parameters(p + "input_layernorm.", out);
    layers_[i].post_attention_layernorm.parameters(p + "post_attention_layernorm.", out);
  }
  norm_.parameters("model.norm.", out);
  lm_head_.parameters("lm_head.", out);
  return out;
}

std::vector<std::string> LlamaModel::optional_checkpoint_names() const {
  std::vector<std::string> names;
  if (config_.tie_word_embeddings) names.push_back("lm_head.weight");  // some exports keep the copy
  for (size_t i = 0; i < layers_.size(); ++i)  // older exports carry precomputed rotary buffers
    names.push_back("model.layers." + std::to_string(i) + ".self_attn.rotary_emb.inv_freq");
  return names;
}

}  // namespace tessera::models
