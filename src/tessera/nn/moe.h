#pragma once
// Sparsely gated mixture-of-experts feed-forward layer as NLLB-200 trained it (fairseq's
// top2gate.py / moe_layer.py, Hugging Face's NllbMoeSparseMLP): an fp32 router, top-2
// gating (softmax, the top-1 expert, then the best other expert), an expert capacity of
// 2 * ceil(tokens / experts) in training with token dropping and gate renormalisation, no
// dropping at evaluation, the load-balancing auxiliary loss (Shazeer et al. 2017, Lepikhin
// et al. 2020), and Expert Output Masking (EOM, NLLB section 6.2.2): in training a token's
// output from an expert is dropped whole with probability p; at evaluation every expert
// output is scaled by 1 - p as upstream does, which is the training-time expectation.
// Dispatch groups the tokens of each expert and runs one GEMM per expert and projection.
#include <cstdint>
#include <string>
#include <vector>

#include "tessera/nn/layers.h"
#include "tessera/nn/seq2seq_attention.h"

namespace tessera::nn {

struct MoeConfig {
  int64_t num_experts = 4;
  // Fixed capacity per expert in training; 0 takes 2 * ceil(tokens / experts).
  int64_t training_capacity = 0;
  // Evaluation capacity = ceil(fraction * tokens); 1.0 (upstream's default) never drops.
  // <= 0 uses the training rule at evaluation too.
  double eval_capacity_fraction = 1.0;
  bool normalize_before_dropping = false;  // renormalise top-1/top-2 before capacity drops
  bool batch_prioritized_routing = false;  // fill capacity by router confidence, not position
  double expert_output_masking = 0.0;      // EOM rate p (upstream: moe_token_dropout)
  double activation_dropout = 0.0;  // training: dropout on each expert's hidden activations
  Activation activation = Activation::relu;
};

struct ExpertFfn {
  QuantizableLinear fc1, fc2;  // [ffn, d] and [d, ffn], with biases (NllbMoeDenseActDense)
};

// What the router decided for one forward pass (inspection and tests).
struct MoeRouting {
  std::vector<int64_t> expert1, expert2;   // per routed token
  std::vector<uint8_t> kept1, kept2;       // within capacity
  std::vector<double> gate1, gate2;        // combine weights after renormalisation (0 when dropped)
  std::vector<int64_t> tokens_per_expert;  // after capacity
  int64_t capacity = 0;
  int64_t dropped_assignments = 0;  // top-1 or top-2 slots lost to capacity
};

struct MoeOutput {
  Tensor y;         // same shape as the input
  Tensor aux_loss;  // scalar: E * sum_e mean_prob_e * top1_fraction_e (1 when balanced)
  // scalar: mean over routed tokens of logsumexp(router logits)^2, the router z-loss of
  // ST-MoE (Zoph et al. 2022) that transformers' NLLB-MoE adds with router_z_loss_coef; it keeps
  // the logits small so the fp32 softmax stays well conditioned.
  Tensor z_loss;
  MoeRouting routing;
};

struct MoeFfn {
  Linear router;  // "router.classifier": [E, d], bias optional
  std::vector<ExpertFfn> experts;
  MoeConfig config;

  static MoeFfn create(int64_t dim, int64_t ffn_dim, const MoeConfig& config, bool router_bias,
                       double std, Generator& gen);
  // x [N, d] (or [.., d], flattened). `active` (optional, N entries) marks tokens to route;
  // inactive tokens (padding) get a zero output and do not count towards capacity or the
  // auxiliary loss. `gen` draws the EOM masks and activation dropout in training.
  MoeOutput forward(const Tensor& x, bool training, Generator* gen = nullptr,
                    const std::vector<uint8_t>* active = nullptr) const;
  // Upstream names: <prefix>router.classifier.*, <prefix>experts.expert_<j>.fc1.* / fc2.*
  void parameters(const std::string& prefix, ParameterRefs& out);
  void quantize_int8();  // experts only: the router stays in f32 as upstream keeps it
};

// out[index[m], :] += values[m, :] into `rows` zero rows; differentiable in values (the
// backward gathers the gradient rows). values [M, d], index integer [M].
Tensor scatter_add_rows(const Tensor& values, const Tensor& index, int64_t rows);

}  // namespace tessera::nn
