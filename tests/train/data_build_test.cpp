// `data build`: document splitting, train/valid split, determinism across thread counts,
// and the path through a real tokenizer.json.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "data_test_helpers.h"
#include "tessera/core/parallel.h"
#include "tessera/text/utf8.h"
#include "tessera/train/data_build.h"
#include "tessera/train/data_dataset.h"
#include "tessera/train/data_hash.h"
#include "tessera/train/data_tokenizer.h"

namespace tessera::train {
namespace {
namespace fs = std::filesystem;
using testing::byte_encoder;
using testing::expect_bad_input;
using testing::folder_contents;
using testing::ScratchDir;
using testing::write_bytes;

std::vector<std::string> split(std::string_view text, DocumentMode mode) {
  std::vector<std::string_view> views;
  split_documents(text, mode, views);
  return {views.begin(), views.end()};
}

TEST(DataBuild, SplitsLines) {
  EXPECT_EQ(split("a\nbb\r\n\n  \n\tc d\nlast", DocumentMode::Lines),
            (std::vector<std::string>{"a", "bb", "\tc d", "last"}));
  EXPECT_TRUE(split("", DocumentMode::Lines).empty());
  EXPECT_TRUE(split("\n\n \r\n", DocumentMode::Lines).empty());
}

TEST(DataBuild, SplitsParagraphs) {
  EXPECT_EQ(split("one\ntwo\r\n\r\nthree\n \t\n\n\nfour\nfive\n", DocumentMode::Paragraphs),
            (std::vector<std::string>{"one\ntwo", "three", "four\nfive"}));
  EXPECT_EQ(split("\n\nsolo", DocumentMode::Paragraphs), (std::vector<std::string>{"solo"}));
}

// A few hundred documents, some duplicated, in two files.
void write_inputs(const ScratchDir& dir) {
  std::string first, second;
  for (int i = 0; i < 300; ++i) {
    std::string line = "document number " + std::to_string(i * 7919 % 1000) + " says hello";
    (i % 2 ? first : second) += line + "\n";
    if (i % 50 == 0) second += line + "\n";  // duplicates of documents in the other file
  }
  write_bytes(dir.file("in/a.txt"), first);
  write_bytes(dir.file("in/b.txt"), second);
}

DataBuildOptions options_for(const ScratchDir& dir, const std::string& out) {
  DataBuildOptions options;
  options.inputs = {dir.file("in/a.txt"), dir.file("in/b.txt")};
  options.out = dir.file(out);
  options.shard_tokens = 1000;
  options.valid_fraction = 0.2;
  options.seed = 5;
  options.append_eos = true;
  return options;
}

std::vector<std::string> decode_documents(const std::string& folder) {
  TokenDataset dataset = TokenDataset::open(folder);
  std::vector<int32_t> ids = dataset.read(0, dataset.num_tokens());
  std::vector<std::string> documents;
  std::string current;
  for (int32_t id : ids) {
    if (id == 256) {
      documents.push_back(current);
      current.clear();
    } else {
      current.push_back(static_cast<char>(id));
    }
  }
  EXPECT_TRUE(current.empty()) << "stream must end with the end-of-document id";
  return documents;
}

TEST(DataBuild, ValidSplitIsByDocumentHash) {
  ScratchDir dir;
  write_inputs(dir);
  const DataBuildReport report = build_token_dataset(options_for(dir, "out"), byte_encoder());
  ASSERT_TRUE(report.valid.has_value());
  EXPECT_EQ(report.train.split, "train");
  EXPECT_EQ(report.valid->split, "valid");
  EXPECT_EQ(report.train.eos_token_id, 256);
  EXPECT_EQ(report.train.num_documents + report.valid->num_documents, 306);
  const auto train = decode_documents(dir.file("out/train"));
  const auto valid = decode_documents(dir.file("out/valid"));
  EXPECT_EQ(train.size() + valid.size(), 306u);
  // About 20% valid, and no text on both sides (duplicates land together).
  EXPECT_GT(valid.size(), 30u);
  EXPECT_LT(valid.size(), 100u);
  std::set<std::string> train_set(train.begin(), train.end());
  for (const std::string& document : valid) EXPECT_EQ(train_set.count(document), 0u) << document;
  // Input order is kept inside a split: the first train document is the first line of a.txt
  // unless that line went to valid.
  EXPECT_TRUE(train[0] == "document number 919 says hello" ||
              valid[0] == "document number 919 says hello");

  // Another seed gives another split; no valid fraction gives no valid folder.
  DataBuildOptions other = options_for(dir, "out2");
  other.seed = 6;
  build_token_dataset(other, byte_encoder());
  EXPECT_NE(decode_documents(dir.file("out2/valid")), valid);
  DataBuildOptions train_only = options_for(dir, "out2");
  train_only.valid_fraction = 0;
  const DataBuildReport train_report = build_token_dataset(train_only, byte_encoder());
  EXPECT_FALSE(train_report.valid.has_value());
  EXPECT_EQ(train_report.train.num_documents, 306);
  EXPECT_FALSE(fs::exists(dir.file("out2/valid/index.json")));
}

TEST(DataBuild, IdenticalBytesForAnyThreadCount) {
  ScratchDir dir;
  write_inputs(dir);
  const int saved = num_threads();
  std::vector<std::map<std::string, std::string>> outputs;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    DataBuildOptions options = options_for(dir, "out" + std::to_string(threads));
    options.shard_tokens = 777;  // several shards, boundaries mid-document
    build_token_dataset(options, byte_encoder());
    outputs.push_back(folder_contents(options.out));
  }
  set_num_threads(saved);
  ASSERT_EQ(outputs[0].size(), outputs[1].size());
  for (const auto& [name, bytes] : outputs[0]) {
    ASSERT_TRUE(outputs[1].count(name)) << name;
    EXPECT_EQ(bytes, outputs[1].at(name)) << name << " differs between 1 and 2 threads";
    EXPECT_EQ(bytes, outputs[2].at(name)) << name << " differs between 1 and 3 threads";
  }
  EXPECT_GT(outputs[0].size(), 6u);  // index + documents + several shards per split
}

TEST(DataBuild, ReportsBadOptions) {
  ScratchDir dir;
  write_inputs(dir);
  DataBuildOptions options = options_for(dir, "out");
  options.inputs.push_back(dir.file("in/missing.txt"));
  expect_bad_input([&] { build_token_dataset(options, byte_encoder()); },
                   "in/missing.txt: input file not found");
  options = options_for(dir, "out");
  options.valid_fraction = 1.0;
  expect_bad_input([&] { build_token_dataset(options, byte_encoder()); },
                   "valid fraction must be in [0, 1)");
  options = options_for(dir, "out");
  TokenEncoder no_eos = byte_encoder();
  no_eos.eos_token_id.reset();
  expect_bad_input([&] { build_token_dataset(options, no_eos); }, "--append-eos needs an end-of-document token");
  options.inputs.clear();
  expect_bad_input([&] { build_token_dataset(options, byte_encoder()); }, "no input files");
}

// A minimal byte-level BPE tokenizer.json: the 256 byte tokens, two merges and an end-of-text
// special token, in the schema of Hugging Face tokenizers.
std::string tiny_tokenizer_json() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) {
    vocab[text::bytes_to_byte_level(std::string(1, static_cast<char>(b)))] = b;
  }
  vocab["he"] = 256;
  vocab["hel"] = 257;
  nlohmann::json root = {
      {"version", "1.0"},
      {"added_tokens",
       {{{"id", 258}, {"content", "<|endoftext|>"}, {"single_word", false}, {"lstrip", false},
         {"rstrip", false}, {"normalized", false}, {"special", true}}}},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
        {"use_regex", true}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true},
                   {"use_regex", true}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
        {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
        {"merges", {"h e", "he l"}}}},
  };
  return root.dump();
}

