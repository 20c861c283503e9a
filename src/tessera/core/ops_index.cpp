// Indexing and shape ops: concat, split, index_select, masked_fill, where, topk.
#include <cstring>

#include "tessera/core/ops.h"
#include "tessera/core/ops_util.h"
#include "tessera/kernels/cpu/reduce.h"

namespace tessera {

using detail::dispatch_floating;

namespace {

// Sizes of a contiguous tensor seen as [outer, n, inner] around `dim`.
void outer_inner(const Shape& shape, int64_t dim, int64_t& outer, int64_t& inner) {
  outer = 1;
  inner = 1;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < dim) outer *= shape[i];
    if (i > dim) inner *= shape[i];
  }
}

// A contiguous float tensor of `shape` with 1 where `mask` (broadcast) is non-zero.
Tensor mask_as_float(const Tensor& mask, const Shape& shape, DType dtype, bool invert) {
  Tensor m = mask.to(DType::f64).expand(shape).contiguous();
  Tensor out = Tensor::empty(shape, dtype);
  const double* pm = m.data<double>();
  dispatch_floating(dtype, "mask", [&]<typename T>() {
    T* po = out.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i) po[i] = ((pm[i] != 0.0) != invert) ? T(1) : T(0);
  });
  return out;
}

}  // namespace

