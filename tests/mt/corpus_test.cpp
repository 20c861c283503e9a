// The NLLB corpus builder: .mo parsing (both byte orders, contexts, plurals), locale -> NLLB
// codes, cleaning rules, and a corpus built from generated catalogues whose splits share no
// English sentence.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <unistd.h>

#include "tessera/core/error.h"
#include "tessera/mt/corpus_builder.h"
#include "tessera/mt/gettext_catalog.h"
#include "tessera/mt/language_id.h"
#include "tessera/mt/nllb_languages.h"

namespace tessera::mt {
namespace {

namespace fs = std::filesystem;

// A .mo file written from the format's description (header entry first, as msgfmt does).
std::string make_mo(std::vector<std::pair<std::string, std::string>> entries,
                    bool big_endian = false, const std::string& charset = "UTF-8") {
  entries.insert(entries.begin(), {"", "Content-Type: text/plain; charset=" + charset + "\n"});
  const uint32_t n = static_cast<uint32_t>(entries.size());
  std::string strings;
  std::vector<uint32_t> table_o, table_t;
  const uint32_t base = 28 + 16 * n;
  for (auto& [id, text] : entries) {
    table_o.push_back(static_cast<uint32_t>(id.size()));
    table_o.push_back(base + static_cast<uint32_t>(strings.size()));
    strings += id + '\0';
  }
  for (auto& [id, text] : entries) {
    table_t.push_back(static_cast<uint32_t>(text.size()));
    table_t.push_back(base + static_cast<uint32_t>(strings.size()));
    strings += text + '\0';
  }
  std::string out;
  auto put = [&](uint32_t v) {
    if (big_endian) v = __builtin_bswap32(v);
    out.append(reinterpret_cast<const char*>(&v), 4);
  };
  put(0x950412de);
  put(0);
  put(n);
  put(28);
  put(28 + 8 * n);
  put(0);
  put(0);
  for (uint32_t v : table_o) put(v);
  for (uint32_t v : table_t) put(v);
  return out + strings;
}

TEST(GettextCatalog, ParsesBothByteOrdersContextsAndPlurals) {
  for (bool big : {false, true}) {
    std::string mo = make_mo(
        {{"Open the file", "Ouvrir le fichier"},
         {std::string("menu\x04Quit now"), "Quitter maintenant"},
         {std::string("One file\0%d files", 17), std::string("Un fichier\0%d fichiers", 21)},
         {"Untranslated", ""}},
        big);
    auto m = parse_mo(mo, "x.mo");
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(m[0].source, "Open the file");
    EXPECT_EQ(m[1].source, "Quit now");
    EXPECT_EQ(m[1].translation, "Quitter maintenant");
    EXPECT_TRUE(m[2].plural);
    EXPECT_EQ(m[2].translation, "Un fichier");
    EXPECT_EQ(mo_charset(mo, "x.mo"), "UTF-8");
  }
  EXPECT_THROW(parse_mo("not a catalogue at all, sorry", "bad.mo"), Error);
  std::string truncated = make_mo({{"a b c", "d e f"}});
  truncated.resize(40);
  EXPECT_THROW(parse_mo(truncated, "cut.mo"), Error);
}

TEST(NllbLanguages, LocalesMapToNllbCodes) {
  EXPECT_EQ(nllb_code_for_locale("fr"), "fra_Latn");
  EXPECT_EQ(nllb_code_for_locale("pt_BR"), "por_Latn");
  EXPECT_EQ(nllb_code_for_locale("zh_CN"), "zho_Hans");
  EXPECT_EQ(nllb_code_for_locale("zh_TW"), "zho_Hant");
  EXPECT_EQ(nllb_code_for_locale("ru"), "rus_Cyrl");
  EXPECT_EQ(nllb_code_for_locale("ar"), "arb_Arab");
  EXPECT_EQ(nllb_code_for_locale("sr@latin"), "srp_Latn");
  EXPECT_EQ(nllb_code_for_locale("ast"), "ast_Latn");
  EXPECT_FALSE(nllb_code_for_locale("en_GB"));
  EXPECT_FALSE(nllb_code_for_locale("en@quot"));
  EXPECT_FALSE(nllb_code_for_locale("C"));
  EXPECT_FALSE(nllb_code_for_locale("xx"));
  EXPECT_EQ(cld2_code_for("fra_Latn"), "fr");
  EXPECT_EQ(cld2_code_for("arb_Arab"), "ar");
}

TEST(CorpusCleaning, RulesAndReasons) {
  EXPECT_EQ(clean_message("<b>Save</b> the &amp; _File  now\n"), "Save the & File now");
  EXPECT_EQ(clean_message("&Open recent (_O)"), "Open recent");
  EXPECT_TRUE(has_placeholder("Cannot open %s"));
  EXPECT_TRUE(has_placeholder("%(name)s was removed"));
  EXPECT_TRUE(has_placeholder("Hello {0}"));
  EXPECT_TRUE(has_placeholder("Set ${HOME} first"));
  EXPECT_FALSE(has_placeholder("100% sure of it"));
  CleaningRules r;
  EXPECT_EQ(reject_reason("Cannot open %s now", "Impossible d'ouvrir %s", r), "placeholder");
  EXPECT_EQ(reject_reason("Quit", "Quitter", r), "short");
  EXPECT_EQ(reject_reason("Show the hidden files", "Show the hidden files", r), "untranslated");
  EXPECT_EQ(
      reject_reason("Show the hidden files",
                    "Ceci est une traduction beaucoup beaucoup trop longue pour l'original", r),
      "ratio");
  EXPECT_EQ(reject_reason("See https://example.org for more", "Voir https://example.org", r),
            "url-or-option");
  EXPECT_EQ(reject_reason("Show the hidden files", "Afficher les fichiers \xff cach\xc3\xa9s", r),
            "invalid-utf8");
  EXPECT_FALSE(reject_reason("Show the hidden files", "Afficher les fichiers cach\xc3\xa9s", r));
  EXPECT_TRUE(valid_utf8("caf\xc3\xa9"));
  EXPECT_FALSE(valid_utf8("caf\xc3"));
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));
}

