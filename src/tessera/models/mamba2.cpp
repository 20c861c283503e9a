#include "tessera/models/mamba2.h"

#include <cmath>
#include <limits>

#include "tessera/core/autograd.h"
#include "tessera/models/config_json.h"

namespace tessera::models {

namespace {

// time_step_limit is [low, high]; Python writes the unbounded high end as Infinity, which JSON
// cannot hold: null or a huge number both mean unbounded here.
std::pair<double, double> parse_limit(const nlohmann::json& j) {
  double low = 0.0, high = std::numeric_limits<double>::infinity();
  if (!j.contains("time_step_limit") || j["time_step_limit"].is_null()) return {low, high};
  const auto& v = j["time_step_limit"];
  TESSERA_CHECK_INPUT(v.is_array() && v.size() == 2,
                      "config.json: \"time_step_limit\" must be [low, high], got {}", v.dump());
  if (v[0].is_number()) low = v[0].get<double>();
  if (v[1].is_number() && v[1].get<double>() < 1e300) high = v[1].get<double>();
  return {low, high};
}

}  // namespace

Mamba2Config Mamba2Config::from_json(const nlohmann::json& j) {
  Mamba2Config c;
  c.vocab_size = config_require<int64_t>(j, "vocab_size");
  c.hidden_size = config_require<int64_t>(j, "hidden_size");
  c.num_hidden_layers = config_require<int64_t>(j, "num_hidden_layers");
  c.expand = config_value_or<int64_t>(j, "expand", 2);
  nn::Mamba2MixerConfig& m = c.mixer;
  m.hidden_size = c.hidden_size;
  m.head_dim = config_value_or<int64_t>(j, "head_dim", 64);
  m.num_heads =
      config_value_or<int64_t>(j, "num_heads", c.expand * c.hidden_size / std::max<int64_t>(m.head_dim, 1));
  m.state_size = config_value_or<int64_t>(j, "state_size", 128);
  m.n_groups = config_value_or<int64_t>(j, "n_groups", 1);
  m.conv_kernel = config_value_or<int64_t>(j, "conv_kernel", 4);
  m.chunk_size = config_value_or<int64_t>(j, "chunk_size", 256);
  m.use_bias = config_value_or<bool>(j, "use_bias", false);
  m.use_conv_bias = config_value_or<bool>(j, "use_conv_bias", true);
  m.norm_eps = config_value_or<double>(j, "layer_norm_epsilon", 1e-5);
  m.time_step_min = config_value_or<double>(j, "time_step_min", 0.001);
  m.time_step_max = config_value_or<double>(j, "time_step_max", 0.1);
  m.time_step_floor = config_value_or<double>(j, "time_step_floor", 1e-4);
  std::tie(m.time_step_limit_low, m.time_step_limit_high) = parse_limit(j);
  c.tie_word_embeddings = config_value_or<bool>(j, "tie_word_embeddings", false);
  c.initializer_range = config_value_or<double>(j, "initializer_range", 0.02);
  c.max_position_embeddings = config_value_or<int64_t>(j, "max_position_embeddings", 0);
  if (j.contains("bos_token_id")) c.bos_token_id = j["bos_token_id"];
  if (j.contains("eos_token_id")) c.eos_token_id = j["eos_token_id"];
  if (j.contains("pad_token_id")) c.pad_token_id = j["pad_token_id"];
  TESSERA_CHECK_INPUT(
      config_value_or<bool>(j, "rms_norm", true),
      "config.json: \"rms_norm\": false is not supported (Mamba-2 uses the gated RMSNorm)");
  const std::string act = config_value_or<std::string>(j, "hidden_act", "silu");
  TESSERA_CHECK_INPUT(act == "silu", "config.json: hidden_act \"{}\" is not supported (silu is)",
                      act);
  TESSERA_CHECK_INPUT(
      c.vocab_size > 0 && c.hidden_size > 0 && c.num_hidden_layers >= 0,
      "config.json: vocab_size, hidden_size and num_hidden_layers must be positive");
  TESSERA_CHECK_INPUT(
      m.num_heads > 0 && m.head_dim > 0 && m.state_size > 0 && m.conv_kernel > 1 &&
          m.chunk_size > 0,
      "config.json: num_heads, head_dim, state_size, chunk_size must be positive and "
      "conv_kernel at least 2");
  TESSERA_CHECK_INPUT(
      m.num_heads * m.head_dim == c.expand * c.hidden_size,
      "config.json: num_heads {} x head_dim {} must equal expand {} x hidden_size {}", m.num_heads,
      m.head_dim, c.expand, c.hidden_size);
  TESSERA_CHECK_INPUT(m.n_groups > 0 && m.num_heads % m.n_groups == 0,
                      "config.json: num_heads {} is not a multiple of n_groups {}", m.num_heads,
                      m.n_groups);
  return c;
}

nlohmann::json Mamba2Config::to_json() const {
  const nn::Mamba2MixerConfig& m = mixer;
  nlohmann::json limit = {m.time_step_limit_low, nullptr};
  if (std::isfinite(m.time_step_limit_high)) limit[1] = m.time_step_limit_high;
  nlohmann::json j = {
      {"architectures", {"Mamba2ForCausalLM"}},
      {"model_type", "mamba2"},
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"num_hidden_layers", num_hidden_layers},
      {"num_heads", m.num_heads},
      {"head_dim", m.head_dim},
      {"state_size", m.state_size},
      {"expand", expand},
      {"n_groups", m.n_groups},
      {"conv_kernel", m.conv_kernel},
      {"chunk_size", m.chunk_size},
      {"use_bias", m.use_bias},
      {"use_conv_bias", m.use_conv_bias},
      {"layer_norm_epsilon", m.norm_eps},
      {"time_step_min", m.time_step_min},
      {"time_step_max", m.time_step_max},
      {"time_step_floor", m.time_step_floor},
      {"time_step_limit", limit},
      {"rms_norm", true},
      {"hidden_act", "silu"},
      {"residual_in_fp32", true},
      {"tie_word_embeddings", tie_word_embeddings},
      {"initializer_range", initializer_range},
      {"bos_token_id", bos_token_id},
      {"eos_token_id", eos_token_id},
      {"pad_token_id", pad_token_id},
      {"torch_dtype", "float32"},
  };
  if (max_position_embeddings > 0) j["max_position_embeddings"] = max_position_embeddings;
  return j;
}

