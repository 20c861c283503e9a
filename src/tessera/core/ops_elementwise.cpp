// Elementwise ops with NumPy broadcasting and their backward rules.
#include <cmath>

#include "tessera/core/ops.h"
#include "tessera/core/ops_util.h"
#include "tessera/kernels/cpu/elementwise.h"

namespace tessera {

using detail::dispatch_floating;
using kernels::BinaryOp;
using kernels::UnaryOp;

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    TESSERA_CHECK(da == db || da == 1 || db == 1, "shapes {} and {} do not broadcast", shape_str(a),
                  shape_str(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace detail {
std::vector<int64_t> broadcast_strides(const Tensor& t, const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 0);
  size_t lead = shape.size() - t.shape().size();
  for (size_t i = 0; i < t.shape().size(); ++i) {
    if (t.shape()[i] != 1) strides[lead + i] = t.strides()[i];
  }
  return strides;
}
}  // namespace detail

namespace {

Tensor binary_forward(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  detail::check_same_dtype(a, b, name);
  Shape shape = broadcast_shapes(a.shape(), b.shape());
  TESSERA_CHECK(shape.size() <= 8, "{}: more than 8 dimensions", name);
  Tensor out = Tensor::empty(shape, a.dtype());
  if (out.numel() == 0) return out;
  auto sa = detail::broadcast_strides(a, shape);
  auto sb = detail::broadcast_strides(b, shape);
  dispatch_floating(a.dtype(), name, [&]<typename T>() {
    kernels::binary<T>(op, a.data<T>(), sa.data(), b.data<T>(), sb.data(), out.data<T>(),
                       shape.data(), static_cast<int>(shape.size()));
  });
  return out;
}

// 1 where pick(a, b) holds elementwise (broadcast), else 0; used by maximum/minimum backward.
template <typename Pick>
Tensor compare_mask(const Tensor& a, const Tensor& b, Pick pick) {
  Shape shape = broadcast_shapes(a.shape(), b.shape());
  Tensor ea = a.expand(shape).contiguous(), eb = b.expand(shape).contiguous();
  Tensor mask = Tensor::empty(shape, a.dtype());
  dispatch_floating(a.dtype(), "compare", [&]<typename T>() {
    const T* pa = ea.data<T>();
    const T* pb = eb.data<T>();
    T* pm = mask.data<T>();
    for (int64_t i = 0; i < mask.numel(); ++i) pm[i] = pick(pa[i], pb[i]) ? T(1) : T(0);
  });
  return mask;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::add, a, b, "add");
  if (should_record({&a, &b})) {
    record(out, "add", {a, b}, [](const Tensor& g) { return std::vector<Tensor>{g, g}; });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::sub, a, b, "sub");
  if (should_record({&a, &b})) {
    record(out, "sub", {a, b}, [](const Tensor& g) { return std::vector<Tensor>{g, neg(g)}; });
  }
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::mul, a, b, "mul");
  if (should_record({&a, &b})) {
    Tensor ad = a.detach(), bd = b.detach();
    bool ga = a.requires_grad(), gb = b.requires_grad();
    record(out, "mul", {a, b}, [=](const Tensor& g) {
      return std::vector<Tensor>{ga ? mul(g, bd) : Tensor(), gb ? mul(g, ad) : Tensor()};
    });
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::div, a, b, "div");
  if (should_record({&a, &b})) {
    Tensor bd = b.detach(), outd = out.detach();
    bool ga = a.requires_grad(), gb = b.requires_grad();
    record(out, "div", {a, b}, [=](const Tensor& g) {
      Tensor g_over_b = div(g, bd);
      return std::vector<Tensor>{ga ? g_over_b : Tensor(), gb ? neg(mul(g_over_b, outd)) : Tensor()};
    });
  }
  return out;
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::maximum, a, b, "maximum");
  if (should_record({&a, &b})) {
    Tensor ad = a.detach(), bd = b.detach();
    record(out, "maximum", {a, b}, [=](const Tensor& g) {
      Tensor m = compare_mask(ad, bd, [](auto x, auto y) { return x >= y; });
      return std::vector<Tensor>{mul(g, m), sub(g, mul(g, m))};
    });
  }
  return out;
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::minimum, a, b, "minimum");
  if (should_record({&a, &b})) {
    Tensor ad = a.detach(), bd = b.detach();
    record(out, "minimum", {a, b}, [=](const Tensor& g) {
      Tensor m = compare_mask(ad, bd, [](auto x, auto y) { return x <= y; });
      return std::vector<Tensor>{mul(g, m), sub(g, mul(g, m))};
    });
  }
  return out;
}

namespace {
Tensor affine_op(const Tensor& x, double scale, double shift, const char* name) {
  Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), name, [&]<typename T>() {
    kernels::affine<T>(xc.data<T>(), static_cast<T>(scale), static_cast<T>(shift), out.data<T>(),
                       out.numel());
  });
  return out;
}
}  // namespace

