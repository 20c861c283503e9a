#include "tessera/text/decoder.h"

#include "tessera/text/json_fields.h"
#include "tessera/text/regex.h"
#include "tessera/text/utf8.h"

namespace tessera::text {
namespace {

using namespace json_fields;

class ByteLevelDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string joined, bytes;
    for (const auto& token : tokens) {
      // A token outside the byte-level alphabet (an added token such as "<|im_start|>" with
      // unmapped characters) contributes its own bytes, as in HF.
      if (byte_level_to_bytes(token, bytes))
        joined += bytes;
      else
        joined += token;
    }
    tokens.assign(1, std::move(joined));
  }
  bool is_plain_byte_level() const override { return true; }
};

class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool strip_leading_space)
      : replacement_(std::move(replacement)), strip_leading_space_(strip_leading_space) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string replaced;
      const std::string& token = tokens[i];
      for (size_t pos = 0; pos < token.size();) {
        if (token.compare(pos, replacement_.size(), replacement_) == 0) {
          replaced += ' ';
          pos += replacement_.size();
        } else {
          replaced += token[pos++];
        }
      }
      if (i == 0 && strip_leading_space_ && replaced.starts_with(' ')) replaced.erase(0, 1);
      tokens[i] = std::move(replaced);
    }
  }

 private:
  std::string replacement_;
  bool strip_leading_space_;
};

class ByteFallbackDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string pending;  // bytes of consecutive <0xNN> tokens
    bool in_bytes = false;
    for (auto& token : tokens) {
      const int byte = parse_byte_token(token);
      if (byte >= 0) {
        pending.push_back(static_cast<char>(byte));
        in_bytes = true;
        continue;
      }
      if (in_bytes) {
        out.push_back(std::move(pending));
        pending.clear();
        in_bytes = false;
      }
      out.push_back(std::move(token));
    }
    if (in_bytes) out.push_back(std::move(pending));
    tokens = std::move(out);
  }
};

class FuseDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string joined;
    for (const auto& token : tokens) joined += token;
    tokens.assign(1, std::move(joined));
  }
};

class StripDecoder final : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& token : tokens) {
      size_t begin = 0, end = token.size();
      for (size_t i = 0; i < start_ && token.compare(begin, content_.size(), content_) == 0 &&
                         begin + content_.size() <= end;
           ++i)
        begin += content_.size();
      for (size_t i = 0; i < stop_ && end >= begin + content_.size() &&
                         token.compare(end - content_.size(), content_.size(), content_) == 0;
           ++i)
        end -= content_.size();
      token = token.substr(begin, end - begin);
    }
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(Regex pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& token : tokens) {
      std::string out;
      size_t copied = 0;
      pattern_.for_each_match(token, [&](size_t begin, size_t end) {
        out.append(token, copied, begin - copied);
        out += content_;
        copied = end;
      });
      out.append(token, copied);
      token = std::move(out);
    }
  }

 private:
  Regex pattern_;
  std::string content_;
};

// Classic BPE end-of-word suffix ("</w>"): becomes a space, except after the last token.
class SuffixDecoder final : public Decoder {
 public:
  explicit SuffixDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& token = tokens[i];
      const std::string replacement = i + 1 == tokens.size() ? "" : " ";
      for (size_t pos = 0;
           !suffix_.empty() && (pos = token.find(suffix_, pos)) != std::string::npos;
           pos += replacement.size())
        token.replace(pos, suffix_.size(), replacement);
    }
  }

 private:
  std::string suffix_;
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps)
      : steps_(std::move(steps)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& step : steps_) step->decode_chain(tokens);
  }
  bool is_plain_byte_level() const override {
    return steps_.size() == 1 && steps_[0]->is_plain_byte_level();
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

}  // namespace

std::unique_ptr<Decoder> make_byte_level_decoder() {
  return std::make_unique<ByteLevelDecoder>();
}

std::unique_ptr<Decoder> decoder_from_json(const nlohmann::json& spec) {
  if (spec.is_null()) return nullptr;
  const std::string type = type_of(spec, "decoder");
  const std::string where = "decoder " + type;
  if (type == "ByteLevel") return make_byte_level_decoder();
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Metaspace") {
    bool strip = optional_bool(spec, "add_prefix_space", where, true);
    if (spec.contains("prepend_scheme"))
      strip = require_string(spec, "prepend_scheme", where) != "never";
    return std::make_unique<MetaspaceDecoder>(
        optional_string(spec, "replacement", where, "\xE2\x96\x81"), strip);
  }
  if (type == "Strip") {
    const int64_t start = require_integer(spec, "start", where);
    const int64_t stop = require_integer(spec, "stop", where);
    TESSERA_CHECK_INPUT(start >= 0 && stop >= 0, "{}: 'start' and 'stop' must be >= 0", where);
    return std::make_unique<StripDecoder>(require_string(spec, "content", where),
                                          static_cast<size_t>(start), static_cast<size_t>(stop));
  }
  if (type == "Replace") {
    return std::make_unique<ReplaceDecoder>(
        pattern_from_json(require(spec, "pattern", where), where),
        require_string(spec, "content", where));
  }
  if (type == "BPEDecoder")
    return std::make_unique<SuffixDecoder>(optional_string(spec, "suffix", where, "</w>"));
  if (type == "Sequence") {
    const auto& list = require(spec, "decoders", where);
    TESSERA_CHECK_INPUT(list.is_array(), "{}: 'decoders' must be a list", where);
    std::vector<std::unique_ptr<Decoder>> steps;
    for (const auto& item : list) {
      auto step = decoder_from_json(item);
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequenceDecoder>(std::move(steps));
  }
  throw bad_input(
      "decoder type '{}' is not supported (supported: ByteLevel, Metaspace, "
      "ByteFallback, Fuse, Strip, Replace, BPEDecoder, Sequence)",
      type);
}

}  // namespace tessera::text
