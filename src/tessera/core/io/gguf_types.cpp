// GGUF value types, ggml tensor types, and the block formats' dequantisation/quantisation.
// The block layouts are those of ggml (ggml-common.h): the super-block formats (*_K) hold
// 256 elements, the others 32. All multi-byte fields are little-endian.
#include "tessera/core/io/gguf_types.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>

#include "tessera/core/error.h"
#include "tessera/core/parallel.h"

namespace tessera::io {

static_assert(std::endian::native == std::endian::little, "GGUF blocks are read in place");

namespace {

constexpr int64_t kSuperBlock = 256;  // QK_K

// Block sizes from ggml's type table (ggml.c / gguf-py GGML_QUANT_SIZES).
constexpr std::array<GgmlTypeTraits, 32> kGgmlTypes{{
    {GgmlType::F32, "F32", 1, 4, DType::f32, false},
    {GgmlType::F16, "F16", 1, 2, DType::f16, false},
    {GgmlType::Q4_0, "Q4_0", 32, 18, std::nullopt, true},
    {GgmlType::Q4_1, "Q4_1", 32, 20, std::nullopt, true},
    {GgmlType::Q5_0, "Q5_0", 32, 22, std::nullopt, true},
    {GgmlType::Q5_1, "Q5_1", 32, 24, std::nullopt, true},
    {GgmlType::Q8_0, "Q8_0", 32, 34, std::nullopt, true},
    {GgmlType::Q8_1, "Q8_1", 32, 36, std::nullopt, false},
    {GgmlType::Q2_K, "Q2_K", kSuperBlock, 84, std::nullopt, true},
    {GgmlType::Q3_K, "Q3_K", kSuperBlock, 110, std::nullopt, true},
    {GgmlType::Q4_K, "Q4_K", kSuperBlock, 144, std::nullopt, true},
    {GgmlType::Q5_K, "Q5_K", kSuperBlock, 176, std::nullopt, true},
    {GgmlType::Q6_K, "Q6_K", kSuperBlock, 210, std::nullopt, true},
    {GgmlType::Q8_K, "Q8_K", kSuperBlock, 292, std::nullopt, true},
    {GgmlType::IQ2_XXS, "IQ2_XXS", kSuperBlock, 66, std::nullopt, false},
    {GgmlType::IQ2_XS, "IQ2_XS", kSuperBlock, 74, std::nullopt, false},
    {GgmlType::IQ3_XXS, "IQ3_XXS", kSuperBlock, 98, std::nullopt, false},
    {GgmlType::IQ1_S, "IQ1_S", kSuperBlock, 50, std::nullopt, false},
    {GgmlType::IQ4_NL, "IQ4_NL", 32, 18, std::nullopt, false},
    {GgmlType::IQ3_S, "IQ3_S", kSuperBlock, 110, std::nullopt, false},
    {GgmlType::IQ2_S, "IQ2_S", kSuperBlock, 82, std::nullopt, false},
    {GgmlType::IQ4_XS, "IQ4_XS", kSuperBlock, 136, std::nullopt, false},
    {GgmlType::I8, "I8", 1, 1, DType::i8, false},
    {GgmlType::I16, "I16", 1, 2, std::nullopt, false},
    {GgmlType::I32, "I32", 1, 4, DType::i32, false},
    {GgmlType::I64, "I64", 1, 8, DType::i64, false},
    {GgmlType::F64, "F64", 1, 8, DType::f64, false},
    {GgmlType::IQ1_M, "IQ1_M", kSuperBlock, 56, std::nullopt, false},
    {GgmlType::BF16, "BF16", 1, 2, DType::bf16, false},
    {GgmlType::TQ1_0, "TQ1_0", kSuperBlock, 54, std::nullopt, false},
    {GgmlType::TQ2_0, "TQ2_0", kSuperBlock, 66, std::nullopt, false},
    {GgmlType::MXFP4, "MXFP4", 32, 17, std::nullopt, false},
}};

float load_f16(const uint8_t* p) {
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  return f16_to_f32(bits);
}

void store_f16(uint8_t* p, float value) {
  const uint16_t bits = f32_to_f16(value);
  std::memcpy(p, &bits, 2);
}

// ---- 32-element blocks ----

// Q4_0: f16 d, 16 bytes of nibbles. x[j] = d * (lo(q[j]) - 8), x[j + 16] = d * (hi(q[j]) - 8).
void dequantize_q4_0(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  const uint8_t* q = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>((q[j] & 0x0f) - 8);
    y[j + 16] = d * static_cast<float>((q[j] >> 4) - 8);
  }
}

// Q4_1: f16 d, f16 m, 16 bytes of nibbles. x = d * nibble + m (same element order as Q4_0).
void dequantize_q4_1(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  const float m = load_f16(b + 2);
  const uint8_t* q = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>(q[j] & 0x0f) + m;
    y[j + 16] = d * static_cast<float>(q[j] >> 4) + m;
  }
}

