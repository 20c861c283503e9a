#pragma once
// The training loop every model shares: packed batches, gradient accumulation, AdamW with a
// schedule, global-norm clipping, periodic evaluation on the valid split, metrics in
// runs/<name>/metrics.jsonl, atomic checkpoints, and exact resume (the loss sequence after
// resuming equals that of an uninterrupted run with the same seed and thread count).
#include <functional>
#include <string>

#include "tessera/core/optim.h"
#include "tessera/models/causal_lm.h"
#include "tessera/train/data_loader.h"

namespace tessera::train {

struct TrainOptions {
  std::string out_dir;       // checkpoint folder (config.json, model.safetensors, ...)
  std::string runs_dir = "runs";
  std::string run_name;      // default: the out_dir's folder name
  int64_t steps = 1000;      // optimizer steps in total (a resumed run continues to this)
  double minutes = 0;        // > 0: also stop after this much wall time (then checkpoint)
  int64_t batch_size = 8;
  int64_t seq_len = 256;
  int64_t grad_accum = 1;
  Schedule schedule;         // total_steps is set from `steps` when left at 0
  AdamWOptions adamw;
  double clip_norm = 1.0;    // <= 0: no clipping
  int64_t eval_every = 200;  // steps; 0: only at the end
  int64_t eval_batches = 20;
  int64_t save_every = 500;  // steps; 0: only at the end
  int64_t log_every = 10;
  uint64_t seed = 0;
  bool resume = false;       // continue from out_dir's checkpoint
  bool progress = true;      // progress bar / periodic lines on stderr
};

struct TrainSummary {
  int64_t steps_done = 0;    // total after this run
  int64_t tokens_seen = 0;   // in this run
  double seconds = 0;
  double tokens_per_second = 0;
  double last_train_loss = 0;
  double valid_loss_before = 0;  // at the start of this run
  double valid_loss_after = 0;
};

// Mean cross-entropy (nats per token) over up to `max_batches` sequential batches of `data`.
double evaluate_loss(models::CausalLM& model, const TokenDataset& data, int64_t batch_size,
                     int64_t seq_len, int64_t max_batches);

// Trains `model` (its parameters are made trainable). With options.resume the model, optimizer,
// schedule position and data position are restored from out_dir first. `valid` may be empty.
// on_step (optional) sees each optimizer step's mean loss.
TrainSummary train(models::CausalLM& model, const std::string& train_folder,
                   const std::string& valid_folder, const TrainOptions& options,
                   const std::function<void(int64_t step, double loss)>& on_step = {});

// Loads the model in out_dir for resuming (parameters cloned into writable memory).
std::unique_ptr<models::CausalLM> load_for_training(const std::string& out_dir);

}  // namespace tessera::train
