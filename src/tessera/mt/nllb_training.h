#pragma once
// `tessera mt train`: the NLLB recipe in miniature. Many-to-many through English (both
// directions of every eng_Latn-xxx pair in a build-corpus folder), language tokens on both
// sides, temperature sampling over directions (p_d proportional to n_d^(1/T)), label-smoothed
// cross-entropy plus the MoE load-balancing loss, AdamW with the inverse-square-root schedule,
// dense (m2m_100) or sparsely gated (nllb-moe, optionally with Expert Output Masking)
// architectures. The tokenizer is a SentencePiece model trained on a temperature-sampled
// mix of the training text, in NLLB's id layout. Checkpoints are upstream layouts, written
// atomically, with optimizer and data-sampler state for resuming.
#include <cstdint>
#include <string>
#include <vector>

namespace tessera::mt {

struct MtTrainOptions {
  std::string corpus_dir, out_dir;
  std::string runs_dir = "runs", run_name;  // metrics in runs/<name>/metrics.jsonl
  std::string arch = "dense";               // dense | moe
  double eom_rate = 0.0;                    // moe: Expert Output Masking rate (0: off)
  std::vector<std::string>
      languages;  // NLLB codes besides eng_Latn; empty: every one in the corpus
  // Model shape (encoder and decoder alike).
  int64_t d_model = 128, layers = 3, heads = 4, ffn_dim = 512;
  int64_t num_experts = 4, sparse_step = 2;  // moe: every sparse_step-th FFN is an MoE layer
  int64_t vocab_size = 4000;  // SentencePiece pieces (the model adds specials and codes)
  // Optimisation.
  int64_t steps = 1000;
  double minutes = 0;       // > 0: also stop after this much wall time
  int64_t batch_size = 32;  // sentence pairs per step
  int64_t max_tokens = 64;  // per side; longer pairs are cut
  double lr = 2e-3;
  int64_t warmup_steps = 200;
  double label_smoothing = 0.1, dropout = 0.1, temperature = 5.0;
  // Regularisers of fairseq's recipe (0: off; written to config.json under upstream keys).
  double attention_dropout = 0.0, activation_dropout = 0.0, layerdrop = 0.0;
  double aux_loss_weight = 0.01, clip_norm = 1.0, weight_decay = 0.0;
  double z_loss_weight = 0.0;  // moe: router z-loss weight (transformers' router_z_loss_coef)
  int64_t eval_every = 200, log_every = 20, save_every = 0;  // 0: only at the end
  uint64_t seed = 0;
  bool resume = false;
  bool progress = false;
};

struct MtTrainSummary {
  int64_t steps_done = 0, parameters = 0, active_parameters = 0, tokens_seen = 0;
  double seconds = 0, tokens_per_second = 0;
  double last_train_loss = 0, dev_loss = 0;
  std::vector<std::string> languages;
};

MtTrainSummary train_translation_model(const MtTrainOptions& options);

}  // namespace tessera::mt
