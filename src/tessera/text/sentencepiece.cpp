#include "tessera/text/sentencepiece.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "tessera/core/error.h"

namespace tessera::text {
namespace {

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw bad_input("{}: cannot open SentencePiece model", path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Library calls report failures as util::Status; turn them into one line naming the step.
void check_status(const sentencepiece::util::Status& status, std::string_view what) {
  if (!status.ok()) throw bad_input("{}: {}", what, status.ToString());
}

std::string join(const std::vector<std::string>& items, char separator) {
  std::string joined;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) joined.push_back(separator);
    joined += items[i];
  }
  return joined;
}

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(
    std::shared_ptr<const sentencepiece::SentencePieceProcessor> processor)
    : processor_(std::move(processor)) {}

SentencePieceTokenizer SentencePieceTokenizer::load(const std::string& model_path) {
  if (std::filesystem::is_directory(model_path))
    throw bad_input("{}: is a directory, expected a SentencePiece .model file", model_path);
  try {
    return from_serialized(read_whole_file(model_path));
  } catch (const Error& e) {
    throw e.with_context(model_path);
  }
}

SentencePieceTokenizer SentencePieceTokenizer::from_serialized(std::string_view model_bytes) {
  TESSERA_CHECK_INPUT(!model_bytes.empty(), "empty SentencePiece model");
  auto processor = std::make_shared<sentencepiece::SentencePieceProcessor>();
  const auto status = processor->LoadFromSerializedProto(model_bytes);
  if (!status.ok()) throw bad_input("not a SentencePiece model ({})", status.ToString());
  TESSERA_CHECK_INPUT(processor->GetPieceSize() > 0, "SentencePiece model has no pieces");
  return SentencePieceTokenizer(std::move(processor));
}

std::vector<std::string> SentencePieceTokenizer::encode_pieces(std::string_view text) const {
  std::vector<std::string> pieces;
  check_status(processor_->Encode(text, &pieces), "SentencePiece encode");
  return pieces;
}

std::vector<int> SentencePieceTokenizer::encode_ids(std::string_view text) const {
  std::vector<int> ids;
  check_status(processor_->Encode(text, &ids), "SentencePiece encode");
  return ids;
}

std::vector<int> SentencePieceTokenizer::sample_encode_ids(std::string_view text, int nbest_size,
                                                           float alpha) const {
  std::vector<int> ids;
  check_status(processor_->SampleEncode(text, nbest_size, alpha, &ids), "SentencePiece sample");
  return ids;
}

std::string SentencePieceTokenizer::decode_ids(const std::vector<int>& ids) const {
  for (int id : ids) check_id(id);
  std::string text;
  check_status(processor_->Decode(ids, &text), "SentencePiece decode");
  return text;
}

std::string SentencePieceTokenizer::decode_pieces(const std::vector<std::string>& pieces) const {
  std::string text;
  check_status(processor_->Decode(pieces, &text), "SentencePiece decode");
  return text;
}

int SentencePieceTokenizer::vocab_size() const {
  return processor_->GetPieceSize();
}

int SentencePieceTokenizer::piece_to_id(std::string_view piece) const {
  return processor_->PieceToId(piece);
}

void SentencePieceTokenizer::check_id(int id) const {
  TESSERA_CHECK_INPUT(id >= 0 && id < vocab_size(), "token id {} outside vocabulary [0, {})", id,
                      vocab_size());
}

std::string SentencePieceTokenizer::id_to_piece(int id) const {
  check_id(id);
  return processor_->IdToPiece(id);
}

float SentencePieceTokenizer::score(int id) const {
  check_id(id);
  return processor_->GetScore(id);
}

bool SentencePieceTokenizer::is_control(int id) const {
  check_id(id);
  return processor_->IsControl(id);
}

bool SentencePieceTokenizer::is_unknown(int id) const {
  check_id(id);
  return processor_->IsUnknown(id);
}

bool SentencePieceTokenizer::is_byte(int id) const {
  check_id(id);
  return processor_->IsByte(id);
}

int SentencePieceTokenizer::bos_id() const {
  return processor_->bos_id();
}
int SentencePieceTokenizer::eos_id() const {
  return processor_->eos_id();
}
int SentencePieceTokenizer::unk_id() const {
  return processor_->unk_id();
}
int SentencePieceTokenizer::pad_id() const {
  return processor_->pad_id();
}

std::string SentencePieceTokenizer::serialized_model() const {
  return processor_->serialized_model_proto();
}

void train_sentencepiece(const SentencePieceTrainOptions& options) {
  TESSERA_CHECK_INPUT(!options.input_files.empty(), "SentencePiece training needs an input file");
  for (const auto& file : options.input_files)
    TESSERA_CHECK_INPUT(std::filesystem::is_regular_file(file), "{}: training input not found",
                        file);
  for (const auto& file : options.input_files)
    TESSERA_CHECK_INPUT(file.find(',') == std::string::npos,
                        "{}: SentencePiece cannot read input paths containing a comma", file);
  TESSERA_CHECK_INPUT(!options.model_prefix.empty(), "SentencePiece training needs a model prefix");
  TESSERA_CHECK_INPUT(options.vocab_size > 0, "vocabulary size must be positive, got {}",
                      options.vocab_size);
  TESSERA_CHECK_INPUT(options.character_coverage > 0 && options.character_coverage <= 1,
                      "character coverage must be in (0, 1], got {}", options.character_coverage);
  const auto parent = std::filesystem::path(options.model_prefix).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);

  // The keyword form keeps us independent of the protobuf headers the library hides.
  std::unordered_map<std::string, std::string> args{
      {"input", join(options.input_files, ',')},
      {"model_prefix", options.model_prefix},
      {"vocab_size", std::to_string(options.vocab_size)},
      {"model_type", options.model_type == SentencePieceModelType::Bpe ? "bpe" : "unigram"},
      {"character_coverage", fmt::format("{}", options.character_coverage)},
      {"normalization_rule_name", options.normalization},
      {"byte_fallback", options.byte_fallback ? "true" : "false"},
      {"split_digits", options.split_digits ? "true" : "false"},
      {"max_sentence_length", std::to_string(options.max_sentence_length)},
      {"num_threads", std::to_string(std::max(1, options.num_threads))},
      {"unk_id", std::to_string(options.unk_id)},
      {"bos_id", std::to_string(options.bos_id)},
      {"eos_id", std::to_string(options.eos_id)},
      {"pad_id", std::to_string(options.pad_id)},
      {"hard_vocab_limit", options.hard_vocab_limit ? "true" : "false"},
      {"minloglevel", options.verbose ? "0" : "2"},
  };
  if (!options.user_defined_symbols.empty())
    args["user_defined_symbols"] = join(options.user_defined_symbols, ',');
  if (options.input_sentence_size > 0) {
    args["input_sentence_size"] = std::to_string(options.input_sentence_size);
    args["shuffle_input_sentence"] = "true";
  }
  check_status(sentencepiece::SentencePieceTrainer::Train(args), "SentencePiece training");
}

}  // namespace tessera::text
