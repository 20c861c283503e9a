#pragma once
// Reader for GNU gettext message catalogues (.mo files, both byte orders): the English msgid
// and its translation, with message contexts stripped and plural entries reduced to their
// singular forms. Used as parallel text for the NLLB corpus (mt/corpus_builder.h).
#include <string>
#include <utility>
#include <vector>

namespace tessera::mt {

struct CatalogMessage {
  std::string source;       // msgid (singular)
  std::string translation;  // msgstr (first plural form)
  bool plural = false;
};

// All translated messages of a .mo file except the header entry. Throws BadInput naming the
// file when it is not a catalogue or its tables point outside the file.
std::vector<CatalogMessage> read_mo_file(const std::string& path);
// The same from bytes in memory (`name` is used in error messages).
std::vector<CatalogMessage> parse_mo(const std::string& bytes, const std::string& name);
// The charset of a catalogue's header ("UTF-8" when the header does not say).
std::string mo_charset(const std::string& bytes, const std::string& name);

}  // namespace tessera::mt
