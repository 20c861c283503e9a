#pragma once
// Readers for the English text that Debian packages ship, each turning its package's files
// into cleaned documents with fixed rules (so the same package versions always give the same
// bytes):
//   fortunes  - /usr/share/games/fortunes (fortunes, fortunes-min): one document per
//               fortune, files in name order, `.dat` indexes and `.u8` links skipped.
//   wordnet   - /usr/share/wordnet/data.{adj,adv,noun,verb} (wordnet-base): one document per
//               synset, "lemma, lemma: gloss".
//   web       - the World English Bible SWORD module (sword-text-web): one document per
//               chapter, read straight from the zText files (zlib blocks), OSIS markup
//               removed, footnotes and headings dropped, paragraphs and poetry lines kept as
//               line breaks.
// Every document then goes through clean_document().
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::train {

struct SourceDocuments {
  std::vector<std::string> documents;
  std::vector<std::string> files;  // what was read, for SOURCES.md
  int64_t raw_bytes = 0;           // bytes of those files (decompressed for the Bible)
  int64_t dropped_documents = 0;   // invalid UTF-8 or empty after cleaning
};

// The fixed cleaning rules, in order: documents that are not valid UTF-8 are dropped (empty
// result); backspace overstrikes ("_\bX", "X\b_") keep the visible character; other control
// characters except newline and tab are removed; trailing whitespace is stripped from every
// line; blank lines are removed (documents are stored blank-line separated). Returns the
// empty string for a document with nothing left.
std::string clean_document(std::string_view text);

// Each reader throws BadInput naming the folder or file (and the package that provides it)
// when it is missing or malformed.
SourceDocuments read_fortunes(const std::string& folder);
SourceDocuments read_wordnet_glosses(const std::string& folder);
SourceDocuments read_sword_ztext_bible(const std::string& module_folder);

// One OSIS fragment (a verse entry of the SWORD module) to plain text: elements `note` and
// `title` are dropped with their content, paragraph and poetry-line markers become newlines,
// other tags vanish, entities are decoded. A footnote between two words leaves a space.
std::string osis_to_text(std::string_view osis);

}  // namespace tessera::train
