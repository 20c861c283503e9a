// matmul and linear on OpenBLAS. Transposed views are passed to BLAS as transpose flags
// rather than copied, so the backward's A^T and B^T cost nothing extra.
#include "tessera/core/ops.h"
#include "tessera/core/ops_util.h"
#include "tessera/kernels/cpu/gemm.h"

namespace tessera {

using detail::dispatch_floating;

namespace {

// How BLAS reads one matrix of a (possibly batched) view: row-major with leading
// dimension ld, or the transpose of such.
struct BlasOperand {
  Tensor tensor;           // the view, or a contiguous copy when strides do not fit BLAS
  bool transposed = false;
  int64_t ld = 0;
  int64_t batch_stride = 0;
};

// Batch axes (all but the last two) collapse to one stride when they are laid out evenly.
bool batch_stride_of(const Tensor& t, int64_t& stride) {
  int64_t nb = t.dim() - 2;
  stride = 0;
  bool found = false;
  int64_t expected = 0;
  for (int64_t i = nb - 1; i >= 0; --i) {
    if (t.shape()[i] == 1) continue;
    if (!found) {
      stride = t.strides()[i];
      expected = stride * t.shape()[i];
      found = true;
    } else {
      if (t.strides()[i] != expected) return false;
      expected *= t.shape()[i];
    }
  }
  return true;
}

BlasOperand blas_operand(const Tensor& t) {
  int64_t rows = t.size(-2), cols = t.size(-1);
  int64_t s0 = t.strides()[t.dim() - 2], s1 = t.strides()[t.dim() - 1];
  BlasOperand op;
  int64_t bs = 0;
  if (batch_stride_of(t, bs)) {
    if ((s1 == 1 || cols == 1) && (rows == 1 || s0 >= cols)) {
      return {t, false, rows == 1 ? std::max<int64_t>(cols, 1) : s0, bs};
    }
    if ((s0 == 1 || rows == 1) && (cols == 1 || s1 >= rows)) {
      return {t, true, cols == 1 ? std::max<int64_t>(rows, 1) : s1, bs};
    }
  }
  Tensor c = t.contiguous();
  return {c, false, std::max<int64_t>(cols, 1), rows * cols};
}

// out[batch.., M, N] = a[batch.., M, K] @ b[batch.., K, N]; batch axes already equal.
Tensor batched_gemm(const Tensor& a, const Tensor& b) {
  int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  Shape out_shape(a.shape().begin(), a.shape().end() - 2);
  int64_t batch = shape_numel(out_shape);
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = Tensor::empty(out_shape, a.dtype());
  if (out.numel() == 0) return out;
  BlasOperand oa = blas_operand(a), ob = blas_operand(b);
  dispatch_floating(a.dtype(), "matmul", [&]<typename T>() {
    if (K == 0) {
      out.fill_(0.0);
      return;
    }
    if (batch == 1) {
      kernels::gemm<T>(oa.transposed, ob.transposed, M, N, K, T(1), oa.tensor.template data<T>(),
                       oa.ld, ob.tensor.template data<T>(), ob.ld, T(0), out.data<T>(), N);
    } else {
      kernels::gemm_batched<T>(oa.transposed, ob.transposed, M, N, K, T(1),
                               oa.tensor.template data<T>(), oa.ld, oa.batch_stride,
                               ob.tensor.template data<T>(), ob.ld, ob.batch_stride, T(0),
                               out.data<T>(), N, M * N, batch);
    }
  });
  return out;
}

Tensor matmul_forward(const Tensor& a, const Tensor& b) {
  NoGrad no_grad;  // the reshapes below are plumbing; matmul records one node for all of it
  TESSERA_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul: operands must have >= 2 dims");
  TESSERA_CHECK(a.size(-1) == b.size(-2), "matmul: inner sizes differ: {} @ {}",
                shape_str(a.shape()), shape_str(b.shape()));
  detail::check_same_dtype(a, b, "matmul");
  // [.., M, K] @ [K, N]: one big GEMM over all leading rows when they are evenly laid out.
  if (b.dim() == 2 && a.dim() > 2) {
    Shape lead(a.shape().begin(), a.shape().end() - 1);
    Tensor out = batched_gemm(a.reshape({-1, a.size(-1)}), b);
    lead.push_back(b.size(-1));
    return out.view(lead);
  }
  Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b);
  Shape sa = batch, sb = batch;
  sa.insert(sa.end(), {a.size(-2), a.size(-1)});
  sb.insert(sb.end(), {b.size(-2), b.size(-1)});
  return batched_gemm(a.expand(sa), b.expand(sb));
}

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  // 1-d operands become matrices and the added axis is removed again (NumPy rules).
  if (a_in.dim() == 1 || b_in.dim() == 1) {
    Tensor a = a_in.dim() == 1 ? a_in.unsqueeze(0) : a_in;
    Tensor b = b_in.dim() == 1 ? b_in.unsqueeze(-1) : b_in;
    Tensor out = matmul(a, b);
    if (b_in.dim() == 1) out = out.squeeze(-1);
    if (a_in.dim() == 1) out = out.squeeze(out.dim() == 1 ? 0 : -2);
    return out;
  }
  Tensor out = matmul_forward(a_in, b_in);
  if (should_record({&a_in, &b_in})) {
    Tensor a = a_in.detach(), b = b_in.detach();
    bool ga = a_in.requires_grad(), gb = b_in.requires_grad();
    record(out, "matmul", {a_in, b_in}, [a, b, ga, gb](const Tensor& g) {
      Tensor da, db;
      if (ga) da = matmul_forward(g, b.transpose(-1, -2));  // broadcast axes summed by the engine
      if (gb) {
        if (b.dim() == 2 && a.dim() > 2) {  // weights shared over rows: one GEMM
          Tensor a2 = a.reshape({-1, a.size(-1)}), g2 = g.reshape({-1, g.size(-1)});
          db = matmul_forward(a2.transpose(0, 1), g2);
        } else {
          db = matmul_forward(a.transpose(-1, -2), g);
        }
      }
      return std::vector<Tensor>{da, db};
    });
  }
  return out;
}

