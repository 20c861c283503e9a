#pragma once
// A small fake tree of the corpus sources (fortune files, WordNet data files, a SWORD zText
// module built with zlib, a dpkg status file and copyright files), so the corpus builder is
// tested without the Debian packages.
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data_test_helpers.h"
#include "tessera/train/corpus.h"

namespace tessera::train::testing {

inline void append_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Writes <folder>/<testament>.bzs/.bzv/.bzz holding `verses` (OSIS fragments), `per_block`
// verses per zlib block, the first slot empty as in real modules.
inline void write_ztext_testament(const std::string& folder, const std::string& testament,
                                  const std::vector<std::string>& verses, size_t per_block) {
  std::string bzs, bzv, bzz;
  bzv.append(10, '\0');  // slot 0: no text
  for (size_t first = 0; first < verses.size(); first += per_block) {
    std::string block;
    const uint32_t block_number = static_cast<uint32_t>(bzs.size() / 12);
    for (size_t v = first; v < std::min(verses.size(), first + per_block); ++v) {
      append_u32(bzv, block_number);
      append_u32(bzv, static_cast<uint32_t>(block.size()));
      bzv.push_back(static_cast<char>(verses[v].size() & 0xff));
      bzv.push_back(static_cast<char>(verses[v].size() >> 8));
      block += verses[v];
    }
    uLongf compressed_size = compressBound(block.size());
    std::string compressed(compressed_size, '\0');
    EXPECT_EQ(compress(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size,
                       reinterpret_cast<const Bytef*>(block.data()), block.size()),
              Z_OK);
    compressed.resize(compressed_size);
    append_u32(bzs, static_cast<uint32_t>(bzz.size()));
    append_u32(bzs, static_cast<uint32_t>(compressed.size()));
    append_u32(bzs, static_cast<uint32_t>(block.size()));
    bzz += compressed;
  }
  write_bytes(folder + "/" + testament + ".bzs", bzs);
  write_bytes(folder + "/" + testament + ".bzv", bzv);
  write_bytes(folder + "/" + testament + ".bzz", bzz);
}

inline std::string fake_sentence(int i) {
  static const char* subjects[] = {"The cat", "A farmer", "Every king", "The river", "My friend"};
  static const char* verbs[] = {"watched", "carried", "remembered", "crossed", "praised"};
  static const char* objects[] = {"the quiet hill", "a golden lamp", "the long road",
                                  "their old house", "the morning bread"};
  return std::string(subjects[i % 5]) + " " + verbs[(i / 5) % 5] + " " + objects[(i / 25) % 5] +
         " on day " + std::to_string(i) + ".";
}

// Builds the tree under `root` and returns paths pointing at it.
inline CorpusSourcePaths write_fake_sources(const std::filesystem::path& root) {
  CorpusSourcePaths paths;
  paths.fortunes = (root / "games/fortunes").string();
  paths.wordnet = (root / "wordnet").string();
  paths.bible = (root / "sword/engWEB").string();
  paths.dpkg_status = (root / "dpkg/status").string();
  paths.package_docs = (root / "doc").string();

  std::string alpha = "Underlined: _\bw_\bo_\br_\bd and bold X\bX.\x07   \n%\n";
  for (int i = 0; i < 40; ++i) alpha += fake_sentence(i) + "\n\t\t-- Someone\n%\n";
  alpha += "Bad byte \xff here\n%\n";        // invalid UTF-8: dropped
  alpha += "   \n\n%\n";                     // empty: dropped
  alpha += fake_sentence(3) + "\n\t\t-- Someone\n";  // duplicate of an earlier fortune
  write_bytes(paths.fortunes + "/alpha", alpha);
  std::string beta;
  for (int i = 40; i < 70; ++i) beta += fake_sentence(i) + "\n\n" + fake_sentence(i + 1) + "\n%\n";
  write_bytes(paths.fortunes + "/beta", beta);
  write_bytes(paths.fortunes + "/alpha.dat", std::string("\x00\x00\x00\x02\xff\xfe", 6));
  std::filesystem::create_symlink("alpha", paths.fortunes + "/alpha.u8");

  const std::string header =
      "  1 This software and database is being provided to you, the LICENSEE  \n"
      "  2 by Princeton University under the following license.  \n";
  write_bytes(paths.wordnet + "/data.adj",
              header + "00001740 00 a 01 able 0 005 = 05200169 n 0000 | having the means; "
                       "\"able to swim\"  \n"
                       "00002098 00 a 02 unable(p) 0 ineffective 0 000 | not able  \n");
  write_bytes(paths.wordnet + "/data.adv",
              header + "00001740 02 r 01 a_cappella 0 000 | without musical accompaniment  \n");
  std::string nouns = header;
  for (int i = 0; i < 30; ++i) {
    nouns += "0000" + std::to_string(1000 + i) + " 03 n 02 thing_" + std::to_string(i) +
             " 0 Thing_" + std::to_string(i) + " 1 000 | " + fake_sentence(100 + i) + "  \n";
  }
  write_bytes(paths.wordnet + "/data.noun", nouns);
  write_bytes(paths.wordnet + "/data.verb",
              header + "00001740 29 v 01 breathe 0 001 * 00005041 v 0000 02 + 02 00 | draw air "
                       "into, and expel out of, the lungs  \n");

  std::vector<std::string> verses = {
      "<div osisID=\"Gen\" sID=\"b1\" type=\"book\"/><title type=\"main\">Genesis</title>"
      "<chapter n=\"1\" osisID=\"Gen.1\" sID=\"Gen.1\"/>",
      "<w lemma=\"strong:H1\">In</w> the beginning,<note placement=\"foot\">or, "
      "<reference>1:1</reference> first</note>God created.",
      "<div sID=\"p1\" type=\"x-p\"/>Light &amp; dark.<note>n</note> Day one.",
  };
  for (int i = 0; i < 20; ++i) verses.push_back(fake_sentence(200 + i));
  verses.push_back("<chapter eID=\"Gen.1\"/><chapter n=\"2\" osisID=\"Gen.2\" sID=\"Gen.2\"/>"
                   "<lg sID=\"x\"/><l sID=\"y\"/>Line one,<l eID=\"y\"/><l sID=\"z\"/>line two.");
  for (int i = 0; i < 20; ++i) verses.push_back(fake_sentence(300 + i));
  write_ztext_testament(paths.bible, "ot", verses, 7);

  write_bytes(paths.dpkg_status,
              "Package: fortunes\nStatus: install ok installed\nVersion: 1:1.99.1-7.3\n\n"
              "Package: fortunes-min\nStatus: install ok installed\nVersion: 1:1.99.1-7.3\n\n"
              "Package: wordnet-base\nStatus: deinstall ok config-files\nVersion: 1:3.0-37\n\n"
              "Package: sword-text-web\nStatus: install ok installed\nVersion: 426.0-1\n");
  write_bytes((root / "doc/sword-text-web/copyright").string(), "Public domain (test copy)\n");
  write_bytes((root / "doc/fortunes/copyright").string(), "BSD (test copy)\n");
  return paths;
}

}  // namespace tessera::train::testing