namespace {
struct Mamba2State : DecodeState {
  std::vector<nn::Mamba2LayerState> layers;
  int64_t consumed = 0;
  int64_t length() const override { return consumed; }
};

void check_ids(const Tensor& ids) {
  TESSERA_CHECK_INPUT(ids.dim() == 2, "model input ids must be [batch, tokens], got {}",
                      shape_str(ids.shape()));
}
}  // namespace

Mamba2Model::Mamba2Model(const Mamba2Config& config, uint64_t seed) : config_(config) {
  Generator gen(seed);
  const double std = config.initializer_range;
  const int64_t d = config.hidden_size;
  embeddings_ = nn::Embedding::create(config.vocab_size, d, std, gen);
  // out_proj scaled by 1/sqrt(layers) (GPT-2's prenorm-residual rescaling, as mamba_ssm does).
  const double out_std =
      std / std::sqrt(static_cast<double>(std::max<int64_t>(config.num_hidden_layers, 1)));
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    Mamba2Block block;
    block.norm = nn::RMSNorm::create(d, config.mixer.norm_eps);
    block.mixer = nn::Mamba2Mixer::create(config.mixer, std, gen);
    block.mixer.out_proj.weight =
        rand_normal(block.mixer.out_proj.weight.shape(), 0.0, out_std, gen);
    layers_.push_back(std::move(block));
  }
  norm_f_ = nn::RMSNorm::create(d, config.mixer.norm_eps);
  if (!config.tie_word_embeddings)
    lm_head_ = nn::Linear::create(d, config.vocab_size, false, std, gen);
}

int64_t Mamba2Model::max_positions() const {
  return config_.max_position_embeddings > 0 ? config_.max_position_embeddings
                                             : std::numeric_limits<int32_t>::max();
}

