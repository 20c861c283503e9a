#pragma once
// One forward and backward pass of the TopK SAE training objective on a batch of normalised
// inputs, with the gradients computed by the sparse kernels: the decoder and encoder weight
// gradients are sparse-transpose products over the k active slots per token, never a dense
// [batch x latents] matrix.
//
// Loss (Gao et al. 2024, section 2 and appendix A.2):
//   L = ||x - x_hat||^2 / V                      normalised MSE, V = sum ||x - mean(x)||^2
//     + [multi_topk] ||x - x_hat_4k||^2 / (8 V)   Multi-TopK
//     + aux_coef * scale * ||e - e_hat||^2 / V    AuxK: e = x - x_hat (no gradient),
//                                                e_hat = W_dec z_aux from the top aux_k
//                                                dead latents, scale = min(dead/aux_k, 1)
#include <cstdint>
#include <vector>

#include "tessera/interp/sae.h"

namespace tessera::interp {

struct SaeLossOptions {
  bool multi_topk = false;
  // BatchTopK (Bussmann et al. 2024): the batch keeps its rows * k largest activations, so a
  // token may use more or fewer than k latents. Each row offers at most 4k candidates.
  bool batch_topk = false;
  int64_t aux_k = 0;  // 0: no AuxK
  double aux_coef = 1.0 / 32.0;
};

struct SaeGradients {
  std::vector<float> W_enc, b_enc, W_dec, b_pre;
  void reset(int64_t n, int64_t d);  // sized and zeroed
};

struct SaeLossStats {
  double loss = 0;
  double fvu = 0;        // ||x - x_hat||^2 / V, the normalised MSE with the mean baseline
  double multi_fvu = 0;  // with 4k latents (multi_topk)
  double aux_fvu = 0;    // unscaled AuxK term ||e - e_hat||^2 / V
  double l0 = 0;         // mean active latents per token
};

// Adds the gradients of L at `sae` for x_norm [rows, d] into `grads` (which must be sized).
// `dead` marks latents eligible for AuxK (may be null). The codes actually used for the
// reconstruction go to `codes` when given (for dead-latent statistics).
SaeLossStats sae_loss_and_gradients(const TopKSae& sae, const float* x_norm, int64_t rows,
                                    const SaeLossOptions& options, const std::vector<uint8_t>* dead,
                                    SaeGradients& grads, SparseCodes* codes = nullptr);

// Keeps the rows * k largest values of codes (k per row on average) and empties the rest.
void batch_topk_select(SparseCodes& codes, int64_t k_per_row);

}  // namespace tessera::interp
