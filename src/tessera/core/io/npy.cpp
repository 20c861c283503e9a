// Reading and writing NumPy .npy files.
#include "tessera/core/io/npy.h"

#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <string_view>

#include "tessera/core/io/atomic_file.h"
#include "tessera/core/io/python_literal.h"
#include "tessera/core/io/tensor_bytes.h"

namespace tessera::io {

static_assert(std::endian::native == std::endian::little, ".npy data is used in place");

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr size_t kAlignment = 64;  // numpy's ARRAY_ALIGN: data starts on a multiple of this
// numpy leaves room to grow the first axis in place up to this many digits.
constexpr size_t kGrowthAxisDigits = 21;

struct NpyDType {
  char kind;  // 'f', 'i', 'u'
  int size;
  DType dtype;
};
constexpr std::array<NpyDType, 7> kDTypes{{
    {'f', 2, DType::f16},
    {'f', 4, DType::f32},
    {'f', 8, DType::f64},
    {'i', 1, DType::i8},
    {'i', 4, DType::i32},
    {'i', 8, DType::i64},
    {'u', 1, DType::u8},
}};
constexpr const char* kSupportedDescrs = "<f2 <f4 <f8 |i1 <i4 <i8 |u1";

std::string descr_of(DType dtype) {
  for (const NpyDType& d : kDTypes) {
    if (d.dtype == dtype) return fmt::format("{}{}{}", d.size == 1 ? '|' : '<', d.kind, d.size);
  }
  throw bad_input(".npy has no {} dtype; convert the tensor (e.g. to f32) before saving",
                  dtype_name(dtype));
}

DType dtype_of_descr(const std::string& descr, const std::string& source) {
  // '<' little-endian, '=' native (little here), '|' not applicable (one-byte types).
  if (descr.size() >= 3) {
    const char order = descr[0];
    const char kind = descr[1];
    const std::string size_text = descr.substr(2);
    for (const NpyDType& d : kDTypes) {
      if (d.kind != kind || size_text != std::to_string(d.size)) continue;
      if (order == '<' || order == '=' || (d.size == 1 && (order == '|' || order == '>'))) {
        return d.dtype;
      }
      if (order == '>') {
        throw bad_input("{}: big-endian dtype '{}' is not supported (save it little-endian)",
                        source, descr);
      }
    }
  }
  throw bad_input("{}: dtype '{}' is not supported (Tessera reads {})", source, descr,
                  kSupportedDescrs);
}

std::string shape_repr(const Shape& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + (shape.size() == 1 ? ",)" : ")");
}

Shape parse_shape(const PythonLiteral& value, const std::string& source) {
  if (value.kind != PythonLiteral::Kind::tuple) {
    throw bad_input("{}: 'shape' is {}, expected a tuple of integers", source,
                    python_kind_name(value.kind));
  }
  Shape shape;
  uint64_t extent = 1;  // product of max(d, 1): the largest stride must fit in int64
  for (const PythonLiteral& d : value.items) {
    if (d.kind != PythonLiteral::Kind::integer) {
      throw bad_input("{}: 'shape' holds {}, expected integers", source, python_kind_name(d.kind));
    }
    if (!d.integer_overflow && d.integer < 0) {
      throw bad_input("{}: 'shape' has a negative dimension {}", source, d.integer);
    }
    if (d.integer_overflow ||
        __builtin_mul_overflow(extent, std::max<uint64_t>(static_cast<uint64_t>(d.integer), 1),
                               &extent) ||
        extent > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw bad_input("{}: 'shape' is too large (2^63 elements or more)", source);
    }
    shape.push_back(d.integer);
  }
  return shape;
}

uint32_t read_le(const uint8_t* p, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

NpyHeader parse_npy_header(const uint8_t* bytes, size_t size, const std::string& source) {
  if (size < kMagic.size() + 2 ||
      std::string_view(reinterpret_cast<const char*>(bytes), kMagic.size()) != kMagic) {
    throw bad_input("{}: not a .npy file (it does not start with \\x93NUMPY)", source);
  }
  NpyHeader header;
  header.major_version = bytes[6];
  header.minor_version = bytes[7];
  if (header.major_version < 1 || header.major_version > 3 || header.minor_version != 0) {
    throw bad_input("{}: .npy format version {}.{} is not supported (1.0, 2.0 and 3.0 are)", source,
                    header.major_version, header.minor_version);
  }
  const size_t length_bytes = header.major_version == 1 ? 2 : 4;
  const size_t prefix = kMagic.size() + 2 + length_bytes;
  if (size < prefix) {
    throw bad_input("{}: file is {} bytes, too short for a version {}.0 .npy header", source, size,
                    header.major_version);
  }
  const uint64_t header_length = read_le(bytes + 8, static_cast<int>(length_bytes));
  if (header_length > size - prefix) {
    throw bad_input("{}: header length {} runs past the end of the file ({} bytes)", source,
                    header_length, size);
  }
  header.data_offset = prefix + header_length;

  const std::string_view text(reinterpret_cast<const char*>(bytes + prefix), header_length);
  PythonLiteral dict = parse_python_literal(text, source + ": header");
  if (dict.kind != PythonLiteral::Kind::dict) {
    throw bad_input("{}: header is {}, expected a dict", source, python_kind_name(dict.kind));
  }
  const PythonLiteral* descr = nullptr;
  const PythonLiteral* fortran_order = nullptr;
  const PythonLiteral* shape = nullptr;
  for (size_t i = 0; i < dict.keys.size(); ++i) {
    const std::string& key = dict.keys[i];
    const PythonLiteral& value = dict.items[i];
    const PythonLiteral** slot = key == "descr"           ? &descr
                                 : key == "fortran_order" ? &fortran_order
                                 : key == "shape"         ? &shape
                                                          : nullptr;
    if (slot == nullptr) throw bad_input("{}: header has unexpected key '{}'", source, key);
    if (*slot != nullptr) throw bad_input("{}: header has key '{}' twice", source, key);
    *slot = &value;
  }
  for (auto [value, key] : {std::pair{descr, "descr"}, std::pair{fortran_order, "fortran_order"},
                            std::pair{shape, "shape"}}) {
    if (value == nullptr) throw bad_input("{}: header has no '{}'", source, key);
  }

  if (descr->kind != PythonLiteral::Kind::string) {
    throw bad_input("{}: 'descr' is {}{}, expected a dtype string such as '<f4'", source,
                    python_kind_name(descr->kind),
                    descr->kind == PythonLiteral::Kind::list ? " (a structured dtype)" : "");
  }
  header.descr = descr->text;
  header.dtype = dtype_of_descr(header.descr, source);
  if (fortran_order->kind != PythonLiteral::Kind::boolean) {
    throw bad_input("{}: 'fortran_order' is {}, expected True or False", source,
                    python_kind_name(fortran_order->kind));
  }
  if (fortran_order->boolean) {
    throw bad_input(
        "{}: fortran_order is True (column-major data) and is not supported; "
        "save np.ascontiguousarray(a) instead",
        source);
  }
  header.shape = parse_shape(*shape, source);

  const unsigned __int128 data_bytes =
      static_cast<unsigned __int128>(shape_numel(header.shape)) * dtype_size(header.dtype);
  const uint64_t available = size - header.data_offset;
  if (data_bytes != available) {
    throw bad_input("{}: shape {} of {} needs {} bytes of data, the file has {}", source,
                    shape_repr(header.shape), header.descr,
                    fmt::to_string(static_cast<uint64_t>(std::min<unsigned __int128>(
                        data_bytes, std::numeric_limits<uint64_t>::max()))),
                    available);
  }
  header.data_bytes = available;
  return header;
}

Tensor parse_npy(const uint8_t* bytes, size_t size, const std::string& source,
                 std::shared_ptr<const void> owner, std::optional<DType> want) {
  const NpyHeader header = parse_npy_header(bytes, size, source);
  const DType target = want.value_or(header.dtype);
  if (!can_convert_on_load(header.dtype, target)) {
    throw bad_input(
        "{}: array is {}; converting it to {} on load is not supported "
        "(only conversions to floating types are)",
        source, header.descr, dtype_name(target));
  }
  Tensor stored = view_or_copy(bytes + header.data_offset, header.shape, header.dtype,
                               std::move(owner), /*allow_view=*/true);
  return target == header.dtype ? stored : convert_on_load(stored, target);
}

Tensor load_npy(const std::string& path, std::optional<DType> want) {
  std::shared_ptr<MappedFile> file = MappedFile::open(path);
  return parse_npy(file->data(), file->size(), path, file, want);
}

NpyHeader read_npy_header(const std::string& path) {
  std::shared_ptr<MappedFile> file = MappedFile::open(path);
  return parse_npy_header(file->data(), file->size(), path);
}

std::string npy_header(const Tensor& tensor) {
  TESSERA_CHECK_INPUT(tensor.defined(), "save_npy: the tensor is undefined");
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                 descr_of(tensor.dtype()), shape_repr(tensor.shape()));
  if (tensor.dim() > 0) {
    dict.append(kGrowthAxisDigits - std::to_string(tensor.shape()[0]).size(), ' ');
  }
  // The dict, spaces, then '\n', so that the data starts at a multiple of kAlignment.
  // Version 1.0 stores the header length in 2 bytes; longer headers need 2.0 (4 bytes).
  for (int version : {1, 2}) {
    const size_t prefix = kMagic.size() + 2 + (version == 1 ? 2 : 4);
    const size_t unpadded = prefix + dict.size() + 1;
    const size_t padding = (kAlignment - unpadded % kAlignment) % kAlignment;
    const size_t header_length = dict.size() + padding + 1;
    if (version == 1 && header_length > 0xffff) continue;
    std::string out(kMagic);
    out += static_cast<char>(version);
    out += '\0';
    for (size_t i = 0; i < prefix - 8; ++i)
      out += static_cast<char>((header_length >> (8 * i)) & 0xff);
    out += dict;
    out.append(padding, ' ');
    out += '\n';
    return out;
  }
  throw bad_input("save_npy: header of a {}-d array is too long", tensor.dim());
}

std::string serialize_npy(const Tensor& tensor) {
  std::string bytes = npy_header(tensor);
  const Tensor contiguous = tensor.contiguous();
  bytes.append(static_cast<const char*>(contiguous.raw_data()), contiguous.nbytes());
  return bytes;
}

void save_npy(const std::string& path, const Tensor& tensor) {
  const std::string header = npy_header(tensor);
  const Tensor contiguous = tensor.contiguous();
  AtomicFileWriter out(path);
  out.write(header);
  out.write(contiguous.raw_data(), contiguous.nbytes());
  out.commit();
}

}  // namespace tessera::io
