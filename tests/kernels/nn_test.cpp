// Layer kernels (norms, embedding, cross-entropy, RoPE, causal conv1d) against the reference
// in f64 for both ISAs, and every backward against central differences of the reference forward.
#include <limits>
#include <stdexcept>

#include "kernel_test_util.h"
#include "tessera/kernels/cpu/nn.h"
#include "tessera/kernels/cpu/reference.h"

namespace tessera::kernels {
namespace {

using testing::all_close;
using testing::numeric_gradient;
using testing::random_values;
using testing::to_double;
using testing::weighted_sum;

class Layers : public testing::IsaTest {};
TESSERA_INSTANTIATE_ISA_SUITE(Layers);

constexpr double kGradTolerance = 1e-6;

template <typename T>
::testing::AssertionResult close(const std::vector<T>& actual, const std::vector<double>& expected,
                                 double relative_factor = 1) {
  const auto tolerance = testing::default_tolerance<T>();
  return all_close(actual, expected, tolerance.relative * relative_factor,
                   tolerance.absolute * relative_factor);
}

// ---- RMSNorm and LayerNorm

template <typename T>
void check_norms(int64_t rows, int64_t n, bool with_weight, uint32_t seed) {
  auto x = random_values<T>(rows * n, seed);
  auto w = random_values<T>(n, seed + 1);
  auto b = random_values<T>(n, seed + 2);
  auto dy = random_values<T>(rows * n, seed + 3);
  const T* wp = with_weight ? w.data() : nullptr;
  const auto xd = to_double(x), wd = to_double(w), bd = to_double(b), dyd = to_double(dy);
  const double* wdp = with_weight ? wd.data() : nullptr;
  const std::string where =
      std::to_string(rows) + "x" + std::to_string(n) + (with_weight ? " weighted" : "");

  std::vector<T> y(x.size()), rstd(static_cast<size_t>(rows)), mean(rstd.size());
  std::vector<double> ey(x.size()), erstd(rstd.size()), emean(rstd.size());
  rms_norm_forward(x.data(), wp, y.data(), rstd.data(), rows, n, T(1e-6));
  reference::rms_norm_forward(xd.data(), wdp, ey.data(), erstd.data(), rows, n, 1e-6);
  EXPECT_TRUE(close(y, ey)) << "rms forward " << where;
  EXPECT_TRUE(close(rstd, erstd)) << "rms rstd " << where;

  // dw accumulates onto what is there.
  std::vector<T> dx(x.size()), dw = w;
  std::vector<double> edx(x.size()), edw = wd;
  rms_norm_backward(x.data(), wp, rstd.data(), dy.data(), dx.data(), dw.data(), rows, n);
  reference::rms_norm_backward(xd.data(), wdp, erstd.data(), dyd.data(), edx.data(), edw.data(),
                               rows, n);
  EXPECT_TRUE(close(dx, edx, 10)) << "rms dx " << where;
  EXPECT_TRUE(close(dw, edw, 10)) << "rms dw " << where;

  layer_norm_forward(x.data(), wp, with_weight ? b.data() : nullptr, y.data(), mean.data(),
                     rstd.data(), rows, n, T(1e-5));
  reference::layer_norm_forward(xd.data(), wdp, with_weight ? bd.data() : nullptr, ey.data(),
                                emean.data(), erstd.data(), rows, n, 1e-5);
  EXPECT_TRUE(close(y, ey, 2)) << "layer forward " << where;
  EXPECT_TRUE(close(mean, emean)) << "layer mean " << where;
  EXPECT_TRUE(close(rstd, erstd)) << "layer rstd " << where;

  std::vector<T> db = b;
  std::vector<double> edb = bd;
  dw = w;
  edw = wd;
  layer_norm_backward(x.data(), wp, mean.data(), rstd.data(), dy.data(), dx.data(), dw.data(),
                      db.data(), rows, n);
  reference::layer_norm_backward(xd.data(), wdp, emean.data(), erstd.data(), dyd.data(), edx.data(),
                                 edw.data(), edb.data(), rows, n);
  EXPECT_TRUE(close(dx, edx, 10)) << "layer dx " << where;
  EXPECT_TRUE(close(dw, edw, 10)) << "layer dw " << where;
  EXPECT_TRUE(close(db, edb, 10)) << "layer db " << where;
}

TEST_P(Layers, NormsMatchReference) {
  uint32_t seed = 1;
  for (int64_t n : testing::odd_sizes()) {
    for (bool with_weight : {true, false}) {
      check_norms<float>(5, n, with_weight, seed += 4);
      check_norms<double>(5, n, with_weight, seed += 4);
    }
  }
  check_norms<float>(300, 257, true, 77);  // threaded, several row groups
  check_norms<double>(1, 4099, true, 78);
}

TEST_P(Layers, NormGradientsMatchFiniteDifferences) {
  const int64_t rows = 3, n = 9;
  auto x = random_values<double>(rows * n, 5);
  auto w = random_values<double>(n, 6);
  auto b = random_values<double>(n, 7);
  auto dy = random_values<double>(rows * n, 8);
  const double eps = 1e-5;
  for (bool layer : {false, true}) {
    auto loss = [&](const std::vector<double>& xv, const std::vector<double>& wv,
                    const std::vector<double>& bv) {
      std::vector<double> y(xv.size()), stat(rows), stat2(rows);
      if (layer) {
        reference::layer_norm_forward(xv.data(), wv.data(), bv.data(), y.data(), stat.data(),
                                      stat2.data(), rows, n, eps);
      } else {
        reference::rms_norm_forward(xv.data(), wv.data(), y.data(), stat.data(), rows, n, eps);
      }
      return weighted_sum(y, dy);
    };
    std::vector<double> y(x.size()), mean(rows), rstd(rows), dx(x.size()), dw(n, 0), db(n, 0);
    if (layer) {
      layer_norm_forward(x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), rows, n,
                         eps);
      layer_norm_backward(x.data(), w.data(), mean.data(), rstd.data(), dy.data(), dx.data(),
                          dw.data(), db.data(), rows, n);
    } else {
      rms_norm_forward(x.data(), w.data(), y.data(), rstd.data(), rows, n, eps);
      rms_norm_backward(x.data(), w.data(), rstd.data(), dy.data(), dx.data(), dw.data(), rows, n);
    }
    const char* name = layer ? "layer_norm" : "rms_norm";
    EXPECT_TRUE(all_close(dx, numeric_gradient([&](const auto& v) { return loss(v, w, b); }, x),
                          kGradTolerance, 1e-8))
        << name << " dx";
    EXPECT_TRUE(all_close(dw, numeric_gradient([&](const auto& v) { return loss(x, v, b); }, w),
                          kGradTolerance, 1e-8))
        << name << " dw";
    if (layer) {
      EXPECT_TRUE(all_close(db, numeric_gradient([&](const auto& v) { return loss(x, w, v); }, b),
                            kGradTolerance, 1e-8))
          << name << " db";
    }
  }
}

// ---- embedding

template <typename T>
void check_embedding(int64_t count, int64_t dim, int64_t vocab, uint32_t seed) {
  auto weight = random_values<T>(vocab * dim, seed);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> pick(0, vocab - 1);
  std::vector<int64_t> ids(static_cast<size_t>(count));
  for (auto& id : ids) id = pick(rng);  // vocab < count: ids repeat
  std::vector<T> y(static_cast<size_t>(count * dim)), ey(y.size());
  embedding_forward(weight.data(), ids.data(), y.data(), count, dim);
  reference::embedding_forward(weight.data(), ids.data(), ey.data(), count, dim);
  EXPECT_EQ(y, ey);
  auto dy = random_values<T>(count * dim, seed + 1);
  std::vector<T> grad = weight;
  std::vector<double> expected = to_double(weight);
  embedding_backward(dy.data(), ids.data(), grad.data(), count, dim, vocab);
  reference::embedding_backward(to_double(dy).data(), ids.data(), expected.data(), count, dim,
                                vocab);
  EXPECT_TRUE(close(grad, expected, 10)) << count << " ids, dim " << dim;
}

TEST_P(Layers, EmbeddingGathersAndScattersWithRepeatedIds) {
  for (int64_t dim : testing::odd_sizes()) {
    check_embedding<float>(50, dim, 7, 10 + static_cast<uint32_t>(dim));
    check_embedding<double>(50, dim, 7, 20 + static_cast<uint32_t>(dim));
  }
  check_embedding<float>(5000, 64, 97, 3);  // threaded over column blocks
  check_embedding<float>(3000, 1000, 13, 4);
  std::vector<float> dy(4, 1.0f), dweight(8, 0.0f);
  const int64_t bad_ids[2] = {1, 4};
  EXPECT_THROW(embedding_backward(dy.data(), bad_ids, dweight.data(), 2, 2, 4), std::out_of_range);
}

// ---- cross-entropy

template <typename T>
void check_cross_entropy(int64_t rows, int64_t V, T smoothing, uint32_t seed) {
  auto logits = random_values<T>(rows * V, seed, 0.05, 6.0);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> pick(0, V - 1);
  std::vector<int64_t> targets(static_cast<size_t>(rows));
  for (auto& t : targets) t = pick(rng);
  if (rows > 2) targets[1] = -100;  // ignored
  std::vector<T> loss(targets.size()), lse(targets.size());
  std::vector<double> eloss(targets.size()), else_(targets.size());
  const int64_t counted = cross_entropy_forward(logits.data(), targets.data(), loss.data(),
                                                lse.data(), rows, V, int64_t{-100}, smoothing);
  const auto ld = to_double(logits);
  const int64_t expected_count =
      reference::cross_entropy_forward(ld.data(), targets.data(), eloss.data(), else_.data(), rows,
                                       V, int64_t{-100}, double(smoothing));
  EXPECT_EQ(counted, expected_count);
  const std::string where = std::to_string(rows) + "x" + std::to_string(V);
  EXPECT_TRUE(close(loss, eloss, 2)) << "loss " << where;
  EXPECT_TRUE(close(lse, else_)) << "lse " << where;
  std::vector<T> dlogits(logits.size());
  std::vector<double> expected(logits.size());
  const T scale = T(1) / static_cast<T>(counted);
  cross_entropy_backward(logits.data(), lse.data(), targets.data(), dlogits.data(), rows, V,
                         int64_t{-100}, smoothing, scale);
  reference::cross_entropy_backward(ld.data(), else_.data(), targets.data(), expected.data(), rows,
                                    V, int64_t{-100}, double(smoothing), double(scale));
  EXPECT_TRUE(close(dlogits, expected, 10)) << "dlogits " << where;
}

TEST_P(Layers, CrossEntropyMatchesReference) {
  uint32_t seed = 40;
  for (int64_t V : testing::odd_sizes()) {
    for (double s : {0.0, 0.1}) {
      check_cross_entropy<float>(6, V, static_cast<float>(s), seed++);
      check_cross_entropy<double>(6, V, s, seed++);
    }
  }
  check_cross_entropy<float>(64, 2000, 0.1f, 5);  // threaded
  std::vector<float> logits(6, 0.5f), loss(2), lse(2);
  const int64_t bad[2] = {0, 3};
  EXPECT_THROW(
      cross_entropy_forward(logits.data(), bad, loss.data(), lse.data(), 2, 3, int64_t{-100}, 0.0f),
      std::out_of_range);
}

TEST_P(Layers, CrossEntropyGradientMatchesFiniteDifferences) {
  const int64_t rows = 4, V = 7;
  auto logits = random_values<double>(rows * V, 9, 0.05, 3.0);
  const std::vector<int64_t> targets = {3, -1, 0, 6};  // ignore_index -1
  for (double smoothing : {0.0, 0.2}) {
    std::vector<double> loss(rows), lse(rows), dlogits(logits.size());
    const int64_t counted = cross_entropy_forward(logits.data(), targets.data(), loss.data(),
                                                  lse.data(), rows, V, int64_t{-1}, smoothing);
    EXPECT_EQ(counted, 3);
    EXPECT_EQ(loss[1], 0.0);
    const double scale = 1.0 / static_cast<double>(counted);  // mean over counted rows
    cross_entropy_backward(logits.data(), lse.data(), targets.data(), dlogits.data(), rows, V,
                           int64_t{-1}, smoothing, scale);
    auto numeric = numeric_gradient(
        [&](const std::vector<double>& v) {
          std::vector<double> l(rows), s(rows);
          reference::cross_entropy_forward(v.data(), targets.data(), l.data(), s.data(), rows, V,
                                           int64_t{-1}, smoothing);
          return (l[0] + l[1] + l[2] + l[3]) * scale;
        },
        logits);
    EXPECT_TRUE(all_close(dlogits, numeric, kGradTolerance, 1e-8)) << "smoothing " << smoothing;
  }
}

// ---- RoPE

template <typename T>
struct RopeTables {
  std::vector<T> cos, sin;
  RopeTables(int64_t max_position, int64_t D) {
    for (int64_t p = 0; p < max_position; ++p) {
      for (int64_t i = 0; i < D / 2; ++i) {
        const double angle =
            static_cast<double>(p) *
            std::pow(10000.0, -2.0 * static_cast<double>(i) / static_cast<double>(D));
        cos.push_back(static_cast<T>(std::cos(angle)));
        sin.push_back(static_cast<T>(std::sin(angle)));
      }
    }
  }
};

template <typename T>
void check_rope(int64_t B, int64_t Tn, int64_t H, int64_t D, uint32_t seed) {
  const int64_t max_position = 64;
  RopeTables<T> tables(max_position, D);
  auto x = random_values<T>(B * Tn * H * D, seed);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> pick(0, max_position - 1);
  std::vector<int64_t> positions(static_cast<size_t>(B * Tn));
  for (auto& p : positions) p = pick(rng);
  for (bool per_batch : {false, true}) {
    for (bool interleaved : {false, true}) {
      for (bool inverse : {false, true}) {
        std::vector<T> y(x.size()), expected(x.size());
        rope(x.data(), y.data(), tables.cos.data(), tables.sin.data(), positions.data(), B, Tn, H,
             D, per_batch, interleaved, inverse);
        reference::rope(x.data(), expected.data(), tables.cos.data(), tables.sin.data(),
                        positions.data(), B, Tn, H, D, per_batch, interleaved, inverse);
        EXPECT_TRUE(
            all_close(y, expected, sizeof(T) == 4 ? 1e-6 : 1e-15, sizeof(T) == 4 ? 1e-6 : 1e-15));
        // The inverse undoes the rotation, in place.
        rope(y.data(), y.data(), tables.cos.data(), tables.sin.data(), positions.data(), B, Tn, H,
             D, per_batch, interleaved, !inverse);
        EXPECT_TRUE(all_close(y, x, sizeof(T) == 4 ? 1e-5 : 1e-13, sizeof(T) == 4 ? 1e-6 : 1e-14));
      }
    }
  }
}

TEST_P(Layers, RopeMatchesReferenceAndInverts) {
  check_rope<float>(2, 7, 3, 8, 1);
  check_rope<double>(2, 7, 3, 8, 2);
  check_rope<float>(1, 33, 2, 66, 3);
  check_rope<double>(3, 5, 4, 128, 4);
  check_rope<float>(2, 64, 8, 64, 5);  // threaded
}

// RoPE is linear and orthogonal, so its backward is the inverse rotation of dy.
TEST_P(Layers, RopeInverseIsTheGradient) {
  const int64_t B = 2, Tn = 3, H = 2, D = 6;
  RopeTables<double> tables(8, D);
  const std::vector<int64_t> positions = {1, 5, 7, 0, 2, 3};
  auto x = random_values<double>(B * Tn * H * D, 11);
  auto dy = random_values<double>(B * Tn * H * D, 12);
  for (bool interleaved : {false, true}) {
    std::vector<double> dx(x.size());
    rope(dy.data(), dx.data(), tables.cos.data(), tables.sin.data(), positions.data(), B, Tn, H, D,
         true, interleaved, true);
    auto numeric = numeric_gradient(
        [&](const std::vector<double>& v) {
          std::vector<double> y(v.size());
          reference::rope(v.data(), y.data(), tables.cos.data(), tables.sin.data(),
                          positions.data(), B, Tn, H, D, true, interleaved, false);
          return weighted_sum(y, dy);
        },
        x);
    EXPECT_TRUE(all_close(dx, numeric, kGradTolerance, 1e-8)) << "interleaved " << interleaved;
  }
}

// ---- causal conv1d

template <typename T>
void check_conv(int64_t B, int64_t Tn, int64_t C, int64_t K, bool with_bias, uint32_t seed) {
  auto x = random_values<T>(B * Tn * C, seed);
  auto w = random_values<T>(C * K, seed + 1);
  auto bias = random_values<T>(C, seed + 2);
  auto dy = random_values<T>(B * Tn * C, seed + 3);
  const auto xd = to_double(x), wd = to_double(w), bd = to_double(bias), dyd = to_double(dy);
  std::vector<T> y(x.size());
  std::vector<double> ey(x.size());
  causal_conv1d_forward(x.data(), w.data(), with_bias ? bias.data() : nullptr, y.data(), B, Tn, C,
                        K);
  reference::causal_conv1d_forward(xd.data(), wd.data(), with_bias ? bd.data() : nullptr, ey.data(),
                                   B, Tn, C, K);
  const std::string where = std::to_string(B) + "x" + std::to_string(Tn) + "x" + std::to_string(C) +
                            " K " + std::to_string(K);
  EXPECT_TRUE(close(y, ey, 2)) << "forward " << where;
  std::vector<T> dx(x.size()), dw = w, db = bias;
  std::vector<double> edx(x.size()), edw = wd, edb = bd;
  causal_conv1d_backward(x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), B, Tn, C,
                         K);
  reference::causal_conv1d_backward(xd.data(), wd.data(), dyd.data(), edx.data(), edw.data(),
                                    edb.data(), B, Tn, C, K);
  EXPECT_TRUE(close(dx, edx, 2)) << "dx " << where;
  EXPECT_TRUE(close(dw, edw, 20)) << "dw " << where;
  EXPECT_TRUE(close(db, edb, 20)) << "db " << where;
}

