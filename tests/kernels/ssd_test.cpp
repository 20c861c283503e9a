// The three SSD forms (recurrence, chunked, quadratic) against an independent naive f64
// recurrence written here, against each other in f32, prefill-then-decode, and the chunked
// backward against finite differences of the naive forward.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <random>
#include <vector>

#include "tessera/kernels/cpu/ssd.h"

namespace tessera::kernels {
namespace {

struct SsdInputs {
  SsdShape shape;
  std::vector<double> x, dt, A, B, C, D, h0;
};

SsdInputs random_inputs(SsdShape s, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> sym(-1.0, 1.0), step(0.05, 0.6), decay(0.3, 2.0);
  SsdInputs in;
  in.shape = s;
  auto fill = [&](std::vector<double>& v, int64_t n, auto& dist) {
    v.resize(static_cast<size_t>(n));
    for (auto& e : v) e = dist(rng);
  };
  fill(in.x, s.batch * s.length * s.heads * s.head_dim, sym);
  fill(in.dt, s.batch * s.length * s.heads, step);
  fill(in.A, s.heads, decay);
  for (auto& a : in.A) a = -a;
  fill(in.B, s.batch * s.length * s.groups * s.state, sym);
  fill(in.C, s.batch * s.length * s.groups * s.state, sym);
  fill(in.D, s.heads, sym);
  fill(in.h0, s.state_elements(), sym);
  return in;
}

// Independent naive recurrence, written for clarity: h <- exp(dt A) h + dt x B^T; y = h C + D x.
void naive_ssd(const SsdInputs& in, bool with_initial, std::vector<double>& y,
               std::vector<double>& final_state) {
  const SsdShape& s = in.shape;
  y.assign(in.x.size(), 0.0);
  final_state.assign(static_cast<size_t>(s.state_elements()), 0.0);
  const int64_t hpg = s.heads / s.groups;
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.heads; ++h) {
      std::vector<double> state(static_cast<size_t>(s.head_dim * s.state), 0.0);
      const int64_t base = (b * s.heads + h) * s.head_dim * s.state;
      if (with_initial)
        for (size_t i = 0; i < state.size(); ++i) state[i] = in.h0[base + i];
      const int64_t g = h / hpg;
      for (int64_t t = 0; t < s.length; ++t) {
        const double d = in.dt[(b * s.length + t) * s.heads + h];
        for (int64_t p = 0; p < s.head_dim; ++p) {
          const double xv = in.x[((b * s.length + t) * s.heads + h) * s.head_dim + p];
          double out = in.D[h] * xv;
          for (int64_t n = 0; n < s.state; ++n) {
            const int64_t bc = ((b * s.length + t) * s.groups + g) * s.state + n;
            double& hv = state[p * s.state + n];
            hv = std::exp(d * in.A[h]) * hv + d * xv * in.B[bc];
            out += hv * in.C[bc];
          }
          y[((b * s.length + t) * s.heads + h) * s.head_dim + p] = out;
        }
      }
      for (size_t i = 0; i < state.size(); ++i) final_state[base + i] = state[i];
    }
}

template <typename T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

enum class Form { sequential, chunked, quadratic };

template <typename T>
void run_form(Form form, const SsdInputs& in, int64_t chunk, bool with_initial, std::vector<T>& y,
              std::vector<T>& final_state) {
  auto x = cast<T>(in.x), dt = cast<T>(in.dt), A = cast<T>(in.A), B = cast<T>(in.B),
       C = cast<T>(in.C), D = cast<T>(in.D), h0 = cast<T>(in.h0);
  y.assign(x.size(), T(0));
  final_state.assign(h0.size(), T(0));
  const T* init = with_initial ? h0.data() : nullptr;
  switch (form) {
    case Form::sequential:
      ssd_sequential<T>(in.shape, x.data(), dt.data(), A.data(), B.data(), C.data(), D.data(), init,
                        final_state.data(), y.data());
      break;
    case Form::chunked:
      ssd_chunked<T>(in.shape, chunk, x.data(), dt.data(), A.data(), B.data(), C.data(), D.data(),
                     init, final_state.data(), y.data());
      break;
    case Form::quadratic:
      ssd_quadratic<T>(in.shape, x.data(), dt.data(), A.data(), B.data(), C.data(), D.data(), init,
                       final_state.data(), y.data());
      break;
  }
}

template <typename T>
double max_abs_diff(const std::vector<T>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(double(a[i]) - b[i]));
  return worst;
}

const SsdShape kShapes[] = {
    {2, 37, 4, 8, 2, 6},   // length not a multiple of any chunk, two groups
    {1, 64, 3, 5, 1, 16},  // exactly a few chunks, one group shared by three heads
    {3, 1, 2, 4, 2, 3},    // a single step
    {1, 0, 2, 3, 1, 4},    // empty sequence: the final state is the initial one
};

