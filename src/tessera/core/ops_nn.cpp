// Layer ops with fused kernels: norms, embedding, cross-entropy, rotary embedding, causal conv.
#include <cmath>

#include "tessera/core/ops.h"
#include "tessera/core/ops_util.h"
#include "tessera/kernels/cpu/nn.h"

namespace tessera {

using detail::dispatch_floating;

namespace {
template <typename T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
template <typename T>
T* mut_ptr_or_null(Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
Tensor zeros_like_if(bool wanted, const Tensor& t) {
  return wanted ? Tensor::zeros(t.shape(), t.dtype()) : Tensor();
}
}  // namespace

Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps) {
  int64_t n = x.size(-1);
  if (weight.defined()) {
    check_shape(weight, {n}, "rms_norm weight");
    detail::check_same_dtype(x, weight, "rms_norm");
  }
  int64_t rows = n == 0 ? 0 : x.numel() / n;
  Tensor xc = x.contiguous();
  Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  Tensor rstd = Tensor::empty({rows}, x.dtype());
  dispatch_floating(x.dtype(), "rms_norm", [&]<typename T>() {
    kernels::rms_norm_forward<T>(xc.data<T>(), ptr_or_null<T>(w), out.data<T>(), rstd.data<T>(),
                                 rows, n, static_cast<T>(eps));
  });
  if (should_record({&x, &weight})) {
    Tensor xd = xc.detach(), wd = w.defined() ? w.detach() : Tensor();
    bool gx = x.requires_grad(), gw = weight.defined() && weight.requires_grad();
    record(out, "rms_norm", {x, weight}, [=](const Tensor& g) {
      Tensor gc = g.contiguous();
      Tensor dx = gx ? Tensor::empty(xd.shape(), xd.dtype()) : Tensor();
      Tensor dw = zeros_like_if(gw, wd);
      dispatch_floating(xd.dtype(), "rms_norm", [&]<typename T>() {
        kernels::rms_norm_backward<T>(xd.data<T>(), ptr_or_null<T>(wd), rstd.data<T>(),
                                      gc.data<T>(), mut_ptr_or_null<T>(dx), mut_ptr_or_null<T>(dw),
                                      rows, n);
      });
      return std::vector<Tensor>{dx, dw};
    });
  }
  return out;
}

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  int64_t n = x.size(-1);
  if (weight.defined()) check_shape(weight, {n}, "layer_norm weight");
  if (bias.defined()) check_shape(bias, {n}, "layer_norm bias");
  int64_t rows = n == 0 ? 0 : x.numel() / n;
  Tensor xc = x.contiguous();
  Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  Tensor mu = Tensor::empty({rows}, x.dtype()), rstd = Tensor::empty({rows}, x.dtype());
  dispatch_floating(x.dtype(), "layer_norm", [&]<typename T>() {
    kernels::layer_norm_forward<T>(xc.data<T>(), ptr_or_null<T>(w), ptr_or_null<T>(b),
                                   out.data<T>(), mu.data<T>(), rstd.data<T>(), rows, n,
                                   static_cast<T>(eps));
  });
  if (should_record({&x, &weight, &bias})) {
    Tensor xd = xc.detach(), wd = w.defined() ? w.detach() : Tensor();
    bool gx = x.requires_grad(), gw = weight.defined() && weight.requires_grad();
    bool gb = bias.defined() && bias.requires_grad();
    Tensor bd = b.defined() ? b.detach() : Tensor();
    record(out, "layer_norm", {x, weight, bias}, [=](const Tensor& g) {
      Tensor gc = g.contiguous();
      Tensor dx = gx ? Tensor::empty(xd.shape(), xd.dtype()) : Tensor();
      Tensor dw = zeros_like_if(gw, wd), db = zeros_like_if(gb, bd);
      dispatch_floating(xd.dtype(), "layer_norm", [&]<typename T>() {
        kernels::layer_norm_backward<T>(xd.data<T>(), ptr_or_null<T>(wd), mu.data<T>(),
                                        rstd.data<T>(), gc.data<T>(), mut_ptr_or_null<T>(dx),
                                        mut_ptr_or_null<T>(dw), mut_ptr_or_null<T>(db), rows, n);
      });
      return std::vector<Tensor>{dx, dw, db};
    });
  }
  return out;
}