TEST(DataBuild, RealTokenizerJson) {
  ScratchDir dir;
  write_bytes(dir.file("tok/tokenizer.json"), tiny_tokenizer_json());
  write_bytes(dir.file("in/a.txt"), "hello\n<|endoftext|> hel\n");
  const TokenEncoder encoder = load_token_encoder(dir.file("tok/tokenizer.json"));
  EXPECT_EQ(encoder.vocab_size, 259);
  EXPECT_EQ(encoder.eos_token_id, 258);
  DataBuildOptions options;
  options.inputs = {dir.file("in/a.txt")};
  options.out = dir.file("out");
  options.append_eos = true;
  build_token_dataset(options, encoder);
  TokenDataset dataset = TokenDataset::open(dir.file("out/train"));
  EXPECT_EQ(dataset.index().tokenizer.sha256, sha256_file_hex(dir.file("tok/tokenizer.json")));
  const std::vector<int32_t> ids = dataset.read(0, dataset.num_tokens());
  // "hello" -> hel l o, then eos; the literal "<|endoftext|>" in the text is plain text,
  // never the special id, so only the appended end-of-document ids are 258.
  ASSERT_GE(ids.size(), 5u);
  EXPECT_EQ(ids[0], 257);
  EXPECT_EQ(ids[1], 'l');
  EXPECT_EQ(ids[2], 'o');
  EXPECT_EQ(ids[3], 258);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 258), 2);
  EXPECT_EQ(ids.back(), 258);
  EXPECT_EQ(dataset.document_starts(), (std::vector<uint64_t>{0, 4}));
}

}  // namespace
}  // namespace tessera::train
