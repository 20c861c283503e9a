// Tensor metadata, factories, element access and conversions. Views live in tensor_views.cpp.
#include "tessera/core/tensor.h"

#include <cmath>
#include <cstring>
#include <type_traits>
#include <typeinfo>

#include "tessera/core/autograd.h"
#include "tessera/kernels/cpu/elementwise.h"

namespace tessera {

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<int64_t> contiguous_strides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= std::max<int64_t>(shape[i], 1);
  }
  return strides;
}

int64_t normalize_dim(int64_t dim, int64_t ndim) {
  int64_t d = dim < 0 ? dim + ndim : dim;
  TESSERA_CHECK(d >= 0 && d < ndim, "dimension {} out of range for a {}-d tensor", dim, ndim);
  return d;
}

void check_shape(const Tensor& t, const Shape& expected, const std::string& what) {
  TESSERA_CHECK_INPUT(t.defined() && t.shape() == expected, "{}: expected shape {}, got {}", what,
                      shape_str(expected), t.defined() ? shape_str(t.shape()) : "nothing");
}

// ---------------------------------------------------------------- factories

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  for (int64_t d : shape) TESSERA_CHECK(d >= 0, "negative dimension in shape {}", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::allocate(static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.raw_data(), 0, t.nbytes());
  return t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill_(value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype) { return full({}, value, dtype); }

Tensor Tensor::arange(int64_t n, DType dtype) {
  Tensor t = empty({n}, DType::f64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < n; ++i) p[i] = static_cast<double>(i);
  return t.to(dtype);
}

template <typename T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  TESSERA_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape),
                "from_vector: {} values for shape {}", values.size(), shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}

