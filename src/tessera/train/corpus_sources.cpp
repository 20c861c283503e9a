#include "tessera/train/corpus_sources.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tessera/core/error.h"
#include "tessera/text/utf8.h"

namespace tessera::train {
namespace fs = std::filesystem;

namespace {

std::string read_file_bytes(const fs::path& path, std::string_view package) {
  std::ifstream in(path, std::ios::binary);
  TESSERA_CHECK_INPUT(in.good(), "{}: cannot read (Debian package {}; run scripts/setup.sh)",
                      path.string(), package);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return std::move(bytes).str();
}

bool is_line_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (is_line_space(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (is_line_space(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

void add_document(SourceDocuments& source, std::string_view raw) {
  std::string cleaned = clean_document(raw);
  if (cleaned.empty()) {
    ++source.dropped_documents;
  } else {
    source.documents.push_back(std::move(cleaned));
  }
}

void require_folder(const std::string& folder, std::string_view package) {
  TESSERA_CHECK_INPUT(fs::is_directory(folder),
                      "{}: not found (Debian package {}; run scripts/setup.sh or point the "
                      "corpus builder at another folder)",
                      folder, package);
}

uint32_t load_u32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

// The attribute text of a tag contains `needle` (attributes are matched textually: the
// module's OSIS is machine-written with double quotes).
bool tag_has(std::string_view tag, std::string_view needle) {
  return tag.find(needle) != std::string_view::npos;
}

std::string_view tag_name(std::string_view tag) {  // tag without '<' and '>'
  size_t begin = (!tag.empty() && tag[0] == '/') ? 1 : 0;
  size_t end = begin;
  while (end < tag.size() && tag[end] != ' ' && tag[end] != '/' && tag[end] != '>') ++end;
  return tag.substr(begin, end - begin);
}

constexpr char kNoteMarker = '\x01';

// Resolves footnote markers: a space where the note separated two words ("Christ,<note/>the"),
// nothing where the next character is already a space or closing punctuation.
std::string resolve_note_markers(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != kNoteMarker) {
      out.push_back(text[i]);
      continue;
    }
    size_t next = i + 1;
    while (next < text.size() && text[next] == kNoteMarker) ++next;
    const bool previous_is_space = out.empty() || std::isspace(static_cast<unsigned char>(out.back()));
    bool next_is_closing = next >= text.size() ||
                           std::strchr(" \t\n,.;:!?)]'\"", text[next]) != nullptr;
    // U+2019 and U+201D (right single and double quotation marks) close too.
    for (std::string_view quote : {"\xE2\x80\x99", "\xE2\x80\x9D"}) {
      if (!next_is_closing && text.compare(next, quote.size(), quote) == 0) next_is_closing = true;
    }
    if (!previous_is_space && !next_is_closing) out.push_back(' ');
  }
  return out;
}

// Collapses runs of spaces and tabs and trims every line (the Bible's markup leaves spaces
// around removed tags).
std::string collapse_spaces(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t newline = text.find('\n', pos);
    if (newline == std::string_view::npos) newline = text.size();
    std::string_view line = trim_spaces(text.substr(pos, newline - pos));
    bool in_space = false;
    for (char c : line) {
      if (is_line_space(c)) {
        in_space = true;
        continue;
      }
      if (in_space) out.push_back(' ');
      in_space = false;
      out.push_back(c);
    }
    if (newline < text.size()) out.push_back('\n');
    pos = newline + 1;
  }
  return out;
}

}  // namespace

std::string clean_document(std::string_view text) {
  if (!text::utf8_is_valid(text)) return {};
  std::string visible;
  visible.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\b') {
      // Overstrike: "_\bX" underlines X and "X\b_" too; "X\bY" prints Y over X.
      const bool has_next = i + 1 < text.size() && text[i + 1] != '\n';
      if (!visible.empty() && has_next && static_cast<unsigned char>(visible.back()) < 0x80) {
        if (text[i + 1] == '_') {
          ++i;  // keep the character before, skip the underscore
        } else {
          visible.pop_back();
        }
      }
      continue;
    }
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) continue;
    visible.push_back(static_cast<char>(c));
  }
  std::string out;
  out.reserve(visible.size());
  size_t pos = 0;
  while (pos < visible.size()) {
    size_t newline = visible.find('\n', pos);
    if (newline == std::string::npos) newline = visible.size();
    std::string_view line(visible.data() + pos, newline - pos);
    while (!line.empty() && is_line_space(line.back())) line.remove_suffix(1);
    if (!line.empty()) {
      if (!out.empty()) out.push_back('\n');
      out.append(line);
    }
    pos = newline + 1;
  }
  return out;
}