// Q5_0 / Q5_1: the 4-bit nibbles of Q4_x gain a fifth bit from a 32-bit mask qh (bit j for
// element j). Q5_0: x = d * (q - 16); Q5_1: x = d * q + m.
void dequantize_q5(const uint8_t* qh_bytes, const uint8_t* q, float d, float m, int offset,
                   float* y) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  for (int j = 0; j < 16; ++j) {
    const int lo = (q[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
    const int hi = (q[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
    y[j] = d * static_cast<float>(lo - offset) + m;
    y[j + 16] = d * static_cast<float>(hi - offset) + m;
  }
}

void dequantize_q5_0(const uint8_t* b, float* y) {
  dequantize_q5(b + 2, b + 6, load_f16(b), 0.0f, 16, y);
}

void dequantize_q5_1(const uint8_t* b, float* y) {
  dequantize_q5(b + 4, b + 8, load_f16(b), load_f16(b + 2), 0, y);
}

// Q8_0: f16 d, 32 int8. x = d * q.
void dequantize_q8_0(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  const int8_t* q = reinterpret_cast<const int8_t*>(b + 2);
  for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(q[j]);
}

// ---- 256-element super-blocks ----

// Q2_K: 16 bytes of (4-bit scale | 4-bit min << 4), 64 bytes of 2-bit quants, f16 d, f16 dmin.
// Sixteen groups of 16; group g uses scale byte g. Quants for the 128-element half h live in
// bytes [32h, 32h + 32), element (h, shift s, l) at bits 2s of byte 32h + l.
// x = d * scale * q - dmin * min.
void dequantize_q2_k(const uint8_t* b, float* y) {
  const uint8_t* scales = b;
  const uint8_t* q = b + 16;
  const float d = load_f16(b + 80);
  const float dmin = load_f16(b + 82);
  int group = 0;
  for (int half = 0; half < 2; ++half, q += 32) {
    for (int shift = 0; shift < 8; shift += 2) {
      for (int sub = 0; sub < 2; ++sub, ++group) {
        const float scale = d * static_cast<float>(scales[group] & 0x0f);
        const float min = dmin * static_cast<float>(scales[group] >> 4);
        for (int l = 0; l < 16; ++l) {
          *y++ = scale * static_cast<float>((q[16 * sub + l] >> shift) & 3) - min;
        }
      }
    }
  }
}

// Q3_K: 32 bytes hmask (third bit), 64 bytes of 2-bit quants, 12 bytes of sixteen 6-bit
// scales, f16 d. Scale g: low 4 bits from byte g % 8 (low nibble for g < 8, high otherwise),
// high 2 bits from byte 8 + g % 4 at bits 2 * (g / 4). x = d * (scale - 32) * (q - 4 * !hbit).
void dequantize_q3_k(const uint8_t* b, float* y) {
  const uint8_t* hmask = b;
  const uint8_t* q = b + 32;
  const uint8_t* packed = b + 96;
  const float d = load_f16(b + 108);
  int scales[16];
  for (int g = 0; g < 16; ++g) {
    const int low = g < 8 ? (packed[g] & 0x0f) : (packed[g - 8] >> 4);
    const int high = (packed[8 + g % 4] >> (2 * (g / 4))) & 3;
    scales[g] = (low | (high << 4)) - 32;
  }
  int group = 0;
  uint8_t bit = 1;
  for (int half = 0; half < 2; ++half, q += 32) {
    for (int shift = 0; shift < 8; shift += 2, bit = static_cast<uint8_t>(bit << 1)) {
      for (int sub = 0; sub < 2; ++sub, ++group) {
        const float scale = d * static_cast<float>(scales[group]);
        for (int l = 0; l < 16; ++l) {
          const int index = 16 * sub + l;
          const int value = ((q[index] >> shift) & 3) - ((hmask[index] & bit) ? 0 : 4);
          *y++ = scale * static_cast<float>(value);
        }
      }
    }
  }
}

// The eight 6-bit (scale, min) pairs of Q4_K/Q5_K packed in 12 bytes: pairs 0..3 are the low
// 6 bits of bytes j and j + 4; pairs 4..7 take their low 4 bits from byte j + 4 and their top
// 2 bits from the top of bytes j - 4 (scale) and j (min).
void unpack_k4_scale_min(const uint8_t* packed, int j, float& scale, float& min) {
  int s, m;
  if (j < 4) {
    s = packed[j] & 63;
    m = packed[j + 4] & 63;
  } else {
    s = (packed[j + 4] & 0x0f) | ((packed[j - 4] >> 6) << 4);
    m = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
  }
  scale = static_cast<float>(s);
  min = static_cast<float>(m);
}

// Q4_K: f16 d, f16 dmin, 12 bytes of scales/mins, 128 bytes of nibbles. Eight groups of 32:
// groups 2c and 2c+1 are the low and high nibbles of bytes [32c, 32c + 32).
// x = d * scale * q - dmin * min.
void dequantize_q4_k(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  const float dmin = load_f16(b + 2);
  const uint8_t* packed = b + 4;
  const uint8_t* q = b + 16;
  for (int chunk = 0; chunk < 4; ++chunk, q += 32) {
    float s0, m0, s1, m1;
    unpack_k4_scale_min(packed, 2 * chunk, s0, m0);
    unpack_k4_scale_min(packed, 2 * chunk + 1, s1, m1);
    for (int l = 0; l < 32; ++l) *y++ = d * s0 * static_cast<float>(q[l] & 0x0f) - dmin * m0;
    for (int l = 0; l < 32; ++l) *y++ = d * s1 * static_cast<float>(q[l] >> 4) - dmin * m1;
  }
}

// Q5_K: Q4_K plus 32 bytes qh of fifth bits (before the nibbles): group g takes bit g of qh[l].
void dequantize_q5_k(const uint8_t* b, float* y) {
  const float d = load_f16(b);
  const float dmin = load_f16(b + 2);
  const uint8_t* packed = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* q = b + 48;
  for (int chunk = 0; chunk < 4; ++chunk, q += 32) {
    float s0, m0, s1, m1;
    unpack_k4_scale_min(packed, 2 * chunk, s0, m0);
    unpack_k4_scale_min(packed, 2 * chunk + 1, s1, m1);
    const int low_bit = 2 * chunk, high_bit = 2 * chunk + 1;
    for (int l = 0; l < 32; ++l) {
      const int value = (q[l] & 0x0f) | (((qh[l] >> low_bit) & 1) << 4);
      *y++ = d * s0 * static_cast<float>(value) - dmin * m0;
    }
    for (int l = 0; l < 32; ++l) {
      const int value = (q[l] >> 4) | (((qh[l] >> high_bit) & 1) << 4);
      *y++ = d * s1 * static_cast<float>(value) - dmin * m1;
    }
  }
}

// Q6_K: 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits), 16 int8 scales, f16 d. Per
// 128-element half: element l + 32k (k = 0..3) takes the low or high nibble of ql[l] or
// ql[l + 32] and bits 2k of qh[l]; its scale is scales[l / 16 + 2k]. x = d * scale * (q - 32).
void dequantize_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* scales = reinterpret_cast<const int8_t*>(b + 192);
  const float d = load_f16(b + 208);
  for (int half = 0; half < 2; ++half, y += 128, ql += 64, qh += 32, scales += 8) {
    for (int l = 0; l < 32; ++l) {
      const int group = l / 16;
      const int q0 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q1 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * static_cast<float>(scales[group]) * static_cast<float>(q0);
      y[l + 32] = d * static_cast<float>(scales[group + 2]) * static_cast<float>(q1);
      y[l + 64] = d * static_cast<float>(scales[group + 4]) * static_cast<float>(q2);
      y[l + 96] = d * static_cast<float>(scales[group + 6]) * static_cast<float>(q3);
    }
  }
}

// Q8_K: f32 d, 256 int8, 16 int16 group sums (redundant, for dot products). x = d * q.
void dequantize_q8_k(const uint8_t* b, float* y) {
  float d;
  std::memcpy(&d, b, 4);
  const int8_t* q = reinterpret_cast<const int8_t*>(b + 4);
  for (int j = 0; j < kSuperBlock; ++j) y[j] = d * static_cast<float>(q[j]);
}

using BlockDequantizer = void (*)(const uint8_t*, float*);

BlockDequantizer block_dequantizer(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0:
      return dequantize_q4_0;
    case GgmlType::Q4_1:
      return dequantize_q4_1;
    case GgmlType::Q5_0:
      return dequantize_q5_0;
    case GgmlType::Q5_1:
      return dequantize_q5_1;
    case GgmlType::Q8_0:
      return dequantize_q8_0;
    case GgmlType::Q2_K:
      return dequantize_q2_k;
    case GgmlType::Q3_K:
      return dequantize_q3_k;
    case GgmlType::Q4_K:
      return dequantize_q4_k;
    case GgmlType::Q5_K:
      return dequantize_q5_k;
    case GgmlType::Q6_K:
      return dequantize_q6_k;
    case GgmlType::Q8_K:
      return dequantize_q8_k;
    default:
      return nullptr;
  }
}

}  // namespace

