#include "tessera/text/bpe_tokenizer.h"

#include "tessera/core/error.h"
#include "tessera/text/utf8.h"

namespace tessera::text {

BpeTokenizer::BpeTokenizer(BpeTokenizerParts parts) : parts_(std::move(parts)) {
  TESSERA_CHECK(parts_.model != nullptr, "BpeTokenizer needs a model");
  vocab_size_ = parts_.model->id_limit();
  for (size_t i = 0; i < parts_.added_tokens.size(); ++i) {
    const AddedToken& token = parts_.added_tokens[i];
    TESSERA_CHECK_INPUT(token.id >= 0, "added token '{}' has negative id {}", token.content,
                        token.id);
    TESSERA_CHECK_INPUT(!token.content.empty(), "added token {} has empty content", token.id);
    added_by_id_[token.id] = i;
    added_by_content_[token.content] = token.id;
    vocab_size_ = std::max(vocab_size_, token.id + 1);
    if (token.normalized && parts_.normalizer)
      normalized_matcher_.add(token, parts_.normalizer->apply(token.content));
    else
      raw_matcher_.add(token, token.content);
  }
  const auto check_frame_id = [&](int32_t id) {
    TESSERA_CHECK_INPUT(id >= 0 && id < vocab_size_,
                        "post-processor token id {} is outside the vocabulary [0, {})", id,
                        vocab_size_);
  };
  for (int32_t id : parts_.frame.prefix) check_frame_id(id);
  for (int32_t id : parts_.frame.suffix) check_frame_id(id);
}

const AddedToken* BpeTokenizer::added_token(int32_t id) const {
  const auto it = added_by_id_.find(id);
  return it == added_by_id_.end() ? nullptr : &parts_.added_tokens[it->second];
}

void BpeTokenizer::encode_pieces(std::string_view text, bool at_text_start,
                                 std::vector<int32_t>& ids) const {
  if (text.empty()) return;
  if (!parts_.pre_tokenizer) {
    parts_.model->encode_piece(text, ids);
    return;
  }
  PieceArena arena;
  std::vector<PreToken> pieces{{text, at_text_start}};
  parts_.pre_tokenizer->apply(pieces, arena);
  for (const auto& piece : pieces) parts_.model->encode_piece(piece.text, ids);
}

void BpeTokenizer::encode_text(std::string_view text, bool at_text_start, bool match_special,
                               std::vector<int32_t>& ids) const {
  if (!parts_.normalizer) {
    encode_pieces(text, at_text_start, ids);
    return;
  }
  const std::string normalized = parts_.normalizer->apply(text);
  if (normalized_matcher_.empty()) {
    encode_pieces(normalized, at_text_start, ids);
    return;
  }
  std::vector<TextSegment> segments;
  normalized_matcher_.split(normalized, match_special, segments);
  for (const auto& segment : segments) {
    if (segment.id >= 0)
      ids.push_back(segment.id);
    else
      encode_pieces(std::string_view(normalized).substr(segment.begin, segment.end - segment.begin),
                    at_text_start && segment.begin == 0, ids);
  }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_special,
                                          bool match_special) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 8);
  if (add_special) ids = parts_.frame.prefix;
  if (raw_matcher_.empty()) {
    encode_text(text, true, match_special, ids);
  } else {
    std::vector<TextSegment> segments;
    raw_matcher_.split(text, match_special, segments);
    for (const auto& segment : segments) {
      if (segment.id >= 0)
        ids.push_back(segment.id);
      else
        encode_text(text.substr(segment.begin, segment.end - segment.begin), segment.begin == 0,
                    match_special, ids);
    }
  }
  if (add_special) ids.insert(ids.end(), parts_.frame.suffix.begin(), parts_.frame.suffix.end());
  return ids;
}

std::vector<std::string> BpeTokenizer::pre_tokenize(std::string_view text) const {
  std::vector<std::string> out;
  std::vector<TextSegment> segments;
  raw_matcher_.split(text, true, segments);
  for (const auto& segment : segments) {
    const std::string_view stretch = text.substr(segment.begin, segment.end - segment.begin);
    if (segment.id >= 0) {
      out.emplace_back(stretch);
      continue;
    }
    const std::string normalized =
        parts_.normalizer ? parts_.normalizer->apply(stretch) : std::string(stretch);
    PieceArena arena;
    std::vector<PreToken> pieces{{normalized, segment.begin == 0}};
    if (parts_.pre_tokenizer) parts_.pre_tokenizer->apply(pieces, arena);
    for (const auto& piece : pieces) out.emplace_back(piece.text);
  }
  return out;
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  const BpeModel& model = *parts_.model;
  for (int32_t id : ids) {
    TESSERA_CHECK_INPUT(model.has_id(id) || added_token(id) != nullptr,
                        "token id {} is not in the vocabulary (size {})", id, vocab_size_);
  }
  const bool plain_byte_level =
      parts_.decoder && parts_.decoder->is_plain_byte_level() && model.options().byte_level;
  if (plain_byte_level) {
    // Byte-level tokens already hold their raw bytes: no string mapping needed.
    std::string text, bytes;
    for (int32_t id : ids) {
      if (const AddedToken* token = added_token(id)) {
        if (skip_special && token->special) continue;
        text += byte_level_to_bytes(token->content, bytes) ? bytes : token->content;
      } else {
        text += model.token_bytes(id);
      }
    }
    return text;
  }
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    const AddedToken* token = added_token(id);
    if (token && skip_special && token->special) continue;
    tokens.push_back(token ? token->content : model.token_spelling(id));
  }
  if (!parts_.decoder) {
    std::string joined;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i) joined += ' ';
      joined += tokens[i];
    }
    return joined;
  }
  parts_.decoder->decode_chain(tokens);
  std::string text;
  for (const auto& piece : tokens) text += piece;
  return text;
}

std::string BpeTokenizer::id_to_token(int32_t id) const {
  if (const AddedToken* token = added_token(id)) return token->content;
  TESSERA_CHECK_INPUT(parts_.model->has_id(id), "token id {} is not in the vocabulary (size {})",
                      id, vocab_size_);
  return parts_.model->token_spelling(id);
}

std::optional<int32_t> BpeTokenizer::token_to_id(std::string_view token) const {
  if (const auto it = added_by_content_.find(std::string(token)); it != added_by_content_.end())
    return it->second;
  const int32_t id = parts_.model->spelling_to_id(token);
  if (id < 0) return std::nullopt;
  return id;
}

std::vector<SpecialToken> BpeTokenizer::special_tokens() const {
  std::vector<SpecialToken> out;
  for (const auto& token : parts_.added_tokens)
    if (token.special) out.push_back({token.content, token.id});
  return out;
}

bool BpeTokenizer::is_special(int32_t id) const {
  const AddedToken* token = added_token(id);
  return token != nullptr && token->special;
}

}  // namespace tessera::text
