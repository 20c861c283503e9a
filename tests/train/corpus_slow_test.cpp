// The default corpus from the real Debian packages (label `slow`): at least 5 MB of text,
// built well within the two-minute budget, with provenance and usable token datasets.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "data_test_helpers.h"
#include "tessera/train/corpus.h"
#include "tessera/train/data_dataset.h"
#include "tessera/train/data_loader.h"

namespace tessera::train {
namespace {
namespace fs = std::filesystem;
using testing::read_bytes;
using testing::ScratchDir;

TEST(CorpusPackages, DefaultCorpusFromInstalledPackages) {
  const CorpusSourcePaths defaults;
  for (const std::string& folder : {defaults.fortunes, defaults.wordnet, defaults.bible}) {
    ASSERT_TRUE(fs::is_directory(folder))
        << folder << " is missing: run scripts/setup.sh (packages fortunes, fortunes-min, "
        << "wordnet-base, sword-text-web)";
  }
  ScratchDir dir;
  CorpusOptions options;
  options.out = dir.file("corpus");
  const auto start = std::chrono::steady_clock::now();
  const CorpusReport report = build_default_corpus(options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 120.0);

  EXPECT_GE(report.train_bytes + report.valid_bytes, 5'000'000);
  ASSERT_EQ(report.sources.size(), 3u);
  for (const CorpusSourceSummary& source : report.sources) {
    EXPECT_GT(source.documents, 1000) << source.name;
    for (const CorpusPackage& package : source.packages) {
      EXPECT_NE(package.version, "not installed") << package.name;
    }
  }
  // The valid split is a small, non-trivial share of every source.
  EXPECT_GT(report.valid_bytes, 100'000);
  EXPECT_LT(report.valid_bytes, (report.train_bytes + report.valid_bytes) / 20);

  const std::string sources = read_bytes(dir.file("corpus/SOURCES.md"));
  for (const char* package : {"sword-text-web", "fortunes-min", "wordnet-base"}) {
    EXPECT_NE(sources.find(package), std::string::npos) << package;
    EXPECT_TRUE(fs::exists(dir.file("corpus/licenses/" + std::string(package) + ".copyright")));
  }

  // A 4096-token BPE on English compresses to well under one token per three bytes.
  TokenDataset train = TokenDataset::open(find_split_folder(options.out, "train"));
  TokenDataset valid = TokenDataset::open(find_split_folder(options.out, "valid"));
  EXPECT_EQ(train.vocab_size(), 4096);
  EXPECT_LT(static_cast<double>(train.num_tokens()) / report.train_bytes, 0.34);
  EXPECT_NO_THROW(valid.check_token_ids());
  PackedBatches batches(train, {.batch_size = 8, .seq_len = 256, .seed = 1, .shuffle = true});
  TokenBatch batch;
  ASSERT_TRUE(batches.next(batch));
  EXPECT_EQ(batch.inputs.size(), 8u * 256u);
}

}  // namespace
}  // namespace tessera::train
