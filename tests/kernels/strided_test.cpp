// binary() with broadcasting and non-contiguous operands, and copy_strided(), against the
// reference's direct index loops. IEEE +, -, *, / are exact per element, so results must match
// the reference in the same type bit for bit.
#include <cstring>
#include <limits>
#include <stdexcept>

#include "kernel_test_util.h"
#include "tessera/kernels/cpu/elementwise.h"
#include "tessera/kernels/cpu/reference.h"

namespace tessera::kernels {
namespace {

using testing::all_close;
using testing::random_values;

class Strided : public testing::IsaTest {};
TESSERA_INSTANTIATE_ISA_SUITE(Strided);

const BinaryOp kAllBinary[] = {BinaryOp::add, BinaryOp::sub,     BinaryOp::mul,    BinaryOp::div,
                               BinaryOp::pow, BinaryOp::maximum, BinaryOp::minimum};

// One broadcasting case: an output shape and, for each operand, the element strides into a
// buffer of the given size.
struct BinaryCase {
  const char* name;
  std::vector<int64_t> shape;
  std::vector<int64_t> a_strides;
  int64_t a_size;
  std::vector<int64_t> b_strides;
  int64_t b_size;
};

std::vector<BinaryCase> binary_cases() {
  return {
      {"contiguous", {4099}, {1}, 4099, {1}, 4099},
      {"contiguous 3d", {3, 7, 33}, {231, 33, 1}, 693, {231, 33, 1}, 693},
      {"scalar b", {5, 33}, {33, 1}, 165, {0, 0}, 1},
      {"scalar a", {1000}, {0}, 1, {1}, 1000},
      {"row broadcast", {7, 1000}, {1000, 1}, 7000, {0, 1}, 1000},
      {"column broadcast", {33, 7}, {7, 1}, 231, {1, 0}, 33},
      {"transposed a", {33, 17}, {1, 33}, 561, {17, 1}, 561},
      {"every other element", {9, 13}, {26, 2}, 234, {13, 1}, 117},
      {"reversed b", {100}, {1}, 100, {-1}, 100},
      {"4d middle broadcast", {2, 3, 5, 7}, {105, 35, 7, 1}, 210, {35, 0, 7, 1}, 70},
      {"both broadcast inner", {6, 9}, {1, 0}, 6, {1, 0}, 6},
      {"size-1 axes", {1, 5, 1, 9}, {45, 9, 9, 1}, 45, {0, 0, 0, 1}, 9},
      {"threaded row broadcast", {300, 257}, {257, 1}, 77100, {0, 1}, 257},
      {"threaded transpose", {257, 300}, {1, 257}, 77100, {300, 1}, 77100},
      {"zero-dim", {}, {}, 1, {}, 1},
  };
}

// Reversed strides point backwards: start from the buffer's end.
template <typename T>
const T* base_pointer(const std::vector<T>& buffer, const std::vector<int64_t>& strides) {
  return strides.size() == 1 && strides[0] < 0 ? buffer.data() + buffer.size() - 1 : buffer.data();
}

template <typename T>
void check_binary_case(BinaryOp op, const BinaryCase& c, uint32_t seed) {
  const bool positive = op == BinaryOp::pow;
  auto a = random_values<T>(c.a_size, seed, 0.1, 3.0, positive);
  auto b = random_values<T>(c.b_size, seed + 1, 0.1, 3.0, false);
  int64_t total = 1;
  for (int64_t s : c.shape) total *= s;
  std::vector<T> out(static_cast<size_t>(total)), expected(static_cast<size_t>(total));
  const int ndim = static_cast<int>(c.shape.size());
  binary(op, base_pointer(a, c.a_strides), c.a_strides.data(), base_pointer(b, c.b_strides),
         c.b_strides.data(), out.data(), c.shape.data(), ndim);
  reference::binary(op, base_pointer(a, c.a_strides), c.a_strides.data(),
                    base_pointer(b, c.b_strides), c.b_strides.data(), expected.data(),
                    c.shape.data(), ndim);
  EXPECT_TRUE(all_close(out, expected, 0, 0)) << c.name << ", op " << static_cast<int>(op);
}

TEST_P(Strided, BinaryMatchesReferenceForEveryLayout) {
  uint32_t seed = 100;
  for (const auto& c : binary_cases()) {
    for (BinaryOp op : kAllBinary) {
      check_binary_case<float>(op, c, seed++);
      check_binary_case<double>(op, c, seed++);
    }
  }
}

TEST_P(Strided, MaximumAndMinimumPropagateNan) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> a = {nan, 1, 2, nan, 5, 6, 7, 8, 9, nan};
  std::vector<float> b = {1, nan, 3, nan, 1, 1, 1, 1, 1, 0};
  const int64_t shape[1] = {10}, unit[1] = {1};
  for (BinaryOp op : {BinaryOp::maximum, BinaryOp::minimum}) {
    std::vector<float> out(10);
    binary(op, a.data(), unit, b.data(), unit, out.data(), shape, 1);
    for (int i : {0, 1, 3, 9}) EXPECT_TRUE(std::isnan(out[static_cast<size_t>(i)])) << i;
    EXPECT_EQ(out[2], op == BinaryOp::maximum ? 3.0f : 2.0f);
    // The scalar path (non-unit strides) follows the same rule.
    const int64_t two[1] = {2}, half_shape[1] = {5};
    std::vector<float> strided(5);
    binary(op, a.data(), two, b.data(), two, strided.data(), half_shape, 1);
    EXPECT_TRUE(std::isnan(strided[0]));  // a[0] = NaN
    EXPECT_EQ(strided[1], op == BinaryOp::maximum ? 3.0f : 2.0f);
  }
}

TEST(StridedErrors, TooManyDimensionsIsRejected) {
  std::vector<int64_t> shape(9, 1), strides(9, 1);
  float a = 1, b = 2, out = 0;
  EXPECT_THROW(binary(BinaryOp::add, &a, strides.data(), &b, strides.data(), &out, shape.data(), 9),
               std::invalid_argument);
  EXPECT_THROW(copy_strided(&a, strides.data(), &out, shape.data(), 9, 4), std::invalid_argument);
  EXPECT_THROW(copy_strided(&a, strides.data(), &out, shape.data(), 1, 3), std::invalid_argument);
}

// copy_strided over byte patterns, so every element size is checked exactly.
struct CopyCase {
  const char* name;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // in elements
  int64_t offset;                // first element read, so negative strides stay in the buffer
  int64_t source_size;
};

std::vector<CopyCase> copy_cases() {
  return {
      {"contiguous", {7, 33}, {33, 1}, 0, 231},
      {"transpose", {33, 47}, {1, 33}, 0, 1551},
      {"transpose with batch", {3, 17, 9}, {153, 1, 17}, 0, 459},
      {"permute 0 2 1 3", {2, 5, 3, 7}, {105, 7, 35, 1}, 0, 210},
      {"slice with step", {10, 6}, {24, 3}, 1, 240},
      {"broadcast", {5, 1000}, {0, 1}, 0, 1000},
      {"broadcast inner", {5, 7}, {1, 0}, 0, 5},
      {"flip", {4099}, {-1}, 4098, 4099},
      {"single element", {}, {}, 0, 1},
      {"threaded transpose", {300, 500}, {1, 300}, 0, 150000},
      {"threaded gather", {200, 300}, {600, 2}, 0, 120000},
  };
}

TEST(StridedCopy, MatchesReferenceForEveryElementSize) {
  for (int64_t element_size : {1, 2, 4, 8}) {
    for (const auto& c : copy_cases()) {
      std::vector<unsigned char> source(static_cast<size_t>(c.source_size * element_size));
      std::mt19937 rng(static_cast<uint32_t>(element_size * 1000 + c.source_size));
      for (auto& byte : source) byte = static_cast<unsigned char>(rng());
      int64_t total = 1;
      for (int64_t s : c.shape) total *= s;
      std::vector<unsigned char> out(static_cast<size_t>(total * element_size), 0);
      std::vector<unsigned char> expected(out.size(), 1);
      const void* start = source.data() + c.offset * element_size;
      const int ndim = static_cast<int>(c.shape.size());
      copy_strided(start, c.strides.data(), out.data(), c.shape.data(), ndim, element_size);
      reference::copy_strided(start, c.strides.data(), expected.data(), c.shape.data(), ndim,
                              element_size);
      EXPECT_EQ(out, expected) << c.name << ", element size " << element_size;
    }
  }
}

TEST(StridedCopy, EmptyShapeWritesNothing) {
  const int64_t shape[2] = {3, 0}, strides[2] = {1, 3};
  float source = 1, out = 7;
  copy_strided(&source, strides, &out, shape, 2, 4);
  EXPECT_EQ(out, 7);
}

}  // namespace
}  // namespace tessera::kernels
