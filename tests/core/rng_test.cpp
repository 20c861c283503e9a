#include <gtest/gtest.h>

#include <cmath>

#include "tessera/core/parallel.h"
#include "tessera/core/rng.h"

namespace tessera {
namespace {

TEST(Philox, KnownAnswer) {
  // Random123's published known-answer vector for philox4x32-10 with zero counter and key.
  auto w = philox4x32(0, 0, 0);
  EXPECT_EQ(w[0], 0x6627e8d5u);
  EXPECT_EQ(w[1], 0xe169c58du);
  EXPECT_EQ(w[2], 0xbc57ac4cu);
  EXPECT_EQ(w[3], 0x9b00dbd8u);
}

TEST(Generator, SameSeedSameStreamAtAnyThreadCount) {
  set_num_threads(1);
  Generator a(42);
  Tensor one = rand_normal({100000}, 0.0, 1.0, a);
  set_num_threads(2);
  Generator b(42);
  Tensor two = rand_normal({100000}, 0.0, 1.0, b);
  set_num_threads(0);
  std::vector<float> first = one.to_vector<float>();
  EXPECT_EQ(first, two.to_vector<float>());
  Generator c(43);
  EXPECT_NE(rand_normal({8}, 0.0, 1.0, c).to_vector<float>(), std::vector<float>(first.begin(), first.begin() + 8));
}

TEST(Generator, SplittingADrawDoesNotChangeIt) {
  Generator whole(7), parts(7);
  std::vector<double> w(10), p(10);
  whole.fill_uniform(w.data(), 10, 0.0, 1.0);
  parts.fill_uniform(p.data(), 4, 0.0, 1.0);
  parts.fill_uniform(p.data() + 4, 6, 0.0, 1.0);
  EXPECT_EQ(w, p);
  Generator resumed(0);
  resumed.set_state(7, 4);
  std::vector<double> tail(6);
  resumed.fill_uniform(tail.data(), 6, 0.0, 1.0);
  EXPECT_EQ(tail, std::vector<double>(w.begin() + 4, w.end()));
}

TEST(Generator, DistributionsHaveTheRightMoments) {
  Generator gen(1);
  std::vector<double> n = rand_normal({200000}, 2.0, 3.0, gen, DType::f64).to_vector<double>();
  double m = 0, v = 0;
  for (double x : n) m += x;
  m /= n.size();
  for (double x : n) v += (x - m) * (x - m);
  v /= n.size();
  EXPECT_NEAR(m, 2.0, 0.03);
  EXPECT_NEAR(std::sqrt(v), 3.0, 0.03);
  std::vector<float> u = rand_uniform({100000}, -1.0, 1.0, gen).to_vector<float>();
  for (float x : u) ASSERT_TRUE(x >= -1.0f && x < 1.0f);
  std::vector<float> b = bernoulli({100000}, 0.25, gen).to_vector<float>();
  double ones = 0;
  for (float x : b) ones += x;
  EXPECT_NEAR(ones / b.size(), 0.25, 0.01);
  std::vector<int64_t> r = randint({10000}, 3, 6, gen).to_vector<int64_t>();
  int counts[3] = {0, 0, 0};
  for (int64_t x : r) {
    ASSERT_TRUE(x >= 3 && x < 6);
    counts[x - 3]++;
  }
  for (int c : counts) EXPECT_NEAR(c, 3333, 200);
}

TEST(Generator, ShuffleIsAPermutationAndReproducible) {
  std::vector<int> a(50), b;
  for (int i = 0; i < 50; ++i) a[i] = i;
  b = a;
  Generator g1(5), g2(5);
  g1.shuffle(a);
  g2.shuffle(b);
  EXPECT_EQ(a, b);
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_NE(a, sorted);
}

}  // namespace
}  // namespace tessera
