#include "tessera/mt/metrics_io.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tessera/core/error.h"
#include "tessera/mt/metrics_unicode.h"

namespace tessera::mt {

std::vector<std::string> split_segments(const std::string& text, const std::string& source) {
  TESSERA_CHECK_INPUT(!text.empty(), "{}: file is empty", source);
  size_t invalid = find_invalid_utf8(text);
  if (invalid != std::string::npos) {
    size_t line_start = text.rfind('\n', invalid == 0 ? 0 : invalid - 1);
    line_start = (line_start == std::string::npos || invalid == 0) ? 0 : line_start + 1;
    size_t line_number = 1;
    for (size_t i = 0; i < line_start; ++i) line_number += text[i] == '\n';
    throw bad_input("{}: line {}: invalid UTF-8 at byte {} of the line (0x{:02X})", source,
                    line_number, invalid - line_start + 1,
                    static_cast<unsigned>(static_cast<unsigned char>(text[invalid])));
  }
  std::vector<std::string> segments;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    segments.emplace_back(rstrip_whitespace(line));
    start = end + 1;
  }
  return segments;
}

std::vector<std::string> read_segments(const std::string& path) {
  std::error_code error;
  TESSERA_CHECK_INPUT(std::filesystem::exists(path, error), "{}: no such file", path);
  TESSERA_CHECK_INPUT(!std::filesystem::is_directory(path, error), "{}: is a directory, not a text file", path);
  std::ifstream file(path, std::ios::binary);
  TESSERA_CHECK_INPUT(file.good(), "{}: cannot open file", path);
  std::ostringstream contents;
  contents << file.rdbuf();
  TESSERA_CHECK_INPUT(!file.bad(), "{}: read error", path);
  return split_segments(contents.str(), path);
}

}  // namespace tessera::mt
