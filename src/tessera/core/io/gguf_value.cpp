// GgufValue: construction from C++ values and typed access with precise mismatch errors.
#include <cstring>
#include <limits>

#include "tessera/core/io/gguf.h"

namespace tessera::io {

namespace {

template <typename T>
constexpr GgufValueType value_type_of() {
  if constexpr (std::is_same_v<T, uint8_t>) return GgufValueType::u8;
  if constexpr (std::is_same_v<T, int8_t>) return GgufValueType::i8;
  if constexpr (std::is_same_v<T, uint16_t>) return GgufValueType::u16;
  if constexpr (std::is_same_v<T, int16_t>) return GgufValueType::i16;
  if constexpr (std::is_same_v<T, uint32_t>) return GgufValueType::u32;
  if constexpr (std::is_same_v<T, int32_t>) return GgufValueType::i32;
  if constexpr (std::is_same_v<T, uint64_t>) return GgufValueType::u64;
  if constexpr (std::is_same_v<T, int64_t>) return GgufValueType::i64;
  if constexpr (std::is_same_v<T, float>) return GgufValueType::f32;
  if constexpr (std::is_same_v<T, double>) return GgufValueType::f64;
}

template <typename T>
T load(const std::string& bytes, uint64_t i) {
  T value;
  std::memcpy(&value, bytes.data() + i * sizeof(T), sizeof(T));
  return value;
}

bool is_float_type(GgufValueType type) {
  return type == GgufValueType::f32 || type == GgufValueType::f64;
}

// Strings in listings: quoted, control characters escaped, long ones cut.
std::string display_string(const std::string& text, size_t max_chars = 60) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < max_chars; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (text.size() > max_chars) out += fmt::format("... ({} bytes)", text.size());
  return out;
}

}  // namespace

GgufValue GgufValue::numeric(GgufValueType type, const void* bytes, size_t nbytes) {
  GgufValue value;
  value.type_ = type;
  // resize + memcpy rather than assign(): GCC 12 reports a false -Wrestrict on the latter.
  value.bytes_.resize(nbytes);
  std::memcpy(value.bytes_.data(), bytes, nbytes);
  return value;
}

GgufValue GgufValue::boolean(bool v) {
  const uint8_t byte = v ? 1 : 0;
  return numeric(GgufValueType::boolean, &byte, 1);
}

GgufValue GgufValue::string(std::string v) {
  GgufValue value;
  value.type_ = GgufValueType::string;
  value.bytes_ = std::move(v);
  return value;
}

template <typename T>
GgufValue GgufValue::array(const std::vector<T>& values) {
  GgufValue value;
  value.type_ = GgufValueType::array;
  value.element_type_ = value_type_of<T>();
  value.count_ = values.size();
  value.bytes_.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  return value;
}

template GgufValue GgufValue::array(const std::vector<uint8_t>&);
template GgufValue GgufValue::array(const std::vector<int8_t>&);
template GgufValue GgufValue::array(const std::vector<uint16_t>&);
template GgufValue GgufValue::array(const std::vector<int16_t>&);
template GgufValue GgufValue::array(const std::vector<uint32_t>&);
template GgufValue GgufValue::array(const std::vector<int32_t>&);
template GgufValue GgufValue::array(const std::vector<uint64_t>&);
template GgufValue GgufValue::array(const std::vector<int64_t>&);
template GgufValue GgufValue::array(const std::vector<float>&);
template GgufValue GgufValue::array(const std::vector<double>&);

GgufValue GgufValue::bool_array(const std::vector<bool>& values) {
  GgufValue value;
  value.type_ = GgufValueType::array;
  value.element_type_ = GgufValueType::boolean;
  value.count_ = values.size();
  for (bool v : values) value.bytes_ += static_cast<char>(v ? 1 : 0);
  return value;
}

GgufValue GgufValue::string_array(std::vector<std::string> values) {
  GgufValue value;
  value.type_ = GgufValueType::array;
  value.element_type_ = GgufValueType::string;
  value.count_ = values.size();
  value.strings_ = std::move(values);
  return value;
}

GgufValue GgufValue::array_of_arrays(std::vector<GgufValue> values) {
  for (const GgufValue& element : values) {
    TESSERA_CHECK_INPUT(element.is_array(),
                        "GGUF array of arrays: an element is {}, expected an array",
                        element.type_description());
  }
  GgufValue value;
  value.type_ = GgufValueType::array;
  value.element_type_ = GgufValueType::array;
  value.count_ = values.size();
  value.arrays_ = std::move(values);
  return value;
}

GgufValueType GgufValue::element_type() const {
  if (!is_array()) mismatch("an array");
  return element_type_;
}

uint64_t GgufValue::size() const {
  if (!is_array()) mismatch("an array");
  return count_;
}

std::string GgufValue::type_description() const {
  if (!is_array()) return gguf_value_type_name(type_);
  return fmt::format("array of {} {}", count_, gguf_value_type_name(element_type_));
}

void GgufValue::mismatch(std::string_view expected) const {
  throw bad_input("is {}, expected {}", type_description(), expected);
}