std::string gguf_value_type_name(GgufValueType type) {
  static constexpr std::array<std::string_view, kGgufValueTypeCount> kNames{
      "u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
      "bool", "string", "array", "u64", "i64", "f64"};
  const auto code = static_cast<uint32_t>(type);
  if (code < kNames.size()) return std::string(kNames[code]);
  return fmt::format("type {}", code);
}

size_t gguf_value_type_size(GgufValueType type) {
  switch (type) {
    case GgufValueType::u8:
    case GgufValueType::i8:
    case GgufValueType::boolean:
      return 1;
    case GgufValueType::u16:
    case GgufValueType::i16:
      return 2;
    case GgufValueType::u32:
    case GgufValueType::i32:
    case GgufValueType::f32:
      return 4;
    case GgufValueType::u64:
    case GgufValueType::i64:
    case GgufValueType::f64:
      return 8;
    case GgufValueType::string:
    case GgufValueType::array:
      return 0;
  }
  return 0;
}

bool gguf_value_type_is_integer(GgufValueType type) {
  switch (type) {
    case GgufValueType::u8:
    case GgufValueType::i8:
    case GgufValueType::u16:
    case GgufValueType::i16:
    case GgufValueType::u32:
    case GgufValueType::i32:
    case GgufValueType::u64:
    case GgufValueType::i64:
      return true;
    default:
      return false;
  }
}

