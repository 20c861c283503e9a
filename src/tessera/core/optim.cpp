#include "tessera/core/optim.h"

#include <cmath>
#include <numbers>

#include "tessera/core/autograd.h"
#include "tessera/core/ops_util.h"
#include "tessera/core/parallel.h"

namespace tessera {

using detail::dispatch_floating;

Optimizer::Optimizer(std::vector<NamedParameter> params) : params_(std::move(params)) {
  for (const auto& p : params_) {
    TESSERA_CHECK(p.tensor.defined() && is_floating(p.tensor.dtype()) && p.tensor.is_contiguous(),
                  "optimizer: parameter {} must be a contiguous floating tensor", p.name);
    p.tensor.check_writable();
  }
}

void Optimizer::zero_grad() {
  for (auto& p : params_) p.tensor.zero_grad();
}

namespace {

Tensor zeros_like(const Tensor& t) { return Tensor::zeros(t.shape(), t.dtype()); }

void load_slot(const std::map<std::string, Tensor>& tensors, const std::string& key,
               Tensor& slot) {
  auto it = tensors.find(key);
  TESSERA_CHECK_INPUT(it != tensors.end(), "optimizer state: missing tensor {}", key);
  TESSERA_CHECK_INPUT(it->second.shape() == slot.shape(),
                      "optimizer state: {} has shape {}, expected {}", key,
                      shape_str(it->second.shape()), shape_str(slot.shape()));
  slot.copy_(it->second);
}

}  // namespace

AdamW::AdamW(std::vector<NamedParameter> params, AdamWOptions options)
    : Optimizer(std::move(params)), options_(options) {
  for (const auto& p : params_) {
    m_.push_back(zeros_like(p.tensor));
    v_.push_back(zeros_like(p.tensor));
  }
}

void AdamW::step(double lr) {
  NoGrad no_grad;
  ++steps_;
  const double b1 = options_.beta1, b2 = options_.beta2;
  const double correction1 = 1.0 - std::pow(b1, static_cast<double>(steps_));
  const double correction2 = 1.0 - std::pow(b2, static_cast<double>(steps_));
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i].tensor;
    Tensor g = p.grad();
    if (!g.defined()) continue;
    g = g.contiguous();
    const double decay = params_[i].weight_decay ? options_.weight_decay : 0.0;
    dispatch_floating(p.dtype(), "AdamW", [&]<typename T>() {
      T* pp = p.data<T>();
      T* pm = m_[i].data<T>();
      T* pv = v_[i].data<T>();
      const T* pg = g.data<T>();
      const T step_size = static_cast<T>(lr / correction1);
      const T inv_sqrt_c2 = static_cast<T>(1.0 / std::sqrt(correction2));
      const T shrink = static_cast<T>(1.0 - lr * decay);
      const T tb1 = static_cast<T>(b1), tb2 = static_cast<T>(b2), eps = static_cast<T>(options_.eps);
      parallel_for(0, p.numel(), 1 << 15, [&](int64_t lo, int64_t hi) {
#pragma omp simd
        for (int64_t j = lo; j < hi; ++j) {
          T gj = pg[j];
          pm[j] = tb1 * pm[j] + (1 - tb1) * gj;
          pv[j] = tb2 * pv[j] + (1 - tb2) * gj * gj;
          T denom = std::sqrt(pv[j]) * inv_sqrt_c2 + eps;
          pp[j] = pp[j] * shrink - step_size * pm[j] / denom;
        }
      });
    });
  }
}

std::vector<std::pair<std::string, Tensor>> AdamW::state_tensors() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back(params_[i].name + ".exp_avg", m_[i]);
    out.emplace_back(params_[i].name + ".exp_avg_sq", v_[i]);
  }
  return out;
}

void AdamW::load_state(const std::map<std::string, Tensor>& tensors, int64_t steps) {
  for (size_t i = 0; i < params_.size(); ++i) {
    load_slot(tensors, params_[i].name + ".exp_avg", m_[i]);
    load_slot(tensors, params_[i].name + ".exp_avg_sq", v_[i]);
  }
  steps_ = steps;
}

Sgd::Sgd(std::vector<NamedParameter> params, SgdOptions options)
    : Optimizer(std::move(params)), options_(options) {
  for (const auto& p : params_) velocity_.push_back(zeros_like(p.tensor));
}

