#pragma once
// `tessera data build`: text files -> documents -> token ids -> shards. Documents are
// encoded in parallel (OpenMP) in blocks and appended in input order, so the output is
// byte-identical for any thread count. With a valid fraction, each document goes to the
// valid split when a seeded hash of its bytes falls below the fraction: the decision depends
// on the text and the seed only, and duplicated documents never straddle the split.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/train/data_index.h"

namespace tessera::train {

class ShardWriter;

enum class DocumentMode {
  Lines,       // every non-blank line is a document
  Paragraphs,  // runs of non-blank lines separated by blank lines are documents
};

// Appends views into `text` of its documents. Trailing '\r' is dropped from lines; lines of
// only whitespace count as blank and never form a document.
void split_documents(std::string_view text, DocumentMode mode,
                     std::vector<std::string_view>& documents);

// What the builder needs from a tokenizer. `encode` is called from several threads at once
// and must be thread-safe and deterministic.
struct TokenEncoder {
  std::string path;    // recorded in index.json (write_token_split records it verbatim)
  std::string sha256;  // of the tokenizer file
  int64_t vocab_size = 0;
  std::optional<int32_t> eos_token_id;
  std::function<void(std::string_view text, std::vector<int32_t>& ids)> encode;
};

struct SplitOptions {
  std::string folder;             // the split's own folder, e.g. <out>/train
  std::string split = "train";
  int64_t shard_tokens = int64_t(1) << 24;  // 64 MiB shards
  bool append_eos = false;
  nlohmann::json creation;        // parameters recorded in index.json
};

// Encodes `documents` (in order) into a dataset folder; returns its index. Empty documents
// (no ids and no eos) are skipped.
DatasetIndex write_token_split(std::span<const std::string_view> documents,
                               const TokenEncoder& encoder, const SplitOptions& options);

struct DataBuildOptions {
  std::vector<std::string> inputs;  // text files, UTF-8 expected but any bytes are encoded
  std::string out;                  // writes <out>/train and, with valid_fraction > 0, <out>/valid
  DocumentMode mode = DocumentMode::Lines;
  int64_t shard_tokens = int64_t(1) << 24;
  double valid_fraction = 0.0;
  uint64_t seed = 0;
  bool append_eos = false;
  bool show_progress = false;  // a progress bar (or log lines) on stderr
};

struct DataBuildReport {
  DatasetIndex train;
  std::optional<DatasetIndex> valid;
  int64_t input_bytes = 0;
  double seconds = 0;
};

// Checks the options (files readable, fraction in [0, 1), eos present when asked for) and
// builds the dataset. Throws BadInput naming the file or option that is wrong.
DataBuildReport build_token_dataset(const DataBuildOptions& options, const TokenEncoder& encoder);

// The creation parameters recorded in index.json for these options.
nlohmann::json creation_record(const DataBuildOptions& options);

}  // namespace tessera::train
