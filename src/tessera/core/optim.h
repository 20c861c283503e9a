#pragma once
// Optimizers (AdamW with decoupled weight decay, SGD with momentum), learning-rate schedules
// and global-norm clipping. All optimizer state can be saved and restored exactly, so that a
// resumed run continues bit for bit.
#include <map>
#include <string>
#include <vector>

#include "tessera/core/tensor.h"

namespace tessera {

struct NamedParameter {
  std::string name;
  Tensor tensor;
  bool weight_decay = true;  // norms and biases usually opt out
};

class Optimizer {
 public:
  explicit Optimizer(std::vector<NamedParameter> params);
  virtual ~Optimizer() = default;
  // Applies one update with learning rate `lr` using the parameters' current .grad
  // (parameters without a gradient are skipped).
  virtual void step(double lr) = 0;
  void zero_grad();
  int64_t steps() const { return steps_; }
  const std::vector<NamedParameter>& parameters() const { return params_; }

  // State as named tensors ("<param>.<slot>") plus scalars, for optimizer.safetensors and
  // trainer_state.json. load_state checks that every slot is present with the right shape.
  virtual std::vector<std::pair<std::string, Tensor>> state_tensors() const = 0;
  virtual void load_state(const std::map<std::string, Tensor>& tensors, int64_t steps) = 0;

 protected:
  std::vector<NamedParameter> params_;
  int64_t steps_ = 0;
};

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

// Loshchilov & Hutter: p -= lr * (m_hat / (sqrt(v_hat) + eps) + wd * p), with bias-corrected
// moments m_hat = m / (1 - beta1^t), v_hat = v / (1 - beta2^t).
class AdamW : public Optimizer {
 public:
  AdamW(std::vector<NamedParameter> params, AdamWOptions options = {});
  void step(double lr) override;
  std::vector<std::pair<std::string, Tensor>> state_tensors() const override;
  void load_state(const std::map<std::string, Tensor>& tensors, int64_t steps) override;
  const AdamWOptions& options() const { return options_; }

 private:
  AdamWOptions options_;
  std::vector<Tensor> m_, v_;
};

struct SgdOptions {
  double momentum = 0.0;
  double weight_decay = 0.0;  // coupled (added to the gradient), as classic SGD does
  bool nesterov = false;
};

class Sgd : public Optimizer {
 public:
  Sgd(std::vector<NamedParameter> params, SgdOptions options = {});
  void step(double lr) override;
  std::vector<std::pair<std::string, Tensor>> state_tensors() const override;
  void load_state(const std::map<std::string, Tensor>& tensors, int64_t steps) override;

 private:
  SgdOptions options_;
  std::vector<Tensor> velocity_;
};

enum class ScheduleKind { constant, linear, cosine, wsd, inverse_sqrt };
bool parse_schedule_kind(const std::string& name, ScheduleKind& out);

// Learning rate at a step. All kinds warm up linearly from 0 over `warmup_steps`.
// linear/cosine decay to min_lr_ratio * peak at total_steps; wsd (warmup-stable-decay) holds
// the peak and decays linearly over the last decay_fraction of total_steps; inverse_sqrt
// decays as peak * sqrt(warmup / step) after warmup.
struct Schedule {
  ScheduleKind kind = ScheduleKind::cosine;
  double peak_lr = 1e-3;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double min_lr_ratio = 0.1;
  double decay_fraction = 0.2;
  double lr_at(int64_t step) const;
};

// Scales all gradients so their global L2 norm is at most max_norm; returns the norm before
// clipping (what training logs report).
double clip_grad_norm(const std::vector<NamedParameter>& params, double max_norm);

}  // namespace tessera
