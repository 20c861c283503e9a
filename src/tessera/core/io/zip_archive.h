#pragma once
// A small read-only ZIP reader (PKWARE APPNOTE 6.3): the central directory (ZIP64 included),
// entries stored (method 0) or deflated (method 8, inflated with zlib). Enough for PyTorch's
// torch.save archives and other model files; encryption, multi-disk and other methods are
// rejected with an error naming the archive and entry.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tessera/core/storage.h"

namespace tessera::io {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflate
  uint64_t compressed_size = 0, size = 0;
  uint64_t data_offset = 0;  // of the (compressed) bytes, past the local header
  uint32_t crc32 = 0;
};

class ZipArchive {
 public:
  // Maps `path`; BadInput naming it when it is not a readable ZIP archive.
  static ZipArchive open(const std::string& path);
  // Parses an archive held in memory (`owner` keeps the bytes alive); `source` names it in errors.
  static ZipArchive parse(const uint8_t* bytes, size_t size, std::string source,
                          std::shared_ptr<const void> owner = nullptr);

  const std::string& source() const { return source_; }
  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const;
  // The entry's bytes: a view into the archive when stored, an inflated copy when deflated
  // (CRC-checked). BadInput naming the entry when missing or corrupt.
  std::shared_ptr<Storage> read(const std::string& name) const;

 private:
  std::string source_;
  const uint8_t* bytes_ = nullptr;
  size_t size_ = 0;
  std::shared_ptr<const void> owner_;
  std::vector<ZipEntry> entries_;
  std::map<std::string, size_t> index_;
};

}  // namespace tessera::io
