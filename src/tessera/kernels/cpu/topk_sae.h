#pragma once
// Kernels of the TopK sparse autoencoder (Gao et al. 2024, "Scaling and evaluating sparse
// autoencoders", eq. 2: z = TopK(W_enc (x - b_pre) + b_enc), x_hat = W_dec z + b_pre).
// A latent code is k (index, value) slots per token; an index of -1 marks an empty slot
// (fewer than k positive pre-activations, or fewer eligible latents), whose value is 0.
// Decoder directions are rows: W_dec is [n_latents, d], W_enc is [n_latents, d] as well, so
// both the gather of the forward and the scatter of the backward touch whole rows.
// Nothing here ever forms a dense [tokens x latents] gradient.
#include <cstdint>

namespace tessera::kernels {

// Per-row top-k of scores [rows, n] (row stride ld), largest first, ReLU applied: slots whose
// score is <= 0 become (-1, 0). When `eligible` is given only latents j with eligible[j] != 0
// compete (AuxK over dead latents). Ties go to the lower index.
void topk_rows(const float* scores, int64_t rows, int64_t n, int64_t ld, int64_t k,
               const uint8_t* eligible, int32_t* indices, float* values);

// Fused encoder: pre = x_centered W_enc^T + b_enc computed in row chunks (OpenBLAS), each
// chunk reduced to its top-k at once so the [rows, n] pre-activations never exist whole.
// When aux_k > 0, also the top-aux_k among `aux_eligible` latents (AuxK); pass null
// pointers otherwise.
void topk_sae_encode(const float* x_centered, int64_t rows, int64_t d, const float* W_enc,
                     const float* b_enc, int64_t n, int64_t k, int32_t* indices, float* values,
                     int64_t aux_k = 0, const uint8_t* aux_eligible = nullptr,
                     int32_t* aux_indices = nullptr, float* aux_values = nullptr);

// Sparse decoder forward: out[r] (+)= sum_j values[r, j] * W_dec[indices[r, j]] ([rows, d]).
// `accumulate` false overwrites out.
void topk_sae_decode(const int32_t* indices, const float* values, int64_t rows, int64_t k,
                     const float* W_dec, int64_t d, float* out, bool accumulate = false);

// Gradient of the sparse code values: grad_values[r, j] = <grad_out[r], W_dec[indices[r, j]]>
// (0 for empty slots).
void topk_sae_decode_grad_values(const int32_t* indices, int64_t rows, int64_t k,
                                 const float* W_dec, int64_t d, const float* grad_out,
                                 float* grad_values);

// Sparse-transpose product, the weight gradient of both sides:
// out[l] += sum over slots (r, j) with indices[r, j] == l of coeffs[r, j] * dense[r].
// Decoder: coeffs = code values, dense = grad of x_hat. Encoder: coeffs = grad of the
// pre-activations, dense = x_centered. Slots are bucketed by latent first so each output row
// is written by one thread only; rows of latents nobody used are not touched.
// `row_sums` (optional, [n]) receives += sum of coeffs per latent (the b_enc gradient).
void sparse_transpose_matmul(const int32_t* indices, const float* coeffs, int64_t rows, int64_t k,
                             const float* dense, int64_t d, int64_t n, float* out,
                             float* row_sums = nullptr);

// Plain reference versions for tests (dense loops, no threads).
void topk_rows_reference(const float* scores, int64_t rows, int64_t n, int64_t ld, int64_t k,
                         const uint8_t* eligible, int32_t* indices, float* values);
void sparse_transpose_matmul_reference(const int32_t* indices, const float* coeffs, int64_t rows,
                                       int64_t k, const float* dense, int64_t d, int64_t n,
                                       float* out);

}  // namespace tessera::kernels