const GgmlTypeTraits* find_ggml_type(uint32_t code) {
  for (const GgmlTypeTraits& traits : kGgmlTypes) {
    if (static_cast<uint32_t>(traits.type) == code) return &traits;
  }
  return nullptr;
}

const GgmlTypeTraits& ggml_type_traits(GgmlType type) {
  const GgmlTypeTraits* traits = find_ggml_type(static_cast<uint32_t>(type));
  TESSERA_CHECK(traits != nullptr, "ggml type code {} is not in the type table",
                static_cast<uint32_t>(type));
  return *traits;
}

std::string_view ggml_type_name(GgmlType type) {
  return ggml_type_traits(type).name;
}

std::optional<GgmlType> parse_ggml_type(std::string_view name) {
  for (const GgmlTypeTraits& traits : kGgmlTypes) {
    if (traits.name.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i) {
      same = std::toupper(static_cast<unsigned char>(name[i])) == traits.name[i];
    }
    if (same) return traits.type;
  }
  return std::nullopt;
}

std::string dequantizable_type_names() {
  std::string names;
  for (const GgmlTypeTraits& traits : kGgmlTypes) {
    if (!traits.dequantizable) continue;
    if (!names.empty()) names += ", ";
    names += traits.name;
  }
  return names;
}

void dequantize_blocks(GgmlType type, const uint8_t* blocks, float* out, int64_t n) {
  const GgmlTypeTraits& traits = ggml_type_traits(type);
  const BlockDequantizer dequantize_block = block_dequantizer(type);
  TESSERA_CHECK(dequantize_block != nullptr && traits.dequantizable,
                "dequantize_blocks: {} is not a dequantizable type", traits.name);
  TESSERA_CHECK(n % traits.block_size == 0,
                "dequantize_blocks: {} elements is not a multiple of "
                "the {} block size {}",
                n, traits.name, traits.block_size);
  const int64_t block_count = n / traits.block_size;
  // About 64K elements per chunk: big enough to amortise the thread start.
  const int64_t grain = std::max<int64_t>(1, 65536 / traits.block_size);
  parallel_for(0, block_count, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      dequantize_block(blocks + i * traits.block_bytes, out + i * traits.block_size);
    }
  });
}

