// HGRNBitConfig (mmfreelm/models/hgrn_bit/configuration_hgrn_bit.py) <-> HgrnBitConfig.
#include "tessera/models/hgrn_bit.h"

#include "tessera/models/config_json.h"

namespace tessera::models {

namespace {

constexpr const char* kQuantMethod = "tessera_ternary";

}  // namespace

HgrnBitConfig HgrnBitConfig::from_json(const nlohmann::json& j) {
  HgrnBitConfig c;
  c.vocab_size = config_require<int64_t>(j, "vocab_size");
  c.hidden_size = config_require<int64_t>(j, "hidden_size");
  c.num_hidden_layers = config_require<int64_t>(j, "num_hidden_layers");
  c.num_heads = config_value_or<int64_t>(j, "num_heads", 1);
  c.expand_ratio = config_value_or<int64_t>(j, "expand_ratio", 1);
  c.hidden_ratio = config_value_or<int64_t>(j, "hidden_ratio", 4);
  c.intermediate_size = config_value_or<int64_t>(j, "intermediate_size", 0);
  c.max_position_embeddings = config_value_or<int64_t>(j, "max_position_embeddings", 2048);
  c.rms_norm_eps = config_value_or<double>(j, "rms_norm_eps", 1e-6);
  c.use_lower_bound = config_value_or<bool>(j, "use_lower_bound", true);
  c.initializer_range = config_value_or<double>(j, "initializer_range", 0.02);
  if (j.contains("bos_token_id")) c.bos_token_id = j["bos_token_id"];
  if (j.contains("eos_token_id")) c.eos_token_id = j["eos_token_id"];
  if (j.contains("pad_token_id")) c.pad_token_id = j["pad_token_id"];
  TESSERA_CHECK_INPUT(c.vocab_size > 0 && c.hidden_size > 0 && c.num_hidden_layers >= 0 &&
                          c.intermediate_size >= 0 && c.hidden_ratio > 0,
                      "config.json: sizes must be positive");
  TESSERA_CHECK_INPUT(c.num_heads > 0 && c.hidden_size % c.num_heads == 0,
                      "config.json: hidden_size {} is not divisible by num_heads {}", c.hidden_size,
                      c.num_heads);
  // Upstream's lower bounds are [layers, hidden_size] and broadcast against the gates, so only
  // expand_ratio 1 runs there either.
  TESSERA_CHECK_INPUT(c.expand_ratio == 1,
                      "config.json: expand_ratio {} is not supported (1 is, as in the released "
                      "checkpoints)",
                      c.expand_ratio);
  TESSERA_CHECK_INPUT(!config_value_or<bool>(j, "use_short_conv", false),
                      "config.json: use_short_conv true is not supported (the released "
                      "checkpoints use false)");
  TESSERA_CHECK_INPUT(!config_value_or<bool>(j, "tie_word_embeddings", false),
                      "config.json: tie_word_embeddings true is not supported (lm_head is a "
                      "ternary BitLinear)");
  const std::string act = config_value_or<std::string>(j, "hidden_act", "swish");
  TESSERA_CHECK_INPUT(act == "swish" || act == "silu",
                      "config.json: hidden_act \"{}\" is not supported (swish is)", act);
  const std::string mode = config_value_or<std::string>(j, "attn_mode", "fused_recurrent");
  TESSERA_CHECK_INPUT(mode == "fused_recurrent" || mode == "chunk",
                      "config.json: attn_mode \"{}\" is not supported", mode);
  if (j.contains("quantization_config") && !j["quantization_config"].is_null()) {
    const auto& q = j["quantization_config"];
    TESSERA_CHECK_INPUT(q.is_object() && config_value_or<std::string>(q, "quant_method", "") == kQuantMethod,
                        "config.json: quantization_config is not a {} export ({})", kQuantMethod,
                        q.dump());
    c.packing = nn::parse_ternary_packing(config_value_or<std::string>(q, "packing", ""));
    c.embedding_storage = config_value_or<std::string>(q, "embeddings", "bf16");
    TESSERA_CHECK_INPUT(c.embedding_storage == "bf16" || c.embedding_storage == "int8",
                        "config.json: quantization_config.embeddings \"{}\" is not supported "
                        "(bf16 or int8)",
                        c.embedding_storage);
  }
  return c;
}

int64_t HgrnBitConfig::effective_intermediate_size() const {
  if (intermediate_size > 0) return intermediate_size;
  // HGRNBitMLP: int(hidden * ratio * 2 / 3) rounded up to a multiple of 256.
  const int64_t raw =
      static_cast<int64_t>(static_cast<double>(hidden_size * hidden_ratio) * 2.0 / 3.0);
  return 256 * ((raw + 255) / 256);
}

nlohmann::json HgrnBitConfig::to_json() const {
  nlohmann::json j = {
      {"architectures", {"HGRNBitForCausalLM"}},
      {"model_type", "hgrn_bit"},
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"num_hidden_layers", num_hidden_layers},
      {"attn_mode", "fused_recurrent"},
      {"num_heads", num_heads},
      {"expand_ratio", expand_ratio},
      {"use_short_conv", false},
      {"conv_size", 4},
      {"share_conv_kernel", true},
      {"use_lower_bound", use_lower_bound},
      {"hidden_ratio", hidden_ratio},
      {"intermediate_size",
       intermediate_size > 0 ? nlohmann::json(intermediate_size) : nlohmann::json(nullptr)},
      {"hidden_act", "swish"},
      {"max_position_embeddings", max_position_embeddings},
      {"rms_norm_eps", rms_norm_eps},
      {"use_cache", true},
      {"pad_token_id", pad_token_id},
      {"bos_token_id", bos_token_id},
      {"eos_token_id", eos_token_id},
      {"tie_word_embeddings", false},
      {"initializer_range", initializer_range},
      {"fuse_cross_entropy", true},
      {"torch_dtype", "float32"},
  };
  if (packing != nn::TernaryPacking::none) {
    j["quantization_config"] = {{"quant_method", kQuantMethod},
                                {"packing", nn::ternary_packing_name(packing)},
                                {"weight_scale", "per-tensor, stored, w = trit * weight_scale"},
                                {"activations", "int8 per-token absmax"},
                                {"embeddings", embedding_storage}};
  }
  return j;
}

std::map<std::string, nlohmann::json> hgrn_bit_presets() {
  // Per layer 4 * d^2 (i, f, g, o) + 3 * d * intermediate (gate pair, down) against llama's
  // attention + SwiGLU; intermediate sizes chosen so the two match within about 2 %.
  auto preset = [](int hidden, int intermediate, int layers) {
    return nlohmann::json{{"model_type", "hgrn_bit"},
                          {"hidden_size", hidden},
                          {"intermediate_size", intermediate},
                          {"num_hidden_layers", layers},
                          {"num_heads", 1},
                          {"expand_ratio", 1},
                          {"use_lower_bound", true},
                          {"hidden_act", "swish"},
                          {"rms_norm_eps", 1e-6},
                          {"tie_word_embeddings", false},
                          {"initializer_range", 0.02}};
  };
  return {{"tiny", preset(128, 352, 4)},
          {"small", preset(256, 704, 6)},
          {"base", preset(512, 1344, 8)},
          {"125m", preset(768, 2048, 12)}};
}

}  // namespace tessera::models