Tensor Tensor::from_storage(std::shared_ptr<Storage> storage, const Shape& shape, DType dtype,
                            int64_t offset) {
  size_t end = (static_cast<size_t>(offset) + static_cast<size_t>(shape_numel(shape))) *
               dtype_size(dtype);
  TESSERA_CHECK(offset >= 0 && end <= storage->nbytes(),
                "from_storage: {} elements of {} at offset {} exceed {} bytes", shape_numel(shape),
                dtype_name(dtype), offset, storage->nbytes());
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->offset = offset;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

// ---------------------------------------------------------------- metadata

#define TESSERA_REQUIRE_DEFINED() TESSERA_CHECK(impl_ != nullptr, "use of an undefined tensor")

const Shape& Tensor::shape() const {
  TESSERA_REQUIRE_DEFINED();
  return impl_->shape;
}
const std::vector<int64_t>& Tensor::strides() const {
  TESSERA_REQUIRE_DEFINED();
  return impl_->strides;
}
int64_t Tensor::offset() const { return impl_->offset; }
int64_t Tensor::dim() const { return static_cast<int64_t>(shape().size()); }
int64_t Tensor::size(int64_t d) const { return shape()[normalize_dim(d, dim())]; }
int64_t Tensor::numel() const { return shape_numel(shape()); }
DType Tensor::dtype() const {
  TESSERA_REQUIRE_DEFINED();
  return impl_->dtype;
}
const std::shared_ptr<Storage>& Tensor::storage() const {
  TESSERA_REQUIRE_DEFINED();
  return impl_->storage;
}

bool Tensor::is_contiguous() const {
  const auto& s = shape();
  if (shape_numel(s) == 0) return true;  // no element to be out of place
  int64_t expected = 1;
  for (size_t i = s.size(); i-- > 0;) {
    if (s[i] == 1) continue;  // any stride is fine for a size-1 axis
    if (impl_->strides[i] != expected) return false;
    expected *= s[i];
  }
  return true;
}

// ---------------------------------------------------------------- data access

void Tensor::check_writable() const {
  TESSERA_REQUIRE_DEFINED();
  TESSERA_CHECK(!impl_->storage->read_only(),
                "tensor {} is a read-only view of a mapped file; clone() it to modify",
                impl_->name.empty() ? "(unnamed)" : impl_->name);
}

void* Tensor::raw_data() {
  TESSERA_REQUIRE_DEFINED();
  return static_cast<char*>(impl_->storage->data()) + impl_->offset * dtype_size(impl_->dtype);
}

const void* Tensor::raw_data() const {
  TESSERA_REQUIRE_DEFINED();
  return static_cast<const char*>(impl_->storage->data()) +
         impl_->offset * dtype_size(impl_->dtype);
}

namespace {

template <typename T>
bool dtype_matches(DType d) {
  if constexpr (std::is_same_v<T, uint16_t>) {
    return d == DType::bf16 || d == DType::f16;
  } else {
    return d == dtype_of<T>();
  }
}

// Reads element i (in storage order) of a buffer of `dtype` as double.
double load_as_double(const void* base, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::f32: return static_cast<const float*>(base)[i];
    case DType::f64: return static_cast<const double*>(base)[i];
    case DType::bf16: return bf16_to_f32(static_cast<const uint16_t*>(base)[i]);
    case DType::f16: return f16_to_f32(static_cast<const uint16_t*>(base)[i]);
    case DType::i8: return static_cast<const int8_t*>(base)[i];
    case DType::i32: return static_cast<const int32_t*>(base)[i];
    case DType::i64: return static_cast<double>(static_cast<const int64_t*>(base)[i]);
    case DType::u8: return static_cast<const uint8_t*>(base)[i];
  }
  return 0.0;
}

void store_double(void* base, DType dtype, int64_t i, double v) {
  switch (dtype) {
    case DType::f32: static_cast<float*>(base)[i] = static_cast<float>(v); break;
    case DType::f64: static_cast<double*>(base)[i] = v; break;
    case DType::bf16: static_cast<uint16_t*>(base)[i] = f32_to_bf16(static_cast<float>(v)); break;
    case DType::f16: static_cast<uint16_t*>(base)[i] = f32_to_f16(static_cast<float>(v)); break;
    case DType::i8: static_cast<int8_t*>(base)[i] = static_cast<int8_t>(v); break;
    case DType::i32: static_cast<int32_t*>(base)[i] = static_cast<int32_t>(v); break;
    case DType::i64: static_cast<int64_t*>(base)[i] = static_cast<int64_t>(v); break;
    case DType::u8: static_cast<uint8_t*>(base)[i] = static_cast<uint8_t>(v); break;
  }
}

bool is_integer(DType d) { return d == DType::i8 || d == DType::i32 || d == DType::i64 || d == DType::u8; }

int64_t load_as_int64(const void* base, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::i8: return static_cast<const int8_t*>(base)[i];
    case DType::i32: return static_cast<const int32_t*>(base)[i];
    case DType::i64: return static_cast<const int64_t*>(base)[i];
    case DType::u8: return static_cast<const uint8_t*>(base)[i];
    default: return static_cast<int64_t>(load_as_double(base, dtype, i));
  }
}

// Converts n contiguous elements; fast paths for the conversions models do all the time.
void convert(const void* src, DType from, void* dst, DType to, int64_t n) {
  if (from == to) {
    std::memcpy(dst, src, static_cast<size_t>(n) * dtype_size(from));
  } else if (from == DType::bf16 && to == DType::f32) {
    kernels::bf16_to_f32(static_cast<const uint16_t*>(src), static_cast<float*>(dst), n);
  } else if (from == DType::f32 && to == DType::bf16) {
    kernels::f32_to_bf16(static_cast<const float*>(src), static_cast<uint16_t*>(dst), n);
  } else if (from == DType::f16 && to == DType::f32) {
    kernels::f16_to_f32(static_cast<const uint16_t*>(src), static_cast<float*>(dst), n);
  } else if (from == DType::f32 && to == DType::f16) {
    kernels::f32_to_f16(static_cast<const float*>(src), static_cast<uint16_t*>(dst), n);
  } else if (is_integer(from) && to == DType::i64) {  // exact beyond 2^53
    auto* out = static_cast<int64_t*>(dst);
    for (int64_t i = 0; i < n; ++i) out[i] = load_as_int64(src, from, i);
  } else {
    for (int64_t i = 0; i < n; ++i) store_double(dst, to, i, load_as_double(src, from, i));
  }
}

}  // namespace

