// M2M100Config / NllbMoeConfig: upstream config.json keys in, the same keys out.
#include "tessera/models/m2m100.h"

#include "tessera/models/config_json.h"

namespace tessera::models {

M2M100Config M2M100Config::from_json(const nlohmann::json& j) {
  M2M100Config c;
  c.original = j;
  c.original.erase("__seed");
  std::string type = config_value_or<std::string>(j, "model_type", "m2m_100");
  TESSERA_CHECK_INPUT(type == "m2m_100" || type == "nllb-moe" || type == "nllb_moe",
                      "config.json: model_type \"{}\" is not an M2M-100 / NLLB-MoE model", type);
  c.moe_layout = type != "m2m_100";
  c.vocab_size = config_require<int64_t>(j, "vocab_size");
  c.d_model = config_require<int64_t>(j, "d_model");
  c.encoder_layers = config_require<int64_t>(j, "encoder_layers");
  c.decoder_layers = config_require<int64_t>(j, "decoder_layers");
  c.encoder_attention_heads = config_require<int64_t>(j, "encoder_attention_heads");
  c.decoder_attention_heads = config_require<int64_t>(j, "decoder_attention_heads");
  c.encoder_ffn_dim = config_require<int64_t>(j, "encoder_ffn_dim");
  c.decoder_ffn_dim = config_require<int64_t>(j, "decoder_ffn_dim");
  c.max_position_embeddings = config_value_or<int64_t>(j, "max_position_embeddings", 1024);
  c.activation = nn::parse_activation(config_value_or<std::string>(j, "activation_function", "relu"));
  c.scale_embedding = config_value_or<bool>(j, "scale_embedding", true);
  c.tie_word_embeddings = config_value_or<bool>(j, "tie_word_embeddings", true);
  c.pad_token_id = config_value_or<int64_t>(j, "pad_token_id", 1);
  c.bos_token_id = config_value_or<int64_t>(j, "bos_token_id", 0);
  c.eos_token_id = config_value_or<int64_t>(j, "eos_token_id", 2);
  c.decoder_start_token_id = config_value_or<int64_t>(j, "decoder_start_token_id", c.eos_token_id);
  c.dropout = config_value_or<double>(j, "dropout", 0.1);
  c.init_std = config_value_or<double>(j, "init_std", 0.02);
  c.attention_dropout = config_value_or<double>(j, "attention_dropout", 0.1);
  c.activation_dropout = config_value_or<double>(j, "activation_dropout", 0.0);
  c.encoder_layerdrop = config_value_or<double>(j, "encoder_layerdrop", 0.05);
  c.decoder_layerdrop = config_value_or<double>(j, "decoder_layerdrop", 0.05);
  if (c.moe_layout) {
    c.num_experts = config_require<int64_t>(j, "num_experts");
    c.expert_capacity = config_value_or<int64_t>(j, "expert_capacity", 0);
    c.encoder_sparse_step = config_value_or<int64_t>(j, "encoder_sparse_step", 4);
    c.decoder_sparse_step = config_value_or<int64_t>(j, "decoder_sparse_step", 4);
    c.router_bias = config_value_or<bool>(j, "router_bias", false);
    c.second_expert_policy = config_value_or<std::string>(j, "second_expert_policy", "all");
    TESSERA_CHECK_INPUT(c.second_expert_policy == "all",
                        "config.json: second_expert_policy \"{}\" is not supported (\"all\" is)",
                        c.second_expert_policy);
    c.normalize_router_prob_before_dropping =
        config_value_or<bool>(j, "normalize_router_prob_before_dropping", false);
    c.batch_prioritized_routing = config_value_or<bool>(j, "batch_prioritized_routing", false);
    c.moe_eval_capacity_token_fraction = config_value_or<double>(j, "moe_eval_capacity_token_fraction", 1.0);
    c.moe_token_dropout = config_value_or<double>(j, "moe_token_dropout", 0.2);
    c.router_aux_loss_coef = config_value_or<double>(j, "router_aux_loss_coef", 0.001);
    c.router_z_loss_coef = config_value_or<double>(j, "router_z_loss_coef", 0.001);
    TESSERA_CHECK_INPUT(c.num_experts >= 2, "config.json: num_experts must be at least 2, got {}",
                        c.num_experts);
    TESSERA_CHECK_INPUT(c.moe_token_dropout >= 0 && c.moe_token_dropout < 1,
                        "config.json: moe_token_dropout {} outside [0, 1)", c.moe_token_dropout);
  }
  TESSERA_CHECK_INPUT(c.vocab_size > 0 && c.d_model >= 4 && c.encoder_layers >= 0 &&
                          c.decoder_layers >= 0 && c.encoder_ffn_dim > 0 && c.decoder_ffn_dim > 0 &&
                          c.max_position_embeddings > 0,
                      "config.json: sizes must be positive (d_model at least 4)");
  TESSERA_CHECK_INPUT(c.encoder_attention_heads > 0 && c.d_model % c.encoder_attention_heads == 0,
                      "config.json: d_model {} is not divisible by encoder_attention_heads {}",
                      c.d_model, c.encoder_attention_heads);
  TESSERA_CHECK_INPUT(c.decoder_attention_heads > 0 && c.d_model % c.decoder_attention_heads == 0,
                      "config.json: d_model {} is not divisible by decoder_attention_heads {}",
                      c.d_model, c.decoder_attention_heads);
  TESSERA_CHECK_INPUT(c.pad_token_id >= 0 && c.pad_token_id < c.vocab_size,
                      "config.json: pad_token_id {} outside the vocabulary of {}", c.pad_token_id,
                      c.vocab_size);
  for (auto [key, value] : {std::pair{"dropout", c.dropout},
                             {"attention_dropout", c.attention_dropout},
                             {"activation_dropout", c.activation_dropout},
                             {"encoder_layerdrop", c.encoder_layerdrop},
                             {"decoder_layerdrop", c.decoder_layerdrop}})
    TESSERA_CHECK_INPUT(value >= 0 && value < 1, "config.json: {} {} outside [0, 1)", key, value);
  return c;
}

nlohmann::json M2M100Config::to_json() const {
  nlohmann::json j = original.is_object() ? original : nlohmann::json::object();
  j["architectures"] = {moe_layout ? "NllbMoeForConditionalGeneration"
                                   : "M2M100ForConditionalGeneration"};
  j["model_type"] = moe_layout ? "nllb-moe" : "m2m_100";
  j["vocab_size"] = vocab_size;
  j["d_model"] = d_model;
  j["encoder_layers"] = encoder_layers;
  j["decoder_layers"] = decoder_layers;
  j["encoder_attention_heads"] = encoder_attention_heads;
  j["decoder_attention_heads"] = decoder_attention_heads;
  j["encoder_ffn_dim"] = encoder_ffn_dim;
  j["decoder_ffn_dim"] = decoder_ffn_dim;
  j["max_position_embeddings"] = max_position_embeddings;
  j["activation_function"] = nn::activation_name(activation);
  j["scale_embedding"] = scale_embedding;
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["pad_token_id"] = pad_token_id;
  j["bos_token_id"] = bos_token_id;
  j["eos_token_id"] = eos_token_id;
  j["decoder_start_token_id"] = decoder_start_token_id;
  j["dropout"] = dropout;
  j["attention_dropout"] = attention_dropout;
  j["activation_dropout"] = activation_dropout;
  j["encoder_layerdrop"] = encoder_layerdrop;
  j["decoder_layerdrop"] = decoder_layerdrop;
  j["init_std"] = init_std;
  j["is_encoder_decoder"] = true;
  if (!j.contains("torch_dtype")) j["torch_dtype"] = "float32";
  if (moe_layout) {
    j["num_experts"] = num_experts;
    j["expert_capacity"] = expert_capacity;
    j["encoder_sparse_step"] = encoder_sparse_step;
    j["decoder_sparse_step"] = decoder_sparse_step;
    j["router_bias"] = router_bias;
    j["router_dtype"] = "float32";
    j["second_expert_policy"] = second_expert_policy;
    j["normalize_router_prob_before_dropping"] = normalize_router_prob_before_dropping;
    j["batch_prioritized_routing"] = batch_prioritized_routing;
    j["moe_eval_capacity_token_fraction"] = moe_eval_capacity_token_fraction;
    j["moe_token_dropout"] = moe_token_dropout;
    j["router_aux_loss_coef"] = router_aux_loss_coef;
    j["router_z_loss_coef"] = router_z_loss_coef;
  }
  return j;
}

nn::MoeConfig M2M100Config::moe_config() const {
  nn::MoeConfig m;
  m.num_experts = num_experts;
  m.training_capacity = 0;  // NLLB's rule: 2 * ceil(tokens / experts)
  m.eval_capacity_fraction = moe_eval_capacity_token_fraction;
  m.normalize_before_dropping = normalize_router_prob_before_dropping;
  m.batch_prioritized_routing = batch_prioritized_routing;
  m.expert_output_masking = moe_token_dropout;
  m.activation_dropout = activation_dropout;
  m.activation = activation;
  return m;
}

}  // namespace tessera::models
