#pragma once
// NLLB's tokenizer conventions over a SentencePiece model (transformers' NllbTokenizer, fairseq's
// dictionary): ids 0..3 are <s>, <pad>, </s>, <unk>; SentencePiece piece i becomes id i + 1
// (its <unk> becomes 3); the language codes (eng_Latn, fra_Latn, ...) follow the pieces in
// their listed order, then <mask>. A source is [src_lang] tokens </s> (or tokens </s> [src_lang]
// in the legacy mode); the decoder starts with </s> and is forced to emit [tgt_lang] first.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/text/sentencepiece.h"

namespace tessera::mt {

class NllbTokenizer {
 public:
  static constexpr int32_t kBos = 0, kPad = 1, kEos = 2, kUnk = 3;

  // A model folder: sentencepiece.bpe.model (or another *.model) plus the language codes from
  // special_tokens_map.json or tokenizer_config.json ("additional_special_tokens", in order).
  // BadInput naming the folder when either is missing.
  static NllbTokenizer load(const std::string& dir);
  static NllbTokenizer from_parts(text::SentencePieceTokenizer pieces,
                                  std::vector<std::string> language_codes);
  // Writes sentencepiece.bpe.model, special_tokens_map.json and tokenizer_config.json.
  void save(const std::string& dir) const;

  int32_t vocab_size() const;  // pieces + 1 + language codes + 1 (<mask>)
  const std::vector<std::string>& language_codes() const { return codes_; }
  bool has_language(std::string_view code) const;
  // BadInput listing a few known codes when `code` is not one of them.
  int32_t language_id(std::string_view code) const;
  bool is_special(int32_t id) const;  // <s> <pad> </s> <unk>, language codes, <mask>

  std::vector<int32_t> encode_text(std::string_view text) const;  // no specials
  std::vector<int32_t> encode_source(std::string_view text, std::string_view src_lang,
                                     bool legacy = false) const;
  // Training labels: [tgt_lang] tokens </s>; the decoder input is </s> followed by all but the
  // last.
  std::vector<int32_t> encode_target(std::string_view text, std::string_view tgt_lang) const;
  // Text of ids; special tokens and language codes are skipped.
  std::string decode(const std::vector<int32_t>& ids) const;

 private:
  NllbTokenizer(text::SentencePieceTokenizer pieces, std::vector<std::string> codes);
  text::SentencePieceTokenizer pieces_;
  std::vector<std::string> codes_;
  int32_t piece_count_ = 0;
};

}  // namespace tessera::mt