// Linear owns its backward: dW = g^T x is one GEMM straight into [out, in], instead of the
// transposed [in, out] gradient (and its copy) that going through matmul(x, W^T) produces.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  TESSERA_CHECK(weight.dim() == 2, "linear: weight must be 2-d, got {}", shape_str(weight.shape()));
  TESSERA_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1),
                "linear: input features {} != weight {} columns {}", x.size(-1),
                shape_str(weight.shape()), weight.size(1));
  if (bias.defined()) {
    TESSERA_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0),
                  "linear: bias shape {} for weight {}", shape_str(bias.shape()),
                  shape_str(weight.shape()));
  }
  const int64_t in = weight.size(1), out_features = weight.size(0);
  Shape out_shape = x.shape();
  out_shape.back() = out_features;
  Tensor x2, out;
  {
    NoGrad no_grad;
    x2 = x.reshape({-1, in});
    out = matmul_forward(x2, weight.transpose(0, 1));
    if (bias.defined()) add_(out, bias);
    out = out.view(out_shape);
  }
  if (should_record({&x, &weight, &bias})) {
    Tensor xd = x2.detach(), wd = weight.detach();
    bool gx = x.requires_grad(), gw = weight.requires_grad();
    bool gb = bias.defined() && bias.requires_grad();
    Shape in_shape = x.shape();
    record(out, "linear", {x, weight, bias}, [=](const Tensor& g) {
      Tensor g2 = g.reshape({-1, out_features});
      Tensor dx = gx ? matmul_forward(g2, wd).view(in_shape) : Tensor();
      Tensor dw = gw ? matmul_forward(g2.transpose(0, 1), xd) : Tensor();
      Tensor db = gb ? sum(g2, 0) : Tensor();
      return std::vector<Tensor>{dx, dw, db};
    });
  }
  return out;
}

}  // namespace tessera
