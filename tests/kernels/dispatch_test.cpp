// The run-time ISA switch: names, forcing the baseline, and that both ISAs give the same answer
// to within rounding on one kernel of each family.
#include "kernel_test_util.h"
#include "tessera/kernels/cpu/elementwise.h"
#include "tessera/kernels/cpu/nn.h"
#include "tessera/kernels/cpu/reduce.h"

namespace tessera::kernels {
namespace {

TEST(Dispatch, NamesAndBaselineSwitch) {
  EXPECT_STREQ(isa_name(Isa::avx2), "avx2");
  EXPECT_STREQ(isa_name(Isa::avx512), "avx512");
  const Isa saved = active_isa();
  set_isa(Isa::avx2);
  EXPECT_EQ(active_isa(), Isa::avx2);
  set_isa(Isa::avx512);  // honoured only when the CPU has AVX-512
  EXPECT_TRUE(active_isa() == Isa::avx512 || active_isa() == Isa::avx2);
  set_isa(saved);
}

TEST(Dispatch, BothIsasAgree) {
  const Isa saved = active_isa();
  set_isa(Isa::avx512);
  if (active_isa() != Isa::avx512) GTEST_SKIP() << "no AVX-512 on this CPU";
  auto x = testing::random_values<float>(4099, 3, 0.05, 6.0);
  auto run = [&](Isa isa) {
    set_isa(isa);
    std::vector<float> out(x.size() * 3 + 4);
    unary(UnaryOp::gelu_erf, x.data(), out.data(), 4099);
    softmax_rows(x.data(), out.data() + 4099, 1, 4099);
    std::vector<float> rstd(1);
    rms_norm_forward(x.data(), static_cast<const float*>(nullptr), out.data() + 2 * 4099,
                     rstd.data(), 1, 4099, 1e-6f);
    return out;
  };
  const auto wide = run(Isa::avx512), narrow = run(Isa::avx2);
  set_isa(saved);
  EXPECT_TRUE(testing::all_close(wide, narrow, 1e-6, 1e-7));
}

}  // namespace
}  // namespace tessera::kernels
