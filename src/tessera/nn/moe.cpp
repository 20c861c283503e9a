#include "tessera/nn/moe.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tessera/core/autograd.h"

namespace tessera::nn {

MoeFfn MoeFfn::create(int64_t dim, int64_t ffn_dim, const MoeConfig& config, bool router_bias,
                      double std, Generator& gen) {
  TESSERA_CHECK_INPUT(config.num_experts >= 2,
                      "config.json: num_experts must be at least 2 for top-2 gating, got {}",
                      config.num_experts);
  MoeFfn m;
  m.config = config;
  m.router = Linear::create(dim, config.num_experts, router_bias, std, gen);
  for (int64_t e = 0; e < config.num_experts; ++e)
    m.experts.push_back({QuantizableLinear::create(dim, ffn_dim, true, std, gen),
                         QuantizableLinear::create(ffn_dim, dim, true, std, gen)});
  return m;
}

void MoeFfn::parameters(const std::string& prefix, ParameterRefs& out) {
  router.parameters(prefix + "router.classifier.", out);
  for (size_t e = 0; e < experts.size(); ++e) {
    std::string p = prefix + "experts.expert_" + std::to_string(e) + ".";
    experts[e].fc1.parameters(p + "fc1.", out);
    experts[e].fc2.parameters(p + "fc2.", out);
  }
}

void MoeFfn::quantize_int8() {
  for (ExpertFfn& e : experts) {
    e.fc1.quantize();
    e.fc2.quantize();
  }
}

namespace {
template <typename T>
void scatter_rows(const T* values, const int64_t* index, int64_t M, int64_t d, T* out) {
  for (int64_t m = 0; m < M; ++m) {
    T* row = out + index[m] * d;
    const T* v = values + m * d;
    for (int64_t j = 0; j < d; ++j) row[j] += v[j];
  }
}
}  // namespace

Tensor scatter_add_rows(const Tensor& values, const Tensor& index, int64_t rows) {
  TESSERA_CHECK(values.dim() == 2 && index.dim() == 1 && index.size(0) == values.size(0),
                "scatter_add_rows: values {} and index {} disagree", shape_str(values.shape()),
                shape_str(index.shape()));
  const int64_t M = values.size(0), d = values.size(1);
  Tensor idx = index.to(DType::i64).contiguous();
  const int64_t* pi = idx.data<int64_t>();
  for (int64_t m = 0; m < M; ++m)
    TESSERA_CHECK(pi[m] >= 0 && pi[m] < rows, "scatter_add_rows: index {} outside [0, {})", pi[m],
                  rows);
  Tensor v = values.contiguous();
  Tensor out = Tensor::zeros({rows, d}, values.dtype());
  if (values.dtype() == DType::f64) {
    scatter_rows(v.data<double>(), pi, M, d, out.data<double>());
  } else {
    TESSERA_CHECK(values.dtype() == DType::f32, "scatter_add_rows: f32 or f64 values, got {}",
                  dtype_name(values.dtype()));
    scatter_rows(v.data<float>(), pi, M, d, out.data<float>());
  }
  if (should_record({&values})) {
    record(out, "scatter_add_rows", {values}, [idx](const Tensor& g) {
      NoGrad no_grad;
      return std::vector<Tensor>{index_select(g, 0, idx)};
    });
  }
  return out;
}

MoeOutput MoeFfn::forward(const Tensor& x_in, bool training, Generator* gen,
                          const std::vector<uint8_t>* active) const {
  const int64_t d = x_in.size(-1), E = config.num_experts;
  Tensor x = x_in.reshape({-1, d});
  const int64_t N = x.size(0);
  TESSERA_CHECK(active == nullptr || static_cast<int64_t>(active->size()) == N,
                "moe: {} activity flags for {} tokens", active ? active->size() : 0, N);
  std::vector<int64_t> routed;  // token rows that take part in routing
  for (int64_t n = 0; n < N; ++n)
    if (active == nullptr || (*active)[n]) routed.push_back(n);
  const int64_t R = static_cast<int64_t>(routed.size());
  MoeOutput result;
  if (R == 0) {
    result.y = mul(x_in, 0.0);
    result.aux_loss = Tensor::scalar(0.0, x.dtype());
    result.z_loss = Tensor::scalar(0.0, x.dtype());
    return result;
  }
  Tensor routed_index = Tensor::from_vector(routed, {R});
  Tensor xr = R == N ? x : index_select(x, 0, routed_index);

  // Router in (at least) fp32, as upstream keeps it even when the model runs in half precision.
  Tensor logits =
      linear(xr.dtype() == DType::f64 ? xr : xr.to(DType::f32), router.weight, router.bias);
  Tensor probs = softmax(logits, -1);  // [R, E]
  result.z_loss = mean(square(logsumexp(logits, -1)));
  std::vector<double> p = probs.to_vector<double>();

  MoeRouting& r = result.routing;
  r.expert1.resize(R);
  r.expert2.resize(R);
  std::vector<int64_t> top1_count(E, 0);
  for (int64_t n = 0; n < R; ++n) {
    const double* row = p.data() + n * E;
    int64_t e1 = std::max_element(row, row + E) - row;
    int64_t e2 = -1;
    for (int64_t e = 0; e < E; ++e)
      if (e != e1 && (e2 < 0 || row[e] > row[e2])) e2 = e;
    r.expert1[n] = e1;
    r.expert2[n] = e2;
    ++top1_count[e1];
  }

  // Capacity: positions are filled in token order (or by router confidence), all top-1
  // choices of an expert before its top-2 choices.
  if (training || config.eval_capacity_fraction <= 0) {
    r.capacity = config.training_capacity > 0 ? config.training_capacity : 2 * ((R + E - 1) / E);
  } else {
    r.capacity =
        static_cast<int64_t>(std::ceil(config.eval_capacity_fraction * static_cast<double>(R)));
  }
  std::vector<int64_t> order(R);
  std::iota(order.begin(), order.end(), 0);
  if (config.batch_prioritized_routing) {
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return p[a * E + r.expert1[a]] > p[b * E + r.expert1[b]];
    });
  }
  r.kept1.assign(R, 0);
  r.kept2.assign(R, 0);
  std::vector<int64_t> fill1(E, 0), fill2(E, 0);
  for (int64_t n : order) r.kept1[n] = fill1[r.expert1[n]]++ < r.capacity;
  for (int64_t n : order)
    r.kept2[n] = top1_count[r.expert2[n]] + fill2[r.expert2[n]]++ < r.capacity;

  // Combine weights, differentiable through the softmax: gather p1, p2 per token, mask,
  // renormalise.
  std::vector<int64_t> flat1(R), flat2(R);
  std::vector<double> mask1(R), mask2(R);
  for (int64_t n = 0; n < R; ++n) {
    flat1[n] = n * E + r.expert1[n];
    flat2[n] = n * E + r.expert2[n];
    mask1[n] = r.kept1[n];
    mask2[n] = r.kept2[n];
  }
  Tensor pflat = probs.reshape({R * E});
  Tensor p1 = index_select(pflat, 0, Tensor::from_vector(flat1, {R}));
  Tensor p2 = index_select(pflat, 0, Tensor::from_vector(flat2, {R}));
  Tensor m1 = Tensor::from_vector(mask1, {R}).to(probs.dtype());
  Tensor m2 = Tensor::from_vector(mask2, {R}).to(probs.dtype());
  const double eps = probs.dtype() == DType::f64 ? 2.220446049250313e-16 : 1.1920928955078125e-07;
  Tensor g1, g2;
  if (config.normalize_before_dropping) {
    Tensor denom = clamp(add(p1, p2), eps, 1e300);
    g1 = mul(div(p1, denom), m1);
    g2 = mul(div(p2, denom), m2);
  } else {
    Tensor q1 = mul(p1, m1), q2 = mul(p2, m2);
    Tensor denom = clamp(add(q1, q2), eps, 1e300);
    g1 = div(q1, denom);
    g2 = div(q2, denom);
  }

  // Expert Output Masking: in training, each (token, expert) output survives with 1 - p;
  // at evaluation every output is scaled by 1 - p.
  const double eom = config.expert_output_masking;
  std::vector<double> eom_keep1(R, 1.0), eom_keep2(R, 1.0);
  if (eom > 0 && training) {
    TESSERA_CHECK(gen != nullptr, "moe: expert output masking in training needs a generator");
    for (int64_t n = 0; n < R; ++n) {
      eom_keep1[n] = gen->next_double() >= eom ? 1.0 : 0.0;
      eom_keep2[n] = gen->next_double() >= eom ? 1.0 : 0.0;
    }
    g1 = mul(g1, Tensor::from_vector(eom_keep1, {R}).to(g1.dtype()));
    g2 = mul(g2, Tensor::from_vector(eom_keep2, {R}).to(g2.dtype()));
  } else if (eom > 0) {
    g1 = mul(g1, 1.0 - eom);
    g2 = mul(g2, 1.0 - eom);
  }
  {
    std::vector<double> v1 = g1.to_vector<double>(), v2 = g2.to_vector<double>();
    r.gate1 = v1;
    r.gate2 = v2;
  }

  // Group the kept assignments by expert: rows[] are routed-token indices, slots[] index
  // into concat(g1, g2). One GEMM per expert and projection.
  std::vector<std::vector<int64_t>> rows_of(E), slots_of(E);
  r.tokens_per_expert.assign(E, 0);
  for (int64_t n = 0; n < R; ++n) {
    if (r.kept1[n] && eom_keep1[n] != 0) {
      rows_of[r.expert1[n]].push_back(n);
      slots_of[r.expert1[n]].push_back(n);
    }
    if (r.kept2[n] && eom_keep2[n] != 0) {
      rows_of[r.expert2[n]].push_back(n);
      slots_of[r.expert2[n]].push_back(R + n);
    }
    r.dropped_assignments += !r.kept1[n] + !r.kept2[n];
  }
  std::vector<int64_t> all_rows, all_slots;
  std::vector<Tensor> outputs;
  for (int64_t e = 0; e < E; ++e) {
    r.tokens_per_expert[e] = static_cast<int64_t>(rows_of[e].size());
    if (rows_of[e].empty()) continue;
    const int64_t M = static_cast<int64_t>(rows_of[e].size());
    Tensor xe = index_select(xr, 0, Tensor::from_vector(rows_of[e], {M}));
    const ExpertFfn& ex = experts[e];
    Tensor hidden = activate(ex.fc1.forward(xe), config.activation);
    if (training && config.activation_dropout > 0) {
      TESSERA_CHECK(gen != nullptr, "moe: activation dropout in training needs a generator");
      hidden = dropout(hidden, config.activation_dropout, *gen);
    }
    outputs.push_back(ex.fc2.forward(hidden));
    all_rows.insert(all_rows.end(), rows_of[e].begin(), rows_of[e].end());
    all_slots.insert(all_slots.end(), slots_of[e].begin(), slots_of[e].end());
  }
  Tensor yr;
  if (outputs.empty()) {
    yr = mul(xr, 0.0);
  } else {
    const int64_t M = static_cast<int64_t>(all_rows.size());
    Tensor expert_out = outputs.size() == 1 ? outputs[0] : concat(outputs, 0);
    Tensor gates = index_select(concat({g1, g2}, 0), 0, Tensor::from_vector(all_slots, {M}));
    expert_out = mul(expert_out, gates.to(expert_out.dtype()).unsqueeze(1));
    yr = scatter_add_rows(expert_out, Tensor::from_vector(all_rows, {M}), R);
  }
  Tensor y = R == N ? yr : scatter_add_rows(yr, routed_index, N);
  result.y = y.reshape(x_in.shape());

  // Load balancing (fairseq top2gate l_aux): E * sum_e mean_prob_e * fraction_top1_e.
  std::vector<double> fraction(E);
  for (int64_t e = 0; e < E; ++e)
    fraction[e] = static_cast<double>(top1_count[e]) / static_cast<double>(R);
  Tensor me = mean(probs, 0);
  result.aux_loss =
      mul(sum(mul(me, Tensor::from_vector(fraction, {E}).to(me.dtype()))), static_cast<double>(E));
  return result;
}

}  // namespace tessera::nn
