#pragma once
// A BPE tokenizer assembled from HF's pipeline stages: added tokens -> normalizer ->
// pre-tokenizer -> BPE model -> post-processor, and decoder on the way back. tokenizer.json,
// tiktoken files and GPT-2 directories all load into this one class (loaders.h).
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tessera/text/added_vocabulary.h"
#include "tessera/text/bpe_model.h"
#include "tessera/text/decoder.h"
#include "tessera/text/normalizer.h"
#include "tessera/text/post_processor.h"
#include "tessera/text/pre_tokenizer.h"
#include "tessera/text/tokenizer.h"

namespace tessera::text {

struct BpeTokenizerParts {
  std::unique_ptr<Normalizer> normalizer;       // may be null
  std::unique_ptr<PreTokenizer> pre_tokenizer;  // may be null: the whole text is one piece
  std::shared_ptr<BpeModel> model;
  std::vector<AddedToken> added_tokens;
  SpecialTokenFrame frame;           // added around the ids when add_special is true
  std::unique_ptr<Decoder> decoder;  // may be null: tokens are joined with spaces (HF)
  std::optional<int32_t> bos_id, eos_id, pad_id;
  std::string description;
};

class BpeTokenizer final : public Tokenizer {
 public:
  explicit BpeTokenizer(BpeTokenizerParts parts);

  std::vector<int32_t> encode(std::string_view text, bool add_special = false,
                              bool match_special = true) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const override;
  std::string id_to_token(int32_t id) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  int32_t vocab_size() const override { return vocab_size_; }
  std::optional<int32_t> bos_id() const override { return parts_.bos_id; }
  std::optional<int32_t> eos_id() const override { return parts_.eos_id; }
  std::optional<int32_t> pad_id() const override { return parts_.pad_id; }
  std::vector<SpecialToken> special_tokens() const override;
  bool is_special(int32_t id) const override;
  std::string description() const override { return parts_.description; }

  // The pre-tokens `text` is cut into (after added tokens and normalisation), for tests.
  std::vector<std::string> pre_tokenize(std::string_view text) const;
  const BpeModel& model() const { return *parts_.model; }
  const std::vector<AddedToken>& added_tokens() const { return parts_.added_tokens; }

 private:
  // Normalises, splits and BPE-encodes one stretch of text without added tokens in it.
  void encode_text(std::string_view text, bool at_text_start, bool match_special,
                   std::vector<int32_t>& ids) const;
  void encode_pieces(std::string_view text, bool at_text_start, std::vector<int32_t>& ids) const;
  const AddedToken* added_token(int32_t id) const;

  BpeTokenizerParts parts_;
  AddedTokenMatcher raw_matcher_;         // added tokens with normalized = false
  AddedTokenMatcher normalized_matcher_;  // added tokens with normalized = true
  std::unordered_map<int32_t, size_t> added_by_id_;
  std::unordered_map<std::string, int32_t> added_by_content_;
  int32_t vocab_size_ = 0;
};

}  // namespace tessera::text
