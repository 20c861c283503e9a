#include "tessera/train/data_loader.h"

#include <algorithm>
#include <numeric>

#include "tessera/core/error.h"
#include "tessera/core/rng.h"

namespace tessera::train {
using nlohmann::json;

namespace {

Tensor to_tensor(const std::vector<int32_t>& ids, int64_t rows, int64_t seq_len, DType dtype) {
  if (dtype == DType::i32) return Tensor::from_vector(ids, {rows, seq_len});
  TESSERA_CHECK(dtype == DType::i64, "token batches convert to i32 or i64, not {}",
                dtype_name(dtype));
  std::vector<int64_t> wide(ids.begin(), ids.end());
  return Tensor::from_vector(wide, {rows, seq_len});
}

// Each epoch draws from its own counter range of the Philox stream, so an epoch's order is a
// function of (seed, epoch) alone and can be recomputed on resume without replaying earlier
// epochs. 2^40 counters per epoch is far more than a shuffle of any real dataset consumes.
constexpr int kEpochCounterBits = 40;

}  // namespace

Tensor TokenBatch::inputs_tensor(DType dtype) const {
  return to_tensor(inputs, rows, seq_len, dtype);
}
Tensor TokenBatch::targets_tensor(DType dtype) const {
  return to_tensor(targets, rows, seq_len, dtype);
}

PackedBatches::PackedBatches(TokenDataset dataset, PackedBatchOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  TESSERA_CHECK_INPUT(options_.batch_size > 0, "batch size must be positive, got {}",
                      options_.batch_size);
  TESSERA_CHECK_INPUT(options_.seq_len > 0, "sequence length must be positive, got {}",
                      options_.seq_len);
  num_windows_ = std::max<int64_t>(dataset_.num_tokens() - 1, 0) / options_.seq_len;
  TESSERA_CHECK_INPUT(num_windows_ > 0,
                      "{}: {} tokens are too few for one window of seq_len + 1 = {} tokens",
                      dataset_.folder(), dataset_.num_tokens(), options_.seq_len + 1);
  window_buffer_.resize(static_cast<size_t>(options_.seq_len + 1));
}

int64_t PackedBatches::batches_per_epoch() const {
  return (num_windows_ + options_.batch_size - 1) / options_.batch_size;
}

std::vector<int64_t> PackedBatches::window_order(int64_t epoch) const {
  std::vector<int64_t> order(static_cast<size_t>(num_windows_));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (options_.shuffle) {
    Generator generator(options_.seed);
    generator.set_state(options_.seed, static_cast<uint64_t>(epoch) << kEpochCounterBits);
    generator.shuffle(order);
  }
  return order;
}

const std::vector<int64_t>& PackedBatches::order_for(int64_t epoch) {
  if (cached_epoch_ != epoch) {
    cached_order_ = window_order(epoch);
    cached_epoch_ = epoch;
  }
  return cached_order_;
}

bool PackedBatches::next(TokenBatch& batch) {
  const int64_t seq_len = options_.seq_len;
  if (!options_.shuffle && position_.position >= num_windows_) return false;
  batch.seq_len = seq_len;
  batch.epoch = position_.epoch;
  batch.rows = options_.shuffle ? options_.batch_size
                                : std::min(options_.batch_size, num_windows_ - position_.position);
  batch.inputs.resize(static_cast<size_t>(batch.rows * seq_len));
  batch.targets.resize(static_cast<size_t>(batch.rows * seq_len));
  batch.windows.resize(static_cast<size_t>(batch.rows));
  for (int64_t row = 0; row < batch.rows; ++row) {
    if (position_.position == num_windows_) {  // training mode only: roll into the next epoch
      position_.epoch += 1;
      position_.position = 0;
    }
    const int64_t window = order_for(position_.epoch)[static_cast<size_t>(position_.position)];
    ++position_.position;
    dataset_.read(window * seq_len, seq_len + 1, window_buffer_.data());
    std::copy_n(window_buffer_.begin(), seq_len, batch.inputs.begin() + row * seq_len);
    std::copy_n(window_buffer_.begin() + 1, seq_len, batch.targets.begin() + row * seq_len);
    batch.windows[static_cast<size_t>(row)] = window;
  }
  return true;
}

void PackedBatches::seek(LoaderPosition position) {
  TESSERA_CHECK_INPUT(position.epoch >= 0 && position.position >= 0 &&
                          position.position <= num_windows_,
                      "loader position (epoch {}, window {}) is outside the {} windows",
                      position.epoch, position.position, num_windows_);
  TESSERA_CHECK_INPUT(options_.shuffle || position.epoch == 0,
                      "a sequential loader has only epoch 0, got epoch {}", position.epoch);
  position_ = position;
}

json PackedBatches::state() const {
  return json{{"epoch", position_.epoch},
              {"position", position_.position},
              {"seed", options_.seed},
              {"seq_len", options_.seq_len},
              {"batch_size", options_.batch_size},
              {"shuffle", options_.shuffle},
              {"num_tokens", dataset_.num_tokens()}};
}

void PackedBatches::restore(const json& state) {
  TESSERA_CHECK_INPUT(state.is_object(), "loader state: expected a JSON object, got {}",
                      state.dump());
  auto field = [&](const char* key) -> const json& {
    auto it = state.find(key);
    TESSERA_CHECK_INPUT(it != state.end(), "loader state: missing field \"{}\"", key);
    return *it;
  };
  auto integer = [&](const char* key) {
    const json& value = field(key);
    TESSERA_CHECK_INPUT(value.is_number_integer(), "loader state: \"{}\" must be an integer",
                        key);
    return value.get<int64_t>();
  };
  const json& seed = field("seed");
  TESSERA_CHECK_INPUT(seed.is_number_unsigned() || seed.is_number_integer(),
                      "loader state: \"seed\" must be an integer");
  TESSERA_CHECK_INPUT(seed.get<uint64_t>() == options_.seed,
                      "loader state was saved with seed {}, this loader uses {}",
                      seed.get<uint64_t>(), options_.seed);
  TESSERA_CHECK_INPUT(integer("seq_len") == options_.seq_len,
                      "loader state was saved with seq_len {}, this loader uses {}",
                      integer("seq_len"), options_.seq_len);
  TESSERA_CHECK_INPUT(field("shuffle").is_boolean() && field("shuffle").get<bool>() ==
                                                           options_.shuffle,
                      "loader state was saved in {} mode", options_.shuffle ? "sequential"
                                                                            : "shuffled");
  TESSERA_CHECK_INPUT(integer("num_tokens") == dataset_.num_tokens(),
                      "loader state was saved for a dataset of {} tokens, {} has {}",
                      integer("num_tokens"), dataset_.folder(), dataset_.num_tokens());
  // batch_size is recorded for information only: the position counts windows, so resuming
  // with another batch size still continues the same window sequence.
  seek({integer("epoch"), integer("position")});
}

}  // namespace tessera::train
