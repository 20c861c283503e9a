#pragma once
// Int8 weights for inference: each output row of a [out, in] matrix is stored as int8 with
// one f32 scale (absmax / 127), as CTranslate2's int8 mode keeps weights, in the panel layout
// of kernels/cpu/int8_gemm.h. On CPUs with AVX-512 VNNI, activations are quantized per row to
// int8 as well and multiplied in exact int32 (CTranslate2's W8A8 scheme); elsewhere a
// cache-sized block of weight rows at a time is dequantized for OpenBLAS (no full f32 copy).
#include <string>

#include "tessera/nn/layers.h"

namespace tessera::nn {

struct Int8Matrix {
  Tensor q;         // i8, kernels::int8_pack_rows layout of [out, in]
  Tensor scale;     // f32 [out]
  Tensor row_sums;  // i32 [out]: sum of each int8 row (the VNNI product's offset correction)
  int64_t rows = 0, cols = 0;  // out, in
  int8_t at(int64_t n, int64_t k) const;  // the int8 weight (n, k)
  bool defined() const { return q.defined(); }
  int64_t bytes() const {
    return defined() ? static_cast<int64_t>(q.nbytes() + scale.nbytes() + row_sums.nbytes()) : 0;
  }
};

// Per-row absmax quantization of an f32/f64 weight [out, in]. Rows of zeros get scale 0.
Int8Matrix quantize_rows_int8(const Tensor& weight);
// Rows `ids` (integer, any shape) of the matrix, dequantized: [..ids, in] f32 (an int8
// embedding table shared with the output projection).
Tensor int8_rows(const Int8Matrix& w, const Tensor& ids);
// x [.., in] (f32) -> [.., out]: x W^T * scale (+ bias). Not differentiable.
Tensor int8_linear(const Tensor& x, const Int8Matrix& w, const Tensor& bias = Tensor());

// A Linear layer that can trade its f32 weight for an Int8Matrix (inference only).
struct QuantizableLinear {
  Tensor weight;  // [out, in]; undefined once quantized
  Tensor bias;    // [out] or undefined
  Int8Matrix int8;
  static QuantizableLinear create(int64_t in, int64_t out, bool with_bias, double std,
                                  Generator& gen);
  Tensor forward(const Tensor& x) const {
    return int8.defined() ? int8_linear(x, int8, bias) : linear(x, weight, bias);
  }
  void quantize();  // replaces the f32 weight by its int8 form
  void parameters(const std::string& prefix, ParameterRefs& out);
};

}  // namespace tessera::nn