void Sgd::step(double lr) {
  NoGrad no_grad;
  ++steps_;
  const bool first = steps_ == 1;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i].tensor;
    Tensor g = p.grad();
    if (!g.defined()) continue;
    g = g.contiguous();
    const double decay = params_[i].weight_decay ? options_.weight_decay : 0.0;
    dispatch_floating(p.dtype(), "SGD", [&]<typename T>() {
      T* pp = p.data<T>();
      T* vel = velocity_[i].data<T>();
      const T* pg = g.data<T>();
      const T mu = static_cast<T>(options_.momentum), wd = static_cast<T>(decay), tlr = static_cast<T>(lr);
      for (int64_t j = 0; j < p.numel(); ++j) {
        T d = pg[j] + wd * pp[j];
        if (mu != T(0)) {
          vel[j] = first ? d : mu * vel[j] + d;  // PyTorch's convention: no dampening
          d = options_.nesterov ? d + mu * vel[j] : vel[j];
        }
        pp[j] -= tlr * d;
      }
    });
  }
}

std::vector<std::pair<std::string, Tensor>> Sgd::state_tensors() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < params_.size(); ++i) out.emplace_back(params_[i].name + ".momentum", velocity_[i]);
  return out;
}

void Sgd::load_state(const std::map<std::string, Tensor>& tensors, int64_t steps) {
  for (size_t i = 0; i < params_.size(); ++i) load_slot(tensors, params_[i].name + ".momentum", velocity_[i]);
  steps_ = steps;
}

bool parse_schedule_kind(const std::string& name, ScheduleKind& out) {
  static const std::pair<const char*, ScheduleKind> kinds[] = {
      {"constant", ScheduleKind::constant}, {"linear", ScheduleKind::linear},
      {"cosine", ScheduleKind::cosine},     {"wsd", ScheduleKind::wsd},
      {"inverse-sqrt", ScheduleKind::inverse_sqrt}};
  for (const auto& [n, k] : kinds) {
    if (name == n) {
      out = k;
      return true;
    }
  }
  return false;
}

double Schedule::lr_at(int64_t step) const {
  if (warmup_steps > 0 && step < warmup_steps) {
    return peak_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  }
  const double min_lr = peak_lr * min_lr_ratio;
  const double span = static_cast<double>(std::max<int64_t>(total_steps - warmup_steps, 1));
  const double progress = std::clamp(static_cast<double>(step - warmup_steps) / span, 0.0, 1.0);
  switch (kind) {
    case ScheduleKind::constant:
      return peak_lr;
    case ScheduleKind::linear:
      return min_lr + (peak_lr - min_lr) * (1.0 - progress);
    case ScheduleKind::cosine:
      return min_lr + 0.5 * (peak_lr - min_lr) * (1.0 + std::cos(std::numbers::pi * progress));
    case ScheduleKind::wsd: {
      const double decay_start = static_cast<double>(total_steps) * (1.0 - decay_fraction);
      if (static_cast<double>(step) < decay_start) return peak_lr;
      const double decay_span = std::max(static_cast<double>(total_steps) - decay_start, 1.0);
      const double t = std::clamp((static_cast<double>(step) - decay_start) / decay_span, 0.0, 1.0);
      return min_lr + (peak_lr - min_lr) * (1.0 - t);
    }
    case ScheduleKind::inverse_sqrt: {
      const double w = static_cast<double>(std::max<int64_t>(warmup_steps, 1));
      return peak_lr * std::sqrt(w / static_cast<double>(std::max<int64_t>(step + 1, 1)));
    }
  }
  return peak_lr;
}

double clip_grad_norm(const std::vector<NamedParameter>& params, double max_norm) {
  NoGrad no_grad;
  double total = 0.0;
  for (const auto& p : params) {
    Tensor g = p.tensor.grad();
    if (!g.defined()) continue;
    Tensor gc = g.contiguous();
    dispatch_floating(gc.dtype(), "clip_grad_norm", [&]<typename T>() {
      const T* pg = gc.data<T>();
      double s = 0.0;
#pragma omp simd reduction(+ : s)
      for (int64_t j = 0; j < gc.numel(); ++j) s += static_cast<double>(pg[j]) * static_cast<double>(pg[j]);
      total += s;
    });
  }
  double norm = std::sqrt(total);
  if (max_norm > 0.0 && norm > max_norm) {
    double scale = max_norm / (norm + 1e-6);
    for (const auto& p : params) {
      Tensor g = p.tensor.grad();
      if (!g.defined()) continue;
      Tensor gc = g.contiguous();
      dispatch_floating(gc.dtype(), "clip_grad_norm", [&]<typename T>() {
        T* pg = gc.data<T>();
        for (int64_t j = 0; j < gc.numel(); ++j) pg[j] = static_cast<T>(pg[j] * scale);
      });
      if (!gc.same(g)) const_cast<Tensor&>(p.tensor).set_grad(gc);
    }
  }
  return norm;
}

}  // namespace tessera
