#include "tessera/nn/mlgru.h"

#include <vector>

#include "tessera/core/autograd.h"
#include "tessera/core/parallel.h"

namespace tessera::nn {

namespace {

template <typename T>
void scan_recurrent(const T* i, const T* f, const T* h0, T* h, int64_t B, int64_t Tn, int64_t D) {
  parallel_for(0, B, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      std::vector<T> state(static_cast<size_t>(D), T(0));
      if (h0) std::copy(h0 + b * D, h0 + (b + 1) * D, state.begin());
      for (int64_t t = 0; t < Tn; ++t) {
        const int64_t row = (b * Tn + t) * D;
        for (int64_t d = 0; d < D; ++d) {
          state[d] = f[row + d] * state[d] + i[row + d];
          h[row + d] = state[d];
        }
      }
    }
  });
}

// Chunked form of the same linear recurrence: within chunk c, with zero carried-in state,
//   local_t = f_t local_{t-1} + i_t  and  A_t = prod_{s <= t} f_s   (independent chunks);
// then h_t = local_t + A_t h_{start-1}, where the carried states are joined chunk by chunk.
template <typename T>
void scan_chunked(const T* i, const T* f, const T* h0, T* h, int64_t B, int64_t Tn, int64_t D,
                  int64_t chunk) {
  const int64_t chunks = (Tn + chunk - 1) / chunk;
  std::vector<T> decay(static_cast<size_t>(B * Tn * D));
  parallel_for(0, B * chunks, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t job = lo; job < hi; ++job) {
      const int64_t b = job / chunks, c = job % chunks;
      const int64_t t0 = c * chunk, t1 = std::min(Tn, t0 + chunk);
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t row = (b * Tn + t) * D, prev = row - D;
        for (int64_t d = 0; d < D; ++d) {
          const bool first = t == t0;
          h[row + d] = (first ? T(0) : f[row + d] * h[prev + d]) + i[row + d];
          decay[row + d] = first ? f[row + d] : f[row + d] * decay[prev + d];
        }
      }
    }
  });
  // Carried state into each chunk: sequential over chunks, parallel over sequences.
  std::vector<T> carry(static_cast<size_t>(B * chunks * D));
  parallel_for(0, B, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      std::vector<T> state(static_cast<size_t>(D), T(0));
      if (h0) std::copy(h0 + b * D, h0 + (b + 1) * D, state.begin());
      for (int64_t c = 0; c < chunks; ++c) {
        std::copy(state.begin(), state.end(), carry.begin() + (b * chunks + c) * D);
        const int64_t last = (b * Tn + std::min(Tn, (c + 1) * chunk) - 1) * D;
        for (int64_t d = 0; d < D; ++d) state[d] = h[last + d] + decay[last + d] * state[d];
      }
    }
  });
  parallel_for(0, B * chunks, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t job = lo; job < hi; ++job) {
      const int64_t b = job / chunks, c = job % chunks;
      const T* in = carry.data() + job * D;
      for (int64_t t = c * chunk; t < std::min(Tn, (c + 1) * chunk); ++t) {
        const int64_t row = (b * Tn + t) * D;
        for (int64_t d = 0; d < D; ++d) h[row + d] += decay[row + d] * in[d];
      }
    }
  });
}

template <typename T>
void scan_backward(const T* f, const T* h, const T* h0, const T* dh, T* di, T* df, T* dh0,
                   int64_t B, int64_t Tn, int64_t D) {
  parallel_for(0, B, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      std::vector<T> g(static_cast<size_t>(D), T(0));  // dL/dh_t including later steps
      for (int64_t t = Tn - 1; t >= 0; --t) {
        const int64_t row = (b * Tn + t) * D;
        for (int64_t d = 0; d < D; ++d) {
          if (t + 1 < Tn)
            g[d] = dh[row + d] + f[row + D + d] * g[d];
          else
            g[d] = dh[row + d];
          di[row + d] = g[d];
          const T previous = t > 0 ? h[row - D + d] : (h0 ? h0[b * D + d] : T(0));
          df[row + d] = g[d] * previous;
        }
      }
      if (dh0) {
        for (int64_t d = 0; d < D; ++d) dh0[b * D + d] = f[b * Tn * D + d] * g[d];
      }
    }
  });
}

template <typename Fn>
decltype(auto) dispatch_float(DType dtype, Fn&& fn) {
  if (dtype == DType::f32) return fn.template operator()<float>();
  if (dtype == DType::f64) return fn.template operator()<double>();
  throw runtime_error("mlgru_scan: needs f32 or f64 tensors, got {}", dtype_name(dtype));
}

}  // namespace