TEST(Ssd, ThreeFormsAgreeWithNaiveRecurrenceInF64) {
  uint32_t seed = 11;
  for (const SsdShape& shape : kShapes) {
    const SsdInputs in = random_inputs(shape, seed++);
    for (bool with_initial : {false, true}) {
      std::vector<double> y_ref, h_ref;
      naive_ssd(in, with_initial, y_ref, h_ref);
      std::vector<double> y, h;
      run_form(Form::sequential, in, 0, with_initial, y, h);
      EXPECT_LT(max_abs_diff(y, y_ref), 1e-10);
      EXPECT_LT(max_abs_diff(h, h_ref), 1e-10);
      run_form(Form::quadratic, in, 0, with_initial, y, h);
      EXPECT_LT(max_abs_diff(y, y_ref), 1e-10);
      EXPECT_LT(max_abs_diff(h, h_ref), 1e-10);
      for (int64_t chunk : {1, 4, 16, 64, 100}) {
        run_form(Form::chunked, in, chunk, with_initial, y, h);
        EXPECT_LT(max_abs_diff(y, y_ref), 1e-10) << "chunk " << chunk << " L " << shape.length;
        EXPECT_LT(max_abs_diff(h, h_ref), 1e-10) << "chunk " << chunk << " L " << shape.length;
      }
    }
  }
}

TEST(Ssd, ThreeFormsAgreeInF32) {
  const SsdInputs in = random_inputs({2, 150, 4, 16, 2, 32}, 5);
  std::vector<double> y_ref, h_ref;
  naive_ssd(in, true, y_ref, h_ref);
  std::vector<float> y, h;
  for (Form form : {Form::sequential, Form::quadratic, Form::chunked}) {
    run_form(form, in, 32, true, y, h);
    EXPECT_LT(max_abs_diff(y, y_ref), 1e-4) << static_cast<int>(form);
    EXPECT_LT(max_abs_diff(h, h_ref), 1e-4) << static_cast<int>(form);
  }
}

// Prefill with the chunked form, then decode the remaining steps one at a time with the
// recurrence, carrying the state: the same outputs as the chunked form over the whole sequence.
TEST(Ssd, ChunkedPrefillThenSequentialDecodeEqualsWholeSequence) {
  const SsdShape shape{2, 45, 4, 6, 2, 8};
  const SsdInputs in = random_inputs(shape, 21);
  std::vector<double> y_all, h_all;
  run_form(Form::chunked, in, 16, false, y_all, h_all);
  const int64_t prefix = 30;
  SsdInputs head = in, tail = in;
  auto slice = [&](const std::vector<double>& v, int64_t per_step, int64_t from, int64_t to) {
    std::vector<double> out;
    for (int64_t b = 0; b < shape.batch; ++b)
      out.insert(out.end(), v.begin() + (b * shape.length + from) * per_step,
                 v.begin() + (b * shape.length + to) * per_step);
    return out;
  };
  const int64_t xs = shape.heads * shape.head_dim, bs = shape.groups * shape.state;
  head.shape.length = prefix;
  head.x = slice(in.x, xs, 0, prefix);
  head.dt = slice(in.dt, shape.heads, 0, prefix);
  head.B = slice(in.B, bs, 0, prefix);
  head.C = slice(in.C, bs, 0, prefix);
  std::vector<double> y_head, state;
  run_form(Form::chunked, head, 16, false, y_head, state);
  std::vector<double> y_steps;
  for (int64_t t = prefix; t < shape.length; ++t) {
    SsdInputs step = in;
    step.shape.length = 1;
    step.x = slice(in.x, xs, t, t + 1);
    step.dt = slice(in.dt, shape.heads, t, t + 1);
    step.B = slice(in.B, bs, t, t + 1);
    step.C = slice(in.C, bs, t, t + 1);
    step.h0 = state;
    std::vector<double> y_step;
    run_form(Form::sequential, step, 0, true, y_step, state);
    for (int64_t b = 0; b < shape.batch; ++b)
      for (int64_t i = 0; i < xs; ++i)
        EXPECT_NEAR(y_step[b * xs + i], y_all[(b * shape.length + t) * xs + i], 1e-10);
  }
  EXPECT_LT(max_abs_diff(state, h_all), 1e-10);
  for (int64_t b = 0; b < shape.batch; ++b)
    for (int64_t i = 0; i < prefix * xs; ++i)
      EXPECT_NEAR(y_head[b * prefix * xs + i], y_all[b * shape.length * xs + i], 1e-10);
}

