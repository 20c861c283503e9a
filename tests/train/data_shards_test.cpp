// Shard files and index.json: round trip, validation errors, atomic replacement.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <numeric>

#include "data_test_helpers.h"
#include "tessera/train/data_dataset.h"
#include "tessera/train/data_hash.h"
#include "tessera/train/data_shards.h"

namespace tessera::train {
namespace {
namespace fs = std::filesystem;
using testing::expect_bad_input;
using testing::read_bytes;
using testing::ScratchDir;
using testing::write_bytes;

DatasetIndex small_template(int64_t vocab = 100) {
  DatasetIndex index;
  index.split = "train";
  index.vocab_size = vocab;
  index.tokenizer = {"tok.json", std::string(64, 'a')};
  index.creation = {{"note", "test"}};
  return index;
}

// Documents of lengths 5, 9, 1, 12 with ids (7 * k) % 100: crosses several 4-token shards.
std::vector<std::vector<int32_t>> sample_documents() {
  std::vector<std::vector<int32_t>> documents;
  int32_t k = 0;
  for (int length : {5, 9, 1, 12}) {
    std::vector<int32_t> ids;
    for (int i = 0; i < length; ++i, ++k) ids.push_back((7 * k) % 100);
    documents.push_back(ids);
  }
  return documents;
}

void write_sample(const std::string& folder, int64_t shard_tokens = 4) {
  ShardWriter writer(folder, shard_tokens, small_template());
  for (const auto& document : sample_documents()) writer.add_document(document);
  writer.finish();
}

TEST(DataShards, RoundTripAcrossShards) {
  ScratchDir dir;
  const std::string folder = dir.file("ds");
  write_sample(folder);
  TokenDataset dataset = TokenDataset::open(folder);
  const DatasetIndex& index = dataset.index();
  EXPECT_EQ(index.num_tokens, 27);
  EXPECT_EQ(index.num_documents, 4);
  ASSERT_EQ(index.shards.size(), 7u);  // 6 full shards of 4 and one of 3
  EXPECT_EQ(index.shards[0].file, "tokens-00000.bin");
  EXPECT_EQ(index.shards[6].file, "tokens-00006.bin");
  EXPECT_EQ(index.shards[6].tokens, 3);
  EXPECT_EQ(index.shards[6].first_token, 24);
  EXPECT_EQ(index.tokenizer.path, "tok.json");
  EXPECT_EQ(index.creation["note"], "test");

  std::vector<int32_t> expected;
  for (const auto& document : sample_documents()) {
    expected.insert(expected.end(), document.begin(), document.end());
  }
  EXPECT_EQ(dataset.read(0, 27), expected);
  // A read that starts mid-shard and spans three shards.
  EXPECT_EQ(dataset.read(3, 7), std::vector<int32_t>(expected.begin() + 3, expected.begin() + 10));
  EXPECT_EQ(dataset.document_starts(), (std::vector<uint64_t>{0, 5, 14, 15}));
  EXPECT_NO_THROW(dataset.check_token_ids());

  // The bytes on disk are little-endian uint32.
  const std::string raw = read_bytes((fs::path(folder) / "tokens-00001.bin").string());
  ASSERT_EQ(raw.size(), 16u);
  uint32_t first;
  std::memcpy(&first, raw.data(), 4);
  EXPECT_EQ(first, static_cast<uint32_t>(expected[4]));
  EXPECT_EQ(static_cast<unsigned char>(raw[0]), expected[4] & 0xff);
}

TEST(DataShards, MissingShardIsNamed) {
  ScratchDir dir;
  const std::string folder = dir.file("ds");
  write_sample(folder);
  fs::remove(fs::path(folder) / "tokens-00003.bin");
  expect_bad_input([&] { TokenDataset::open(folder); }, "tokens-00003.bin: shard named by the index is missing");
}

TEST(DataShards, TruncatedShardIsNamed) {
  ScratchDir dir;
  const std::string folder = dir.file("ds");
  write_sample(folder);
  const std::string path = (fs::path(folder) / "tokens-00002.bin").string();
  fs::resize_file(path, 10);
  expect_bad_input([&] { TokenDataset::open(folder); }, "tokens-00002.bin: 10 bytes but the index says 4 tokens");
}

TEST(DataShards, BadJsonAndMissingIndex) {
  ScratchDir dir;
  const std::string folder = dir.file("ds");
  write_sample(folder);
  const std::string index_path = (fs::path(folder) / "index.json").string();
  const std::string good = read_bytes(index_path);
  write_bytes(index_path, good.substr(0, good.size() / 2));
  expect_bad_input([&] { TokenDataset::open(folder); }, "index.json: not valid JSON");

  write_bytes(index_path, "[1, 2]");
  expect_bad_input([&] { TokenDataset::open(folder); }, "expected a JSON object");

  auto with = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json root = nlohmann::json::parse(good);
    edit(root);
    write_bytes(index_path, root.dump());
  };
  with([](nlohmann::json& root) { root.erase("vocab_size"); });
  expect_bad_input([&] { TokenDataset::open(folder); }, "missing field \"vocab_size\"");
  with([](nlohmann::json& root) { root["num_tokens"] = 26; });
  expect_bad_input([&] { TokenDataset::open(folder); }, "shards hold 27 tokens but num_tokens is 26");
  with([](nlohmann::json& root) { root["shards"][1]["first_token"] = 3; });
  expect_bad_input([&] { TokenDataset::open(folder); }, "shards[1]: first_token is 3");
  with([](nlohmann::json& root) { root["shards"][0]["file"] = "../escape.bin"; });
  expect_bad_input([&] { TokenDataset::open(folder); }, "must be a plain name");
  with([](nlohmann::json& root) { root["version"] = 99; });
  expect_bad_input([&] { TokenDataset::open(folder); }, "format version 99 is not supported");
  with([](nlohmann::json& root) { root["eos_token_id"] = 100; });
  expect_bad_input([&] { TokenDataset::open(folder); }, "eos_token_id");

