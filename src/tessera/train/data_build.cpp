#include "tessera/train/data_build.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "tessera/core/error.h"
#include "tessera/core/progress.h"
#include "tessera/train/data_hash.h"
#include "tessera/train/data_shards.h"

namespace tessera::train {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Documents per parallel block: large enough to keep every thread busy, small enough that
// the encoded ids of one block stay a few megabytes.
constexpr size_t kDocumentsPerBlock = 4096;

bool is_blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' ||
                                         c == '\v'; });
}

std::string_view drop_carriage_return(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw bad_input("{}: cannot open input: {}", path, std::strerror(errno));
  std::string bytes;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  TESSERA_CHECK_INPUT(size >= 0, "{}: cannot determine the size of the input", path);
  bytes.resize(static_cast<size_t>(size));
  in.seekg(0, std::ios::beg);
  in.read(bytes.data(), size);
  TESSERA_CHECK_INPUT(in.gcount() == size, "{}: short read ({} of {} bytes)", path, in.gcount(),
                      size);
  return bytes;
}

// Encodes documents in parallel blocks and appends them to `writer` in input order.
void append_encoded(std::span<const std::string_view> documents, const TokenEncoder& encoder,
                    bool append_eos, ShardWriter& writer) {
  std::vector<std::vector<int32_t>> encoded(std::min(documents.size(), kDocumentsPerBlock));
  for (size_t block = 0; block < documents.size(); block += kDocumentsPerBlock) {
    const int64_t count =
        static_cast<int64_t>(std::min(kDocumentsPerBlock, documents.size() - block));
    // Exceptions must not escape an OpenMP region: keep the first and rethrow after it.
    std::exception_ptr failure;
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t i = 0; i < count; ++i) {
      try {
        std::vector<int32_t>& ids = encoded[static_cast<size_t>(i)];
        ids.clear();
        encoder.encode(documents[block + static_cast<size_t>(i)], ids);
        if (append_eos) ids.push_back(*encoder.eos_token_id);
      } catch (...) {
#pragma omp critical(tessera_data_encode_failure)
        if (!failure) failure = std::current_exception();
      }
    }
    if (failure) std::rethrow_exception(failure);
    for (int64_t i = 0; i < count; ++i) {
      const std::vector<int32_t>& ids = encoded[static_cast<size_t>(i)];
      if (!ids.empty()) writer.add_document(ids);
    }
  }
}

DatasetIndex index_template(const TokenEncoder& encoder, const std::string& split,
                            bool append_eos, const json& creation) {
  DatasetIndex index;
  index.split = split;
  index.vocab_size = encoder.vocab_size;
  if (append_eos) index.eos_token_id = encoder.eos_token_id;
  index.tokenizer = {encoder.path, encoder.sha256};
  index.creation = creation;
  return index;
}

void check_encoder(const TokenEncoder& encoder, bool append_eos) {
  TESSERA_CHECK(static_cast<bool>(encoder.encode), "TokenEncoder without an encode function");
  TESSERA_CHECK_INPUT(encoder.vocab_size > 0, "{}: tokenizer reports vocab size {}",
                      encoder.path, encoder.vocab_size);
  TESSERA_CHECK_INPUT(!append_eos || encoder.eos_token_id.has_value(),
                      "{}: --append-eos needs an end-of-document token, and this tokenizer has "
                      "none that is recognised",
                      encoder.path);
}

}  // namespace

void split_documents(std::string_view text, DocumentMode mode,
                     std::vector<std::string_view>& documents) {
  size_t paragraph_begin = std::string_view::npos;  // start of the open paragraph
  size_t paragraph_end = 0;                         // end of its last non-blank line
  size_t pos = 0;
  while (pos < text.size()) {
    size_t newline = text.find('\n', pos);
    const size_t line_end = newline == std::string_view::npos ? text.size() : newline;
    const std::string_view line = text.substr(pos, line_end - pos);
    const bool blank = is_blank(line);
    if (mode == DocumentMode::Lines) {
      if (!blank) documents.push_back(drop_carriage_return(line));
    } else if (blank) {
      if (paragraph_begin != std::string_view::npos) {
        documents.push_back(text.substr(paragraph_begin, paragraph_end - paragraph_begin));
        paragraph_begin = std::string_view::npos;
      }
    } else {
      if (paragraph_begin == std::string_view::npos) paragraph_begin = pos;
      paragraph_end = pos + drop_carriage_return(line).size();
    }
    pos = line_end + 1;
  }
  if (mode == DocumentMode::Paragraphs && paragraph_begin != std::string_view::npos) {
    documents.push_back(text.substr(paragraph_begin, paragraph_end - paragraph_begin));
  }
}