// Loss = sum(y * Wy) + sum(final * Wh) with fixed random weights; the analytic gradients of the
// chunked backward against central differences of the naive recurrence.
TEST(Ssd, ChunkedBackwardMatchesFiniteDifferences) {
  const SsdShape shape{2, 11, 4, 3, 2, 5};
  SsdInputs in = random_inputs(shape, 31);
  std::mt19937 rng(99);
  std::uniform_real_distribution<double> sym(-1.0, 1.0);
  std::vector<double> wy(in.x.size()), wh(in.h0.size());
  for (auto& v : wy) v = sym(rng);
  for (auto& v : wh) v = sym(rng);
  auto loss = [&](const SsdInputs& inputs) {
    std::vector<double> y, h;
    naive_ssd(inputs, true, y, h);
    double total = 0.0;
    for (size_t i = 0; i < y.size(); ++i) total += y[i] * wy[i];
    for (size_t i = 0; i < h.size(); ++i) total += h[i] * wh[i];
    return total;
  };
  for (int64_t chunk : {4, 16}) {
    std::vector<double> y(in.x.size()),
        states(static_cast<size_t>(shape.batch * (ssd_num_chunks(shape.length, chunk) + 1) *
                                   shape.heads * shape.head_dim * shape.state));
    ssd_chunked<double>(shape, chunk, in.x.data(), in.dt.data(), in.A.data(), in.B.data(),
                        in.C.data(), in.D.data(), in.h0.data(), nullptr, y.data(), states.data());
    std::vector<double> dx(in.x.size()), ddt(in.dt.size()), dA(in.A.size()), dB(in.B.size()),
        dC(in.C.size()), dD(in.D.size()), dh0(in.h0.size());
    SsdGradients<double> grads{dx.data(), ddt.data(), dA.data(), dB.data(),
                               dC.data(), dD.data(),  dh0.data()};
    ssd_chunked_backward<double>(shape, chunk, in.x.data(), in.dt.data(), in.A.data(), in.B.data(),
                                 in.C.data(), in.D.data(), states.data(), wy.data(), wh.data(),
                                 grads);
    struct Field {
      const char* name;
      std::vector<double> SsdInputs::*member;
      const std::vector<double>* analytic;
    };
    const Field fields[] = {{"x", &SsdInputs::x, &dx},   {"dt", &SsdInputs::dt, &ddt},
                            {"A", &SsdInputs::A, &dA},   {"B", &SsdInputs::B, &dB},
                            {"C", &SsdInputs::C, &dC},   {"D", &SsdInputs::D, &dD},
                            {"h0", &SsdInputs::h0, &dh0}};
    for (const Field& f : fields) {
      std::vector<double>& values = in.*(f.member);
      for (size_t i = 0; i < values.size(); ++i) {
        const double saved = values[i], eps = 1e-6;
        values[i] = saved + eps;
        const double up = loss(in);
        values[i] = saved - eps;
        const double down = loss(in);
        values[i] = saved;
        const double numeric = (up - down) / (2 * eps);
        ASSERT_NEAR((*f.analytic)[i], numeric, 1e-6 + 1e-6 * std::abs(numeric))
            << f.name << "[" << i << "] chunk " << chunk;
      }
    }
  }
}

// With more threads than (batch, group, chunk) items the heads of a group are split into
// blocks whose dB, dC partials are summed afterwards: same numbers as one thread.
TEST(Ssd, HeadBlocksGiveTheSameResultsAsOneThread) {
  const SsdShape shape{1, 20, 6, 4, 1, 5};
  const SsdInputs in = random_inputs(shape, 41);
  auto run = [&](int threads, std::vector<double>& y, std::vector<double>& grads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    std::vector<double> states(static_cast<size_t>(2 * shape.heads * shape.head_dim * shape.state));
    y.assign(in.x.size(), 0.0);
    ssd_chunked<double>(shape, 32, in.x.data(), in.dt.data(), in.A.data(), in.B.data(), in.C.data(),
                        in.D.data(), in.h0.data(), nullptr, y.data(), states.data());
    std::vector<double> dB(in.B.size()), dC(in.C.size()), dx(in.x.size());
    SsdGradients<double> g;
    g.dB = dB.data();
    g.dC = dC.data();
    g.dx = dx.data();
    ssd_chunked_backward<double>(shape, 32, in.x.data(), in.dt.data(), in.A.data(), in.B.data(),
                                 in.C.data(), in.D.data(), states.data(), in.x.data(), nullptr, g);
    grads = dB;
    grads.insert(grads.end(), dC.begin(), dC.end());
    grads.insert(grads.end(), dx.begin(), dx.end());
    omp_set_num_threads(saved);
  };
  std::vector<double> y1, g1, y6, g6;
  run(1, y1, g1);
  run(6, y6, g6);
  EXPECT_LT(max_abs_diff(y6, y1), 1e-12);
  EXPECT_LT(max_abs_diff(g6, g1), 1e-12);
}

TEST(Ssd, RejectsGroupsThatDoNotDivideHeads) {
  EXPECT_THROW(check_ssd_shape({1, 4, 3, 2, 2, 2}), std::invalid_argument);
  EXPECT_THROW(check_ssd_shape({1, 4, 4, 2, 2, 2}, 0), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::kernels
