#include "tessera/text/pre_tokenizer.h"

#include <functional>

#include "tessera/text/json_fields.h"
#include "tessera/text/unicode.h"
#include "tessera/text/utf8.h"

namespace tessera::text {
namespace {

using namespace json_fields;

// A stretch of a piece: a pattern match, or the text between matches.
struct Span {
  size_t begin, end;
  bool is_match;
};
using SpanFinder = std::function<void(std::string_view, std::vector<Span>&)>;

void regex_spans(const Regex& regex, std::string_view text, std::vector<Span>& spans) {
  size_t previous = 0;
  regex.for_each_match(text, [&](size_t begin, size_t end) {
    if (previous < begin) spans.push_back({previous, begin, false});
    spans.push_back({begin, end, true});
    previous = end;
  });
  if (previous < text.size()) spans.push_back({previous, text.size(), false});
}

// Each character satisfying `predicate` is its own match; the runs between are non-matches
// (HF's char-predicate patterns). Invalid bytes never satisfy a predicate.
template <typename Predicate>
void char_spans(Predicate&& predicate, std::string_view text, std::vector<Span>& spans) {
  size_t previous = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t valid = utf8_valid_sequence_length(text, pos);
    const size_t length = valid == 0 ? 1 : valid;
    if (valid > 0 && predicate(utf8_decode(text, pos, valid))) {
      if (previous < pos) spans.push_back({previous, pos, false});
      spans.push_back({pos, pos + length, true});
      previous = pos + length;
    }
    pos += length;
  }
  if (previous < text.size()) spans.push_back({previous, text.size(), false});
}

// HF NormalizedString::split: decides which spans are kept, merged or removed.
void split_piece(const PreToken& piece, const SpanFinder& find_spans, SplitBehavior behavior,
                 bool invert, std::vector<PreToken>& out, std::vector<Span>& spans) {
  spans.clear();
  find_spans(piece.text, spans);
  if (invert)
    for (auto& span : spans) span.is_match = !span.is_match;
  const auto emit = [&](size_t begin, size_t end) {
    if (end > begin)
      out.push_back({piece.text.substr(begin, end - begin), piece.at_text_start && begin == 0});
  };
  switch (behavior) {
    case SplitBehavior::Isolated:
      for (const auto& span : spans) emit(span.begin, span.end);
      return;
    case SplitBehavior::Removed:
      for (const auto& span : spans)
        if (!span.is_match) emit(span.begin, span.end);
      return;
    case SplitBehavior::Contiguous:
    case SplitBehavior::MergedWithPrevious: {
      std::vector<Span> merged;
      bool previous_match = false;
      for (const auto& span : spans) {
        const bool extend = behavior == SplitBehavior::Contiguous
                                ? span.is_match == previous_match
                                : span.is_match && !previous_match;
        if (extend && !merged.empty())
          merged.back().end = span.end;
        else
          merged.push_back(span);
        previous_match = span.is_match;
      }
      for (const auto& span : merged) emit(span.begin, span.end);
      return;
    }
    case SplitBehavior::MergedWithNext: {
      std::vector<Span> merged;  // built right to left
      bool previous_match = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !merged.empty())
          merged.back().begin = it->begin;
        else
          merged.push_back(*it);
        previous_match = it->is_match;
      }
      for (auto it = merged.rbegin(); it != merged.rend(); ++it) emit(it->begin, it->end);
      return;
    }
  }
}

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(SpanFinder finder, SplitBehavior behavior, bool invert)
      : finder_(std::move(finder)), behavior_(behavior), invert_(invert) {}
  void apply(std::vector<PreToken>& pieces, PieceArena&) const override {
    std::vector<PreToken> out;
    out.reserve(pieces.size() * 4);
    std::vector<Span> spans;
    for (const auto& piece : pieces) split_piece(piece, finder_, behavior_, invert_, out, spans);
    pieces = std::move(out);
  }

 private:
  SpanFinder finder_;
  SplitBehavior behavior_;
  bool invert_;
};