DatasetIndex write_token_split(std::span<const std::string_view> documents,
                               const TokenEncoder& encoder, const SplitOptions& options) {
  check_encoder(encoder, options.append_eos);
  ShardWriter writer(options.folder, options.shard_tokens,
                     index_template(encoder, options.split, options.append_eos, options.creation));
  append_encoded(documents, encoder, options.append_eos, writer);
  return writer.finish();
}

json creation_record(const DataBuildOptions& options) {
  return json{{"tool", "tessera data build"},
              {"inputs", options.inputs},
              {"documents", options.mode == DocumentMode::Lines ? "lines" : "paragraphs"},
              {"shard_tokens", options.shard_tokens},
              {"valid_fraction", options.valid_fraction},
              {"seed", options.seed},
              {"append_eos", options.append_eos}};
}

DataBuildReport build_token_dataset(const DataBuildOptions& options, const TokenEncoder& encoder) {
  const auto start = std::chrono::steady_clock::now();
  TESSERA_CHECK_INPUT(!options.inputs.empty(), "no input files given");
  TESSERA_CHECK_INPUT(!options.out.empty(), "no output folder given");
  TESSERA_CHECK_INPUT(options.valid_fraction >= 0.0 && options.valid_fraction < 1.0,
                      "valid fraction must be in [0, 1), got {}", options.valid_fraction);
  TESSERA_CHECK_INPUT(options.shard_tokens > 0, "shard size must be at least 1 token, got {}",
                      options.shard_tokens);
  check_encoder(encoder, options.append_eos);
  int64_t total_bytes = 0;
  for (const std::string& input : options.inputs) {
    std::error_code error;
    TESSERA_CHECK_INPUT(fs::is_regular_file(input, error), "{}: input file not found", input);
    total_bytes += static_cast<int64_t>(fs::file_size(input, error));
  }

  // Relative paths in an index are relative to the dataset folder, so a tokenizer path
  // given relative to the working directory is recorded absolute.
  TokenEncoder recorded = encoder;
  if (!recorded.path.empty() && fs::path(recorded.path).is_relative()) {
    recorded.path = fs::absolute(recorded.path).lexically_normal().string();
  }
  const json creation = creation_record(options);
  const bool with_valid = options.valid_fraction > 0.0;
  ShardWriter train((fs::path(options.out) / "train").string(), options.shard_tokens,
                    index_template(recorded, "train", options.append_eos, creation));
  std::unique_ptr<ShardWriter> valid;
  if (with_valid) {
    valid = std::make_unique<ShardWriter>((fs::path(options.out) / "valid").string(),
                                          options.shard_tokens,
                                          index_template(recorded, "valid", options.append_eos,
                                                         creation));
  } else {
    remove_token_dataset_files((fs::path(options.out) / "valid").string());
  }

  std::optional<Progress> progress;
  if (options.show_progress) progress.emplace("data build", total_bytes, "B");
  std::vector<std::string_view> documents, train_documents, valid_documents;
  for (const std::string& input : options.inputs) {
    const std::string text = read_whole_file(input);
    documents.clear();
    split_documents(text, options.mode, documents);
    train_documents.clear();
    valid_documents.clear();
    for (std::string_view document : documents) {
      const bool to_valid =
          with_valid &&
          hash_to_unit(seeded_hash64(document, options.seed)) < options.valid_fraction;
      (to_valid ? valid_documents : train_documents).push_back(document);
    }
    append_encoded(train_documents, encoder, options.append_eos, train);
    if (valid) append_encoded(valid_documents, encoder, options.append_eos, *valid);
    if (progress) progress->advance(static_cast<int64_t>(text.size()));
  }
  if (progress) progress->finish();

  DataBuildReport report;
  report.train = train.finish();
  if (valid) report.valid = valid->finish();
  report.input_bytes = total_bytes;
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace tessera::train