int64_t GgufValue::signed_element(uint64_t i, GgufValueType type) const {
  switch (type) {
    case GgufValueType::u8:
      return load<uint8_t>(bytes_, i);
    case GgufValueType::i8:
      return load<int8_t>(bytes_, i);
    case GgufValueType::u16:
      return load<uint16_t>(bytes_, i);
    case GgufValueType::i16:
      return load<int16_t>(bytes_, i);
    case GgufValueType::u32:
      return load<uint32_t>(bytes_, i);
    case GgufValueType::i32:
      return load<int32_t>(bytes_, i);
    case GgufValueType::i64:
      return load<int64_t>(bytes_, i);
    case GgufValueType::u64: {
      const uint64_t v = load<uint64_t>(bytes_, i);
      TESSERA_CHECK_INPUT(v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
                          "value {} does not fit a signed 64-bit integer", v);
      return static_cast<int64_t>(v);
    }
    default:
      break;
  }
  throw runtime_error("GgufValue::signed_element on {}", gguf_value_type_name(type));
}

uint64_t GgufValue::unsigned_element(uint64_t i, GgufValueType type) const {
  if (type == GgufValueType::u64) return load<uint64_t>(bytes_, i);
  const int64_t v = signed_element(i, type);
  TESSERA_CHECK_INPUT(v >= 0, "value {} is negative, expected a non-negative integer", v);
  return static_cast<uint64_t>(v);
}

double GgufValue::float_element(uint64_t i, GgufValueType type) const {
  if (type == GgufValueType::f32) return load<float>(bytes_, i);
  if (type == GgufValueType::f64) return load<double>(bytes_, i);
  if (type == GgufValueType::u64) return static_cast<double>(load<uint64_t>(bytes_, i));
  return static_cast<double>(signed_element(i, type));
}

const std::string& GgufValue::as_string() const {
  if (type_ != GgufValueType::string) mismatch("a string");
  return bytes_;
}

uint64_t GgufValue::as_uint() const {
  if (!gguf_value_type_is_integer(type_)) mismatch("an unsigned integer");
  return unsigned_element(0, type_);
}

int64_t GgufValue::as_int() const {
  if (!gguf_value_type_is_integer(type_)) mismatch("an integer");
  return signed_element(0, type_);
}

double GgufValue::as_float() const {
  if (!gguf_value_type_is_integer(type_) && !is_float_type(type_)) mismatch("a number");
  return float_element(0, type_);
}

bool GgufValue::as_bool() const {
  if (type_ != GgufValueType::boolean) mismatch("a bool");
  return bytes_[0] != 0;
}

const std::vector<std::string>& GgufValue::as_strings() const {
  if (!is_array() || element_type_ != GgufValueType::string) mismatch("an array of string");
  return strings_;
}

std::vector<int64_t> GgufValue::as_ints() const {
  if (!is_array() || !gguf_value_type_is_integer(element_type_)) {
    mismatch("an array of integers");
  }
  std::vector<int64_t> values(count_);
  for (uint64_t i = 0; i < count_; ++i) values[i] = signed_element(i, element_type_);
  return values;
}

std::vector<double> GgufValue::as_floats() const {
  if (!is_array() ||
      (!gguf_value_type_is_integer(element_type_) && !is_float_type(element_type_))) {
    mismatch("an array of numbers");
  }
  std::vector<double> values(count_);
  for (uint64_t i = 0; i < count_; ++i) values[i] = float_element(i, element_type_);
  return values;
}

std::vector<bool> GgufValue::as_bools() const {
  if (!is_array() || element_type_ != GgufValueType::boolean) mismatch("an array of bool");
  std::vector<bool> values(count_);
  for (uint64_t i = 0; i < count_; ++i) values[i] = bytes_[i] != 0;
  return values;
}

const std::vector<GgufValue>& GgufValue::as_arrays() const {
  if (!is_array() || element_type_ != GgufValueType::array) mismatch("an array of arrays");
  return arrays_;
}

std::string GgufValue::to_display(size_t max_items) const {
  auto scalar = [&](uint64_t i, GgufValueType type) -> std::string {
    if (type == GgufValueType::boolean) return bytes_[i] != 0 ? "true" : "false";
    if (type == GgufValueType::f32) return fmt::format("{}", load<float>(bytes_, i));
    if (type == GgufValueType::f64) return fmt::format("{}", load<double>(bytes_, i));
    if (type == GgufValueType::u64) return fmt::format("{}", load<uint64_t>(bytes_, i));
    return fmt::format("{}", signed_element(i, type));
  };
  if (type_ == GgufValueType::string) return display_string(bytes_);
  if (!is_array()) return scalar(0, type_);
  std::string out = "[";
  const uint64_t shown = std::min<uint64_t>(count_, max_items);
  for (uint64_t i = 0; i < shown; ++i) {
    if (i > 0) out += ", ";
    if (element_type_ == GgufValueType::string) {
      out += display_string(strings_[i], 24);
    } else if (element_type_ == GgufValueType::array) {
      out += arrays_[i].to_display(max_items);
    } else {
      out += scalar(i, element_type_);
    }
  }
  if (shown < count_) out += fmt::format(", ... ({} items)", count_);
  return out + "]";
}

}  // namespace tessera::io
