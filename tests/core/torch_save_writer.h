#pragma once
// Test helper: writes a PyTorch checkpoint the way torch.save does (protocol-2 pickle of an
// OrderedDict of _rebuild_tensor_v2 calls over persistent storages, in a ZIP archive with one
// entry per storage), opcode by opcode, so tests build real pytorch_model.bin files without Python.
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "tessera/core/tensor.h"

namespace tessera::testing {

class PickleBytes {
 public:
  PickleBytes& op(uint8_t code) {
    bytes_.push_back(static_cast<char>(code));
    return *this;
  }
  PickleBytes& raw(const std::string& s) {
    bytes_ += s;
    return *this;
  }
  PickleBytes& global(const std::string& module, const std::string& name) {
    return op('c').raw(module + "\n" + name + "\n");
  }
  PickleBytes& unicode(const std::string& s) {  // BINUNICODE
    op('X');
    le(s.size(), 4);
    return raw(s);
  }
  PickleBytes& integer(int64_t v) {  // BININT (4 bytes)
    op('J');
    le(static_cast<uint64_t>(v), 4);
    return *this;
  }
  PickleBytes& int_tuple(const std::vector<int64_t>& values) {
    op('(');
    for (int64_t v : values) integer(v);
    return op('t');
  }
  const std::string& str() const { return bytes_; }

 private:
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string bytes_;
};

inline std::string storage_class(DType dtype) {
  switch (dtype) {
    case DType::f64:
      return "DoubleStorage";
    case DType::f16:
      return "HalfStorage";
    case DType::bf16:
      return "BFloat16Storage";
    default:
      return "FloatStorage";
  }
}

// The pickle torch.save writes for an OrderedDict {name: contiguous tensor}, storage i for tensor
// i.
inline std::string state_dict_pickle(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  PickleBytes p;
  p.op(0x80).op(2).global("collections", "OrderedDict").op(')').op('R').op('(');
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i].second;
    p.unicode(tensors[i].first).global("torch._utils", "_rebuild_tensor_v2").op('(').op('(');
    p.unicode("storage")
        .global("torch", storage_class(t.dtype()))
        .unicode(std::to_string(i))
        .unicode("cpu");
    p.integer(t.numel()).op('t').op('Q').integer(0).int_tuple(t.shape()).int_tuple(
        contiguous_strides(t.shape()));
    p.op(0x89).global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
  }
  return p.op('u').op('.').str();
}

// ZIP entries, stored or raw-deflated, with CRCs, local headers, central directory and end record.
class ZipWriter {
 public:
  void add(const std::string& name, const std::string& data, bool deflate = false) {
    std::string body = data;
    uint16_t method = 0;
    if (deflate) {
      z_stream s{};
      deflateInit2(&s, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
      body.assign(deflateBound(&s, data.size()) + 16, '\0');
      s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
      s.avail_in = static_cast<uInt>(data.size());
      s.next_out = reinterpret_cast<Bytef*>(body.data());
      s.avail_out = static_cast<uInt>(body.size());
      deflate_all(s);
      body.resize(s.total_out);
      deflateEnd(&s);
      method = 8;
    }
    const uint32_t crc = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    Entry e{name,
            static_cast<uint32_t>(out_.size()),
            crc,
            static_cast<uint32_t>(body.size()),
            static_cast<uint32_t>(data.size()),
            method};
    le(0x04034b50, 4);
    le(20, 2);
    le(0, 2);
    le(method, 2);
    le(0, 2);
    le(0, 2);
    le(crc, 4);
    le(e.compressed, 4);
    le(e.size, 4);
    le(name.size(), 2);
    le(0, 2);
    out_ += name;
    out_ += body;
    entries_.push_back(e);
  }
  std::string finish() {
    const uint32_t directory = static_cast<uint32_t>(out_.size());
    for (const Entry& e : entries_) {
      le(0x02014b50, 4);
      le(20, 2);
      le(20, 2);
      le(0, 2);
      le(e.method, 2);
      le(0, 2);
      le(0, 2);
      le(e.crc, 4);
      le(e.compressed, 4);
      le(e.size, 4);
      le(e.name.size(), 2);
      le(0, 2);
      le(0, 2);
      le(0, 2);
      le(0, 2);
      le(0, 4);
      le(e.offset, 4);
      out_ += e.name;
    }
    const uint32_t directory_size = static_cast<uint32_t>(out_.size()) - directory;
    le(0x06054b50, 4);
    le(0, 2);
    le(0, 2);
    le(entries_.size(), 2);
    le(entries_.size(), 2);
    le(directory_size, 4);
    le(directory, 4);
    le(0, 2);
    return out_;
  }

 private:
  struct Entry {
    std::string name;
    uint32_t offset, crc, compressed, size;
    uint16_t method;
  };
  static void deflate_all(z_stream& s) { deflate(&s, Z_FINISH); }
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
  std::vector<Entry> entries_;
};

// A torch.save archive of `tensors` (made contiguous) at `path`.
inline void write_torch_checkpoint(const std::string& path,
                                   const std::vector<std::pair<std::string, Tensor>>& tensors,
                                   bool deflate = false) {
  ZipWriter zip;
  zip.add("archive/data.pkl", state_dict_pickle(tensors), deflate);
  for (size_t i = 0; i < tensors.size(); ++i) {
    Tensor t = tensors[i].second.contiguous();
    zip.add("archive/data/" + std::to_string(i),
            std::string(static_cast<const char*>(t.raw_data()), t.nbytes()), deflate);
  }
  zip.add("archive/version", "3\n");
  std::ofstream(path, std::ios::binary) << zip.finish();
}

}  // namespace tessera::testing