Tensor concat(const std::vector<Tensor>& parts, int64_t dim) {
  TESSERA_CHECK(!parts.empty(), "concat: no tensors");
  const Tensor& first = parts[0];
  int64_t d = normalize_dim(dim, first.dim());
  Shape shape = first.shape();
  int64_t total = 0;
  for (const Tensor& p : parts) {
    TESSERA_CHECK(p.dim() == first.dim() && p.dtype() == first.dtype(),
                  "concat: {} {} does not match {} {}", dtype_name(p.dtype()), shape_str(p.shape()),
                  dtype_name(first.dtype()), shape_str(first.shape()));
    for (int64_t i = 0; i < first.dim(); ++i) {
      TESSERA_CHECK(i == d || p.shape()[i] == shape[i], "concat along {}: shapes {} and {} differ",
                    d, shape_str(first.shape()), shape_str(p.shape()));
    }
    total += p.shape()[d];
  }
  shape[d] = total;
  Tensor out = Tensor::empty(shape, first.dtype());
  int64_t outer, inner;
  outer_inner(shape, d, outer, inner);
  size_t esize = dtype_size(first.dtype());
  char* dst = static_cast<char*>(out.raw_data());
  int64_t at = 0;
  for (const Tensor& p : parts) {
    Tensor pc = p.contiguous();
    int64_t block = pc.shape()[d] * inner * static_cast<int64_t>(esize);
    const char* src = static_cast<const char*>(pc.raw_data());
    for (int64_t o = 0; o < outer; ++o) {
      std::memcpy(dst + (o * total + at) * inner * static_cast<int64_t>(esize), src + o * block,
                  static_cast<size_t>(block));
    }
    at += pc.shape()[d];
  }
  if (should_record(parts)) {
    std::vector<int64_t> sizes;
    for (const Tensor& p : parts) sizes.push_back(p.shape()[d]);
    record(out, "concat", parts, [sizes, d](const Tensor& g) {
      std::vector<Tensor> grads;
      int64_t start = 0;
      for (int64_t s : sizes) {
        grads.push_back(g.narrow(d, start, s));
        start += s;
      }
      return grads;
    });
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  int64_t d = normalize_dim(dim, x.dim());
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  TESSERA_CHECK(total == x.shape()[d], "split: sizes add up to {}, axis {} has {}", total, d,
                x.shape()[d]);
  std::vector<Tensor> out;
  int64_t start = 0;
  for (int64_t s : sizes) {
    out.push_back(x.narrow(d, start, s));
    start += s;
  }
  return out;
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  int64_t d = normalize_dim(dim, x.dim());
  Tensor idx = detail::as_index(index, "index_select");
  TESSERA_CHECK(idx.dim() == 1, "index_select: index must be 1-d, got {}", shape_str(idx.shape()));
  int64_t n = x.shape()[d], count = idx.numel();
  const int64_t* pi = idx.data<int64_t>();
  for (int64_t i = 0; i < count; ++i) {
    TESSERA_CHECK_INPUT(pi[i] >= 0 && pi[i] < n, "index_select: index {} outside [0, {})", pi[i], n);
  }
  Shape shape = x.shape();
  shape[d] = count;
  Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(shape, x.dtype());
  int64_t outer, inner;
  outer_inner(shape, d, outer, inner);
  size_t row = static_cast<size_t>(inner) * dtype_size(x.dtype());
  const char* src = static_cast<const char*>(xc.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < count; ++i)
      std::memcpy(dst + (o * count + i) * row, src + (o * n + pi[i]) * row, row);
  if (should_record({&x})) {
    Shape in_shape = x.shape();
    DType dt = x.dtype();
    record(out, "index_select", {x}, [=](const Tensor& g) {
      Tensor gc = g.contiguous();
      Tensor dx = Tensor::zeros(in_shape, dt);
      dispatch_floating(dt, "index_select", [&]<typename T>() {
        const T* pg = gc.data<T>();
        T* pd = dx.data<T>();
        const int64_t* pidx = idx.data<int64_t>();
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t i = 0; i < count; ++i)
            for (int64_t k = 0; k < inner; ++k)
              pd[(o * n + pidx[i]) * inner + k] += pg[(o * count + i) * inner + k];
      });
      return std::vector<Tensor>{dx};
    });
  }
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  Shape shape = broadcast_shapes(x.shape(), mask.shape());
  TESSERA_CHECK(shape == x.shape(), "masked_fill: mask {} does not broadcast to {}",
                shape_str(mask.shape()), shape_str(x.shape()));
  Tensor keep = mask_as_float(mask, shape, x.dtype(), /*invert=*/true);
  Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(shape, x.dtype());
  dispatch_floating(x.dtype(), "masked_fill", [&]<typename T>() {
    const T* px = xc.data<T>();
    const T* pk = keep.data<T>();
    T* po = out.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i) po[i] = pk[i] != T(0) ? px[i] : static_cast<T>(value);
  });
  if (should_record({&x})) {
    record(out, "masked_fill", {x}, [keep](const Tensor& g) { return std::vector<Tensor>{mul(g, keep)}; });
  }
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  detail::check_same_dtype(a, b, "where");
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape()), b.shape());
  Tensor pick_a = mask_as_float(cond, shape, a.dtype(), false);
  Tensor pick_b = mask_as_float(cond, shape, a.dtype(), true);
  Tensor out = Tensor::empty(shape, a.dtype());
  {
    // Selected, not blended: a * m + b * (1 - m) would turn an inf on the unpicked side into nan.
    Tensor ea = a.expand(shape).contiguous(), eb = b.expand(shape).contiguous();
    dispatch_floating(a.dtype(), "where", [&]<typename T>() {
      const T* pa = ea.data<T>();
      const T* pb = eb.data<T>();
      const T* pm = pick_a.data<T>();
      T* po = out.data<T>();
      for (int64_t i = 0; i < out.numel(); ++i) po[i] = pm[i] != T(0) ? pa[i] : pb[i];
    });
  }
  if (should_record({&a, &b})) {
    record(out, "where", {a, b}, [pick_a, pick_b](const Tensor& g) {
      return std::vector<Tensor>{mul(g, pick_a), mul(g, pick_b)};
    });
  }
  return out;
}

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k) {
  TESSERA_CHECK(x.dim() >= 1, "topk: needs at least 1 dimension");
  int64_t n = x.size(-1);
  TESSERA_CHECK(k >= 0 && k <= n, "topk: k = {} for an axis of size {}", k, n);
  int64_t rows = n == 0 ? 0 : x.numel() / n;
  Shape shape = x.shape();
  shape.back() = k;
  Tensor xc = x.contiguous();
  Tensor values = Tensor::empty(shape, x.dtype()), indices = Tensor::empty(shape, DType::i64);
  dispatch_floating(x.dtype(), "topk", [&]<typename T>() {
    kernels::topk_rows<T>(xc.data<T>(), values.data<T>(), indices.data<int64_t>(), rows, n, k);
  });
  if (should_record({&x})) {
    Shape in_shape = x.shape();
    DType dt = x.dtype();
    Tensor idx = indices;
    record(values, "topk", {x}, [=](const Tensor& g) {
      Tensor gc = g.contiguous();
      Tensor dx = Tensor::zeros(in_shape, dt);
      dispatch_floating(dt, "topk", [&]<typename T>() {
        const T* pg = gc.data<T>();
        const int64_t* pi = idx.data<int64_t>();
        T* pd = dx.data<T>();
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < k; ++j) pd[r * n + pi[r * k + j]] += pg[r * k + j];
      });
      return std::vector<Tensor>{dx};
    });
  }
  return {values, indices};
}

}  // namespace tessera
