#include "tessera/mt/bible_pairs.h"

#include <filesystem>

#include <swmgr.h>
#include <swmodule.h>
#include <versekey.h>

#include "tessera/core/error.h"
#include "tessera/mt/corpus_cleaning.h"

namespace tessera::mt {

std::vector<VersePair> read_verse_pairs(const std::string& sword_path,
                                        const std::string& first_module,
                                        const std::string& second_module) {
  TESSERA_CHECK_INPUT(std::filesystem::is_directory(sword_path),
                      "{}: no SWORD library (packages sword-text-web, sword-text-sparv)",
                      sword_path);
  sword::SWMgr manager(sword_path.c_str());
  for (const char* option : {"Footnotes", "Headings", "Strong's Numbers", "Cross-references",
                             "Morphological Tags", "Words of Christ in Red", "Lemmas", "Glosses"})
    manager.setGlobalOption(option, "Off");
  sword::SWModule* first = manager.getModule(first_module.c_str());
  sword::SWModule* second = manager.getModule(second_module.c_str());
  TESSERA_CHECK_INPUT(first != nullptr,
                      "{}: SWORD module {} is not installed (package sword-text-web)", sword_path,
                      first_module);
  TESSERA_CHECK_INPUT(second != nullptr,
                      "{}: SWORD module {} is not installed (package sword-text-sparv)", sword_path,
                      second_module);
  std::vector<VersePair> pairs;
  first->setPosition(sword::TOP);
  while (!first->popError()) {
    const auto* key = dynamic_cast<const sword::VerseKey*>(first->getKey());
    std::string reference = key ? key->getShortText() : first->getKeyText();
    std::string a = clean_message(first->stripText());
    second->setKey(reference.c_str());
    // Versifications differ (NRSVA vs KJV): a reference the second module lacks snaps elsewhere.
    const auto* second_key = dynamic_cast<const sword::VerseKey*>(second->getKey());
    bool same_verse = second_key != nullptr && reference == second_key->getShortText();
    if (!second->popError() && same_verse) {
      std::string b = clean_message(second->stripText());
      if (!a.empty() && !b.empty() && valid_utf8(a) && valid_utf8(b))
        pairs.push_back({reference, a, b});
    }
    first->increment();
  }
  return pairs;
}

}  // namespace tessera::mt
