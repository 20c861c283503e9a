#include "tessera/core/gradcheck.h"

#include <cmath>

#include "tessera/core/autograd.h"
#include "tessera/core/ops.h"
#include "tessera/core/rng.h"

namespace tessera {

GradCheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradCheckOptions& options) {
  std::vector<Tensor> xs;
  for (const Tensor& in : inputs) {
    if (in.defined() && is_floating(in.dtype())) {
      Tensor x = in.detach().to(DType::f64).contiguous().clone();
      x.requires_grad_(true);
      xs.push_back(x);
    } else {
      xs.push_back(in);
    }
  }
  Tensor weights;
  auto project = [&](const Tensor& out) {
    TESSERA_CHECK(out.dtype() == DType::f64, "gradcheck: output is {}, expected f64",
                  dtype_name(out.dtype()));
    if (!weights.defined()) {
      Generator gen(options.seed);
      weights = rand_uniform(out.shape(), 0.5, 1.5, gen, DType::f64);
    }
    return sum(mul(out, weights));
  };

  Tensor loss = project(fn(xs));
  loss.backward();

  GradCheckResult result;
  int reported = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    Tensor& x = xs[i];
    if (!x.defined() || !x.requires_grad()) continue;
    Tensor analytic = x.grad().defined() ? x.grad().contiguous() : Tensor::zeros(x.shape(), DType::f64);
    const double* pa = analytic.data<double>();
    double* px = x.data<double>();
    for (int64_t j = 0; j < x.numel(); ++j) {
      double saved = px[j];
      double up, down;
      {
        NoGrad no_grad;
        px[j] = saved + options.step;
        up = project(fn(xs)).item<double>();
        px[j] = saved - options.step;
        down = project(fn(xs)).item<double>();
        px[j] = saved;
      }
      double numeric = (up - down) / (2.0 * options.step);
      double err = std::abs(numeric - pa[j]);
      result.max_abs_error = std::max(result.max_abs_error, err);
      if (!(err <= options.atol + options.rtol * std::abs(numeric))) {
        result.ok = false;
        if (reported++ < 5) {
          result.report += fmt::format("input {} element {}: analytic {:.10g}, numeric {:.10g}\n", i,
                                       j, pa[j], numeric);
        }
      }
    }
  }
  return result;
}

}  // namespace tessera
