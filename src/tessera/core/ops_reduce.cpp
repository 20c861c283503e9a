// Reductions, softmax family and cumulative sums, all along one axis of a [outer, n, inner]
// view of contiguous data.
#include <cmath>

#include "tessera/core/ops.h"
#include "tessera/core/ops_util.h"
#include "tessera/kernels/cpu/reduce.h"

namespace tessera {

using detail::dispatch_floating;
using kernels::ReduceOp;

namespace {

struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
  int64_t dim = 0;
  Shape reduced;  // the shape without the axis
  Shape kept;     // the shape with the axis as size 1
};

AxisSplit split_axis(const Shape& shape, int64_t dim) {
  AxisSplit s;
  s.dim = normalize_dim(dim, static_cast<int64_t>(shape.size()));
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < s.dim) s.outer *= shape[i];
    if (i > s.dim) s.inner *= shape[i];
    if (i != s.dim) s.reduced.push_back(shape[i]);
    s.kept.push_back(i == s.dim ? 1 : shape[i]);
  }
  s.n = shape[s.dim];
  return s;
}

// The gradient of a reduction, spread back over the reduced axis.
Tensor spread(const Tensor& g, const AxisSplit& s, const Shape& input_shape) {
  return g.reshape(s.kept).expand(input_shape).contiguous();
}

Tensor reduce_op(ReduceOp op, const Tensor& x, int64_t dim, bool keepdim, const char* name) {
  AxisSplit s = split_axis(x.shape(), dim);
  TESSERA_CHECK(s.n > 0 || op == ReduceOp::sum, "{}: reducing an empty axis {}", name, s.dim);
  Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(keepdim ? s.kept : s.reduced, x.dtype());
  dispatch_floating(x.dtype(), name, [&]<typename T>() {
    kernels::reduce<T>(op, xc.data<T>(), out.data<T>(), s.outer, s.n, s.inner);
  });
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, int64_t dim, bool keepdim) {
  Tensor out = reduce_op(ReduceOp::sum, x, dim, keepdim, "sum");
  if (should_record({&x})) {
    AxisSplit s = split_axis(x.shape(), dim);
    Shape in_shape = x.shape();
    record(out, "sum", {x}, [s, in_shape](const Tensor& g) {
      return std::vector<Tensor>{spread(g, s, in_shape)};
    });
  }
  return out;
}

Tensor sum(const Tensor& x) {
  Tensor flat = x.reshape({x.numel()});
  return sum(flat, 0, false);
}

Tensor mean(const Tensor& x, int64_t dim, bool keepdim) {
  Tensor out = reduce_op(ReduceOp::mean, x, dim, keepdim, "mean");
  if (should_record({&x})) {
    AxisSplit s = split_axis(x.shape(), dim);
    Shape in_shape = x.shape();
    record(out, "mean", {x}, [s, in_shape](const Tensor& g) {
      return std::vector<Tensor>{mul(spread(g, s, in_shape), 1.0 / static_cast<double>(s.n))};
    });
  }
  return out;
}

Tensor mean(const Tensor& x) { return mean(x.reshape({x.numel()}), 0, false); }

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  AxisSplit s = split_axis(x.shape(), dim);
  TESSERA_CHECK(s.n > 0, "argmax over an empty axis");
  Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(keepdim ? s.kept : s.reduced, DType::i64);
  dispatch_floating(x.dtype(), "argmax", [&]<typename T>() {
    kernels::argmax<T>(xc.data<T>(), out.data<int64_t>(), s.outer, s.n, s.inner);
  });
  return out;
}