template <typename T>
T* Tensor::data() {
  TESSERA_CHECK(dtype_matches<T>(dtype()), "tensor {}: data<{}>() on a {} tensor", impl_->name,
                typeid(T).name(), dtype_name(dtype()));
  return static_cast<T*>(raw_data());
}

template <typename T>
const T* Tensor::data() const {
  TESSERA_CHECK(dtype_matches<T>(dtype()), "tensor {}: data<{}>() on a {} tensor", impl_->name,
                typeid(T).name(), dtype_name(dtype()));
  return static_cast<const T*>(raw_data());
}

template <typename T>
T Tensor::item() const {
  TESSERA_CHECK(numel() == 1, "item() on a tensor of shape {}", shape_str(shape()));
  std::vector<T> v = to_vector<T>();
  return v[0];
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = contiguous();
  std::vector<T> out(static_cast<size_t>(c.numel()));
  if (out.empty()) return out;
  if constexpr (std::is_same_v<T, uint16_t>) {
    TESSERA_CHECK(dtype_matches<T>(c.dtype()), "to_vector<uint16_t> needs a bf16/f16 tensor");
    std::memcpy(out.data(), c.raw_data(), out.size() * 2);
  } else {
    convert(c.raw_data(), c.dtype(), out.data(), dtype_of<T>(), c.numel());
  }
  return out;
}

double Tensor::at(const std::vector<int64_t>& index) const {
  TESSERA_CHECK(static_cast<int64_t>(index.size()) == dim(), "at(): {} indices for a {}-d tensor",
                index.size(), dim());
  int64_t off = 0;
  for (size_t i = 0; i < index.size(); ++i) {
    int64_t k = index[i] < 0 ? index[i] + shape()[i] : index[i];
    TESSERA_CHECK(k >= 0 && k < shape()[i], "at(): index {} out of range for axis {} of size {}",
                  index[i], i, shape()[i]);
    off += k * strides()[i];
  }
  return load_as_double(raw_data(), dtype(), off);
}

#define TESSERA_INSTANTIATE_ACCESS(T)                                     \
  template T* Tensor::data<T>();                                          \
  template const T* Tensor::data<T>() const;                              \
  template std::vector<T> Tensor::to_vector<T>() const;                   \
  template Tensor Tensor::from_vector<T>(const std::vector<T>&, const Shape&);
TESSERA_INSTANTIATE_ACCESS(float)
TESSERA_INSTANTIATE_ACCESS(double)
TESSERA_INSTANTIATE_ACCESS(int8_t)
TESSERA_INSTANTIATE_ACCESS(int32_t)
TESSERA_INSTANTIATE_ACCESS(int64_t)
TESSERA_INSTANTIATE_ACCESS(uint8_t)
template uint16_t* Tensor::data<uint16_t>();
template const uint16_t* Tensor::data<uint16_t>() const;
template std::vector<uint16_t> Tensor::to_vector<uint16_t>() const;
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template int64_t Tensor::item<int64_t>() const;
template int32_t Tensor::item<int32_t>() const;

// ---------------------------------------------------------------- copies

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype());
  if (numel() > 0) {
    if (is_contiguous()) {
      std::memcpy(out.raw_data(), raw_data(), nbytes());
    } else {
      kernels::copy_strided(raw_data(), strides().data(), out.raw_data(), shape().data(),
                            static_cast<int>(dim()), static_cast<int64_t>(dtype_size(dtype())));
    }
  }
  if (should_record({this})) {
    record(out, "clone", {*this}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  }
  return out;
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor src = contiguous();
  Tensor out = empty(shape(), target);
  convert(src.raw_data(), dtype(), out.raw_data(), target, numel());
  if (is_floating(target) && is_floating(dtype()) && should_record({this})) {
    DType from = dtype();
    record(out, "to", {*this}, [from](const Tensor& g) { return std::vector<Tensor>{g.to(from)}; });
  }
  return out;
}

