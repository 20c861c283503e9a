#pragma once
// Finite-difference gradient checking in f64, used by a test for every differentiable op
// (and by the layers above for their fused ops).
#include <functional>
#include <string>
#include <vector>

#include "tessera/core/tensor.h"

namespace tessera {

struct GradCheckOptions {
  double step = 1e-6;   // central-difference step
  double atol = 1e-6;
  double rtol = 1e-5;
  uint64_t seed = 1234;  // for the random projection of non-scalar outputs
};

struct GradCheckResult {
  bool ok = true;
  double max_abs_error = 0.0;
  std::string report;  // first mismatches: input, element, analytic, numeric
};

// `fn` maps inputs to one output tensor. Floating inputs are converted to f64 and
// differentiated; integer inputs (ids, targets) are passed through untouched. A non-scalar
// output is reduced to the scalar sum(out * W) with a fixed random W, so every output element
// contributes a distinct weight and a wrong element cannot hide.
GradCheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradCheckOptions& options = {});

}  // namespace tessera
