// PackedBatches: window packing, seeded per-epoch shuffling, exact resume, sequential mode.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "data_test_helpers.h"
#include "tessera/train/data_loader.h"
#include "tessera/train/data_shards.h"

namespace tessera::train {
namespace {
using testing::expect_bad_input;
using testing::ScratchDir;

// A dataset whose token at position p is p % vocab, so a window's position is readable from
// its ids. 1001 tokens in shards of 64, documents of 100.
TokenDataset counting_dataset(const ScratchDir& dir, int64_t tokens = 1001, int64_t vocab = 5000) {
  DatasetIndex index;
  index.vocab_size = vocab;
  index.tokenizer = {"none", std::string(64, '0')};
  ShardWriter writer(dir.file("ds"), 64, index);
  for (int64_t start = 0; start < tokens; start += 100) {
    std::vector<int32_t> ids;
    for (int64_t p = start; p < std::min(tokens, start + 100); ++p) {
      ids.push_back(static_cast<int32_t>(p % vocab));
    }
    writer.add_document(ids);
  }
  writer.finish();
  return TokenDataset::open(dir.file("ds"));
}

PackedBatchOptions options(int64_t batch, int64_t seq_len, uint64_t seed, bool shuffle = true) {
  PackedBatchOptions o;
  o.batch_size = batch;
  o.seq_len = seq_len;
  o.seed = seed;
  o.shuffle = shuffle;
  return o;
}

TEST(DataLoader, WindowsArePackedAndShifted) {
  ScratchDir dir;
  PackedBatches loader(counting_dataset(dir), options(4, 16, 1));
  EXPECT_EQ(loader.num_windows(), 62);  // (1001 - 1) / 16
  TokenBatch batch;
  ASSERT_TRUE(loader.next(batch));
  EXPECT_EQ(batch.rows, 4);
  EXPECT_EQ(batch.seq_len, 16);
  for (int64_t row = 0; row < batch.rows; ++row) {
    const int64_t start = batch.windows[row] * 16;
    for (int64_t t = 0; t < 16; ++t) {
      EXPECT_EQ(batch.inputs[row * 16 + t], start + t);
      EXPECT_EQ(batch.targets[row * 16 + t], start + t + 1);
    }
  }
  Tensor inputs = batch.inputs_tensor();
  EXPECT_EQ(inputs.shape(), (Shape{4, 16}));
  EXPECT_EQ(inputs.dtype(), DType::i64);
  EXPECT_EQ(batch.targets_tensor(DType::i32).to_vector<int32_t>(), batch.targets);
}

TEST(DataLoader, EachEpochIsAPermutationAndSeedsMatter) {
  ScratchDir dir;
  TokenDataset dataset = counting_dataset(dir);
  PackedBatches loader(dataset, options(5, 16, 42));
  std::vector<int64_t> epoch0 = loader.window_order(0), epoch1 = loader.window_order(1);
  std::vector<int64_t> sorted = epoch0;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> all(62);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(sorted, all);
  EXPECT_NE(epoch0, all);
  EXPECT_NE(epoch0, epoch1);
  EXPECT_EQ(PackedBatches(dataset, options(5, 16, 42)).window_order(1), epoch1);
  EXPECT_NE(PackedBatches(dataset, options(5, 16, 43)).window_order(0), epoch0);

  // Serving batches walks exactly that order, rolling into epoch 1 mid-batch (62 = 12*5 + 2).
  std::vector<int64_t> served;
  TokenBatch batch;
  for (int i = 0; i < 13; ++i) {
    ASSERT_TRUE(loader.next(batch));
    served.insert(served.end(), batch.windows.begin(), batch.windows.end());
  }
  EXPECT_EQ(std::vector<int64_t>(served.begin(), served.begin() + 62), epoch0);
  EXPECT_EQ(std::vector<int64_t>(served.begin() + 62, served.end()),
            std::vector<int64_t>(epoch1.begin(), epoch1.begin() + 3));
  EXPECT_EQ(loader.position(), (LoaderPosition{1, 3}));
  EXPECT_EQ(batch.epoch, 0);  // the straddling batch started in epoch 0
}

TEST(DataLoader, ResumeFromSavedStateGivesTheSameBatches) {
  ScratchDir dir;
  TokenDataset dataset = counting_dataset(dir);
  PackedBatches uninterrupted(dataset, options(7, 10, 9));
  PackedBatches first_half(dataset, options(7, 10, 9));
  TokenBatch batch, other;
  for (int i = 0; i < 17; ++i) {  // 17 * 7 = 119 > 100 windows: crosses an epoch boundary
    ASSERT_TRUE(uninterrupted.next(batch));
    ASSERT_TRUE(first_half.next(other));
  }
  // Round trip through text, as a checkpoint would.
  const std::string saved = first_half.state().dump();
  PackedBatches resumed(dataset, options(7, 10, 9));
  resumed.restore(nlohmann::json::parse(saved));
  EXPECT_EQ(resumed.position(), uninterrupted.position());
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(uninterrupted.next(batch));
    ASSERT_TRUE(resumed.next(other));
    EXPECT_EQ(batch.inputs, other.inputs) << "batch " << i << " after resume";
    EXPECT_EQ(batch.targets, other.targets);
    EXPECT_EQ(batch.windows, other.windows);
  }
}

TEST(DataLoader, RestoreRejectsMismatchedState) {
  ScratchDir dir;
  TokenDataset dataset = counting_dataset(dir);
  PackedBatches loader(dataset, options(4, 16, 1));
  nlohmann::json state = loader.state();
  PackedBatches other_seed(dataset, options(4, 16, 2));
  expect_bad_input([&] { other_seed.restore(state); }, "saved with seed 1, this loader uses 2");
  PackedBatches other_length(dataset, options(4, 8, 1));
  expect_bad_input([&] { other_length.restore(state); }, "saved with seq_len 16");
  nlohmann::json far = state;
  far["position"] = 1000;
  expect_bad_input([&] { loader.restore(far); }, "outside the 62 windows");
  nlohmann::json wrong_size = state;
  wrong_size["num_tokens"] = 5;
  expect_bad_input([&] { loader.restore(wrong_size); }, "dataset of 5 tokens");
  nlohmann::json missing = state;
  missing.erase("epoch");
  expect_bad_input([&] { loader.restore(missing); }, "missing field \"epoch\"");
  // A different batch size resumes the same window sequence.
  PackedBatches bigger(dataset, options(8, 16, 1));
  EXPECT_NO_THROW(bigger.restore(state));
}

TEST(DataLoader, SequentialModeIsOnePassInOrder) {
  ScratchDir dir;
  PackedBatches loader(counting_dataset(dir), options(8, 16, 0, /*shuffle=*/false));
  EXPECT_EQ(loader.batches_per_epoch(), 8);  // 62 windows: 7 full batches and one of 6
  std::vector<int64_t> windows;
  std::vector<int64_t> rows;
  TokenBatch batch;
  while (loader.next(batch)) {
    rows.push_back(batch.rows);
    windows.insert(windows.end(), batch.windows.begin(), batch.windows.end());
  }
  std::vector<int64_t> expected(62);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(windows, expected);
  EXPECT_EQ(rows.back(), 6);
  EXPECT_EQ(rows.size(), 8u);
  EXPECT_FALSE(loader.next(batch));
  loader.seek({0, 0});
  ASSERT_TRUE(loader.next(batch));
  EXPECT_EQ(batch.windows[0], 0);
  expect_bad_input([&] { loader.seek({1, 0}); }, "sequential loader has only epoch 0");
}

TEST(DataLoader, RejectsTooLittleDataAndBadOptions) {
  ScratchDir dir;
  TokenDataset dataset = counting_dataset(dir, 16);
  expect_bad_input([&] { PackedBatches(dataset, options(1, 16, 0)); },
                   "16 tokens are too few for one window of seq_len + 1 = 17 tokens");
  EXPECT_NO_THROW(PackedBatches(dataset, options(1, 15, 0)));
  expect_bad_input([&] { PackedBatches(dataset, options(0, 4, 0)); }, "batch size must be positive");
  expect_bad_input([&] { PackedBatches(dataset, options(1, 0, 0)); }, "sequence length must be positive");
  // A single window still feeds full training batches (it repeats across epochs).
  PackedBatches tiny(dataset, options(3, 15, 0));
  TokenBatch batch;
  ASSERT_TRUE(tiny.next(batch));
  EXPECT_EQ(batch.windows, (std::vector<int64_t>{0, 0, 0}));
}

}  // namespace
}  // namespace tessera::train
