#pragma once
// tokenizer.json normalizers (applied to text between added tokens, before pre-tokenization):
// NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, StripAccents and Sequence.
#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace tessera::text {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual std::string apply(std::string_view text) const = 0;
  // True for the ByteLevel normalizer (the text is byte-level spelled before the model).
  virtual bool is_byte_level() const { return false; }
};

// Builds the normalizer a tokenizer.json "normalizer" value describes; nullptr for null.
// Throws BadInput for unknown types or malformed fields.
std::unique_ptr<Normalizer> normalizer_from_json(const nlohmann::json& spec);

}  // namespace tessera::text
