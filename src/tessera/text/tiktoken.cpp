// tiktoken rank files: one "<base64 token bytes> <rank>" per line.
#include <filesystem>

#include "tessera/core/error.h"
#include "tessera/text/loaders.h"

namespace tessera::text {
namespace {

// Patterns and special tokens of OpenAI's standard encodings (tiktoken_ext/openai_public).
constexpr std::string_view kR50kPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kCl100kPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kO200kPattern =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

bool decode_base64(std::string_view text, std::string& out) {
  out.clear();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return false;
  uint32_t accumulator = 0;
  int bits = 0;
  for (char c : text) {
    const int value = base64_value(c);
    if (value < 0) return false;
    accumulator = (accumulator << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((accumulator >> bits) & 0xFF));
    }
  }
  return true;
}

std::string encode_base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v =
        (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<TiktokenEncodingSpec> standard_tiktoken_encoding(std::string_view name) {
  if (name == "gpt2" || name == "r50k_base" || name == "p50k_base")
    return TiktokenEncodingSpec{std::string(kR50kPattern), {{"<|endoftext|>", 50256}}};
  if (name == "p50k_edit") {
    return TiktokenEncodingSpec{std::string(kR50kPattern),
                                {{"<|endoftext|>", 50256},
                                 {"<|fim_prefix|>", 50281},
                                 {"<|fim_middle|>", 50282},
                                 {"<|fim_suffix|>", 50283}}};
  }
  if (name == "cl100k_base") {
    return TiktokenEncodingSpec{std::string(kCl100kPattern),
                                {{"<|endoftext|>", 100257},
                                 {"<|fim_prefix|>", 100258},
                                 {"<|fim_middle|>", 100259},
                                 {"<|fim_suffix|>", 100260},
                                 {"<|endofprompt|>", 100276}}};
  }
  if (name == "o200k_base") {
    return TiktokenEncodingSpec{std::string(kO200kPattern),
                                {{"<|endoftext|>", 199999}, {"<|endofprompt|>", 200018}}};
  }
  return std::nullopt;
}

std::unique_ptr<BpeTokenizer> load_tiktoken(const std::string& path,
                                            const std::optional<std::string>& pattern,
                                            const std::map<std::string, int32_t>& special_tokens) {
  const std::string name = std::filesystem::path(path).stem().string();
  auto spec = standard_tiktoken_encoding(name);
  if (pattern) {
    spec = TiktokenEncodingSpec{*pattern, special_tokens};
  } else if (!spec) {
    throw bad_input(
        "{}: '{}' is not a standard tiktoken encoding (gpt2, r50k_base, p50k_base, p50k_edit, "
        "cl100k_base, o200k_base); give its pre-tokenizer regex with --pattern and its special "
        "tokens with --special",
        path, name);
  } else if (!special_tokens.empty()) {
    spec->special_tokens = special_tokens;
  }

  const std::string text = read_text_file(path, "tiktoken file");
  BpeModel::Vocab ranks;
  ranks.reserve(text.size() / 12);
  std::string bytes;
  size_t line_number = 0;
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + begin, end - begin);
    begin = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    TESSERA_CHECK_INPUT(space != std::string_view::npos && space > 0,
                        "{}:{}: expected '<base64 token> <rank>'", path, line_number);
    TESSERA_CHECK_INPUT(decode_base64(line.substr(0, space), bytes), "{}:{}: invalid base64 '{}'",
                        path, line_number, line.substr(0, space));
    int64_t rank = 0;
    const std::string_view digits = line.substr(space + 1);
    TESSERA_CHECK_INPUT(!digits.empty() && digits.size() <= 9, "{}:{}: invalid rank '{}'", path,
                        line_number, digits);
    for (char c : digits) {
      TESSERA_CHECK_INPUT(c >= '0' && c <= '9', "{}:{}: invalid rank '{}'", path, line_number,
                          digits);
      rank = rank * 10 + (c - '0');
    }
    ranks.emplace_back(bytes, static_cast<int32_t>(rank));
  }
  TESSERA_CHECK_INPUT(!ranks.empty(), "{}: no ranks found (empty tiktoken file)", path);

  BpeTokenizerParts parts;
  try {
    parts.model = BpeModel::from_ranks(ranks);
  } catch (const Error& e) {
    throw e.with_context(path);
  }
  parts.pre_tokenizer = make_regex_pre_tokenizer(spec->pattern, RegexFlavor::RustRegex);
  parts.decoder = make_byte_level_decoder();
  for (const auto& [content, id] : spec->special_tokens) {
    TESSERA_CHECK_INPUT(!parts.model->has_id(id),
                        "{}: special token {} has id {}, which is already an ordinary token", path,
                        content, id);
    parts.added_tokens.push_back({content, id, true, false, false, false, false});
    if (content == "<|endoftext|>") parts.eos_id = id;
  }
  parts.description = fmt::format("tiktoken {} ({} ranks)", name, ranks.size());
  return std::make_unique<BpeTokenizer>(std::move(parts));
}

}  // namespace tessera::text
