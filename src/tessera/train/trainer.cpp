#include "tessera/train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "tessera/core/autograd.h"
#include "tessera/core/io/safetensors.h"
#include "tessera/core/ops.h"
#include "tessera/core/progress.h"

namespace tessera::train {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<NamedParameter> trainable(models::CausalLM& model) {
  std::vector<NamedParameter> params;
  for (auto& [name, slot] : model.parameters()) {
    // Loaded weights may be read-only views of a mapped file: training needs its own copy.
    if (slot->storage()->read_only() || !slot->is_contiguous() || slot->dtype() != DType::f32) {
      *slot = slot->detach().to(DType::f32).clone();
    }
    slot->requires_grad_(true);
    slot->set_name(name);
    // Norm weights and biases are not decayed (as in common LM training recipes).
    bool decay = slot->dim() >= 2;
    params.push_back({name, *slot, decay});
  }
  return params;
}

Tensor batch_loss(models::CausalLM& model, const TokenBatch& batch) {
  Tensor logits = model.forward(batch.inputs_tensor());
  const int64_t rows = batch.rows * batch.seq_len;
  return cross_entropy(logits.reshape({rows, logits.size(-1)}), batch.targets_tensor().reshape({rows}));
}

void append_line(const fs::path& path, const nlohmann::json& j) {
  std::ofstream out(path, std::ios::app);
  out << j.dump() << "\n";
}

const char* kStepKey = "tessera.step";

void save_checkpoint(models::CausalLM& model, const Optimizer& opt, const PackedBatches& loader,
                     const TrainOptions& options, int64_t step) {
  NoGrad no_grad;
  const fs::path dir(options.out_dir);
  fs::create_directories(dir);
  io::StringMetadata meta = {{"format", "pt"}, {kStepKey, std::to_string(step)}};
  io::NamedTensors weights;
  for (auto& [name, slot] : model.parameters()) weights.emplace_back(name, slot->detach());
  io::save_safetensors((dir / "model.safetensors").string(), weights, meta);
  io::save_safetensors((dir / "optimizer.safetensors").string(), opt.state_tensors(), meta);
  models::write_json_file((dir / "config.json").string(), model.config_json());
  // Written last: a checkpoint counts only once trainer_state.json names its step.
  nlohmann::json state = {{"step", step},
                          {"optimizer_steps", opt.steps()},
                          {"loader", loader.state()},
                          {"seed", options.seed},
                          {"total_steps", options.steps}};
  models::write_json_file((dir / "trainer_state.json").string(), state);
}

}  // namespace

double evaluate_loss(models::CausalLM& model, const TokenDataset& data, int64_t batch_size,
                     int64_t seq_len, int64_t max_batches) {
  NoGrad no_grad;
  PackedBatches loader(data, {batch_size, seq_len, 0, /*shuffle=*/false});
  TokenBatch batch;
  double total = 0;
  int64_t tokens = 0;
  for (int64_t b = 0; (max_batches <= 0 || b < max_batches) && loader.next(batch); ++b) {
    double loss = batch_loss(model, batch).item<double>();
    total += loss * static_cast<double>(batch.rows * batch.seq_len);
    tokens += batch.rows * batch.seq_len;
  }
  TESSERA_CHECK_INPUT(tokens > 0, "{}: no evaluation batch (dataset shorter than seq_len + 1)",
                      data.folder());
  return total / static_cast<double>(tokens);
}

std::unique_ptr<models::CausalLM> load_for_training(const std::string& out_dir) {
  auto model = models::load_model(out_dir);
  trainable(*model);
  return model;
}