Tensor mlgru_scan(const Tensor& i, const Tensor& f, const Tensor& h0, ScanForm form,
                  int64_t chunk) {
  TESSERA_CHECK(i.dim() == 3, "mlgru_scan: i must be [B, T, D], got {}", shape_str(i.shape()));
  check_shape(f, i.shape(), "mlgru_scan forget gate");
  TESSERA_CHECK(i.dtype() == f.dtype(), "mlgru_scan: dtypes differ ({} vs {})",
                dtype_name(i.dtype()), dtype_name(f.dtype()));
  TESSERA_CHECK(chunk > 0, "mlgru_scan: chunk must be positive");
  const int64_t B = i.size(0), Tn = i.size(1), D = i.size(2);
  if (h0.defined()) {
    check_shape(h0, {B, D}, "mlgru_scan initial state");
    TESSERA_CHECK(h0.dtype() == i.dtype(), "mlgru_scan: initial state dtype differs");
  }
  Tensor ic = i.contiguous(), fc = f.contiguous();
  Tensor hc = h0.defined() ? h0.contiguous() : Tensor();
  Tensor out = Tensor::empty(i.shape(), i.dtype());
  dispatch_float(i.dtype(), [&]<typename T>() {
    const T* p0 = hc.defined() ? hc.data<T>() : nullptr;
    if (form == ScanForm::chunked) {
      scan_chunked<T>(ic.data<T>(), fc.data<T>(), p0, out.data<T>(), B, Tn, D, chunk);
    } else {
      scan_recurrent<T>(ic.data<T>(), fc.data<T>(), p0, out.data<T>(), B, Tn, D);
    }
  });
  if (should_record({&i, &f, &h0})) {
    Tensor fd = fc.detach(), hd = out.detach(), h0d = hc.defined() ? hc.detach() : Tensor();
    const bool want_h0 = h0.defined() && h0.requires_grad();
    std::vector<Tensor> inputs = {i, f};
    if (h0.defined()) inputs.push_back(h0);
    record(out, "mlgru_scan", inputs, [=](const Tensor& g) {
      Tensor dh = g.contiguous();
      Tensor di = Tensor::empty(fd.shape(), fd.dtype()), df = Tensor::empty(fd.shape(), fd.dtype());
      Tensor dh0 = want_h0 ? Tensor::empty(h0d.shape(), h0d.dtype()) : Tensor();
      dispatch_float(fd.dtype(), [&]<typename T>() {
        scan_backward<T>(fd.data<T>(), hd.data<T>(), h0d.defined() ? h0d.data<T>() : nullptr,
                         dh.data<T>(), di.data<T>(), df.data<T>(),
                         want_h0 ? dh0.data<T>() : nullptr, B, Tn, D);
      });
      std::vector<Tensor> grads = {di, df};
      if (h0d.defined()) grads.push_back(dh0);
      return grads;
    });
  }
  return out;
}

MlgruTokenMixer MlgruTokenMixer::create(int64_t hidden, double std, double norm_eps,
                                        Generator& gen) {
  MlgruTokenMixer m;
  m.i_proj = BitLinear::create(hidden, hidden, std, gen);
  m.f_proj = BitLinear::create(hidden, hidden, std, gen);
  m.g_proj = BitLinear::create(hidden, hidden, std, gen);
  m.o_proj = BitLinear::create(hidden, hidden, std, gen);
  m.g_norm_weight = Tensor::ones({hidden});
  m.g_norm_eps = norm_eps;
  return m;
}

Tensor MlgruTokenMixer::forward(const Tensor& x, const Tensor& lower_bound, Tensor* state) const {
  TESSERA_CHECK(x.dim() == 3, "MLGRU: x must be [B, T, D], got {}", shape_str(x.shape()));
  Tensor forget = sigmoid(f_proj.forward(x));
  if (lower_bound.defined()) forget = add(lower_bound, mul(add(neg(lower_bound), 1.0), forget));
  Tensor input = mul(silu(i_proj.forward(x)), add(neg(forget), 1.0));
  Tensor h0 = state && state->defined() ? state->to(input.dtype()) : Tensor();
  // The recurrent form for short inputs (decoding), the chunked one for training lengths.
  const ScanForm form = x.size(1) >= 128 ? ScanForm::chunked : ScanForm::recurrent;
  Tensor h = mlgru_scan(input, forget, h0, form);
  if (state) *state = h.select(1, h.size(1) - 1).detach().contiguous();
  Tensor gated = mul(rms_norm(g_proj.forward(x), g_norm_weight, g_norm_eps), silu(h));
  return o_proj.forward(gated);
}

void MlgruTokenMixer::parameters(const std::string& prefix, ParameterRefs& out) {
  i_proj.parameters(prefix + "i_proj.", out);
  f_proj.parameters(prefix + "f_proj.", out);
  g_proj.parameters(prefix + "g_proj.", out);
  out.emplace_back(prefix + "g_norm.weight", &g_norm_weight);
  o_proj.parameters(prefix + "o_proj.", out);
}

BitGluMlp BitGluMlp::create(int64_t hidden, int64_t intermediate, double std, Generator& gen) {
  return {BitLinear::create(hidden, 2 * intermediate, std, gen),
          BitLinear::create(intermediate, hidden, std, gen)};
}

Tensor BitGluMlp::forward(const Tensor& x) const {
  Tensor both = gate_proj.forward(x);
  const int64_t half = both.size(-1) / 2;
  auto parts = split(both, {half, half}, -1);
  return down_proj.forward(mul(silu(parts[0]), parts[1]));
}

void BitGluMlp::parameters(const std::string& prefix, ParameterRefs& out) {
  gate_proj.parameters(prefix + "gate_proj.", out);
  down_proj.parameters(prefix + "down_proj.", out);
}

}  // namespace tessera::nn
