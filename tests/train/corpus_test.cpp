// The default-corpus builder on a small fake tree of its sources: cleaning rules, each
// reader, the whole build (files, split, tokenizer, shards, provenance) and determinism.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "corpus_fixtures.h"
#include "data_test_helpers.h"
#include "tessera/core/parallel.h"
#include "tessera/text/tokenizer.h"
#include "tessera/train/corpus.h"
#include "tessera/train/corpus_sources.h"
#include "tessera/train/data_build.h"
#include "tessera/train/data_dataset.h"

namespace tessera::train {
namespace {
namespace fs = std::filesystem;
using testing::expect_bad_input;
using testing::fake_sentence;
using testing::folder_contents;
using testing::read_bytes;
using testing::ScratchDir;
using testing::write_bytes;
using testing::write_fake_sources;

TEST(CorpusSources, CleaningRules) {
  EXPECT_EQ(clean_document("_\bw_\bo X\bY a\b_ \x07ok\r\n\n\n  \nnext  \t\n"), "wo Y a ok\nnext");
  EXPECT_EQ(clean_document("\tindented\n\t\t-- Author"), "\tindented\n\t\t-- Author");
  EXPECT_EQ(clean_document("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(clean_document("bad \xc3\x28 utf8"), "");
  EXPECT_EQ(clean_document(" \n\t\n"), "");
}

TEST(CorpusSources, OsisToText) {
  EXPECT_EQ(osis_to_text("<w lemma=\"x\">Christ</w>,<note placement=\"foot\"><reference>1:1"
                         "</reference>Messiah</note><w>the</w> son"),
            "Christ, the son");
  EXPECT_EQ(osis_to_text("word<note>n</note>. End"), "word. End");
  EXPECT_EQ(osis_to_text("word <note>n</note>next"), "word next");
  EXPECT_EQ(osis_to_text("said,<note>n</note>\xE2\x80\x9Cquote"), "said, \xE2\x80\x9Cquote");
  EXPECT_EQ(osis_to_text("end<note>n</note>\xE2\x80\x9D"), "end\xE2\x80\x9D");
  EXPECT_EQ(osis_to_text("<title type=\"psalm\">A <w>Psalm</w></title>Text &amp; more &lt;x&gt;"),
            "\nText & more <x>");
  EXPECT_EQ(osis_to_text("a<div sID=\"1\" type=\"x-p\"/>b<l sID=\"2\"/>c<milestone/>d"),
            "a\nb\ncd");
  EXPECT_EQ(osis_to_text("cut <w"), "cut ");
}

TEST(CorpusSources, ReadsFortunes) {
  ScratchDir dir;
  const CorpusSourcePaths paths = write_fake_sources(dir.path());
  const SourceDocuments fortunes = read_fortunes(paths.fortunes);
  ASSERT_EQ(fortunes.files.size(), 2u);  // alpha.dat and the alpha.u8 link are skipped
  EXPECT_TRUE(fortunes.files[0].ends_with("/alpha"));
  EXPECT_TRUE(fortunes.files[1].ends_with("/beta"));
  EXPECT_EQ(fortunes.dropped_documents, 2);  // invalid UTF-8 and blank
  // 1 + 40 + the duplicate (de-duplication happens later) + 30 from beta.
  ASSERT_EQ(fortunes.documents.size(), 72u);
  EXPECT_EQ(fortunes.documents[0], "Underlined: word and bold X.");
  EXPECT_EQ(fortunes.documents[1], fake_sentence(0) + "\n\t\t-- Someone");
  EXPECT_EQ(fortunes.documents[41], fake_sentence(3) + "\n\t\t-- Someone");
  // A blank line inside a fortune is removed, keeping its two lines.
  EXPECT_EQ(fortunes.documents[42], fake_sentence(40) + "\n" + fake_sentence(41));
  expect_bad_input([&] { read_fortunes(dir.file("missing")); }, "Debian package fortunes");
}

TEST(CorpusSources, ReadsWordnetGlosses) {
  ScratchDir dir;
  const CorpusSourcePaths paths = write_fake_sources(dir.path());
  const SourceDocuments wordnet = read_wordnet_glosses(paths.wordnet);
  ASSERT_EQ(wordnet.documents.size(), 34u);
  EXPECT_EQ(wordnet.documents[0], "able: having the means; \"able to swim\"");
  EXPECT_EQ(wordnet.documents[1], "unable, ineffective: not able");
  EXPECT_EQ(wordnet.documents[2], "a cappella: without musical accompaniment");
  EXPECT_EQ(wordnet.documents[3], "thing 0, Thing 0: " + fake_sentence(100));
  EXPECT_EQ(wordnet.documents[33], "breathe: draw air into, and expel out of, the lungs");
  write_bytes(paths.wordnet + "/data.verb", "00001740 29 v 05 breathe 0 | gloss\n");
  expect_bad_input([&] { read_wordnet_glosses(paths.wordnet); }, "data.verb:1: malformed synset line");
  fs::remove(paths.wordnet + "/data.verb");
  expect_bad_input([&] { read_wordnet_glosses(paths.wordnet); }, "data.verb: cannot read (Debian package wordnet-base");
}

TEST(CorpusSources, ReadsSwordModuleByChapter) {
  ScratchDir dir;
  const CorpusSourcePaths paths = write_fake_sources(dir.path());
  const SourceDocuments bible = read_sword_ztext_bible(paths.bible);
  ASSERT_EQ(bible.documents.size(), 2u);
  std::string chapter1 = "In the beginning, God created.\nLight & dark. Day one.";
  for (int i = 0; i < 20; ++i) {
    chapter1 += ' ';
    chapter1 += fake_sentence(200 + i);
  }
  EXPECT_EQ(bible.documents[0], chapter1);
  std::string chapter2_start = "Line one,\nline two. ";
  chapter2_start += fake_sentence(300);
  EXPECT_TRUE(bible.documents[1].starts_with(chapter2_start)) << bible.documents[1];
  EXPECT_EQ(bible.files.size(), 1u);  // ot only: a module may lack a testament
  EXPECT_GT(bible.raw_bytes, 1000);

  // A corrupt block is reported with its file.
  std::string data = read_bytes(paths.bible + "/ot.bzz");
  data[data.size() / 2] ^= 0x5a;
  data[data.size() / 2 + 1] ^= 0x33;
  write_bytes(paths.bible + "/ot.bzz", data);
  expect_bad_input([&] { read_sword_ztext_bible(paths.bible); }, "ot.bzz: block");
  fs::remove(paths.bible + "/ot.bzs");
  expect_bad_input([&] { read_sword_ztext_bible(paths.bible); }, "no ot.bzs or nt.bzs");
}

TEST(CorpusSources, PackageVersionsFromDpkgStatus) {
  ScratchDir dir;
  const CorpusSourcePaths paths = write_fake_sources(dir.path());
  EXPECT_EQ(installed_package_version(paths.dpkg_status, "fortunes"), "1:1.99.1-7.3");
  EXPECT_EQ(installed_package_version(paths.dpkg_status, "sword-text-web"), "426.0-1");
  // Removed with only its configuration left: not installed.
  EXPECT_EQ(installed_package_version(paths.dpkg_status, "wordnet-base"), std::nullopt);
  EXPECT_EQ(installed_package_version(paths.dpkg_status, "nothing"), std::nullopt);
  EXPECT_EQ(installed_package_version(dir.file("no-status"), "fortunes"), std::nullopt);
}

CorpusOptions small_corpus_options(const CorpusSourcePaths& paths, const std::string& out) {
  CorpusOptions options;
  options.out = out;
  options.paths = paths;
  options.vocab_size = 600;
  options.valid_fraction = 0.2;
  options.seed = 3;
  options.min_bytes = 0;
  options.shard_tokens = 500;
  return options;
}

std::vector<std::string> paragraphs_of(const std::string& path) {
  const std::string text = read_bytes(path);
  std::vector<std::string_view> views;
  split_documents(text, DocumentMode::Paragraphs, views);
  return {views.begin(), views.end()};
}

TEST(Corpus, BuildsTheWholeFolder) {
  ScratchDir dir;
  const CorpusSourcePaths paths = write_fake_sources(dir.path());
  const CorpusOptions options = small_corpus_options(paths, dir.file("corpus"));
  const CorpusReport report = build_default_corpus(options);

  ASSERT_EQ(report.sources.size(), 3u);
  EXPECT_EQ(report.sources[0].name, "web");
  EXPECT_EQ(report.sources[1].name, "fortunes");
  EXPECT_EQ(report.sources[1].duplicate_documents, 1);
  EXPECT_EQ(report.sources[1].documents, 71);
  EXPECT_EQ(report.sources[1].dropped_documents, 2);
  EXPECT_EQ(report.sources[2].documents, 34);
  int64_t documents = 0;
  for (const auto& source : report.sources) {
    documents += source.documents;
    EXPECT_EQ(source.train_documents + source.valid_documents, source.documents);
  }
  EXPECT_EQ(report.train.num_documents + report.valid.num_documents, documents);
  EXPECT_GT(report.valid.num_documents, 10);

  // The text files hold exactly the documents of each split, blank-line separated.
  const auto train_text = paragraphs_of(dir.file("corpus/train.txt"));
  const auto valid_text = paragraphs_of(dir.file("corpus/valid.txt"));
  EXPECT_EQ(static_cast<int64_t>(train_text.size()), report.train.num_documents);
  EXPECT_EQ(static_cast<int64_t>(valid_text.size()), report.valid.num_documents);

  // Token datasets decode back to the same documents, each ended by <|endoftext|>.
  const TokenDataset valid = TokenDataset::open(find_split_folder(options.out, "valid"));
  EXPECT_EQ(valid.index().tokenizer.path, "../tokenizer.json");
  EXPECT_EQ(fs::path(valid.tokenizer_path()), fs::path(dir.file("corpus/tokenizer.json")));
  auto tokenizer = text::load_tokenizer(valid.tokenizer_path());
  ASSERT_TRUE(valid.index().eos_token_id.has_value());
  const int32_t eos = *valid.index().eos_token_id;
  EXPECT_EQ(tokenizer->id_to_token(eos), "<|endoftext|>");
  EXPECT_LE(valid.vocab_size(), 600);
  const std::vector<int32_t> ids = valid.read(0, valid.num_tokens());
  std::vector<std::string> decoded;
  std::vector<int32_t> current;
  for (int32_t id : ids) {
    if (id == eos) {
      decoded.push_back(tokenizer->decode(current));
      current.clear();
    } else {
      current.push_back(id);
    }
  }
  EXPECT_EQ(decoded, valid_text);
  EXPECT_NO_THROW(TokenDataset::open(find_split_folder(options.out, "train")).check_token_ids());

  // Provenance.
  const std::string sources = read_bytes(dir.file("corpus/SOURCES.md"));
  EXPECT_NE(sources.find("`sword-text-web` (426.0-1)"), std::string::npos) << sources;
  EXPECT_NE(sources.find("`wordnet-base` (not installed)"), std::string::npos);
  EXPECT_NE(sources.find("Public domain"), std::string::npos);
  EXPECT_NE(sources.find("WordNet 3.0 licence"), std::string::npos);
  EXPECT_NE(sources.find("copied to `licenses/fortunes.copyright`"), std::string::npos);
  EXPECT_NE(sources.find("no copyright file at"), std::string::npos);
  EXPECT_EQ(read_bytes(dir.file("corpus/licenses/fortunes.copyright")), "BSD (test copy)\n");
  const auto manifest = nlohmann::json::parse(read_bytes(dir.file("corpus/corpus.json")));
  EXPECT_EQ(manifest["datasets"]["valid"]["tokens"], valid.num_tokens());
  EXPECT_EQ(manifest["sources"][1]["packages"][0]["name"], "fortunes-min");
}

TEST(Corpus, SameInputsGiveIdenticalBytesAtAnyThreadCount) {
  ScratchDir dir;
  const CorpusSourcePaths paths = write_fake_sources(dir.path());
  const int saved = num_threads();
  set_num_threads(1);
  build_default_corpus(small_corpus_options(paths, dir.file("one")));
  set_num_threads(2);
  build_default_corpus(small_corpus_options(paths, dir.file("two")));
  set_num_threads(saved);
  const auto one = folder_contents(dir.file("one"));
  const auto two = folder_contents(dir.file("two"));
  ASSERT_EQ(one.size(), two.size());
  for (const auto& [name, bytes] : one) {
    ASSERT_TRUE(two.count(name)) << name;
    EXPECT_EQ(bytes, two.at(name)) << name << " differs";
  }
  EXPECT_TRUE(one.count("train/index.json"));
  EXPECT_TRUE(one.count("tokenizer.json"));

  // Another seed moves documents between the splits.
  CorpusOptions reseeded = small_corpus_options(paths, dir.file("three"));
  reseeded.seed = 4;
  build_default_corpus(reseeded);
  EXPECT_NE(read_bytes(dir.file("three/valid.txt")), one.at("valid.txt"));
}

TEST(Corpus, ReportsMissingSourcesAndBadOptions) {
  ScratchDir dir;
  CorpusSourcePaths paths = write_fake_sources(dir.path());
  CorpusOptions options = small_corpus_options(paths, dir.file("c"));
  options.min_bytes = 10'000'000;
  expect_bad_input([&] { build_default_corpus(options); }, "below the minimum of 10000000");
  options = small_corpus_options(paths, dir.file("c"));
  options.sources = {"web", "gutenberg"};
  expect_bad_input([&] { build_default_corpus(options); }, "unknown corpus source \"gutenberg\"");
  options.sources = {"web", "web"};
  expect_bad_input([&] { build_default_corpus(options); }, "named twice");
  options = small_corpus_options(paths, dir.file("c"));
  options.paths.bible = dir.file("nowhere");
  expect_bad_input([&] { build_default_corpus(options); }, "Debian package sword-text-web");
  options = small_corpus_options(paths, dir.file("c"));
  options.vocab_size = 100;
  expect_bad_input([&] { build_default_corpus(options); }, "vocab size must be in [512");
  // Only some sources: still a valid corpus.
  options = small_corpus_options(paths, dir.file("c"));
  options.sources = {"fortunes"};
  const CorpusReport report = build_default_corpus(options);
  EXPECT_EQ(report.sources.size(), 1u);
  EXPECT_FALSE(fs::exists(dir.file("c/licenses/sword-text-web.copyright")));
}

}  // namespace
}  // namespace tessera::train
