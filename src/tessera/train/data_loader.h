#pragma once
// Packed batches for language-model training: the dataset is one stream of tokens (documents
// back to back, separated by the end-of-document id when the dataset has one), cut into
// windows of seq_len + 1 tokens that start every seq_len tokens, so every token after the
// first is a target exactly once per epoch. Inputs are a window's first seq_len tokens,
// targets the same window shifted by one.
//
// Training mode shuffles the window order per epoch with a generator keyed by (seed, epoch)
// and never runs dry: a batch that reaches the end of an epoch continues with the next
// epoch's order, so no window is dropped and tiny datasets still work. The position
// (epoch, window within the epoch order) is the whole state: saving it and restoring it into
// a fresh loader continues with exactly the same batches. Sequential mode (evaluation) walks
// the windows in stream order once; its last batch may have fewer rows.
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/core/tensor.h"
#include "tessera/train/data_dataset.h"

namespace tessera::train {

struct PackedBatchOptions {
  int64_t batch_size = 8;
  int64_t seq_len = 256;
  uint64_t seed = 0;
  bool shuffle = true;  // false: sequential, one pass (evaluation)
};

struct TokenBatch {
  int64_t rows = 0;                // <= batch_size (only the last sequential batch is short)
  int64_t seq_len = 0;
  std::vector<int32_t> inputs;     // [rows, seq_len], row-major
  std::vector<int32_t> targets;    // [rows, seq_len]: inputs shifted left by one token
  std::vector<int64_t> windows;    // [rows]: which window each row is (start = w * seq_len)
  int64_t epoch = 0;               // epoch of the batch's first row

  // [rows, seq_len] integer tensors (i64 by default, as embedding and cross_entropy take).
  Tensor inputs_tensor(DType dtype = DType::i64) const;
  Tensor targets_tensor(DType dtype = DType::i64) const;
};

struct LoaderPosition {
  int64_t epoch = 0;
  int64_t position = 0;  // index into the epoch's window order of the next row
  bool operator==(const LoaderPosition&) const = default;
};

class PackedBatches {
 public:
  // Throws BadInput when the dataset holds fewer than seq_len + 1 tokens or an option is
  // not positive.
  PackedBatches(TokenDataset dataset, PackedBatchOptions options);

  const PackedBatchOptions& options() const { return options_; }
  const TokenDataset& dataset() const { return dataset_; }
  int64_t num_windows() const { return num_windows_; }
  // Batches in one pass (the last may be short in sequential mode).
  int64_t batches_per_epoch() const;

  // Fills `batch` with the next batch. Training mode always returns true; sequential mode
  // returns false once every window has been served.
  bool next(TokenBatch& batch);

  LoaderPosition position() const { return position_; }
  // Continues from `position`; throws BadInput when it lies outside the data.
  void seek(LoaderPosition position);
  // The state as JSON (position plus the settings it is only meaningful with), and back.
  // restore() refuses a state saved with a different seed, seq_len, mode or dataset size.
  nlohmann::json state() const;
  void restore(const nlohmann::json& state);

  // The window order of `epoch` (identity in sequential mode).
  std::vector<int64_t> window_order(int64_t epoch) const;

 private:
  const std::vector<int64_t>& order_for(int64_t epoch);

  TokenDataset dataset_;
  PackedBatchOptions options_;
  int64_t num_windows_ = 0;
  LoaderPosition position_;
  int64_t cached_epoch_ = -1;
  std::vector<int64_t> cached_order_;
  std::vector<int32_t> window_buffer_;
};

}  // namespace tessera::train
