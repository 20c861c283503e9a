// MLGRU: the chunked (training) and recurrent (decoding) scans agree, the fused scan's own
// backward matches finite differences in f64, and the token mixer gives the same outputs run
// over a whole sequence or token by token with its carried state.
#include <gtest/gtest.h>

#include <cmath>

#include "tessera/core/autograd.h"
#include "tessera/core/gradcheck.h"
#include "tessera/nn/mlgru.h"

namespace tessera::nn {
namespace {

void expect_close(const Tensor& a, const Tensor& b, double atol, double rtol) {
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  ASSERT_EQ(va.size(), vb.size());
  for (size_t k = 0; k < va.size(); ++k) {
    ASSERT_NEAR(va[k], vb[k], atol + rtol * std::abs(vb[k])) << "element " << k;
  }
}

TEST(MlgruScan, ChunkedAndRecurrentFormsAgree) {
  Generator gen(1);
  for (DType dtype : {DType::f32, DType::f64}) {
    Tensor i = rand_normal({3, 50, 6}, 0.0, 1.0, gen, dtype);
    Tensor f = rand_uniform({3, 50, 6}, 0.5, 1.0, gen, dtype);
    Tensor h0 = rand_normal({3, 6}, 0.0, 1.0, gen, dtype);
    Tensor slow = mlgru_scan(i, f, h0, ScanForm::recurrent);
    const double tol = dtype == DType::f32 ? 1e-5 : 1e-12;
    for (int64_t chunk : {1, 7, 16, 64}) {
      expect_close(mlgru_scan(i, f, h0, ScanForm::chunked, chunk), slow, tol, tol);
    }
    // h_1 by hand.
    std::vector<double> vi = i.to_vector<double>(), vf = f.to_vector<double>(),
                        vh0 = h0.to_vector<double>(), vs = slow.to_vector<double>();
    EXPECT_NEAR(vs[0], vf[0] * vh0[0] + vi[0], tol);
  }
}

TEST(MlgruScan, BackwardMatchesFiniteDifferences) {
  Generator gen(2);
  Tensor i = rand_normal({2, 9, 3}, 0.0, 1.0, gen, DType::f64);
  Tensor f = rand_uniform({2, 9, 3}, 0.2, 0.95, gen, DType::f64);
  Tensor h0 = rand_normal({2, 3}, 0.0, 1.0, gen, DType::f64);
  for (ScanForm form : {ScanForm::recurrent, ScanForm::chunked}) {
    auto fn = [form](const std::vector<Tensor>& in) {
      return mlgru_scan(in[0], in[1], in[2], form, 4);
    };
    GradCheckResult r = gradcheck(fn, {i, f, h0});
    EXPECT_TRUE(r.ok) << r.report;
  }
  auto no_state = [](const std::vector<Tensor>& in) { return mlgru_scan(in[0], in[1]); };
  GradCheckResult r = gradcheck(no_state, {i, f});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(MlgruScan, BadShapesAreNamed) {
  EXPECT_THROW(mlgru_scan(Tensor::zeros({2, 3, 4}), Tensor::zeros({2, 3, 5})), Error);
  EXPECT_THROW(mlgru_scan(Tensor::zeros({2, 3}), Tensor::zeros({2, 3})), Error);
  EXPECT_THROW(
      mlgru_scan(Tensor::zeros({2, 3, 4}), Tensor::zeros({2, 3, 4}), Tensor::zeros({3, 4})), Error);
}

TEST(MlgruTokenMixer, WholeSequenceEqualsStepByStep) {
  Generator gen(3);
  MlgruTokenMixer mixer = MlgruTokenMixer::create(16, 0.3, 1e-6, gen);
  Tensor lb = rand_uniform({16}, 0.0, 0.5, gen);
  Tensor x = rand_normal({2, 150, 16}, 0.0, 1.0, gen);  // long enough for the chunked form
  NoGrad no_grad;
  Tensor whole = mixer.forward(x, lb);
  Tensor state;
  std::vector<Tensor> steps;
  for (int64_t t = 0; t < 150; ++t) steps.push_back(mixer.forward(x.narrow(1, t, 1), lb, &state));
  expect_close(concat(steps, 1), whole, 1e-4, 1e-4);
  // Packed projections give the same answer to float rounding.
  MlgruTokenMixer packed = mixer;
  for (BitLinear* l : {&packed.i_proj, &packed.f_proj, &packed.g_proj, &packed.o_proj}) {
    *l = l->packed(TernaryPacking::two_bit);
  }
  expect_close(packed.forward(x, lb), whole, 1e-3, 1e-3);
}

TEST(BitGluMlp, SplitsGateAndValueHalves) {
  Generator gen(4);
  BitGluMlp mlp = BitGluMlp::create(8, 12, 0.5, gen);
  EXPECT_EQ(mlp.gate_proj.out_features, 24);
  Tensor x = rand_normal({1, 2, 8}, 0.0, 1.0, gen);
  NoGrad no_grad;
  Tensor both = mlp.gate_proj.forward(x);
  Tensor expect = mlp.down_proj.forward(mul(silu(both.narrow(2, 0, 12)), both.narrow(2, 12, 12)));
  expect_close(mlp.forward(x), expect, 1e-6, 1e-6);
}

}  // namespace
}  // namespace tessera::nn