TrainSummary train(models::CausalLM& model, const std::string& train_folder,
                   const std::string& valid_folder, const TrainOptions& options_in,
                   const std::function<void(int64_t, double)>& on_step) {
  TrainOptions options = options_in;
  TESSERA_CHECK_INPUT(!options.out_dir.empty(), "train: no output folder");
  TESSERA_CHECK_INPUT(options.steps > 0 && options.batch_size > 0 && options.seq_len > 0 &&
                          options.grad_accum > 0,
                      "train: steps, batch size, sequence length and accumulation must be positive");
  // A time-budgeted run does not know its length: the schedule's end is re-estimated every
  // step from the speed so far (a WSD schedule then decays over the budget's last part).
  const bool time_budgeted = options.minutes > 0 && options.schedule.total_steps <= 1;
  if (options.schedule.total_steps <= 1) options.schedule.total_steps = options.steps;
  if (options.run_name.empty()) options.run_name = fs::path(options.out_dir).filename().string();
  TokenDataset train_data = TokenDataset::open(train_folder);
  TESSERA_CHECK_INPUT(train_data.vocab_size() <= model.vocab_size(),
                      "train: dataset vocab_size {} exceeds the model's {}", train_data.vocab_size(),
                      model.vocab_size());
  std::optional<TokenDataset> valid_data;
  if (!valid_folder.empty()) valid_data = TokenDataset::open(valid_folder);

  std::vector<NamedParameter> params = trainable(model);
  AdamW opt(params, options.adamw);
  PackedBatches loader(train_data, {options.batch_size, options.seq_len, options.seed, true});
  int64_t step = 0;
  const fs::path run_dir = fs::path(options.runs_dir) / options.run_name;
  if (options.resume) {
    const fs::path dir(options.out_dir);
    nlohmann::json state = models::read_json_file((dir / "trainer_state.json").string());
    step = state.at("step").get<int64_t>();
    io::SafetensorsFile opt_file = io::SafetensorsFile::open((dir / "optimizer.safetensors").string());
    io::SafetensorsFile model_file = io::SafetensorsFile::open((dir / "model.safetensors").string());
    for (const auto* f : {&opt_file, &model_file}) {
      auto it = f->metadata().find(kStepKey);
      TESSERA_CHECK_INPUT(it != f->metadata().end() && it->second == std::to_string(step),
                          "{}: saved at a different step than trainer_state.json ({}); the "
                          "checkpoint was interrupted while being written",
                          f->source(), step);
    }
    std::map<std::string, Tensor> slots;
    for (const std::string& name : opt_file.names()) slots[name] = opt_file.get(name);
    opt.load_state(slots, state.at("optimizer_steps").get<int64_t>());
    loader.restore(state.at("loader"));
  } else {
    fs::remove(run_dir / "metrics.jsonl");
  }
  fs::create_directories(run_dir);

  TrainSummary summary;
  auto eval = [&]() -> double {
    if (!valid_data) return std::nan("");
    return evaluate_loss(model, *valid_data, options.batch_size, options.seq_len, options.eval_batches);
  };
  summary.valid_loss_before = eval();
  if (valid_data) append_line(run_dir / "metrics.jsonl", {{"step", step}, {"valid_loss", summary.valid_loss_before}});

  const int64_t tokens_per_step = options.batch_size * options.seq_len * options.grad_accum;
  std::optional<Progress> progress;
  if (options.progress) {
    progress.emplace("train", options.minutes > 0 ? 0 : options.steps, "step");
    progress->set(step);
  }
  auto start = Clock::now();
  const int64_t first_step = step;
  TokenBatch batch;
  while (step < options.steps) {
    double loss_sum = 0;
    for (int64_t micro = 0; micro < options.grad_accum; ++micro) {
      loader.next(batch);
      Tensor loss = batch_loss(model, batch);
      loss_sum += loss.item<double>();
      (options.grad_accum > 1 ? mul(loss, 1.0 / static_cast<double>(options.grad_accum)) : loss).backward();
    }
    const double loss = loss_sum / static_cast<double>(options.grad_accum);
    const double grad_norm = clip_grad_norm(params, options.clip_norm);
    if (time_budgeted && step > first_step) {
      const double so_far = std::chrono::duration<double>(Clock::now() - start).count();
      const double per_step = so_far / static_cast<double>(step - first_step);
      options.schedule.total_steps =
          std::max<int64_t>(step + 1, first_step + static_cast<int64_t>(options.minutes * 60.0 / per_step));
    }
    const double lr = options.schedule.lr_at(step);
    opt.step(lr);
    opt.zero_grad();
    ++step;
    summary.tokens_seen += tokens_per_step;
    summary.last_train_loss = loss;
    if (on_step) on_step(step, loss);
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (step % std::max<int64_t>(options.log_every, 1) == 0 || step == options.steps) {
      append_line(run_dir / "metrics.jsonl",
                  {{"step", step}, {"loss", loss}, {"lr", lr}, {"grad_norm", grad_norm},
                   {"tokens_per_second", static_cast<double>(summary.tokens_seen) / elapsed}});
    }
    if (progress) {
      progress->set_note(fmt::format("loss {:.3f} lr {:.2e} {:.0f} tok/s", loss, lr,
                                     static_cast<double>(summary.tokens_seen) / elapsed));
      progress->set(step);
    }
    const bool out_of_time = options.minutes > 0 && elapsed >= options.minutes * 60.0;
    if (options.eval_every > 0 && step % options.eval_every == 0 && step < options.steps && valid_data) {
      append_line(run_dir / "metrics.jsonl", {{"step", step}, {"valid_loss", eval()}});
    }
    if ((options.save_every > 0 && step % options.save_every == 0) || out_of_time) {
      save_checkpoint(model, opt, loader, options, step);
    }
    if (out_of_time) break;
  }
  if (progress) progress->finish();
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  summary.tokens_per_second = summary.seconds > 0 ? static_cast<double>(summary.tokens_seen) / summary.seconds : 0;
  summary.steps_done = step;
  summary.valid_loss_after = eval();
  save_checkpoint(model, opt, loader, options, step);
  nlohmann::json s = {{"steps", step},
                      {"steps_this_run", step - first_step},
                      {"tokens_seen", summary.tokens_seen},
                      {"seconds", summary.seconds},
                      {"tokens_per_second", summary.tokens_per_second},
                      {"last_train_loss", summary.last_train_loss}};
  if (valid_data) {
    s["valid_loss_before"] = summary.valid_loss_before;
    s["valid_loss_after"] = summary.valid_loss_after;
    s["valid_perplexity_after"] = std::exp(summary.valid_loss_after);
    append_line(run_dir / "metrics.jsonl", {{"step", step}, {"valid_loss", summary.valid_loss_after}});
  }
  models::write_json_file((run_dir / "summary.json").string(), s);
  return summary;
}

}  // namespace tessera::train
