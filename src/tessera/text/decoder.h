#pragma once
// tokenizer.json decoders (token strings -> text): ByteLevel, Metaspace, ByteFallback, Fuse,
// Strip, Replace, BPEDecoder and Sequence, chained as HF chains them. Decoded text is
// returned as raw bytes: byte sequences that are not valid UTF-8 (a multi-byte character
// split across a decode boundary) are kept, not replaced by U+FFFD, so streaming callers
// can join chunks losslessly.
#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <vector>

namespace tessera::text {

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Rewrites the token list in place (HF decode_chain); the result is joined afterwards.
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
  // True when this decoder is exactly ByteLevel (the tokenizer can then skip the chain).
  virtual bool is_plain_byte_level() const { return false; }
};

// nullptr for null; throws BadInput for unsupported types.
std::unique_ptr<Decoder> decoder_from_json(const nlohmann::json& spec);
std::unique_ptr<Decoder> make_byte_level_decoder();

}  // namespace tessera::text
