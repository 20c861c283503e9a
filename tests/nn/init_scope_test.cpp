// SkipParameterInit: layer factories allocate without drawing (the generator does not move),
// the scope nests and restores, and outside it initialisation is random as before.
#include <gtest/gtest.h>

#include "tessera/nn/init_scope.h"
#include "tessera/nn/layers.h"

namespace tessera::nn {
namespace {

TEST(SkipParameterInit, FactoriesDoNotDrawWhileActiveAndTheScopeRestores) {
  Generator gen(7);
  EXPECT_FALSE(parameter_init_skipped());
  {
    SkipParameterInit outer;
    {
      SkipParameterInit inner;
      EXPECT_TRUE(parameter_init_skipped());
    }
    EXPECT_TRUE(parameter_init_skipped());
    const uint64_t offset_before = gen.offset();
    Linear linear = Linear::create(16, 8, true, 0.02, gen);
    Embedding embedding = Embedding::create(10, 4, 0.02, gen);
    EXPECT_EQ(gen.offset(), offset_before);
    EXPECT_EQ(linear.weight.shape(), (Shape{8, 16}));
    EXPECT_EQ(embedding.weight.shape(), (Shape{10, 4}));
  }
  EXPECT_FALSE(parameter_init_skipped());
  const uint64_t offset_before = gen.offset();
  Linear drawn = Linear::create(16, 8, false, 0.02, gen);
  EXPECT_NE(gen.offset(), offset_before);
  EXPECT_NE(drawn.weight.data<float>()[0], 0.0f);
}

}  // namespace
}  // namespace tessera::nn
