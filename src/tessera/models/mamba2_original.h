#pragma once
// The original state-spaces/mamba2-* release layout (mamba_ssm's MambaLMHeadModel): config.json
// with d_model, n_layer, vocab_size, ssm_cfg, pad_vocab_size_multiple, tie_embeddings and no
// model_type; weights in pytorch_model.bin (torch.save zip) or model.safetensors under
// backbone.embedding / backbone.layers.N.{norm,mixer.*} / backbone.norm_f / lm_head.
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tessera/models/causal_lm.h"

namespace tessera::models {

// True for a mamba_ssm config (no model_type; d_model and n_layer present).
bool is_original_mamba_config(const nlohmann::json& config);
// The equivalent transformers Mamba2Config (vocab padded as mamba_ssm pads it). BadInput for
// Mamba-1 layers, MLP or attention layers, and options the mixer does not implement.
nlohmann::json mamba2_config_from_original(const nlohmann::json& config);
// Tensor name in the original layout -> transformers' name ("backbone.embedding." ->
// "backbone.embeddings."); others unchanged.
std::string mamba2_name_from_original(const std::string& name);
// A LayoutLoader (models/checkpoint_layouts.h): nullptr unless `dir` holds an original config.
std::unique_ptr<CausalLM> load_mamba2_original_layout(const std::string& dir);

}  // namespace tessera::models
