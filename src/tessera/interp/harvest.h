#pragma once
// Harvesting activations from a language model for SAE training: token windows from a
// dataset are run through the model and the activation at (layer, site) is kept for every
// token. resid_post works for every architecture (CausalLM::hidden_states); resid_pre and
// mlp_out need the architecture's activation hook (CausalLM::forward_with_hook).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tessera/interp/activations.h"
#include "tessera/models/causal_lm.h"
#include "tessera/train/data_dataset.h"

namespace tessera::interp {

struct HarvestOptions {
  int64_t layer = 0;
  std::string site = "resid_post";  // resid_post | resid_pre | mlp_out
  int64_t tokens = 100'000;
  int64_t seq_len = 128;
  int64_t batch = 8;             // sequences per forward pass
  bool bf16 = false;             // shard dtype
  int64_t shard_rows = 1 << 16;  // rows per shard file
  bool progress = false;
};

// Checks the site name and the layer against the model; BadInput naming what is wrong.
void check_hook_point(models::CausalLM& model, int64_t layer, const std::string& site);

// The activation [B, T, d] (f32, contiguous) at (layer, site) for ids [B, T].
Tensor capture_activations(models::CausalLM& model, const Tensor& ids, int64_t layer,
                           const std::string& site);

// Runs sequential windows of `data` through the model and hands each batch's activations
// [rows, d] (one row per token, in stream order) and its token ids to `sink`, until
// options.tokens tokens (or the data) are used up. Returns the number of tokens harvested.
int64_t harvest(models::CausalLM& model, const train::TokenDataset& data,
                const HarvestOptions& options,
                const std::function<void(const float* rows, int64_t count, int64_t d)>& sink);

// Harvests into a folder readable by open_activations (index.json records model, layer,
// site, seq_len). Returns the rows written.
int64_t harvest_to_folder(models::CausalLM& model, const std::string& model_name,
                          const train::TokenDataset& data, const HarvestOptions& options,
                          const std::string& out_dir);

}  // namespace tessera::interp