Tensor embedding(const Tensor& weight, const Tensor& ids) {
  TESSERA_CHECK(weight.dim() == 2, "embedding: weight must be [vocab, dim], got {}",
                shape_str(weight.shape()));
  Tensor idx = detail::as_index(ids, "embedding");
  int64_t vocab = weight.size(0), dim = weight.size(1), count = idx.numel();
  const int64_t* pi = idx.data<int64_t>();
  for (int64_t i = 0; i < count; ++i) {
    TESSERA_CHECK_INPUT(pi[i] >= 0 && pi[i] < vocab, "embedding: token id {} outside [0, {})",
                        pi[i], vocab);
  }
  Shape out_shape = ids.shape();
  out_shape.push_back(dim);
  Tensor w = weight.contiguous();
  Tensor out = Tensor::empty(out_shape, weight.dtype());
  dispatch_floating(weight.dtype(), "embedding", [&]<typename T>() {
    kernels::embedding_forward<T>(w.data<T>(), pi, out.data<T>(), count, dim);
  });
  if (should_record({&weight})) {
    Shape wshape = weight.shape();
    DType dt = weight.dtype();
    record(out, "embedding", {weight}, [idx, wshape, dt, count, dim](const Tensor& g) {
      Tensor gc = g.contiguous();
      Tensor dw = Tensor::zeros(wshape, dt);
      dispatch_floating(dt, "embedding", [&]<typename T>() {
        kernels::embedding_backward<T>(gc.data<T>(), idx.data<int64_t>(), dw.data<T>(), count, dim,
                                       wshape[0]);
      });
      return std::vector<Tensor>{dw};
    });
  }
  return out;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                     double label_smoothing) {
  TESSERA_CHECK(logits.dim() == 2, "cross_entropy: logits must be [N, V], got {}",
                shape_str(logits.shape()));
  int64_t rows = logits.size(0), V = logits.size(1);
  check_shape(targets, {rows}, "cross_entropy targets");
  TESSERA_CHECK(label_smoothing >= 0.0 && label_smoothing < 1.0,
                "cross_entropy: label_smoothing {} outside [0, 1)", label_smoothing);
  Tensor t = detail::as_index(targets, "cross_entropy");
  const int64_t* pt = t.data<int64_t>();
  for (int64_t i = 0; i < rows; ++i) {
    TESSERA_CHECK_INPUT(pt[i] == ignore_index || (pt[i] >= 0 && pt[i] < V),
                        "cross_entropy: target {} outside [0, {})", pt[i], V);
  }
  Tensor x = logits.contiguous();
  Tensor loss_rows = Tensor::empty({rows}, logits.dtype()), lse = Tensor::empty({rows}, logits.dtype());
  int64_t counted = 0;
  double total = 0.0;
  dispatch_floating(logits.dtype(), "cross_entropy", [&]<typename T>() {
    counted = kernels::cross_entropy_forward<T>(x.data<T>(), pt, loss_rows.data<T>(), lse.data<T>(),
                                                rows, V, ignore_index, static_cast<T>(label_smoothing));
    const T* pl = loss_rows.data<T>();
    for (int64_t i = 0; i < rows; ++i) total += static_cast<double>(pl[i]);
  });
  // Mean over counted rows; with every row ignored the loss is 0 (and so is its gradient).
  double scale = counted > 0 ? 1.0 / static_cast<double>(counted) : 0.0;
  Tensor out = Tensor::scalar(total * scale, logits.dtype());
  if (should_record({&logits})) {
    Tensor xd = x.detach();
    record(out, "cross_entropy", {logits},
           [=](const Tensor& g) {
             double gscale = g.item<double>() * scale;
             Tensor dx = Tensor::empty(xd.shape(), xd.dtype());
             dispatch_floating(xd.dtype(), "cross_entropy", [&]<typename T>() {
               kernels::cross_entropy_backward<T>(xd.data<T>(), lse.data<T>(), t.data<int64_t>(),
                                                  dx.data<T>(), rows, V, ignore_index,
                                                  static_cast<T>(label_smoothing),
                                                  static_cast<T>(gscale));
             });
             return std::vector<Tensor>{dx};
           });
  }
  return out;
}

std::pair<Tensor, Tensor> rope_tables(const Tensor& inv_freq, int64_t max_positions, DType dtype) {
  TESSERA_CHECK(inv_freq.dim() == 1, "rope_tables: inv_freq must be 1-d");
  int64_t half = inv_freq.size(0);
  std::vector<double> f = inv_freq.to_vector<double>();
  Tensor c = Tensor::empty({max_positions, half}, DType::f64), s = Tensor::empty({max_positions, half}, DType::f64);
  double* pc = c.data<double>();
  double* ps = s.data<double>();
  for (int64_t p = 0; p < max_positions; ++p) {
    for (int64_t i = 0; i < half; ++i) {
      double angle = static_cast<double>(p) * f[i];  // computed in f64: large positions stay exact
      pc[p * half + i] = std::cos(angle);
      ps[p * half + i] = std::sin(angle);
    }
  }
  return {c.to(dtype), s.to(dtype)};
}