Tensor Mamba2Model::run_blocks(Tensor x, int64_t stop_after) {
  for (int64_t i = 0; i < static_cast<int64_t>(layers_.size()); ++i) {
    if (stop_after >= 0 && i > stop_after) break;
    x = add(x, layers_[i].mixer.forward(layers_[i].norm.forward(x)));
  }
  return x;
}

Tensor Mamba2Model::logits(const Tensor& hidden) const {
  Tensor h = norm_f_.forward(hidden);
  return lm_head_.weight.defined() ? lm_head_.forward(h) : linear(h, embeddings_.weight);
}

Tensor Mamba2Model::forward(const Tensor& ids) {
  check_ids(ids);
  return logits(run_blocks(embeddings_.forward(ids), -1));
}

Tensor Mamba2Model::hidden_states(const Tensor& ids, int64_t layer) {
  check_ids(ids);
  TESSERA_CHECK_INPUT(layer >= 0 && layer <= num_layers(), "layer {} outside [0, {}]", layer,
                      num_layers());
  Tensor x = embeddings_.forward(ids);
  if (layer == num_layers()) return norm_f_.forward(run_blocks(x, -1));
  return run_blocks(x, layer);
}

std::unique_ptr<DecodeState> Mamba2Model::new_state() const {
  auto state = std::make_unique<Mamba2State>();
  for (const Mamba2Block& block : layers_) state->layers.push_back(block.mixer.new_state());
  return state;
}

Tensor Mamba2Model::forward_step(const Tensor& ids, const std::vector<DecodeState*>& states) {
  NoGrad no_grad;
  check_ids(ids);
  const int64_t B = ids.size(0), T = ids.size(1);
  TESSERA_CHECK(static_cast<int64_t>(states.size()) == B, "forward_step: {} states for batch {}",
                states.size(), B);
  std::vector<Mamba2State*> typed;
  for (DecodeState* s : states) {
    auto* state = dynamic_cast<Mamba2State*>(s);
    TESSERA_CHECK(state != nullptr, "forward_step: state of another model type");
    typed.push_back(state);
  }
  Tensor x = embeddings_.forward(ids);
  std::vector<nn::Mamba2LayerState*> layer_states(B);
  for (size_t l = 0; l < layers_.size(); ++l) {
    for (int64_t b = 0; b < B; ++b) layer_states[b] = &typed[b]->layers[l];
    x = add(x, layers_[l].mixer.forward_step(layers_[l].norm.forward(x), layer_states));
  }
  for (Mamba2State* s : typed) s->consumed += T;
  return logits(x.select(1, T - 1));
}

nn::ParameterRefs Mamba2Model::parameters() {
  nn::ParameterRefs out;
  embeddings_.parameters("backbone.embeddings.", out);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const std::string p = "backbone.layers." + std::to_string(i) + ".";
    layers_[i].norm.parameters(p + "norm.", out);
    layers_[i].mixer.parameters(p + "mixer.", out);
  }
  norm_f_.parameters("backbone.norm_f.", out);
  lm_head_.parameters("lm_head.", out);
  return out;
}

std::vector<std::string> Mamba2Model::optional_checkpoint_names() const {
  if (config_.tie_word_embeddings) return {"lm_head.weight"};  // some exports keep the tied copy
  return {};
}

}  // namespace tessera::models

namespace tessera::models {
std::map<std::string, nlohmann::json> mamba2_presets() {
  auto preset = [](int hidden, int layers, int head_dim, int state, int chunk) {
    return nlohmann::json{{"model_type", "mamba2"},
                          {"hidden_size", hidden},
                          {"num_hidden_layers", layers},
                          {"expand", 2},
                          {"head_dim", head_dim},
                          {"num_heads", 2 * hidden / head_dim},
                          {"state_size", state},
                          {"n_groups", 1},
                          {"conv_kernel", 4},
                          {"chunk_size", chunk},
                          {"layer_norm_epsilon", 1e-5},
                          {"tie_word_embeddings", true},
                          {"initializer_range", 0.02}};
  };
  return {{"tiny", preset(128, 7, 32, 64, 64)},
          {"small", preset(256, 11, 64, 64, 64)},
          {"base", preset(512, 16, 64, 128, 128)},
          {"130m", preset(768, 24, 64, 128, 256)}};
}
}  // namespace tessera::models