SourceDocuments read_fortunes(const std::string& folder) {
  constexpr std::string_view package = "fortunes";
  require_folder(folder, package);
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    // `.dat` files are strfile's binary indexes; `.u8` names are symlinks to the same text.
    if (entry.is_symlink() || !entry.is_regular_file()) continue;
    if (name.ends_with(".dat") || name.ends_with(".u8") || name.starts_with(".")) continue;
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  TESSERA_CHECK_INPUT(!files.empty(), "{}: holds no fortune files (Debian packages fortunes, "
                                      "fortunes-min)",
                      folder);
  SourceDocuments source;
  for (const fs::path& file : files) {
    const std::string bytes = read_file_bytes(file, package);
    source.files.push_back(file.string());
    source.raw_bytes += static_cast<int64_t>(bytes.size());
    // Fortunes are separated by lines holding only "%".
    size_t begin = 0, pos = 0;
    while (pos <= bytes.size()) {
      size_t newline = bytes.find('\n', pos);
      if (newline == std::string::npos) newline = bytes.size();
      const std::string_view line(bytes.data() + pos, newline - pos);
      const bool separator = trim_spaces(line) == "%";
      const bool at_end = newline == bytes.size();
      if (separator || at_end) {
        const size_t end = separator ? pos : bytes.size();
        if (end > begin) add_document(source, std::string_view(bytes).substr(begin, end - begin));
        begin = newline + 1;
      }
      pos = newline + 1;
    }
  }
  return source;
}

SourceDocuments read_wordnet_glosses(const std::string& folder) {
  constexpr std::string_view package = "wordnet-base";
  require_folder(folder, package);
  SourceDocuments source;
  for (const char* part : {"data.adj", "data.adv", "data.noun", "data.verb"}) {
    const fs::path file = fs::path(folder) / part;
    const std::string bytes = read_file_bytes(file, package);
    source.files.push_back(file.string());
    source.raw_bytes += static_cast<int64_t>(bytes.size());
    size_t pos = 0, line_number = 0;
    while (pos < bytes.size()) {
      size_t newline = bytes.find('\n', pos);
      if (newline == std::string::npos) newline = bytes.size();
      const std::string_view line(bytes.data() + pos, newline - pos);
      pos = newline + 1;
      ++line_number;
      if (line.empty() || line[0] == ' ') continue;  // the licence header lines are indented
      const size_t bar = line.find(" | ");
      if (bar == std::string_view::npos) {  // a synset without a gloss gives no document
        ++source.dropped_documents;
        continue;
      }
      // synset_offset lex_filenum ss_type w_cnt(hex) [word lex_id(hex)]...
      std::vector<std::string_view> fields;
      for (size_t i = 0; i < bar;) {
        size_t space = line.find(' ', i);
        if (space == std::string_view::npos || space > bar) space = bar;
        if (space > i) fields.push_back(line.substr(i, space - i));
        i = space + 1;
      }
      int64_t word_count = -1;
      if (fields.size() >= 4) {
        const std::string count_text(fields[3]);
        char* end = nullptr;
        word_count = std::strtol(count_text.c_str(), &end, 16);
        if (end == count_text.c_str() || *end != '\0') word_count = -1;
      }
      TESSERA_CHECK_INPUT(word_count > 0 && fields.size() >= 4 + 2 * static_cast<size_t>(word_count),
                          "{}:{}: malformed synset line (expected offset, lex_filenum, ss_type, "
                          "w_cnt and w_cnt words)",
                          file.string(), line_number);
      std::vector<std::string> lemmas;
      for (int64_t w = 0; w < word_count; ++w) {
        std::string lemma(fields[4 + 2 * static_cast<size_t>(w)]);
        // Adjective syntactic markers: (a) attributive, (p) predicative, (ip) postnominal.
        for (const char* marker : {"(a)", "(p)", "(ip)"}) {
          if (lemma.ends_with(marker)) lemma.resize(lemma.size() - std::strlen(marker));
        }
        std::replace(lemma.begin(), lemma.end(), '_', ' ');
        if (std::find(lemmas.begin(), lemmas.end(), lemma) == lemmas.end()) {
          lemmas.push_back(std::move(lemma));
        }
      }
      std::string document;
      for (size_t i = 0; i < lemmas.size(); ++i) {
        if (i > 0) document += ", ";
        document += lemmas[i];
      }
      document += ": ";
      document += trim_spaces(line.substr(bar + 3));
      add_document(source, document);
    }
  }
  return source;
}

