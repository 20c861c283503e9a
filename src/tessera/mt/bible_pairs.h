#pragma once
// Verse pairs from two SWORD Bible modules (World English Bible vs Reina-Valera 1909 as Debian
// ships them: sword-text-web, sword-text-sparv), read through libsword with notes, headings,
// Strong's numbers and cross-references switched off. Verses are matched by reference; a verse
// missing or empty in either module is skipped.
#include <string>
#include <vector>

namespace tessera::mt {

struct VersePair {
  std::string reference;  // "Gen 1:1"
  std::string first, second;
};

// Throws BadInput naming the module (and the package that provides it) when it is not installed.
std::vector<VersePair> read_verse_pairs(const std::string& sword_path,
                                        const std::string& first_module,
                                        const std::string& second_module);

}  // namespace tessera::mt
