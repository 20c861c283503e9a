#pragma once
// SAE folders in the ecosystem's two layouts.
//  - SAELens: cfg.json (d_in, d_sae, architecture "topk", k, activation_fn_str/_kwargs for
//    older readers, normalize_activations, hook_name, ...) + sae_weights.safetensors with
//    W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in], b_dec [d_in].
//  - sparsify (EleutherAI): cfg.json (activation "topk", num_latents, k, multi_topk,
//    normalize_decoder, d_in, ...) + sae.safetensors with encoder.weight [n, d_in],
//    encoder.bias [n], W_dec [n, d_in], b_dec [d_in].
// b_dec is the paper's b_pre (subtracted before encoding, added after decoding). The "scale"
// input normalisation is folded into the weights on export, so other tools need not know it.
#include <string>

#include <nlohmann/json.hpp>

#include "tessera/interp/sae.h"

namespace tessera::interp {

enum class SaeFormat { saelens, sparsify };
SaeFormat parse_sae_format(const std::string& name);  // "saelens" | "sparsify"

// The cfg.json SAELens expects for this SAE.
nlohmann::json saelens_config(const TopKSae& sae);
nlohmann::json sparsify_config(const TopKSae& sae, bool multi_topk = false);

// Writes the folder (created if needed); both files are written atomically.
void save_sae(const TopKSae& sae, const std::string& dir, SaeFormat format = SaeFormat::saelens);
// Reads either layout (told apart by the weights file present). BadInput naming the folder,
// file, key or tensor on any problem (missing, wrong shape, not a TopK SAE).
TopKSae load_sae(const std::string& dir);

// "blocks.3.hook_resid_post" (TransformerLens names, as SAELens stores them) and back.
std::string hook_name(int64_t layer, const std::string& site);
bool parse_hook_name(const std::string& name, int64_t& layer, std::string& site);

}  // namespace tessera::interp
