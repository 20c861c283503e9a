#pragma once
// Int8 weights for inference: each output row of a [out, in] matrix is stored as int8 with
// one f32 scale (absmax / 127), as CTranslate2's int8 mode keeps weights. Products run in f32:
// a few activation rows take a direct dot product that converts int8 on the fly (memory-bound
// decoding reads a quarter of the bytes); many rows dequantize a cache-sized block of weight
// rows at a time and hand it to OpenBLAS (compute-bound, no full f32 copy kept).
#include <string>

#include "tessera/nn/layers.h"

namespace tessera::nn {

struct Int8Matrix {
  Tensor q;      // i8 [out, in]
  Tensor scale;  // f32 [out]
  bool defined() const { return q.defined(); }
  int64_t bytes() const {
    return defined() ? static_cast<int64_t>(q.nbytes() + scale.nbytes()) : 0;
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
