#pragma once
// Tensor: shared storage + shape + strides + offset + dtype. Views (reshape of contiguous
// data, transpose, permute, narrow, slice, select, expand) share storage. In grad mode,
// every op (views included) records a node so that backward() can run (autograd.h).
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "tessera/core/dtype.h"
#include "tessera/core/error.h"
#include "tessera/core/storage.h"

namespace tessera {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& shape);  // "[2, 3]"
int64_t shape_numel(const Shape& shape);

struct Node;
struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;  // undefined
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories (contiguous, new storage) ----
  static Tensor empty(const Shape& shape, DType dtype = DType::f32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32);
  static Tensor ones(const Shape& shape, DType dtype = DType::f32);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32);
  static Tensor scalar(double value, DType dtype = DType::f32);  // shape []
  static Tensor arange(int64_t n, DType dtype = DType::i64);
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);
  // A view of existing storage with contiguous strides from `offset` (in elements).
  static Tensor from_storage(std::shared_ptr<Storage> storage, const Shape& shape, DType dtype,
                             int64_t offset = 0);

  // ---- metadata ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  const std::vector<int64_t>& strides() const;
  int64_t offset() const;
  int64_t dim() const;
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const;
  DType dtype() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const;
  std::string to_string(int64_t max_items = 8) const;

  // ---- data access (pointers point at the first element of the view) ----
  void* raw_data();
  const void* raw_data() const;
  // Element pointers; data<T>() checks the dtype. Views of mapped files are copy-on-write, so
  // writing through a pointer never corrupts a file, but in-place ops (copy_, fill_, add_,
  // optimizer steps) refuse read-only storage outright: clone() first.
  template <typename T>
  T* data();
  template <typename T>
  const T* data() const;
  template <typename T>
  T item() const;  // single element, converted to T
  template <typename T>
  std::vector<T> to_vector() const;  // all elements in row-major order, converted to T
  double at(const std::vector<int64_t>& index) const;  // one element as double

  // ---- views (share storage; recorded for autograd) ----
  Tensor reshape(const Shape& shape) const;  // a view when contiguous, a copy otherwise; -1 infers
  Tensor view(const Shape& shape) const;     // reshape that refuses to copy
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor permute(const std::vector<int64_t>& order) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;  // removes dim
  Tensor expand(const Shape& shape) const;          // broadcast size-1 axes (stride 0)
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;
  Tensor flatten() const { return reshape({numel()}); }

  // ---- copies ----
  Tensor contiguous() const;  // itself when already contiguous
  Tensor clone() const;       // always a fresh contiguous copy (differentiable)
  Tensor to(DType dtype) const;  // converted copy (itself when already that dtype)
  void copy_(const Tensor& src);  // in place, same shape; not recorded for autograd
  void fill_(double value);       // in place; not recorded
  void check_writable() const;    // throws when the storage is a read-only (mapped) view

  // ---- autograd ----
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);
  Tensor grad() const;  // undefined until a backward reaches this leaf
  void set_grad(const Tensor& grad);
  void zero_grad();  // drops the gradient
  // Backpropagates from this tensor: a scalar needs no seed, others take one of equal shape.
  // The graph is freed afterwards unless retain_graph.
  void backward(const Tensor& seed = Tensor(), bool retain_graph = false) const;
  Tensor detach() const;  // same storage, no history
  const std::shared_ptr<Node>& grad_fn() const;
  void set_grad_fn(std::shared_ptr<Node> node);

  // An optional name used in error messages and checkpoints (e.g. "layers.0.attn.q_proj.weight").
  const std::string& name() const;
  Tensor& set_name(std::string name);

  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  std::vector<int64_t> strides;  // in elements
  int64_t offset = 0;            // in elements
  DType dtype = DType::f32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<Node> grad_fn;
  std::string name;
};

// Contiguous row-major strides for a shape.
std::vector<int64_t> contiguous_strides(const Shape& shape);
// Normalises a possibly negative axis for a tensor of `ndim` dimensions; throws if out of range.
int64_t normalize_dim(int64_t dim, int64_t ndim);
// Throws BadInput "what: expected shape [..], got [..]" unless t has exactly `expected`.
void check_shape(const Tensor& t, const Shape& expected, const std::string& what);

}  // namespace tessera
