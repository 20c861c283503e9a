#include "tessera/mt/gettext_catalog.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tessera/core/error.h"

namespace tessera::mt {

namespace {

struct MoReader {
  const std::string& bytes;
  const std::string& name;
  bool swap = false;

  uint32_t u32(size_t offset) const {
    TESSERA_CHECK_INPUT(offset + 4 <= bytes.size(), "{}: catalogue truncated at byte {}", name,
                        offset);
    uint32_t v;
    std::memcpy(&v, bytes.data() + offset, 4);
    return swap ? __builtin_bswap32(v) : v;
  }
  std::string str(size_t table, uint32_t i) const {
    uint32_t length = u32(table + 8 * static_cast<size_t>(i)),
             offset = u32(table + 8 * static_cast<size_t>(i) + 4);
    TESSERA_CHECK_INPUT(static_cast<uint64_t>(offset) + length <= bytes.size(),
                        "{}: string {} points outside the file", name, i);
    return bytes.substr(offset, length);
  }
};

MoReader open_reader(const std::string& bytes, const std::string& name) {
  MoReader r{bytes, name};
  TESSERA_CHECK_INPUT(bytes.size() >= 28, "{}: not a gettext catalogue (too short)", name);
  uint32_t magic;
  std::memcpy(&magic, bytes.data(), 4);
  if (magic == 0xde120495u) {
    r.swap = true;
  } else {
    TESSERA_CHECK_INPUT(magic == 0x950412deu, "{}: not a gettext catalogue (bad magic)", name);
  }
  return r;
}

}  // namespace

std::vector<CatalogMessage> parse_mo(const std::string& bytes, const std::string& name) {
  MoReader r = open_reader(bytes, name);
  const uint32_t count = r.u32(8), originals = r.u32(12), translations = r.u32(16);
  TESSERA_CHECK_INPUT(static_cast<uint64_t>(originals) + 8ull * count <= bytes.size() &&
                          static_cast<uint64_t>(translations) + 8ull * count <= bytes.size(),
                      "{}: message tables extend past the end of the file", name);
  std::vector<CatalogMessage> out;
  out.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    std::string id = r.str(originals, i), text = r.str(translations, i);
    if (id.empty()) continue;  // the header entry
    size_t context = id.find('\x04');
    if (context != std::string::npos) id = id.substr(context + 1);
    CatalogMessage m;
    size_t nul = id.find('\0');
    m.plural = nul != std::string::npos;
    m.source = id.substr(0, nul);
    m.translation = text.substr(0, text.find('\0'));
    if (m.translation.empty()) continue;
    out.push_back(std::move(m));
  }
  return out;
}

std::string mo_charset(const std::string& bytes, const std::string& name) {
  MoReader r = open_reader(bytes, name);
  const uint32_t count = r.u32(8), originals = r.u32(12), translations = r.u32(16);
  for (uint32_t i = 0; i < count; ++i) {
    if (!r.str(originals, i).empty()) continue;
    std::string header = r.str(translations, i);
    size_t at = header.find("charset=");
    if (at == std::string::npos) break;
    size_t end = header.find_first_of(" \n;", at + 8);
    return header.substr(at + 8, end == std::string::npos ? std::string::npos : end - at - 8);
  }
  return "UTF-8";
}

std::vector<CatalogMessage> read_mo_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TESSERA_CHECK_INPUT(in.good(), "{}: cannot open", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_mo(buffer.str(), path);
}

}  // namespace tessera::mt