void quantize_q8_0(const float* x, uint8_t* out, int64_t n) {
  TESSERA_CHECK(n % 32 == 0, "quantize_q8_0: {} elements is not a multiple of 32", n);
  for (int64_t block = 0; block < n / 32; ++block, x += 32, out += 34) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    store_f16(out, amax / 127.0f);
    // Quantise against the scale as stored (f16), so dequantisation sees the d we rounded to.
    const float d = load_f16(out);
    const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < 32; ++j) {
      const float q = std::clamp(std::nearbyint(x[j] * inverse), -127.0f, 127.0f);
      out[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(q));
    }
  }
}

void quantize_q4_0(const float* x, uint8_t* out, int64_t n) {
  TESSERA_CHECK(n % 32 == 0, "quantize_q4_0: {} elements is not a multiple of 32", n);
  for (int64_t block = 0; block < n / 32; ++block, x += 32, out += 18) {
    // The signed extreme maps to -8 exactly, which uses the asymmetric range [-8, 7] fully.
    float extreme = 0.0f;
    for (int j = 0; j < 32; ++j) {
      if (std::fabs(x[j]) > std::fabs(extreme)) extreme = x[j];
    }
    store_f16(out, extreme / -8.0f);
    const float d = load_f16(out);
    const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
    auto level = [&](float v) {
      return static_cast<uint8_t>(std::clamp(std::floor(v * inverse + 8.5f), 0.0f, 15.0f));
    };
    for (int j = 0; j < 16; ++j) {
      out[2 + j] = static_cast<uint8_t>(level(x[j]) | (level(x[j + 16]) << 4));
    }
  }
}

}  // namespace tessera::io
