#pragma once
// Training a TopK SAE on an activation dataset (Gao et al. 2024, section 2 and appendix A):
// Adam (eps 6.25e-10), the paper's learning-rate rule lr = 2e-4 / sqrt(n / 2^14) by default,
// unit-norm decoder rows restored after every step with the parallel gradient component
// projected out first, b_pre initialised at the geometric median of a sample, AuxK on latents
// dead for `dead_tokens` tokens, and optional Multi-TopK / BatchTopK. The run checkpoints
// into <out>/checkpoint (parameters, Adam moments, dead-latent counters, data position) and
// resumes from it; the trained SAE is written to <out> in the SAELens layout.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tessera/interp/activations.h"
#include "tessera/interp/sae.h"
#include "tessera/interp/sae_loss.h"

namespace tessera::interp {

struct SaeTrainOptions {
  int64_t latents = 0;
  int64_t k = 32;
  int64_t aux_k = -1;  // -1: d / 2 (the paper's heuristic); 0: AuxK off
  double aux_coef = 1.0 / 32.0;
  int64_t dead_tokens = 10'000'000;
  bool multi_topk = false;
  bool batch_topk = false;
  SaeNormalization normalization = SaeNormalization::none;
  int64_t batch = 4096;
  double lr = 0;       // 0: default_learning_rate(latents)
  int64_t tokens = 0;  // 0: one pass over the data
  uint64_t seed = 0;
  double beta1 = 0.9, beta2 = 0.999, eps = 6.25e-10;
  int64_t median_sample = 4096;  // rows for the geometric median and the scale estimate
  std::string out_dir;           // empty: nothing written
  int64_t checkpoint_every = 0;  // tokens between checkpoints (0: only at the end)
  bool resume = true;            // continue from <out>/checkpoint when present
  bool progress = false;         // progress bar / log lines on stderr
  int64_t log_every = 10;        // steps between metrics.jsonl lines (with an out_dir)
  // Called after every step (tests, the sweep); may be empty.
  std::function<void(int64_t step, const SaeLossStats&)> on_step;
};

// The paper's rule: 2e-4 at 2^14 latents, scaled by 1/sqrt(n).
double default_learning_rate(int64_t latents);

class SaeTrainer {
 public:
  SaeTrainer(const ActivationSource& data, SaeTrainOptions options);

  // Resumes from <out>/checkpoint when allowed and present; otherwise initialises (scale
  // estimate, geometric-median b_pre, tied weights). Idempotent.
  void start();
  // One optimizer step on the next batch.
  SaeLossStats step();
  // Steps until `tokens` (or one epoch), checkpointing and logging; writes the SAE to out_dir.
  void train();

  const TopKSae& sae() const { return sae_; }
  TopKSae& mutable_sae() { return sae_; }
  const SaeTrainOptions& options() const { return options_; }
  int64_t steps() const { return steps_; }
  int64_t tokens_seen() const { return tokens_; }
  int64_t target_tokens() const;
  double learning_rate() const { return lr_; }
  // Latents that have not fired for dead_tokens tokens.
  int64_t dead_latents() const;
  const std::vector<int64_t>& tokens_since_fired() const { return since_fired_; }
  const SaeLossStats& last_stats() const { return last_; }

  void save_checkpoint(const std::string& dir) const;
  void load_checkpoint(const std::string& dir);

 private:
  void initialize();
  void next_batch(std::vector<float>& x_norm, int64_t rows);
  void adam_update(std::vector<float>& param, std::vector<float>& grad, std::vector<float>& m,
                   std::vector<float>& v);

  const ActivationSource& data_;
  SaeTrainOptions options_;
  TopKSae sae_;
  SaeGradients grads_, m_, v_;
  std::vector<int64_t> since_fired_;
  std::vector<int64_t> order_;  // this epoch's row order
  int64_t epoch_ = 0, position_ = 0;
  int64_t steps_ = 0, tokens_ = 0;
  double lr_ = 0;
  bool started_ = false;
  bool resumed_ = false;  // continued from a checkpoint: metrics.jsonl is appended to
  SaeLossStats last_;
};

}  // namespace tessera::interp
