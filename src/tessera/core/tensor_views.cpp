// Views: new shape/strides/offset over the same storage. Each records its backward so that
// gradients flow through slicing and transposition like through any other op.
#include <algorithm>
#include <numeric>

#include "tessera/core/autograd.h"
#include "tessera/core/ops.h"
#include "tessera/core/tensor.h"

namespace tessera {

namespace {

Tensor make_view(const Tensor& base, Shape shape, std::vector<int64_t> strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage();
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

Shape infer_shape(const Shape& requested, int64_t numel) {
  Shape shape = requested;
  int64_t known = 1;
  int infer_at = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      TESSERA_CHECK(infer_at < 0, "reshape: more than one -1 in {}", shape_str(requested));
      infer_at = static_cast<int>(i);
    } else {
      TESSERA_CHECK(shape[i] >= 0, "reshape: negative size in {}", shape_str(requested));
      known *= shape[i];
    }
  }
  if (infer_at >= 0) {
    TESSERA_CHECK(known > 0 && numel % known == 0, "reshape: cannot infer -1 in {} for {} elements",
                  shape_str(requested), numel);
    shape[infer_at] = numel / known;
  }
  TESSERA_CHECK(shape_numel(shape) == numel, "reshape: {} elements cannot take shape {}", numel,
                shape_str(requested));
  return shape;
}

// Gradient of a view that picks some elements of `input_shape`: zeros with the gradient
// written into the same view of them.
template <typename MakeView>
Tensor scatter_into_zeros(const Shape& input_shape, DType dtype, const Tensor& grad,
                          MakeView make) {
  Tensor z = Tensor::zeros(input_shape, dtype);
  Tensor window = make(z);
  window.copy_(grad);
  return z;
}

}  // namespace

Tensor Tensor::view(const Shape& requested) const {
  TESSERA_CHECK(is_contiguous(), "view {} of a non-contiguous tensor of shape {}; use reshape",
                shape_str(requested), shape_str(shape()));
  Shape new_shape = infer_shape(requested, numel());
  Tensor out = make_view(*this, new_shape, contiguous_strides(new_shape), offset());
  if (should_record({this})) {
    Shape old = shape();
    record(out, "view", {*this}, [old](const Tensor& g) { return std::vector<Tensor>{g.reshape(old)}; });
  }
  return out;
}

Tensor Tensor::reshape(const Shape& requested) const {
  if (is_contiguous()) return view(requested);
  return contiguous().view(requested);
}

Tensor Tensor::transpose(int64_t a, int64_t b) const {
  int64_t n = dim();
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[normalize_dim(a, n)], order[normalize_dim(b, n)]);
  return permute(order);
}

Tensor Tensor::permute(const std::vector<int64_t>& order) const {
  int64_t n = dim();
  TESSERA_CHECK(static_cast<int64_t>(order.size()) == n, "permute: {} axes for a {}-d tensor",
                order.size(), n);
  Shape new_shape(order.size());
  std::vector<int64_t> new_strides(order.size());
  std::vector<int64_t> inverse(order.size(), -1);
  for (size_t i = 0; i < order.size(); ++i) {
    int64_t d = normalize_dim(order[i], n);
    TESSERA_CHECK(inverse[d] < 0, "permute: axis {} repeated", d);
    inverse[d] = static_cast<int64_t>(i);
    new_shape[i] = shape()[d];
    new_strides[i] = strides()[d];
  }
  Tensor out = make_view(*this, new_shape, new_strides, offset());
  if (should_record({this})) {
    record(out, "permute", {*this},
           [inverse](const Tensor& g) { return std::vector<Tensor>{g.permute(inverse)}; });
  }
  return out;
}