std::string osis_to_text(std::string_view osis) {
  std::string text;
  text.reserve(osis.size() / 2);
  size_t pos = 0;
  while (pos < osis.size()) {
    const char c = osis[pos];
    if (c == '&') {
      static constexpr std::pair<std::string_view, char> kEntities[] = {
          {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
      bool decoded = false;
      for (const auto& [entity, character] : kEntities) {
        if (osis.compare(pos, entity.size(), entity) == 0) {
          text.push_back(character);
          pos += entity.size();
          decoded = true;
          break;
        }
      }
      if (!decoded) text.push_back(osis[pos++]);
      continue;
    }
    if (c != '<') {
      text.push_back(c);
      ++pos;
      continue;
    }
    const size_t close = osis.find('>', pos);
    if (close == std::string_view::npos) break;  // a cut-off tag: nothing readable follows
    const std::string_view tag = osis.substr(pos + 1, close - pos - 1);
    pos = close + 1;
    const std::string_view name = tag_name(tag);
    const bool is_end = !tag.empty() && tag[0] == '/';
    const bool self_closing = !tag.empty() && tag.back() == '/';
    if (!is_end && !self_closing && (name == "note" || name == "title")) {
      // Skip to the matching end tag (nesting of the same element counted).
      int depth = 1;
      while (depth > 0 && pos < osis.size()) {
        const size_t open = osis.find('<', pos);
        if (open == std::string_view::npos) {
          pos = osis.size();
          break;
        }
        const size_t inner_close = osis.find('>', open);
        if (inner_close == std::string_view::npos) {
          pos = osis.size();
          break;
        }
        const std::string_view inner = osis.substr(open + 1, inner_close - open - 1);
        if (tag_name(inner) == name && !inner.empty() && inner.back() != '/') {
          depth += inner[0] == '/' ? -1 : 1;
        }
        pos = inner_close + 1;
      }
      text.push_back(name == "note" ? kNoteMarker : '\n');
      continue;
    }
    const bool paragraph = name == "div" && tag_has(tag, "type=\"x-p\"");
    if (paragraph || name == "l" || name == "lg" || name == "lb") text.push_back('\n');
  }
  return resolve_note_markers(text);
}

SourceDocuments read_sword_ztext_bible(const std::string& module_folder) {
  constexpr std::string_view package = "sword-text-web";
  require_folder(module_folder, package);
  SourceDocuments source;
  std::string chapter;  // OSIS-stripped text of the chapter being read
  auto flush_chapter = [&] {
    const std::string text = collapse_spaces(chapter);
    // Book introductions hold only headings, which are dropped: not a lost document.
    if (text.find_first_not_of(" \n") != std::string::npos) add_document(source, text);
    chapter.clear();
  };
  int testaments_read = 0;
  for (const char* testament : {"ot", "nt"}) {
    const fs::path base = fs::path(module_folder) / testament;
    const fs::path block_index_path = base.string() + ".bzs";
    const fs::path verse_index_path = base.string() + ".bzv";
    const fs::path data_path = base.string() + ".bzz";
    if (!fs::exists(block_index_path)) continue;  // a module may hold one testament only
    ++testaments_read;
    const std::string block_index = read_file_bytes(block_index_path, package);
    const std::string verse_index = read_file_bytes(verse_index_path, package);
    const std::string data = read_file_bytes(data_path, package);
    source.files.push_back(data_path.string());
    TESSERA_CHECK_INPUT(block_index.size() % 12 == 0,
                        "{}: {} bytes is not a whole number of 12-byte block entries",
                        block_index_path.string(), block_index.size());
    TESSERA_CHECK_INPUT(verse_index.size() % 10 == 0,
                        "{}: {} bytes is not a whole number of 10-byte verse entries",
                        verse_index_path.string(), verse_index.size());
    const size_t block_count = block_index.size() / 12;
    const auto* blocks = reinterpret_cast<const uint8_t*>(block_index.data());
    const auto* verses = reinterpret_cast<const uint8_t*>(verse_index.data());

    size_t cached_block = SIZE_MAX;
    std::string block_text;
    for (size_t v = 0; v < verse_index.size() / 10; ++v) {
      const uint32_t block = load_u32(verses + 10 * v);
      const uint32_t offset = load_u32(verses + 10 * v + 4);
      const uint32_t size = uint32_t(verses[10 * v + 8]) | (uint32_t(verses[10 * v + 9]) << 8);
      if (size == 0) continue;  // versification slot without text
      TESSERA_CHECK_INPUT(block < block_count, "{}: verse entry {} names block {} of {}",
                          verse_index_path.string(), v, block, block_count);
      if (block != cached_block) {
        const uint32_t data_offset = load_u32(blocks + 12 * block);
        const uint32_t compressed_size = load_u32(blocks + 12 * block + 4);
        const uint32_t uncompressed_size = load_u32(blocks + 12 * block + 8);
        TESSERA_CHECK_INPUT(uint64_t(data_offset) + compressed_size <= data.size(),
                            "{}: block {} lies past the end of the file", data_path.string(),
                            block);
        block_text.assign(uncompressed_size, '\0');
        uLongf produced = uncompressed_size;
        const int status = uncompress(reinterpret_cast<Bytef*>(block_text.data()), &produced,
                                      reinterpret_cast<const Bytef*>(data.data() + data_offset),
                                      compressed_size);
        TESSERA_CHECK_INPUT(status == Z_OK && produced == uncompressed_size,
                            "{}: block {} does not inflate to {} bytes (zlib status {})",
                            data_path.string(), block, uncompressed_size, status);
        source.raw_bytes += uncompressed_size;
        cached_block = block;
      }
      TESSERA_CHECK_INPUT(uint64_t(offset) + size <= block_text.size(),
                          "{}: verse entry {} reaches past the end of block {}",
                          verse_index_path.string(), v, block);
      std::string_view entry(block_text.data() + offset, size);
      // A chapter's start tag opens a new document; the markup before it belongs to the end
      // of the previous one.
      for (;;) {
        size_t chapter_tag = entry.find("<chapter ");
        while (chapter_tag != std::string_view::npos) {
          const size_t end = entry.find('>', chapter_tag);
          if (end != std::string_view::npos &&
              tag_has(entry.substr(chapter_tag, end - chapter_tag), "sID=")) {
            break;
          }
          chapter_tag = entry.find("<chapter ", chapter_tag + 1);
        }
        if (chapter_tag == std::string_view::npos) break;
        chapter += osis_to_text(entry.substr(0, chapter_tag));
        flush_chapter();
        const size_t end = entry.find('>', chapter_tag);
        entry.remove_prefix(end + 1);
      }
      chapter += osis_to_text(entry);
      chapter.push_back(' ');
    }
  }
  TESSERA_CHECK_INPUT(testaments_read > 0,
                      "{}: no ot.bzs or nt.bzs (a SWORD zText module; Debian package {})",
                      module_folder, package);
  flush_chapter();
  return source;
}

}  // namespace tessera::train