// The common case (tiktoken, Llama-3, GPT-2): matches and gaps both become pieces.
class IsolatedRegexPreTokenizer final : public PreTokenizer {
 public:
  explicit IsolatedRegexPreTokenizer(Regex regex) : regex_(std::move(regex)) {}
  void apply(std::vector<PreToken>& pieces, PieceArena&) const override {
    std::vector<PreToken> out;
    size_t total_bytes = 0;
    for (const auto& piece : pieces) total_bytes += piece.text.size();
    out.reserve(pieces.size() + total_bytes / 3);
    for (const auto& piece : pieces) {
      const std::string_view text = piece.text;
      size_t previous = 0;
      regex_.for_each_match(text, [&](size_t begin, size_t end) {
        if (previous < begin)
          out.push_back(
              {text.substr(previous, begin - previous), piece.at_text_start && previous == 0});
        out.push_back({text.substr(begin, end - begin), piece.at_text_start && begin == 0});
        previous = end;
      });
      if (previous < text.size())
        out.push_back({text.substr(previous), piece.at_text_start && previous == 0});
    }
    pieces = std::move(out);
  }

 private:
  Regex regex_;
};

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space) {
    if (use_regex)
      regex_split_ = std::make_unique<IsolatedRegexPreTokenizer>(
          Regex::compile(kGpt2Pattern, RegexFlavor::Oniguruma));
  }
  void apply(std::vector<PreToken>& pieces, PieceArena& arena) const override {
    if (add_prefix_space_) {
      for (auto& piece : pieces)
        if (!piece.text.starts_with(' ')) {
          std::string prefixed;
          prefixed.reserve(piece.text.size() + 1);
          prefixed.push_back(' ');
          prefixed.append(piece.text);
          piece.text = arena.keep(std::move(prefixed));
        }
    }
    if (regex_split_) regex_split_->apply(pieces, arena);
  }
  bool is_byte_level() const override { return true; }

 private:
  bool add_prefix_space_;
  std::unique_ptr<IsolatedRegexPreTokenizer> regex_split_;
};

enum class PrependScheme { Always, First, Never };

class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {
    const size_t length = utf8_valid_sequence_length(replacement_, 0);
    TESSERA_CHECK_INPUT(!replacement_.empty() && length == replacement_.size(),
                        "pre_tokenizer Metaspace: 'replacement' must be one character");
    replacement_char_ = utf8_decode(replacement_, 0, length);
  }
  void apply(std::vector<PreToken>& pieces, PieceArena& arena) const override {
    std::vector<PreToken> out;
    std::vector<Span> spans;
    for (const auto& piece : pieces) {
      std::string rewritten;
      for (char c : piece.text) {
        if (c == ' ')
          rewritten += replacement_;
        else
          rewritten += c;
      }
      const bool prepend = scheme_ == PrependScheme::Always ||
                           (scheme_ == PrependScheme::First && piece.at_text_start);
      if (prepend && !rewritten.starts_with(replacement_)) rewritten.insert(0, replacement_);
      const PreToken replaced{arena.keep(std::move(rewritten)), piece.at_text_start};
      if (!split_) {
        if (!replaced.text.empty()) out.push_back(replaced);
        continue;
      }
      const char32_t target = replacement_char_;
      split_piece(
          replaced,
          [target](std::string_view text, std::vector<Span>& found) {
            char_spans([target](char32_t c) { return c == target; }, text, found);
          },
          SplitBehavior::MergedWithNext, false, out, spans);
    }
    pieces = std::move(out);
  }

 private:
  std::string replacement_;
  char32_t replacement_char_ = 0;
  PrependScheme scheme_;
  bool split_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {
    for (size_t i = 0; i + 1 < steps_.size(); ++i) {
      // Later stages would see byte-level spelled text, which Tessera never materialises.
      TESSERA_CHECK_INPUT(!steps_[i]->is_byte_level(),
                          "pre_tokenizer Sequence: a ByteLevel step followed by further steps "
                          "is not supported");
    }
  }
  void apply(std::vector<PreToken>& pieces, PieceArena& arena) const override {
    for (const auto& step : steps_) step->apply(pieces, arena);
  }
  bool is_byte_level() const override {
    for (const auto& step : steps_)
      if (step->is_byte_level()) return true;
    return false;
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

SplitBehavior behavior_from_name(const std::string& name, std::string_view where) {
  if (name == "Removed") return SplitBehavior::Removed;
  if (name == "Isolated") return SplitBehavior::Isolated;
  if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (name == "Contiguous") return SplitBehavior::Contiguous;
  throw bad_input("{}: unknown split behavior '{}'", where, name);
}

}  // namespace

