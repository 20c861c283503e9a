#include "tessera/core/io/zip_archive.h"

#include <zlib.h>

#include <cstring>

#include "tessera/core/error.h"

namespace tessera::io {

namespace {

constexpr uint32_t kEndOfCentralDirectory = 0x06054b50;
constexpr uint32_t kZip64EndLocator = 0x07064b50;
constexpr uint32_t kZip64End = 0x06064b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kLocalHeader = 0x04034b50;

// Bounds-checked little-endian reads; every failure names the archive and what was read.
struct Reader {
  const uint8_t* bytes;
  size_t size;
  const std::string& source;
  void need(uint64_t offset, uint64_t count, const char* what) const {
    TESSERA_CHECK_INPUT(offset <= size && count <= size - offset,
                        "{}: truncated ZIP archive ({} at byte {} runs past the end, {} bytes)",
                        source, what, offset, size);
  }
  uint16_t u16(uint64_t at, const char* what) const {
    need(at, 2, what);
    return static_cast<uint16_t>(bytes[at] | (bytes[at + 1] << 8));
  }
  uint32_t u32(uint64_t at, const char* what) const {
    need(at, 4, what);
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | bytes[at + i];
    return v;
  }
  uint64_t u64(uint64_t at, const char* what) const {
    need(at, 8, what);
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | bytes[at + i];
    return v;
  }
};

}  // namespace

ZipArchive ZipArchive::open(const std::string& path) {
  std::shared_ptr<MappedFile> file = MappedFile::open(path);
  return parse(file->data(), file->size(), path, file);
}

ZipArchive ZipArchive::parse(const uint8_t* bytes, size_t size, std::string source,
                             std::shared_ptr<const void> owner) {
  ZipArchive zip;
  zip.source_ = std::move(source);
  zip.bytes_ = bytes;
  zip.size_ = size;
  zip.owner_ = std::move(owner);
  const Reader r{bytes, size, zip.source_};
  // The end record sits in the last 22 + 65535 (comment) bytes; search backwards for it.
  TESSERA_CHECK_INPUT(size >= 22, "{}: not a ZIP archive ({} bytes)", zip.source_, size);
  int64_t end = -1;
  const uint64_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  for (uint64_t at = size - 22;; --at) {
    if (r.u32(at, "end record") == kEndOfCentralDirectory) {
      end = static_cast<int64_t>(at);
      break;
    }
    if (at == lowest) break;
  }
  TESSERA_CHECK_INPUT(end >= 0, "{}: not a ZIP archive (no end of central directory record)",
                      zip.source_);
  TESSERA_CHECK_INPUT(r.u16(end + 4, "disk number") == 0 && r.u16(end + 6, "disk number") == 0,
                      "{}: multi-disk ZIP archives are not supported", zip.source_);
  uint64_t count = r.u16(end + 10, "entry count");
  uint64_t directory_size = r.u32(end + 12, "directory size");
  uint64_t directory_offset = r.u32(end + 16, "directory offset");
  if (end >= 20 && r.u32(end - 20, "zip64 locator") == kZip64EndLocator) {
    const uint64_t record = r.u64(end - 20 + 8, "zip64 record offset");
    TESSERA_CHECK_INPUT(r.u32(record, "zip64 end record") == kZip64End,
                        "{}: broken ZIP64 end of central directory record", zip.source_);
    count = r.u64(record + 32, "zip64 entry count");
    directory_size = r.u64(record + 40, "zip64 directory size");
    directory_offset = r.u64(record + 48, "zip64 directory offset");
  }
  r.need(directory_offset, directory_size, "central directory");
  TESSERA_CHECK_INPUT(count <= directory_size / 46 + 1,
                      "{}: central directory claims {} entries in {} bytes", zip.source_, count,
                      directory_size);
  uint64_t at = directory_offset;
  for (uint64_t i = 0; i < count; ++i) {
    TESSERA_CHECK_INPUT(r.u32(at, "central header") == kCentralHeader,
                        "{}: central directory entry {} is corrupt", zip.source_, i);
    ZipEntry e;
    const uint16_t flags = r.u16(at + 8, "flags");
    e.method = r.u16(at + 10, "method");
    e.crc32 = r.u32(at + 16, "crc32");
    e.compressed_size = r.u32(at + 20, "compressed size");
    e.size = r.u32(at + 24, "size");
    const uint16_t name_length = r.u16(at + 28, "name length");
    const uint16_t extra_length = r.u16(at + 30, "extra length");
    const uint16_t comment_length = r.u16(at + 32, "comment length");
    uint64_t local = r.u32(at + 42, "local header offset");
    r.need(at + 46, name_length, "entry name");
    e.name.assign(reinterpret_cast<const char*>(bytes + at + 46), name_length);
    TESSERA_CHECK_INPUT((flags & 1) == 0, "{}: entry {} is encrypted", zip.source_, e.name);
    // ZIP64 extra field: the 64-bit values of the fields saturated at 0xFFFFFFFF, in order.
    uint64_t extra = at + 46 + name_length;
    const uint64_t extra_end = extra + extra_length;
    r.need(extra, extra_length, "extra field");
    while (extra + 4 <= extra_end) {
      const uint16_t id = r.u16(extra, "extra id"), length = r.u16(extra + 2, "extra length");
      uint64_t field = extra + 4;
      if (id == 0x0001) {
        if (e.size == 0xFFFFFFFFu) e.size = r.u64(field, "zip64 size"), field += 8;
        if (e.compressed_size == 0xFFFFFFFFu)
          e.compressed_size = r.u64(field, "zip64 compressed size"), field += 8;
        if (local == 0xFFFFFFFFu) local = r.u64(field, "zip64 offset");
      }
      extra += 4 + static_cast<uint64_t>(length);
    }
    TESSERA_CHECK_INPUT(r.u32(local, "local header") == kLocalHeader,
                        "{}: local header of entry {} is corrupt", zip.source_, e.name);
    e.data_offset = local + 30 + r.u16(local + 26, "local name length") +
                    r.u16(local + 28, "local extra length");
    r.need(e.data_offset, e.compressed_size, "entry data");
    TESSERA_CHECK_INPUT(
        e.method == 0 || e.method == 8,
        "{}: entry {} uses compression method {} (only stored and deflate are supported)",
        zip.source_, e.name, e.method);
    TESSERA_CHECK_INPUT(e.method != 0 || e.size == e.compressed_size,
                        "{}: stored entry {} has size {} but {} stored bytes", zip.source_, e.name,
                        e.size, e.compressed_size);
    zip.index_[e.name] = zip.entries_.size();
    zip.entries_.push_back(std::move(e));
    at += 46 + static_cast<uint64_t>(name_length) + extra_length + comment_length;
  }
  return zip;
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::shared_ptr<Storage> ZipArchive::read(const std::string& name) const {
  const ZipEntry* e = find(name);
  TESSERA_CHECK_INPUT(e != nullptr, "{}: the archive has no entry {}", source_, name);
  const uint8_t* data = bytes_ + e->data_offset;
  if (e->method == 0) {
    // A read-only view: the archive stays mapped while the storage lives.
    return Storage::wrap(const_cast<uint8_t*>(data), e->size, owner_, true);
  }
  // Deflate expands at most 1032:1, so a larger recorded size is a corrupt (or hostile) header;
  // refusing it here avoids allocating whatever the header claims.
  TESSERA_CHECK_INPUT(
      e->size / 1032 <= e->compressed_size + 1,
      "{}: entry {} claims {} bytes from {} deflated bytes (more than deflate can expand)", source_,
      name, e->size, e->compressed_size);
  std::shared_ptr<Storage> out = Storage::allocate(e->size);
  z_stream stream{};
  TESSERA_CHECK(inflateInit2(&stream, -MAX_WBITS) == Z_OK, "zlib: inflateInit2 failed");
  uint64_t consumed = 0, produced = 0;
  int status = Z_OK;
  auto* target = static_cast<uint8_t*>(out->data());
  // zlib counts in 32-bit units: feed and drain in pieces below 1 GiB.
  constexpr uint64_t kPiece = uint64_t{1} << 30;
  while (status == Z_OK) {
    stream.next_in = const_cast<uint8_t*>(data + consumed);
    stream.avail_in = static_cast<uInt>(std::min(kPiece, e->compressed_size - consumed));
    stream.next_out = target + produced;
    stream.avail_out = static_cast<uInt>(std::min(kPiece, e->size - produced));
    const uInt in_before = stream.avail_in, out_before = stream.avail_out;
    status = inflate(&stream, Z_NO_FLUSH);
    consumed += in_before - stream.avail_in;
    produced += out_before - stream.avail_out;
    if (status == Z_BUF_ERROR && (consumed == e->compressed_size || produced == e->size)) break;
    if (status == Z_OK && in_before == stream.avail_in && out_before == stream.avail_out) break;
  }
  inflateEnd(&stream);
  TESSERA_CHECK_INPUT(
      status == Z_STREAM_END && produced == e->size,
      "{}: entry {} does not inflate to its recorded {} bytes (corrupt deflate data)", source_,
      name, e->size);
  const uint32_t crc =
      static_cast<uint32_t>(crc32_z(crc32_z(0L, Z_NULL, 0), static_cast<const Bytef*>(out->data()),
                                    static_cast<z_size_t>(e->size)));
  TESSERA_CHECK_INPUT(crc == e->crc32, "{}: entry {} fails its CRC-32 check", source_, name);
  return out;
}

}  // namespace tessera::io