TEST(LanguageId, Cld2RecognisesClearText) {
  EXPECT_TRUE(
      language_matches("Le chat est assis sur le tapis et regarde la fenêtre de la maison.", "fr"));
  EXPECT_FALSE(language_matches(
      "The cat is sitting on the carpet and looking at the window of the house.", "fr"));
  EXPECT_TRUE(language_matches("ok", "fr"));  // too short to be reliable: kept
}

TEST(CorpusBuilder, SplitsShareNoEnglishSentenceAndCountsAreWritten) {
  fs::path root = fs::temp_directory_path() / ("tessera_corpus_" + std::to_string(getpid()));
  fs::remove_all(root);
  const char* locales[] = {"fr", "de", "pt_BR", "pt", "en_GB"};
  for (const char* loc : locales) {
    fs::create_directories(root / "locale" / loc / "LC_MESSAGES");
    std::vector<std::pair<std::string, std::string>> entries;
    for (int i = 0; i < 300; ++i)
      entries.emplace_back("Remove the selected item number " + std::to_string(i),
                           std::string(loc) + " retirer element numero " + std::to_string(i));
    entries.emplace_back("Remove the selected item number 7",
                         "duplicate english");  // dropped as duplicate
    entries.emplace_back("Cannot open %s today", "placeholder text");
    std::ofstream(root / "locale" / loc / "LC_MESSAGES" / "app.mo", std::ios::binary)
        << make_mo(entries);
    std::ofstream(root / "locale" / loc / "LC_MESSAGES" / "latin1.mo", std::ios::binary)
        << make_mo({{"Another message of words", "caf\xe9 au lait"}}, false, "ISO-8859-1");
  }
  CorpusBuildOptions o;
  o.out = (root / "corpus").string();
  o.locale_dir = (root / "locale").string();
  o.include_bible = false;
  o.dev_fraction = 0.1;
  o.test_fraction = 0.1;
  CorpusReport r = build_parallel_corpus(o);
  ASSERT_EQ(r.languages.size(), 3u);  // fra, deu, por (pt and pt_BR merged; en_GB is English)
  EXPECT_EQ(r.languages["por_Latn"].total(), 300);  // pt_BR's duplicates of pt's English dropped
  EXPECT_EQ(r.rejected["placeholder"], 4);
  EXPECT_GE(r.rejected["duplicate"], 300);
  EXPECT_EQ(r.catalogues_skipped, 4);  // the Latin-1 catalogues
  std::map<std::string, std::set<std::string>> english_by_split;
  for (const char* split : {"train", "dev", "test"})
    for (const std::string& code : corpus_languages(o.out, split))
      for (const ParallelPair& p :
           read_pair_file((fs::path(o.out) / split / ("eng_Latn-" + code + ".tsv")).string()))
        english_by_split[split].insert(p.english);
  EXPECT_GT(english_by_split["dev"].size(), 10u);
  EXPECT_GT(english_by_split["test"].size(), 10u);
  for (const auto& e : english_by_split["train"]) {
    EXPECT_FALSE(english_by_split["dev"].count(e));
    EXPECT_FALSE(english_by_split["test"].count(e));
  }
  for (const auto& e : english_by_split["dev"]) EXPECT_FALSE(english_by_split["test"].count(e));
  EXPECT_TRUE(fs::exists(fs::path(o.out) / "counts.json"));
  EXPECT_TRUE(fs::exists(fs::path(o.out) / "counts.tsv"));
  fs::remove_all(root);
}

}  // namespace
}  // namespace tessera::mt