Tensor rope(const Tensor& x, const Tensor& cos, const Tensor& sin, const Tensor& positions,
            bool interleaved) {
  TESSERA_CHECK(x.dim() == 4, "rope: x must be [B, T, H, D], got {}", shape_str(x.shape()));
  int64_t B = x.size(0), T_ = x.size(1), H = x.size(2), D = x.size(3);
  TESSERA_CHECK(D % 2 == 0, "rope: head dim {} is odd", D);
  TESSERA_CHECK(cos.dim() == 2 && cos.size(1) == D / 2 && cos.shape() == sin.shape(),
                "rope: tables must be [max_pos, {}], got {} and {}", D / 2, shape_str(cos.shape()),
                shape_str(sin.shape()));
  detail::check_same_dtype(x, cos, "rope");
  Tensor pos = detail::as_index(positions, "rope");
  bool per_batch = pos.dim() == 2;
  TESSERA_CHECK((pos.dim() == 1 && pos.size(0) == T_) || (per_batch && pos.size(0) == B && pos.size(1) == T_),
                "rope: positions must be [{}] or [{}, {}], got {}", T_, B, T_, shape_str(pos.shape()));
  const int64_t* pp = pos.data<int64_t>();
  for (int64_t i = 0; i < pos.numel(); ++i) {
    TESSERA_CHECK_INPUT(pp[i] >= 0 && pp[i] < cos.size(0),
                        "rope: position {} beyond the table of {} positions", pp[i], cos.size(0));
  }
  Tensor xc = x.contiguous(), cc = cos.contiguous(), sc = sin.contiguous();
  auto run = [=](const Tensor& in, bool inverse) {
    Tensor out = Tensor::empty(in.shape(), in.dtype());
    dispatch_floating(in.dtype(), "rope", [&]<typename T>() {
      kernels::rope<T>(in.data<T>(), out.data<T>(), cc.data<T>(), sc.data<T>(),
                       pos.data<int64_t>(), B, T_, H, D, per_batch, interleaved, inverse);
    });
    return out;
  };
  Tensor out = run(xc, false);
  if (should_record({&x})) {
    record(out, "rope", {x}, [run](const Tensor& g) {
      return std::vector<Tensor>{run(g.contiguous(), true)};  // a rotation's adjoint is its inverse
    });
  }
  return out;
}

Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  TESSERA_CHECK(x.dim() == 3, "causal_conv1d: x must be [B, T, C], got {}", shape_str(x.shape()));
  int64_t B = x.size(0), T_ = x.size(1), C = x.size(2);
  TESSERA_CHECK(weight.dim() == 2 && weight.size(0) == C,
                "causal_conv1d: weight must be [{}, K], got {}", C, shape_str(weight.shape()));
  int64_t K = weight.size(1);
  if (bias.defined()) check_shape(bias, {C}, "causal_conv1d bias");
  Tensor xc = x.contiguous(), w = weight.contiguous();
  Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), "causal_conv1d", [&]<typename T>() {
    kernels::causal_conv1d_forward<T>(xc.data<T>(), w.data<T>(), ptr_or_null<T>(b), out.data<T>(),
                                      B, T_, C, K);
  });
  if (should_record({&x, &weight, &bias})) {
    Tensor xd = xc.detach(), wd = w.detach();
    bool gx = x.requires_grad(), gw = weight.requires_grad(), gb = bias.defined() && bias.requires_grad();
    Tensor bd = b.defined() ? b.detach() : Tensor();
    record(out, "causal_conv1d", {x, weight, bias}, [=](const Tensor& g) {
      Tensor gc = g.contiguous();
      Tensor dx = gx ? Tensor::empty(xd.shape(), xd.dtype()) : Tensor();
      Tensor dw = zeros_like_if(gw, wd), db = zeros_like_if(gb, bd);
      dispatch_floating(xd.dtype(), "causal_conv1d", [&]<typename T>() {
        kernels::causal_conv1d_backward<T>(xd.data<T>(), wd.data<T>(), gc.data<T>(),
                                           mut_ptr_or_null<T>(dx), mut_ptr_or_null<T>(dw),
                                           mut_ptr_or_null<T>(db), B, T_, C, K);
      });
      return std::vector<Tensor>{dx, dw, db};
    });
  }
  return out;
}

}  // namespace tessera