TEST_P(Layers, CausalConvMatchesReference) {
  uint32_t seed = 60;
  for (int64_t C : {1, 7, 33, 100}) {
    for (int64_t Tn : {1, 7, 33}) {
      for (int64_t K : {1, 4}) {
        check_conv<float>(2, Tn, C, K, (C + Tn) % 2 == 0, seed += 4);
        check_conv<double>(2, Tn, C, K, true, seed += 4);
      }
    }
  }
  check_conv<float>(2, 200, 300, 4, true, 7);  // threaded
}

TEST_P(Layers, CausalConvGradientsMatchFiniteDifferences) {
  const int64_t B = 2, Tn = 6, C = 3, K = 4;
  auto x = random_values<double>(B * Tn * C, 31);
  auto w = random_values<double>(C * K, 32);
  auto bias = random_values<double>(C, 33);
  auto dy = random_values<double>(B * Tn * C, 34);
  auto loss = [&](const std::vector<double>& xv, const std::vector<double>& wv,
                  const std::vector<double>& bv) {
    std::vector<double> y(xv.size());
    reference::causal_conv1d_forward(xv.data(), wv.data(), bv.data(), y.data(), B, Tn, C, K);
    return weighted_sum(y, dy);
  };
  std::vector<double> dx(x.size()), dw(w.size(), 0), db(bias.size(), 0);
  causal_conv1d_backward(x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), B, Tn, C,
                         K);
  EXPECT_TRUE(all_close(dx, numeric_gradient([&](const auto& v) { return loss(v, w, bias); }, x),
                        kGradTolerance, 1e-8));
  EXPECT_TRUE(all_close(dw, numeric_gradient([&](const auto& v) { return loss(x, v, bias); }, w),
                        kGradTolerance, 1e-8));
  EXPECT_TRUE(all_close(db, numeric_gradient([&](const auto& v) { return loss(x, w, v); }, bias),
                        kGradTolerance, 1e-8));
}

}  // namespace
}  // namespace tessera::kernels
