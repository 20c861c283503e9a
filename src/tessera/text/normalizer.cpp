#include "tessera/text/normalizer.h"

#include <vector>

#include "tessera/text/json_fields.h"
#include "tessera/text/regex.h"
#include "tessera/text/unicode.h"
#include "tessera/text/utf8.h"

namespace tessera::text {
namespace {

using namespace json_fields;

class UnicodeFormNormalizer final : public Normalizer {
 public:
  explicit UnicodeFormNormalizer(NormalForm form) : form_(form) {}
  std::string apply(std::string_view text) const override { return unicode_normalize(text, form_); }

 private:
  NormalForm form_;
};

class LowercaseNormalizer final : public Normalizer {
 public:
  std::string apply(std::string_view text) const override { return unicode_lowercase(text); }
};

class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string apply(std::string_view text) const override {
    if (text.empty()) return {};
    return prefix_ + std::string(text);
  }

 private:
  std::string prefix_;
};

class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(Regex pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  std::string apply(std::string_view text) const override {
    std::string out;
    size_t copied = 0;
    pattern_.for_each_match(text, [&](size_t begin, size_t end) {
      out.append(text.substr(copied, begin - copied));
      out += content_;
      copied = end;
    });
    out.append(text.substr(copied));
    return out;
  }

 private:
  Regex pattern_;
  std::string content_;
};

class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  std::string apply(std::string_view text) const override {
    size_t begin = 0, end = text.size();
    if (left_) {
      while (begin < end) {
        const size_t length = utf8_valid_sequence_length(text, begin);
        if (length == 0 || !is_white_space(utf8_decode(text, begin, length))) break;
        begin += length;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;  // back up to the lead byte of the last character
        while (start > begin && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
        const size_t length = utf8_valid_sequence_length(text, start);
        if (length != end - start || !is_white_space(utf8_decode(text, start, length))) break;
        end = start;
      }
    }
    return std::string(text.substr(begin, end - begin));
  }

 private:
  bool left_, right_;
};

class StripAccentsNormalizer final : public Normalizer {
 public:
  std::string apply(std::string_view text) const override {
    std::string out;
    out.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
      const size_t length = utf8_unit_length(text, pos);
      const bool valid = utf8_valid_sequence_length(text, pos) == length;
      if (!valid || !is_nonspacing_mark(utf8_decode(text, pos, length)))
        out.append(text.substr(pos, length));
      pos += length;
    }
    return out;
  }
};

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps_(std::move(steps)) {}
  std::string apply(std::string_view text) const override {
    std::string current(text);
    for (const auto& step : steps_) current = step->apply(current);
    return current;
  }
  bool is_byte_level() const override {
    for (const auto& step : steps_)
      if (step->is_byte_level()) return true;
    return false;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

// The ByteLevel normalizer spells text in the byte-level alphabet. Tessera keeps text as raw
// bytes and converts the vocabulary instead, so applying it is the identity here.
class ByteLevelNormalizer final : public Normalizer {
 public:
  std::string apply(std::string_view text) const override { return std::string(text); }
  bool is_byte_level() const override { return true; }
};

}  // namespace

// Shared with pre-tokenizers and decoders: {"String": "..."} or {"Regex": "..."}.
Regex pattern_from_json(const nlohmann::json& pattern, std::string_view where) {
  TESSERA_CHECK_INPUT(pattern.is_object() && pattern.size() == 1,
                      "{}: 'pattern' must be {{\"String\": ...}} or {{\"Regex\": ...}}", where);
  if (pattern.contains("String")) return Regex::literal(require_string(pattern, "String", where));
  if (pattern.contains("Regex"))
    return Regex::compile(require_string(pattern, "Regex", where), RegexFlavor::Oniguruma);
  throw bad_input("{}: 'pattern' must be {{\"String\": ...}} or {{\"Regex\": ...}}", where);
}

std::unique_ptr<Normalizer> normalizer_from_json(const nlohmann::json& spec) {
  if (spec.is_null()) return nullptr;
  const std::string type = type_of(spec, "normalizer");
  const std::string where = "normalizer " + type;
  if (type == "NFC") return std::make_unique<UnicodeFormNormalizer>(NormalForm::NFC);
  if (type == "NFD") return std::make_unique<UnicodeFormNormalizer>(NormalForm::NFD);
  if (type == "NFKC") return std::make_unique<UnicodeFormNormalizer>(NormalForm::NFKC);
  if (type == "NFKD") return std::make_unique<UnicodeFormNormalizer>(NormalForm::NFKD);
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
  if (type == "Prepend")
    return std::make_unique<PrependNormalizer>(require_string(spec, "prepend", where));
  if (type == "Replace") {
    return std::make_unique<ReplaceNormalizer>(
        pattern_from_json(require(spec, "pattern", where), where),
        require_string(spec, "content", where));
  }
  if (type == "Strip") {
    return std::make_unique<StripNormalizer>(optional_bool(spec, "strip_left", where, true),
                                             optional_bool(spec, "strip_right", where, true));
  }
  if (type == "Sequence") {
    const auto& list = require(spec, "normalizers", where);
    TESSERA_CHECK_INPUT(list.is_array(), "{}: 'normalizers' must be a list", where);
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (const auto& item : list) {
      auto step = normalizer_from_json(item);
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  throw bad_input(
      "normalizer type '{}' is not supported (supported: NFC, NFD, NFKC, NFKD, "
      "Lowercase, Prepend, Replace, Strip, StripAccents, ByteLevel, Sequence)",
      type);
}

}  // namespace tessera::text
