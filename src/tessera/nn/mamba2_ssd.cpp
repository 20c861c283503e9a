#include "tessera/nn/mamba2_ssd.h"

#include "tessera/core/autograd.h"
#include "tessera/kernels/cpu/ssd.h"

namespace tessera::nn {

namespace {

template <typename Fn>
void dispatch_real(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::f32:
      return fn.template operator()<float>();
    case DType::f64:
      return fn.template operator()<double>();
    default:
      throw bad_input("ssd: needs f32 or f64 tensors, got {}", dtype_name(dtype));
  }
}

template <typename T>
const T* ptr(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
template <typename T>
T* mut_ptr(Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

kernels::SsdShape check_inputs(const SsdInputs& in) {
  TESSERA_CHECK_INPUT(in.x.defined() && in.x.dim() == 4,
                      "ssd: x must be [batch, length, heads, head_dim], got {}",
                      in.x.defined() ? shape_str(in.x.shape()) : std::string("nothing"));
  kernels::SsdShape s;
  s.batch = in.x.size(0);
  s.length = in.x.size(1);
  s.heads = in.x.size(2);
  s.head_dim = in.x.size(3);
  TESSERA_CHECK_INPUT(in.B.defined() && in.B.dim() == 4,
                      "ssd: B must be [batch, length, groups, state]");
  s.groups = in.B.size(2);
  s.state = in.B.size(3);
  check_shape(in.dt, {s.batch, s.length, s.heads}, "ssd dt");
  check_shape(in.A, {s.heads}, "ssd A");
  check_shape(in.B, {s.batch, s.length, s.groups, s.state}, "ssd B");
  check_shape(in.C, {s.batch, s.length, s.groups, s.state}, "ssd C");
  if (in.D.defined()) check_shape(in.D, {s.heads}, "ssd D");
  if (in.initial_state.defined())
    check_shape(in.initial_state, {s.batch, s.heads, s.head_dim, s.state}, "ssd initial_state");
  TESSERA_CHECK_INPUT(s.groups >= 1 && s.heads % s.groups == 0,
                      "ssd: heads {} is not a multiple of groups {}", s.heads, s.groups);
  for (const Tensor* t : {&in.dt, &in.A, &in.B, &in.C, &in.D, &in.initial_state}) {
    TESSERA_CHECK_INPUT(!t->defined() || t->dtype() == in.x.dtype(),
                        "ssd: dtypes differ ({} vs {})", dtype_name(t->dtype()),
                        dtype_name(in.x.dtype()));
  }
  return s;
}

Tensor contiguous_or_empty(const Tensor& t) {
  return t.defined() ? t.detach().contiguous() : Tensor();
}

}  // namespace

SsdForm parse_ssd_form(const std::string& name) {
  if (name == "sequential") return SsdForm::sequential;
  if (name == "chunked") return SsdForm::chunked;
  if (name == "quadratic") return SsdForm::quadratic;
  throw bad_input("ssd form \"{}\" is not one of sequential, chunked, quadratic", name);
}

SsdOutputs ssd_scan(const SsdInputs& in, SsdForm form, int64_t chunk) {
  const kernels::SsdShape s = check_inputs(in);
  TESSERA_CHECK_INPUT(chunk >= 1, "ssd: chunk size must be >= 1, got {}", chunk);
  const std::vector<Tensor> differentiable = {in.x, in.dt,           in.A, in.B, in.C,
                                              in.D, in.initial_state};
  const bool recording = should_record(differentiable);
  TESSERA_CHECK(!recording || form == SsdForm::chunked,
                "ssd: only the chunked form has a backward; run the others under NoGrad");
  SsdInputs c{contiguous_or_empty(in.x),
              contiguous_or_empty(in.dt),
              contiguous_or_empty(in.A),
              contiguous_or_empty(in.B),
              contiguous_or_empty(in.C),
              contiguous_or_empty(in.D),
              contiguous_or_empty(in.initial_state)};
  const DType dtype = in.x.dtype();
  SsdOutputs out;
  out.y = Tensor::empty(in.x.shape(), dtype);
  out.final_state = Tensor::empty({s.batch, s.heads, s.head_dim, s.state}, dtype);
  const int64_t chunks = kernels::ssd_num_chunks(s.length, chunk);
  Tensor chunk_states;
  if (recording)
    chunk_states = Tensor::empty({s.batch, chunks + 1, s.heads, s.head_dim, s.state}, dtype);
  dispatch_real(dtype, [&]<typename T>() {
    switch (form) {
      case SsdForm::sequential:
        kernels::ssd_sequential<T>(s, ptr<T>(c.x), ptr<T>(c.dt), ptr<T>(c.A), ptr<T>(c.B),
                                   ptr<T>(c.C), ptr<T>(c.D), ptr<T>(c.initial_state),
                                   out.final_state.data<T>(), out.y.data<T>());
        break;
      case SsdForm::quadratic:
        kernels::ssd_quadratic<T>(s, ptr<T>(c.x), ptr<T>(c.dt), ptr<T>(c.A), ptr<T>(c.B),
                                  ptr<T>(c.C), ptr<T>(c.D), ptr<T>(c.initial_state),
                                  out.final_state.data<T>(), out.y.data<T>());
        break;
      case SsdForm::chunked:
        kernels::ssd_chunked<T>(s, chunk, ptr<T>(c.x), ptr<T>(c.dt), ptr<T>(c.A), ptr<T>(c.B),
                                ptr<T>(c.C), ptr<T>(c.D), ptr<T>(c.initial_state),
                                out.final_state.data<T>(), out.y.data<T>(),
                                mut_ptr<T>(chunk_states));
        break;
    }
  });
  if (recording) {
    std::vector<bool> wanted;
    for (const Tensor& t : differentiable) wanted.push_back(t.defined() && t.requires_grad());
    record(out.y, "ssd_chunked", differentiable, [=](const Tensor& grad) {
      Tensor dy = grad.contiguous();
      std::vector<Tensor> grads(differentiable.size());
      const std::vector<const Tensor*> sources = {&c.x, &c.dt,           &c.A, &c.B, &c.C,
                                                  &c.D, &c.initial_state};
      for (size_t i = 0; i < sources.size(); ++i)
        if (wanted[i]) grads[i] = Tensor::empty(sources[i]->shape(), dtype);
      dispatch_real(dtype, [&]<typename T>() {
        kernels::SsdGradients<T> g{mut_ptr<T>(grads[0]), mut_ptr<T>(grads[1]), mut_ptr<T>(grads[2]),
                                   mut_ptr<T>(grads[3]), mut_ptr<T>(grads[4]), mut_ptr<T>(grads[5]),
                                   mut_ptr<T>(grads[6])};
        kernels::ssd_chunked_backward<T>(s, chunk, ptr<T>(c.x), ptr<T>(c.dt), ptr<T>(c.A),
                                         ptr<T>(c.B), ptr<T>(c.C), ptr<T>(c.D),
                                         chunk_states.data<T>(), dy.data<T>(), nullptr, g);
      });
      return grads;
    });
  }
  return out;
}

}  // namespace tessera::nn