Tensor max(const Tensor& x, int64_t dim, bool keepdim) {
  Tensor out = reduce_op(ReduceOp::max, x, dim, keepdim, "max");
  if (should_record({&x})) {
    AxisSplit s = split_axis(x.shape(), dim);
    Tensor idx = argmax(x.detach(), dim, false);
    Shape in_shape = x.shape();
    DType dt = x.dtype();
    record(out, "max", {x}, [s, idx, in_shape, dt](const Tensor& g) {
      Tensor gc = g.contiguous();
      Tensor dx = Tensor::zeros(in_shape, dt);
      const int64_t* pi = idx.data<int64_t>();
      dispatch_floating(dt, "max", [&]<typename T>() {
        const T* pg = gc.data<T>();
        T* pd = dx.data<T>();
        for (int64_t o = 0; o < s.outer; ++o)
          for (int64_t i = 0; i < s.inner; ++i)
            pd[(o * s.n + pi[o * s.inner + i]) * s.inner + i] = pg[o * s.inner + i];
      });
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

Tensor logsumexp(const Tensor& x, int64_t dim, bool keepdim) {
  Tensor out = reduce_op(ReduceOp::logsumexp, x, dim, keepdim, "logsumexp");
  if (should_record({&x})) {
    AxisSplit s = split_axis(x.shape(), dim);
    Tensor xd = x.detach(), lse = out.detach();
    record(out, "logsumexp", {x}, [s, xd, lse](const Tensor& g) {
      Tensor p = exp(sub(xd, lse.reshape(s.kept)));  // softmax along the axis
      return std::vector<Tensor>{mul(p, g.reshape(s.kept))};
    });
  }
  return out;
}

Tensor var(const Tensor& x, int64_t dim, bool unbiased, bool keepdim) {
  AxisSplit s = split_axis(x.shape(), dim);
  TESSERA_CHECK(s.n > (unbiased ? 1 : 0), "var: axis of size {} is too short", s.n);
  Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(keepdim ? s.kept : s.reduced, x.dtype());
  dispatch_floating(x.dtype(), "var", [&]<typename T>() {
    kernels::variance<T>(xc.data<T>(), out.data<T>(), s.outer, s.n, s.inner, unbiased);
  });
  if (should_record({&x})) {
    Tensor xd = xc.detach();
    double denom = static_cast<double>(s.n - (unbiased ? 1 : 0));
    record(out, "var", {x}, [s, xd, denom](const Tensor& g) {
      NoGrad guard;
      Tensor centered = sub(xd, mean(xd, s.dim, true));
      return std::vector<Tensor>{mul(mul(centered, g.reshape(s.kept)), 2.0 / denom)};
    });
  }
  return out;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  TESSERA_CHECK(x.shape().size() >= shape.size(), "sum_to: {} to larger rank {}",
                shape_str(x.shape()), shape_str(shape));
  Tensor out = x;
  size_t lead = x.shape().size() - shape.size();
  for (size_t i = 0; i < lead; ++i) out = sum(out, 0, false);
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1 && out.shape()[i] != 1) out = sum(out, static_cast<int64_t>(i), true);
  }
  TESSERA_CHECK(out.shape() == shape, "sum_to: {} cannot reduce to {}", shape_str(x.shape()),
                shape_str(shape));
  return out;
}

namespace {

// Runs a row kernel along `dim` by moving that axis last when it is not already.
template <typename Forward, typename Backward>
Tensor rowwise(const Tensor& x, int64_t dim, const char* name, Forward forward, Backward backward) {
  int64_t d = normalize_dim(dim, x.dim());
  if (d != x.dim() - 1) {
    return rowwise(x.transpose(d, -1), -1, name, forward, backward).transpose(d, -1);
  }
  Tensor xc = x.contiguous();
  int64_t n = x.dim() == 0 ? 1 : x.shape().back();
  int64_t rows = n == 0 ? 0 : x.numel() / n;
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), name, [&]<typename T>() {
    forward(xc.data<T>(), out.data<T>(), rows, n);
  });
  if (should_record({&x})) {
    Tensor yd = out.detach();
    record(out, name, {x}, [yd, rows, n, name, backward](const Tensor& g) {
      Tensor gc = g.contiguous();
      Tensor dx = Tensor::empty(yd.shape(), yd.dtype());
      dispatch_floating(yd.dtype(), name, [&]<typename T>() {
        backward(yd.data<T>(), gc.data<T>(), dx.data<T>(), rows, n);
      });
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) {
  return rowwise(
      x, dim, "softmax",
      [](const auto* in, auto* out, int64_t rows, int64_t n) { kernels::softmax_rows(in, out, rows, n); },
      [](const auto* y, const auto* dy, auto* dx, int64_t rows, int64_t n) {
        kernels::softmax_backward_rows(y, dy, dx, rows, n);
      });
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  return rowwise(
      x, dim, "log_softmax",
      [](const auto* in, auto* out, int64_t rows, int64_t n) {
        kernels::log_softmax_rows(in, out, rows, n);
      },
      [](const auto* y, const auto* dy, auto* dx, int64_t rows, int64_t n) {
        kernels::log_softmax_backward_rows(y, dy, dx, rows, n);
      });
}

Tensor cumsum(const Tensor& x, int64_t dim) {
  AxisSplit s = split_axis(x.shape(), dim);
  Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), "cumsum", [&]<typename T>() {
    kernels::cumsum<T>(xc.data<T>(), out.data<T>(), s.outer, s.n, s.inner, false);
  });
  if (should_record({&x})) {
    record(out, "cumsum", {x}, [s](const Tensor& g) {
      Tensor gc = g.contiguous();
      Tensor dx = Tensor::empty(gc.shape(), gc.dtype());
      dispatch_floating(gc.dtype(), "cumsum", [&]<typename T>() {
        kernels::cumsum<T>(gc.data<T>(), dx.data<T>(), s.outer, s.n, s.inner, true);
      });
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

}  // namespace tessera
