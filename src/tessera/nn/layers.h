#pragma once
// Basic layers. A layer is a plain struct of parameter tensors plus forward(); the backward
// comes from the ops it calls. Each layer lists its parameters under the names the Hugging
// Face checkpoints use, so loading and saving are a walk over `parameters(prefix, out)`.
#include <string>
#include <utility>
#include <vector>

#include "tessera/core/ops.h"
#include "tessera/core/rng.h"

namespace tessera::nn {

// (name, pointer to the member tensor): loaders assign through the pointer, optimizers read it.
using ParameterRefs = std::vector<std::pair<std::string, Tensor*>>;

struct Linear {
  Tensor weight;  // [out, in], as torch.nn.Linear
  Tensor bias;    // [out] or undefined
  // Weights ~ N(0, std); bias zero.
  static Linear create(int64_t in, int64_t out, bool with_bias, double std, Generator& gen);
  Tensor forward(const Tensor& x) const { return linear(x, weight, bias); }
  void parameters(const std::string& prefix, ParameterRefs& out);
};

struct Embedding {
  Tensor weight;  // [vocab, dim]
  static Embedding create(int64_t vocab, int64_t dim, double std, Generator& gen);
  Tensor forward(const Tensor& ids) const { return embedding(weight, ids); }
  void parameters(const std::string& prefix, ParameterRefs& out);
};

struct RMSNorm {
  Tensor weight;  // [dim]
  double eps = 1e-6;
  static RMSNorm create(int64_t dim, double eps);
  Tensor forward(const Tensor& x) const { return rms_norm(x, weight, eps); }
  void parameters(const std::string& prefix, ParameterRefs& out);
};

struct LayerNorm {
  Tensor weight, bias;  // [dim]; bias may be undefined
  double eps = 1e-5;
  static LayerNorm create(int64_t dim, double eps, bool with_bias = true);
  Tensor forward(const Tensor& x) const { return layer_norm(x, weight, bias, eps); }
  void parameters(const std::string& prefix, ParameterRefs& out);
};

// SwiGLU feed-forward (Shazeer 2020): down(silu(gate(x)) * up(x)), no biases, as Llama.
struct SwiGluMlp {
  Linear gate_proj, up_proj, down_proj;
  static SwiGluMlp create(int64_t dim, int64_t hidden, double std, Generator& gen);
  Tensor forward(const Tensor& x) const;
  void parameters(const std::string& prefix, ParameterRefs& out);
};

// Marks every parameter as requiring grad (training) or not (inference).
void set_requires_grad(const ParameterRefs& params, bool on);

}  // namespace tessera::nn
