#include "tessera/nn/layers.h"

#include "tessera/nn/init_scope.h"

namespace tessera::nn {

namespace {
thread_local bool skip_parameter_init = false;
}  // namespace

SkipParameterInit::SkipParameterInit() : previous_(skip_parameter_init) { skip_parameter_init = true; }
SkipParameterInit::~SkipParameterInit() { skip_parameter_init = previous_; }
bool parameter_init_skipped() { return skip_parameter_init; }

namespace {
void add(ParameterRefs& out, const std::string& prefix, const char* name, Tensor& t) {
  if (t.defined()) out.emplace_back(prefix + name, &t);
}
}  // namespace

Linear Linear::create(int64_t in, int64_t out, bool with_bias, double std, Generator& gen) {
  Linear l;
  l.weight = parameter_init_skipped() ? Tensor::empty({out, in}) : rand_normal({out, in}, 0.0, std, gen);
  if (with_bias) l.bias = Tensor::zeros({out});
  return l;
}

void Linear::parameters(const std::string& prefix, ParameterRefs& out) {
  add(out, prefix, "weight", weight);
  add(out, prefix, "bias", bias);
}

Embedding Embedding::create(int64_t vocab, int64_t dim, double std, Generator& gen) {
  return {parameter_init_skipped() ? Tensor::empty({vocab, dim}) : rand_normal({vocab, dim}, 0.0, std, gen)};
}

void Embedding::parameters(const std::string& prefix, ParameterRefs& out) {
  add(out, prefix, "weight", weight);
}

RMSNorm RMSNorm::create(int64_t dim, double eps) { return {Tensor::ones({dim}), eps}; }

void RMSNorm::parameters(const std::string& prefix, ParameterRefs& out) {
  add(out, prefix, "weight", weight);
}

LayerNorm LayerNorm::create(int64_t dim, double eps, bool with_bias) {
  return {Tensor::ones({dim}), with_bias ? Tensor::zeros({dim}) : Tensor(), eps};
}

void LayerNorm::parameters(const std::string& prefix, ParameterRefs& out) {
  add(out, prefix, "weight", weight);
  add(out, prefix, "bias", bias);
}

SwiGluMlp SwiGluMlp::create(int64_t dim, int64_t hidden, double std, Generator& gen) {
  return {Linear::create(dim, hidden, false, std, gen), Linear::create(dim, hidden, false, std, gen),
          Linear::create(hidden, dim, false, std, gen)};
}

Tensor SwiGluMlp::forward(const Tensor& x) const {
  return down_proj.forward(mul(silu(gate_proj.forward(x)), up_proj.forward(x)));
}

void SwiGluMlp::parameters(const std::string& prefix, ParameterRefs& out) {
  gate_proj.parameters(prefix + "gate_proj.", out);
  up_proj.parameters(prefix + "up_proj.", out);
  down_proj.parameters(prefix + "down_proj.", out);
}

void set_requires_grad(const ParameterRefs& params, bool on) {
  for (const auto& [name, t] : params) t->requires_grad_(on);
}

}  // namespace tessera::nn
