#pragma once
// The SSD (state space duality) layer of Mamba-2 as tensor ops over kernels/cpu/ssd.h.
// ssd_chunked_scan is a fused op: in grad mode it records one node whose backward is the
// chunked backward kernel (not a tape of small ops). The sequential and quadratic forms are
// exposed for decoding, benchmarks and tests; they do not record.
#include <string>

#include "tessera/core/tensor.h"

namespace tessera::nn {

// x [B, L, H, P], dt [B, L, H] (positive: softplus'd), A [H] (negative), B and C [B, L, G, N],
// D [H] or undefined, initial_state [B, H, P, N] or undefined (zeros).
struct SsdInputs {
  Tensor x, dt, A, B, C, D, initial_state;
};

struct SsdOutputs {
  Tensor y;            // [B, L, H, P]; differentiable w.r.t. every input in grad mode
  Tensor final_state;  // [B, H, P, N]; not differentiated (decoding state)
};

enum class SsdForm { sequential, chunked, quadratic };
SsdForm parse_ssd_form(const std::string& name);  // "sequential" | "chunked" | "quadratic"

// Checks shapes and dtypes (BadInput naming the tensor), then runs the chosen form. Only the
// chunked form records for autograd; the others refuse inputs that require grad.
SsdOutputs ssd_scan(const SsdInputs& inputs, SsdForm form = SsdForm::chunked, int64_t chunk = 256);

}  // namespace tessera::nn