  fs::remove(index_path);
  expect_bad_input([&] { TokenDataset::open(folder); }, "index.json: missing");
  expect_bad_input([&] { TokenDataset::open(dir.file("nowhere")); }, "no such directory");
}

TEST(DataShards, DocumentsFileIsChecked) {
  ScratchDir dir;
  const std::string folder = dir.file("ds");
  write_sample(folder);
  fs::resize_file(fs::path(folder) / "documents.bin", 24);
  expect_bad_input([&] { TokenDataset::open(folder); }, "documents.bin: 24 bytes but the index says 4 documents");
}

TEST(DataShards, OutOfVocabularyIdsAreReported) {
  ScratchDir dir;
  const std::string folder = dir.file("ds");
  write_sample(folder);
  // Overwrite the second token of shard 5 (global position 21) with an id >= vocab_size.
  const std::string path = (fs::path(folder) / "tokens-00005.bin").string();
  std::string raw = read_bytes(path);
  const uint32_t bad = 100;
  std::memcpy(raw.data() + 4, &bad, 4);
  write_bytes(path, raw);
  TokenDataset dataset = TokenDataset::open(folder);  // sizes still match: opening succeeds
  EXPECT_NO_THROW(dataset.read(0, 20));
  expect_bad_input([&] { dataset.read(18, 5); }, "tokens-00005.bin: token 21 (position 1 of the shard) is 100");
  expect_bad_input([&] { dataset.check_token_ids(); }, "tokens-00005.bin: position 1 holds id 100");
}

TEST(DataShards, WriterRejectsOutOfVocabularyIds) {
  ScratchDir dir;
  ShardWriter writer(dir.file("ds"), 4, small_template(10));
  const std::vector<int32_t> ids{1, 2, 10};
  expect_bad_input([&] { writer.add_document(ids); }, "token id 10 in document 0 is outside the vocabulary [0, 10)");
}

TEST(DataShards, RewriteRemovesStaleShardsAndInterruptedRunLeavesNoIndex) {
  ScratchDir dir;
  const std::string folder = dir.file("ds");
  write_sample(folder, 4);
  write_bytes((fs::path(folder) / "notes.txt").string(), "kept");
  // Rewrite with bigger shards: the old tokens-00002..6 must disappear.
  write_sample(folder, 10);
  TokenDataset dataset = TokenDataset::open(folder);
  EXPECT_EQ(dataset.index().shards.size(), 3u);
  EXPECT_FALSE(fs::exists(fs::path(folder) / "tokens-00003.bin"));
  EXPECT_TRUE(fs::exists(fs::path(folder) / "notes.txt"));

  {
    // A run that dies after writing a shard but before finish(): no index names anything.
    ShardWriter writer(folder, 4, small_template());
    writer.add_document(sample_documents()[1]);
  }
  EXPECT_FALSE(fs::exists(fs::path(folder) / "index.json"));
  expect_bad_input([&] { TokenDataset::open(folder); }, "index.json: missing");
  for (const auto& entry : fs::directory_iterator(folder)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos)
        << entry.path();
  }
}

TEST(DataShards, FindSplitFolder) {
  ScratchDir dir;
  write_sample(dir.file("data/train"));
  EXPECT_EQ(find_split_folder(dir.file("data"), "train"), dir.file("data/train"));
  EXPECT_EQ(find_split_folder(dir.file("data/train"), "train"), dir.file("data/train"));
  expect_bad_input([&] { find_split_folder(dir.file("data"), "valid"); }, "no \"valid\" split");
  expect_bad_input([&] { find_split_folder(dir.file("data/train"), "valid"); },
                   "holds split \"train\", not \"valid\"");
}

TEST(DataHash, Sha256KnownAnswers) {
  // FIPS 180-4 examples, plus a message that needs a second padding block.
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 incremental;
  const std::string million_a(1000000, 'a');
  for (size_t i = 0; i < million_a.size(); i += 999) {
    incremental.update(std::string_view(million_a).substr(i, 999));
  }
  EXPECT_EQ(incremental.hex_digest(),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(DataHash, SeededHashDependsOnSeedAndBytes) {
  EXPECT_EQ(seeded_hash64("document", 1), seeded_hash64("document", 1));
  EXPECT_NE(seeded_hash64("document", 1), seeded_hash64("document", 2));
  EXPECT_NE(seeded_hash64("document", 1), seeded_hash64("documenu", 1));
  // Roughly uniform: of 10k strings about 10% fall below 0.1.
  int below = 0;
  for (int i = 0; i < 10000; ++i) below += hash_to_unit(seeded_hash64(std::to_string(i), 7)) < 0.1;
  EXPECT_NEAR(below, 1000, 120);
}

}  // namespace
}  // namespace tessera::train
