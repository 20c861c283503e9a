#include <cmath>

#include "tessera/core/ops.h"
#include "tessera/core/ops_util.h"
#include "tessera/kernels/cpu/attention.h"

namespace tessera {

using detail::dispatch_floating;

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, double scale) {
  TESSERA_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4,
                "attention: q, k, v must be 4-d [B, T, H, D], got {}, {}, {}", shape_str(q.shape()),
                shape_str(k.shape()), shape_str(v.shape()));
  kernels::AttentionShape s{q.size(0), q.size(1), k.size(1), q.size(2), k.size(2), q.size(3)};
  TESSERA_CHECK(k.shape() == v.shape() && k.size(0) == s.B && k.size(3) == s.D,
                "attention: k {} and v {} do not fit q {}", shape_str(k.shape()),
                shape_str(v.shape()), shape_str(q.shape()));
  TESSERA_CHECK(s.Hkv > 0 && s.H % s.Hkv == 0, "attention: {} query heads for {} key/value heads",
                s.H, s.Hkv);
  detail::check_same_dtype(q, k, "attention");
  detail::check_same_dtype(q, v, "attention");
  if (scale <= 0.0) scale = 1.0 / std::sqrt(static_cast<double>(s.D));
  Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
  Tensor out = Tensor::empty(q.shape(), q.dtype());
  Tensor lse = Tensor::empty({s.B, s.H, s.T}, q.dtype());
  dispatch_floating(q.dtype(), "attention", [&]<typename T>() {
    kernels::attention_forward<T>(qc.data<T>(), kc.data<T>(), vc.data<T>(), out.data<T>(),
                                  lse.data<T>(), s, static_cast<T>(scale), causal);
  });
  if (should_record({&q, &k, &v})) {
    Tensor qd = qc.detach(), kd = kc.detach(), vd = vc.detach(), od = out.detach();
    record(out, "attention", {q, k, v}, [=](const Tensor& g) {
      Tensor gc = g.contiguous();
      Tensor dq = Tensor::empty(qd.shape(), qd.dtype());
      Tensor dk = Tensor::empty(kd.shape(), kd.dtype()), dv = Tensor::empty(vd.shape(), vd.dtype());
      dispatch_floating(qd.dtype(), "attention", [&]<typename T>() {
        kernels::attention_backward<T>(qd.data<T>(), kd.data<T>(), vd.data<T>(), od.data<T>(),
                                       lse.data<T>(), gc.data<T>(), dq.data<T>(), dk.data<T>(),
                                       dv.data<T>(), s, static_cast<T>(scale), causal);
      });
      return std::vector<Tensor>{dq, dk, dv};
    });
  }
  return out;
}

}  // namespace tessera