Tensor Tensor::slice(int64_t dim_, int64_t start, int64_t end, int64_t step) const {
  int64_t d = normalize_dim(dim_, dim());
  int64_t len = shape()[d];
  TESSERA_CHECK(step >= 1, "slice: step must be positive, got {}", step);
  if (start < 0) start += len;
  if (end < 0) end += len;
  start = std::clamp<int64_t>(start, 0, len);
  end = std::clamp<int64_t>(end, start, len);
  Shape new_shape = shape();
  new_shape[d] = (end - start + step - 1) / step;
  std::vector<int64_t> new_strides = strides();
  new_strides[d] *= step;
  Tensor out = make_view(*this, new_shape, new_strides, offset() + start * strides()[d]);
  if (should_record({this})) {
    Shape in_shape = shape();
    DType dt = dtype();
    record(out, "slice", {*this}, [=](const Tensor& g) {
      return std::vector<Tensor>{scatter_into_zeros(
          in_shape, dt, g, [&](const Tensor& z) { return z.slice(d, start, end, step); })};
    });
  }
  return out;
}

Tensor Tensor::narrow(int64_t dim_, int64_t start, int64_t length) const {
  int64_t d = normalize_dim(dim_, dim());
  TESSERA_CHECK(start >= 0 && length >= 0 && start + length <= shape()[d],
                "narrow: [{}, {}) out of range for axis {} of size {}", start, start + length, d,
                shape()[d]);
  return slice(d, start, start + length);
}

Tensor Tensor::select(int64_t dim_, int64_t index) const {
  int64_t d = normalize_dim(dim_, dim());
  int64_t len = shape()[d];
  if (index < 0) index += len;
  TESSERA_CHECK(index >= 0 && index < len, "select: index {} out of range for axis {} of size {}",
                index, d, len);
  Shape new_shape = shape();
  std::vector<int64_t> new_strides = strides();
  new_shape.erase(new_shape.begin() + d);
  new_strides.erase(new_strides.begin() + d);
  Tensor out = make_view(*this, new_shape, new_strides, offset() + index * strides()[d]);
  if (should_record({this})) {
    Shape in_shape = shape();
    DType dt = dtype();
    record(out, "select", {*this}, [=](const Tensor& g) {
      return std::vector<Tensor>{scatter_into_zeros(
          in_shape, dt, g, [&](const Tensor& z) { return z.select(d, index); })};
    });
  }
  return out;
}

Tensor Tensor::expand(const Shape& target) const {
  TESSERA_CHECK(static_cast<int64_t>(target.size()) >= dim(), "expand: {} to fewer axes {}",
                shape_str(shape()), shape_str(target));
  size_t lead = target.size() - shape().size();
  Shape new_shape = target;
  std::vector<int64_t> new_strides(target.size(), 0);
  for (size_t i = 0; i < shape().size(); ++i) {
    int64_t want = target[lead + i];
    if (want == -1) want = shape()[i];
    new_shape[lead + i] = want;
    if (shape()[i] == want) {
      new_strides[lead + i] = strides()[i];
    } else {
      TESSERA_CHECK(shape()[i] == 1, "expand: axis {} of size {} cannot become {}", i, shape()[i],
                    want);
    }
  }
  Tensor out = make_view(*this, new_shape, new_strides, offset());
  if (should_record({this})) {
    Shape in_shape = shape();
    record(out, "expand", {*this},
           [in_shape](const Tensor& g) { return std::vector<Tensor>{sum_to(g, in_shape)}; });
  }
  return out;
}

Tensor Tensor::unsqueeze(int64_t d) const {
  int64_t n = dim() + 1;
  int64_t at = normalize_dim(d, n);
  Shape new_shape = shape();
  new_shape.insert(new_shape.begin() + at, 1);
  std::vector<int64_t> new_strides = strides();
  int64_t stride = at < dim() ? strides()[at] * shape()[at] : 1;
  new_strides.insert(new_strides.begin() + at, stride);
  Tensor out = make_view(*this, new_shape, new_strides, offset());
  if (should_record({this})) {
    Shape old = shape();
    record(out, "unsqueeze", {*this},
           [old](const Tensor& g) { return std::vector<Tensor>{g.reshape(old)}; });
  }
  return out;
}

Tensor Tensor::squeeze(int64_t d) const {
  int64_t at = normalize_dim(d, dim());
  TESSERA_CHECK(shape()[at] == 1, "squeeze: axis {} has size {}, not 1", at, shape()[at]);
  return select(at, 0);
}

}  // namespace tessera