Tensor add(const Tensor& a, double b) {
  Tensor out = affine_op(a, 1.0, b, "add");
  if (should_record({&a})) {
    record(out, "add_scalar", {a}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  }
  return out;
}

Tensor mul(const Tensor& a, double b) {
  Tensor out = affine_op(a, b, 0.0, "mul");
  if (should_record({&a})) {
    record(out, "mul_scalar", {a}, [b](const Tensor& g) { return std::vector<Tensor>{mul(g, b)}; });
  }
  return out;
}

void add_(Tensor& a, const Tensor& b) {
  a.check_writable();
  detail::check_same_dtype(a, b, "add_");
  TESSERA_CHECK(a.is_contiguous(), "add_: destination must be contiguous");
  if (b.shape() == a.shape() && b.is_contiguous()) {
    dispatch_floating(a.dtype(), "add_", [&]<typename T>() {
      kernels::accumulate<T>(b.data<T>(), a.data<T>(), a.numel());
    });
    return;
  }
  Tensor sum_ab = binary_forward(BinaryOp::add, a, b, "add_");
  TESSERA_CHECK(sum_ab.shape() == a.shape(), "add_: {} does not broadcast into {}",
                shape_str(b.shape()), shape_str(a.shape()));
  a.copy_(sum_ab);
}

void mul_(Tensor& a, double s) {
  a.check_writable();
  TESSERA_CHECK(a.is_contiguous(), "mul_: destination must be contiguous");
  dispatch_floating(a.dtype(), "mul_", [&]<typename T>() {
    kernels::affine<T>(a.data<T>(), static_cast<T>(s), T(0), a.data<T>(), a.numel());
  });
}

namespace {

Tensor unary_op(UnaryOp op, const Tensor& x, const char* name) {
  Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), name, [&]<typename T>() {
    kernels::unary<T>(op, xc.data<T>(), out.data<T>(), out.numel());
  });
  if (should_record({&x})) {
    Tensor xd = xc.detach(), yd = out.detach();
    record(out, name, {x}, [op, xd, yd, name](const Tensor& g) {
      Tensor gc = g.contiguous();
      Tensor dx = Tensor::empty(xd.shape(), xd.dtype());
      dispatch_floating(xd.dtype(), name, [&]<typename T>() {
        kernels::unary_backward<T>(op, xd.data<T>(), yd.data<T>(), gc.data<T>(), dx.data<T>(),
                                   dx.numel());
      });
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

}  // namespace

Tensor neg(const Tensor& x) { return unary_op(UnaryOp::neg, x, "neg"); }
Tensor exp(const Tensor& x) { return unary_op(UnaryOp::exp, x, "exp"); }
Tensor log(const Tensor& x) { return unary_op(UnaryOp::log, x, "log"); }
Tensor sqrt(const Tensor& x) { return unary_op(UnaryOp::sqrt, x, "sqrt"); }
Tensor rsqrt(const Tensor& x) { return unary_op(UnaryOp::rsqrt, x, "rsqrt"); }
Tensor tanh(const Tensor& x) { return unary_op(UnaryOp::tanh, x, "tanh"); }
Tensor sigmoid(const Tensor& x) { return unary_op(UnaryOp::sigmoid, x, "sigmoid"); }
Tensor silu(const Tensor& x) { return unary_op(UnaryOp::silu, x, "silu"); }
Tensor relu(const Tensor& x) { return unary_op(UnaryOp::relu, x, "relu"); }
Tensor softplus(const Tensor& x) { return unary_op(UnaryOp::softplus, x, "softplus"); }
Tensor abs(const Tensor& x) { return unary_op(UnaryOp::abs, x, "abs"); }
Tensor square(const Tensor& x) { return unary_op(UnaryOp::square, x, "square"); }
Tensor gelu(const Tensor& x, GeluApproximation approximation) {
  return approximation == GeluApproximation::tanh ? unary_op(UnaryOp::gelu_tanh, x, "gelu_tanh")
                                                  : unary_op(UnaryOp::gelu_erf, x, "gelu");
}

Tensor pow(const Tensor& x, double p) {
  Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), "pow", [&]<typename T>() {
    kernels::pow_scalar<T>(xc.data<T>(), static_cast<T>(p), out.data<T>(), out.numel());
  });
  if (should_record({&x})) {
    Tensor xd = xc.detach();
    record(out, "pow", {x}, [xd, p](const Tensor& g) {
      return std::vector<Tensor>{mul(g, mul(pow(xd, p - 1.0), p))};
    });
  }
  return out;
}

Tensor clamp(const Tensor& x, double low, double high) {
  TESSERA_CHECK(low <= high, "clamp: low {} > high {}", low, high);
  Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), "clamp", [&]<typename T>() {
    kernels::clamp<T>(xc.data<T>(), static_cast<T>(low), static_cast<T>(high), out.data<T>(),
                      out.numel());
  });
  if (should_record({&x})) {
    Tensor xd = xc.detach();
    record(out, "clamp", {x}, [xd, low, high](const Tensor& g) {
      Tensor inside = Tensor::empty(xd.shape(), xd.dtype());
      dispatch_floating(xd.dtype(), "clamp", [&]<typename T>() {
        const T* px = xd.data<T>();
        T* pm = inside.data<T>();
        for (int64_t i = 0; i < inside.numel(); ++i) pm[i] = (px[i] >= low && px[i] <= high) ? T(1) : T(0);
      });
      return std::vector<Tensor>{mul(g, inside)};
    });
  }
  return out;
}

}  // namespace tessera