std::unique_ptr<PreTokenizer> make_regex_pre_tokenizer(const std::string& pattern,
                                                       RegexFlavor flavor) {
  return std::make_unique<IsolatedRegexPreTokenizer>(Regex::compile(pattern, flavor));
}

std::unique_ptr<PreTokenizer> pre_tokenizer_from_json(const nlohmann::json& spec) {
  if (spec.is_null()) return nullptr;
  const std::string type = type_of(spec, "pre_tokenizer");
  const std::string where = "pre_tokenizer " + type;
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelPreTokenizer>(
        optional_bool(spec, "add_prefix_space", where, true),
        optional_bool(spec, "use_regex", where, true));
  }
  if (type == "Split") {
    const auto behavior = behavior_from_name(require_string(spec, "behavior", where), where);
    const bool invert = optional_bool(spec, "invert", where, false);
    Regex regex = pattern_from_json(require(spec, "pattern", where), where);
    if (behavior == SplitBehavior::Isolated && !invert)
      return std::make_unique<IsolatedRegexPreTokenizer>(std::move(regex));
    return std::make_unique<SplitPreTokenizer>(
        [regex](std::string_view text, std::vector<Span>& spans) {
          regex_spans(regex, text, spans);
        },
        behavior, invert);
  }
  if (type == "Digits") {
    const bool individual = optional_bool(spec, "individual_digits", where, false);
    return std::make_unique<SplitPreTokenizer>(
        [](std::string_view text, std::vector<Span>& spans) {
          char_spans(is_numeric, text, spans);
        },
        individual ? SplitBehavior::Isolated : SplitBehavior::Contiguous, false);
  }
  if (type == "Whitespace") {
    // HF's Whitespace keeps the matches of \w+|[^\w\s]+ (Rust regex classes).
    const Regex words = Regex::compile(R"(\w+|[^\w\s]+)", RegexFlavor::RustRegex);
    return std::make_unique<SplitPreTokenizer>(
        [words](std::string_view text, std::vector<Span>& spans) {
          regex_spans(words, text, spans);
        },
        SplitBehavior::Removed, true);
  }
  if (type == "WhitespaceSplit") {
    return std::make_unique<SplitPreTokenizer>(
        [](std::string_view text, std::vector<Span>& spans) {
          char_spans(is_white_space, text, spans);
        },
        SplitBehavior::Removed, false);
  }
  if (type == "Metaspace") {
    const std::string replacement = optional_string(spec, "replacement", where, "\xE2\x96\x81");
    PrependScheme scheme = PrependScheme::Always;
    if (spec.contains("prepend_scheme")) {
      const std::string name = require_string(spec, "prepend_scheme", where);
      if (name == "always")
        scheme = PrependScheme::Always;
      else if (name == "first")
        scheme = PrependScheme::First;
      else if (name == "never")
        scheme = PrependScheme::Never;
      else
        throw bad_input("{}: unknown prepend_scheme '{}'", where, name);
    } else if (!optional_bool(spec, "add_prefix_space", where, true)) {
      scheme = PrependScheme::Never;
    }
    return std::make_unique<MetaspacePreTokenizer>(replacement, scheme,
                                                   optional_bool(spec, "split", where, true));
  }
  if (type == "Sequence") {
    const auto& list = require(spec, "pretokenizers", where);
    TESSERA_CHECK_INPUT(list.is_array(), "{}: 'pretokenizers' must be a list", where);
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (const auto& item : list) {
      auto step = pre_tokenizer_from_json(item);
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  throw bad_input(
      "pre_tokenizer type '{}' is not supported (supported: ByteLevel, Split, "
      "Digits, Whitespace, WhitespaceSplit, Metaspace, Sequence)",
      type);
}

}  // namespace tessera::text
