#pragma once
// The selective state-space model of Mamba-2 (Dao & Gu 2024, "Transformers are SSMs"), in the
// three forms the paper proves equal (its state space duality):
//   (a) ssd_sequential: the recurrence of eq. (1)/(2),
//         h_t = exp(dt_t A) h_t-1 + dt_t x_t B_t^T,   y_t = h_t C_t + D x_t,
//       one token at a time (decoding, and the reference);
//   (b) ssd_chunked: the SSD algorithm of section 6 (listing 1): intra-chunk quadratic blocks,
//       chunk states, inter-chunk state passing and state-to-output, with the chunk products done
//       by BLAS (training and prefill);
//   (c) ssd_quadratic: the dual "attention" form y = (L o C B^T) x of eq. (16) with the
//       1-semiseparable mask L[t, s] = exp(sum_{s<r<=t} dt_r A) (short sequences, and the
//       duality's proof in tests).
// Layouts (row-major, contiguous): x, y [batch, length, heads, head_dim]; dt [batch, length,
// heads] (already softplus'd and limited); A, D [heads] (A negative; D may be null);
// B, C [batch, length, groups, state], heads split evenly over groups (head h uses group
// h / (heads / groups)); states [batch, heads, head_dim, state]. A null initial state means
// zeros; a null final state is not written.
#include <cstdint>

namespace tessera::kernels {

struct SsdShape {
  int64_t batch = 1, length = 0, heads = 1, head_dim = 1, groups = 1, state = 1;
  int64_t heads_per_group() const { return heads / groups; }
  int64_t state_elements() const { return batch * heads * head_dim * state; }
};

// Throws std::invalid_argument when sizes are negative, groups do not divide heads, or chunk < 1.
void check_ssd_shape(const SsdShape& shape, int64_t chunk = 1);

template <typename T>
void ssd_sequential(const SsdShape& shape, const T* x, const T* dt, const T* A, const T* B,
                    const T* C, const T* D, const T* initial_state, T* final_state, T* y);

template <typename T>
void ssd_quadratic(const SsdShape& shape, const T* x, const T* dt, const T* A, const T* B,
                   const T* C, const T* D, const T* initial_state, T* final_state, T* y);

// Number of chunks for a length (the last chunk may be shorter).
inline int64_t ssd_num_chunks(int64_t length, int64_t chunk) {
  return (length + chunk - 1) / chunk;
}

// chunk_states (may be null): [batch, num_chunks + 1, heads, head_dim, state], the state entering
// each chunk and, last, the final state; the backward reads them instead of recomputing.
template <typename T>
void ssd_chunked(const SsdShape& shape, int64_t chunk, const T* x, const T* dt, const T* A,
                 const T* B, const T* C, const T* D, const T* initial_state, T* final_state, T* y,
                 T* chunk_states = nullptr);

// Gradients of the chunked SSD given dy (and optionally d final_state), from the saved
// chunk_states of the forward. Every output pointer may be null (not wanted); those given are
// overwritten (not accumulated). dD needs D; d_initial_state is the gradient of the initial state
// (zeros when the forward had none).
template <typename T>
struct SsdGradients {
  T* dx = nullptr;
  T* ddt = nullptr;
  T* dA = nullptr;
  T* dB = nullptr;
  T* dC = nullptr;
  T* dD = nullptr;
  T* d_initial_state = nullptr;
};

template <typename T>
void ssd_chunked_backward(const SsdShape& shape, int64_t chunk, const T* x, const T* dt, const T* A,
                          const T* B, const T* C, const T* D, const T* chunk_states, const T* dy,
                          const T* d_final_state, const SsdGradients<T>& grads);

}  // namespace tessera::kernels
