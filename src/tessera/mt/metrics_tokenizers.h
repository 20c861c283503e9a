#pragma once
// The tokenizers sacrebleu applies before counting n-grams, reproduced character for
// character: `13a` (mteval-v13a), `intl` (mteval-v14 international), `zh`, `char`, `none`,
// the SentencePiece ones (`flores101`, `flores200`, `spm`, `spBLEU-1K`; the model file comes
// from the user, nothing is downloaded), and TER's `tercom` normalizer.
#include <optional>
#include <string>
#include <string_view>

#include "tessera/text/sentencepiece.h"

namespace tessera::mt {

// The regular-expression passes shared by `13a` and `zh` (sacrebleu's TokenizerRegexp), with
// the final ' '.join(line.split()).
std::string tokenize_mteval_regexp(std::string_view line);
std::string tokenize_13a(std::string_view line);
std::string tokenize_intl(std::string_view line);
std::string tokenize_zh(std::string_view line);
std::string tokenize_char(std::string_view line);

// sacrebleu's table of CJK ranges for `zh`, including its quirk: the ranges written
// '\u20000'-'\u2a6d6' and '\u2f800'-'\u2fa1d' are two-character Python strings, so they
// select U+2001..U+2A6D and U+2F81..U+2FA1 (general punctuation, currency signs, arrows...)
// instead of CJK extension B. Reproduced because the scores depend on it.
bool is_sacrebleu_chinese_char(char32_t code_point);

class BleuTokenizer {
 public:
  // `name`: 13a, intl, zh, char, none, flores101, flores200, spm (= flores101) or spBLEU-1K.
  // The SentencePiece tokenizers need `spm_model_path`; a bad name or a missing model is
  // BadInput.
  static BleuTokenizer create(const std::string& name, const std::string& spm_model_path = "");

  // The `tok:` value of the signature.
  const std::string& signature() const { return signature_; }
  // Tokenizes one (already rstripped) segment; the result is split on whitespace next.
  std::string operator()(std::string_view line) const;

 private:
  enum class Kind { None, Mteval13a, International, Chinese, Character, SentencePiece };
  BleuTokenizer(Kind kind, std::string signature) : kind_(kind), signature_(std::move(signature)) {}

  Kind kind_;
  std::string signature_;
  std::optional<text::SentencePieceTokenizer> sentencepiece_;
};

// sacrebleu's TercomTokenizer (TER's preprocessing); signature "tercom".
struct TercomOptions {
  bool normalized = false;
  bool no_punct = false;
  bool asian_support = false;
  bool case_sensitive = false;
};
std::string tokenize_tercom(std::string_view sentence, const TercomOptions& options);

}  // namespace tessera::mt
