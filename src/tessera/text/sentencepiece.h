#pragma once
// SentencePiece models (.model files: NLLB, M2M-100, Llama-2 and T5 families) through
// libsentencepiece, so ids match the reference implementation exactly. Sampling
// (subword regularisation) is off unless a caller asks for it explicitly.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace tessera::text {

class SentencePieceTokenizer {
 public:
  // Loads a serialized ModelProto from `model_path`; throws BadInput naming the file when it
  // is missing or is not a SentencePiece model.
  static SentencePieceTokenizer load(const std::string& model_path);
  // Same, from the bytes of a .model file already in memory.
  static SentencePieceTokenizer from_serialized(std::string_view model_bytes);

  std::vector<std::string> encode_pieces(std::string_view text) const;
  std::vector<int> encode_ids(std::string_view text) const;
  // Subword-regularised encoding (unigram: sampling from the n-best lattice with smoothing
  // `alpha`; BPE: BPE-dropout with probability `alpha`). nbest_size -1 samples from all.
  std::vector<int> sample_encode_ids(std::string_view text, int nbest_size, float alpha) const;
  std::string decode_ids(const std::vector<int>& ids) const;
  std::string decode_pieces(const std::vector<std::string>& pieces) const;

  int vocab_size() const;
  // Returns unk_id() for a piece that is not in the vocabulary (the library's convention).
  int piece_to_id(std::string_view piece) const;
  // Throws BadInput when `id` is outside [0, vocab_size()).
  std::string id_to_piece(int id) const;
  float score(int id) const;
  bool is_control(int id) const;
  bool is_unknown(int id) const;
  bool is_byte(int id) const;
  // Special ids; -1 when the model disables that token (e.g. pad in most models).
  int bos_id() const;
  int eos_id() const;
  int unk_id() const;
  int pad_id() const;
  // The serialized ModelProto, e.g. to copy the model into a checkpoint folder.
  std::string serialized_model() const;

 private:
  explicit SentencePieceTokenizer(std::shared_ptr<const sentencepiece::SentencePieceProcessor>);
  void check_id(int id) const;
  // Shared and const: the processor's encode/decode are thread-safe, copies stay cheap.
  std::shared_ptr<const sentencepiece::SentencePieceProcessor> processor_;
};

enum class SentencePieceModelType { Unigram, Bpe };

struct SentencePieceTrainOptions {
  std::vector<std::string> input_files;  // plain text, one sentence per line
  std::string model_prefix;              // writes <prefix>.model and <prefix>.vocab
  int vocab_size = 8000;
  SentencePieceModelType model_type = SentencePieceModelType::Unigram;
  double character_coverage = 0.9995;      // 1.0 for small alphabets; ~0.9995 for CJK-rich text
  std::string normalization = "nmt_nfkc";  // nmt_nfkc, nfkc, nmt_nfkc_cf, nfkc_cf, identity
  bool byte_fallback = false;              // unknown characters become <0xNN> byte pieces
  bool split_digits = false;
  std::vector<std::string> user_defined_symbols;
  int64_t input_sentence_size = 0;  // 0: use every line; otherwise sample this many
  int max_sentence_length = 4192;   // bytes; longer lines are skipped by the trainer
  int num_threads = 1;
  int unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;  // -1 disables a token
  bool hard_vocab_limit = true;  // false: a smaller vocabulary is accepted for tiny corpora
  bool verbose = false;          // the trainer's progress log on stderr
};

// Trains a unigram or BPE SentencePiece model; throws BadInput when an input file is missing
// or the options are inconsistent (the library's message is kept).
void train_sentencepiece(const SentencePieceTrainOptions& options);

}  // namespace tessera::text
