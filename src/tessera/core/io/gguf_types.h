#pragma once
// The type codes of the GGUF format: metadata value types, and ggml tensor types with their
// block layouts, plus dequantisation of the block formats Tessera reads and quantisation of
// the two it writes (Q8_0, Q4_0). Block layouts follow ggml's ggml-common.h; each function
// below states the formula it implements.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tessera/core/dtype.h"

namespace tessera::io {

enum class GgufValueType : uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  u64 = 10,
  i64 = 11,
  f64 = 12,
};
inline constexpr uint32_t kGgufValueTypeCount = 13;
// "u8", ..., "bool", "string", "array", "f64"; "type <n>" for codes outside the format.
std::string gguf_value_type_name(GgufValueType type);
// Bytes per element for fixed-size types (0 for string and array).
size_t gguf_value_type_size(GgufValueType type);
bool gguf_value_type_is_integer(GgufValueType type);

// ggml tensor types, by their numeric codes in the file (upstream spelling).
enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
};

struct GgmlTypeTraits {
  GgmlType type;
  std::string_view name;
  int64_t block_size;          // elements per block (1 for plain types)
  int64_t block_bytes;         // bytes per block
  std::optional<DType> dtype;  // plain types Tessera holds as they are
  bool dequantizable;          // block formats Tessera can turn into f32
};

// The traits of a type code, or nullptr when the code is not a ggml type (or was removed
// from ggml, like 4, 5 and 31..33).
const GgmlTypeTraits* find_ggml_type(uint32_t code);
const GgmlTypeTraits& ggml_type_traits(GgmlType type);
std::string_view ggml_type_name(GgmlType type);
// Parses "Q8_0", "f16", ... (case-insensitive); nullopt when unknown.
std::optional<GgmlType> parse_ggml_type(std::string_view name);
// "Q4_0, Q4_1, ..." for error messages.
std::string dequantizable_type_names();

// Dequantises `n` elements (n a multiple of the block size) stored as `type` blocks.
// Refuses (runtime error) types whose traits say they are not dequantizable.
void dequantize_blocks(GgmlType type, const uint8_t* blocks, float* out, int64_t n);

// Quantises n floats (n a multiple of 32) into Q8_0 blocks: per block d = max|x| / 127 (kept
// as f16), q = round(x / d) in [-127, 127]. `out` receives n / 32 * 34 bytes.
void quantize_q8_0(const float* x, uint8_t* out, int64_t n);
// Quantises n floats (n a multiple of 32) into Q4_0 blocks: per block, m is the element of
// largest magnitude, d = m / -8 (f16), q = clamp(round(x / d) + 8, 0, 15). n / 32 * 18 bytes.
void quantize_q4_0(const float* x, uint8_t* out, int64_t n);

}  // namespace tessera::io