void Tensor::copy_(const Tensor& src) {
  check_writable();
  TESSERA_CHECK(src.shape() == shape(), "copy_: shape {} into {}", shape_str(src.shape()),
                shape_str(shape()));
  Tensor s = src.dtype() == dtype() ? src.contiguous() : src.to(dtype());
  if (is_contiguous()) {
    std::memcpy(raw_data(), s.raw_data(), nbytes());
    return;
  }
  // Scatter into a strided destination: copy element by element along a strided walk.
  std::vector<int64_t> index(shape().size(), 0);
  size_t esize = dtype_size(dtype());
  const char* in = static_cast<const char*>(s.raw_data());
  char* base = static_cast<char*>(raw_data());
  for (int64_t i = 0; i < numel(); ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < index.size(); ++d) off += index[d] * strides()[d];
    std::memcpy(base + off * static_cast<int64_t>(esize), in + i * static_cast<int64_t>(esize), esize);
    for (size_t d = index.size(); d-- > 0;) {
      if (++index[d] < shape()[d]) break;
      index[d] = 0;
    }
  }
}

void Tensor::fill_(double value) {
  check_writable();
  TESSERA_CHECK(is_contiguous(), "fill_ needs a contiguous tensor");
  int64_t n = numel();
  void* p = raw_data();
  switch (dtype()) {
    case DType::f32: std::fill_n(static_cast<float*>(p), n, static_cast<float>(value)); break;
    case DType::f64: std::fill_n(static_cast<double*>(p), n, value); break;
    default:
      for (int64_t i = 0; i < n; ++i) store_double(p, dtype(), i, value);
  }
}

// ---------------------------------------------------------------- autograd and names

bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }

Tensor& Tensor::requires_grad_(bool on) {
  TESSERA_REQUIRE_DEFINED();
  TESSERA_CHECK(!on || is_floating(dtype()), "only floating tensors can require grad, not {}",
                dtype_name(dtype()));
  impl_->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const {
  TESSERA_REQUIRE_DEFINED();
  return impl_->grad ? Tensor(impl_->grad) : Tensor();
}

void Tensor::set_grad(const Tensor& grad) {
  TESSERA_REQUIRE_DEFINED();
  impl_->grad = grad.impl();
}

void Tensor::zero_grad() { impl_->grad.reset(); }

void Tensor::backward(const Tensor& seed, bool retain_graph) const {
  TESSERA_REQUIRE_DEFINED();
  TESSERA_CHECK(requires_grad(), "backward() on a tensor that does not require grad");
  Tensor s = seed;
  if (!s.defined()) {
    TESSERA_CHECK(numel() == 1, "backward() without a seed needs a scalar, got shape {}",
                  shape_str(shape()));
    s = full(shape(), 1.0, dtype());
  }
  TESSERA_CHECK(s.shape() == shape(), "backward seed shape {} != tensor shape {}",
                shape_str(s.shape()), shape_str(shape()));
  run_backward(*this, s, retain_graph);
}

Tensor Tensor::detach() const {
  TESSERA_REQUIRE_DEFINED();
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->shape = impl_->shape;
  impl->strides = impl_->strides;
  impl->offset = impl_->offset;
  impl->dtype = impl_->dtype;
  impl->name = impl_->name;
  return Tensor(std::move(impl));
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
  TESSERA_REQUIRE_DEFINED();
  return impl_->grad_fn;
}
void Tensor::set_grad_fn(std::shared_ptr<Node> node) { impl_->grad_fn = std::move(node); }

const std::string& Tensor::name() const {
  TESSERA_REQUIRE_DEFINED();
  return impl_->name;
}
Tensor& Tensor::set_name(std::string name) {
  TESSERA_REQUIRE_DEFINED();
  impl_->name = std::move(name);
  return *this;
}

std::string Tensor::to_string(int64_t max_items) const {
  std::string s = fmt::format("Tensor({}, {}", dtype_name(dtype()), shape_str(shape()));
  if (!name().empty()) s += ", " + name();
  s += ") [";
  Tensor c = contiguous();
  int64_t n = std::min(numel(), max_items);
  for (int64_t i = 0; i < n; ++i) {
    if (i) s += ", ";
    s += fmt::format("{:.6g}", load_as_double(c.raw_data(), dtype(), i));
  }
  if (numel() > n) s += ", ...";
  return s + "]";
}

}  // namespace tessera
