#include "tessera/text/bpe_trainer.h"

#include <omp.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <queue>
#include <unordered_map>

#include "tessera/core/error.h"
#include "tessera/text/added_vocabulary.h"
#include "tessera/text/loaders.h"
#include "tessera/text/regex.h"
#include "tessera/text/utf8.h"

namespace tessera::text {
namespace {

struct Word {
  std::vector<int32_t> symbols;
  int64_t count;
};

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

struct PairCandidate {
  int64_t count;
  uint64_t pair;
  // Max-heap on count; among equal counts the smaller pair first (HF's order).
  bool operator<(const PairCandidate& other) const {
    return count != other.count ? count < other.count : pair > other.pair;
  }
};

// Splits every line of `text` into pre-tokens and counts them; special tokens are cut out
// first so no merge ever spans one.
void count_words(std::string_view text, const Regex& regex, const AddedTokenMatcher& specials,
                 std::unordered_map<std::string, int64_t>& counts) {
  std::vector<TextSegment> segments;
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find('\n', begin);
    end = end == std::string_view::npos ? text.size() : end + 1;
    const std::string_view line = text.substr(begin, end - begin);
    begin = end;
    segments.clear();
    specials.split(line, true, segments);
    for (const auto& segment : segments) {
      if (segment.id >= 0) continue;
      const std::string_view stretch = line.substr(segment.begin, segment.end - segment.begin);
      size_t previous = 0;
      regex.for_each_match(stretch, [&](size_t match_begin, size_t match_end) {
        if (previous < match_begin)
          ++counts[std::string(stretch.substr(previous, match_begin - previous))];
        ++counts[std::string(stretch.substr(match_begin, match_end - match_begin))];
        previous = match_end;
      });
      if (previous < stretch.size()) ++counts[std::string(stretch.substr(previous))];
    }
  }
}

void write_file_atomically(const std::filesystem::path& path, const std::string& content) {
  const auto temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    TESSERA_CHECK(out.good(), "cannot write {}", temporary);
    out << content;
    out.flush();
    TESSERA_CHECK(out.good(), "failed writing {}", temporary);
  }
  std::filesystem::rename(temporary, path);
}

}  // namespace

BpeTrainResult train_byte_level_bpe(const BpeTrainOptions& options) {
  TESSERA_CHECK_INPUT(!options.input_files.empty(), "BPE training needs at least one input file");
  const int reserved = static_cast<int>(options.special_tokens.size()) + 256;
  TESSERA_CHECK_INPUT(options.vocab_size >= reserved,
                      "vocabulary size {} is too small: {} special tokens + 256 bytes need {}",
                      options.vocab_size, options.special_tokens.size(), reserved);
  TESSERA_CHECK_INPUT(options.min_frequency >= 1, "min frequency must be >= 1, got {}",
                      options.min_frequency);
  const Regex regex = Regex::compile(options.pattern, RegexFlavor::Oniguruma);
  AddedTokenMatcher specials;
  for (size_t i = 0; i < options.special_tokens.size(); ++i) {
    TESSERA_CHECK_INPUT(!options.special_tokens[i].empty(), "special token {} is empty", i);
    specials.add({options.special_tokens[i], static_cast<int32_t>(i), true},
                 options.special_tokens[i]);
  }

  BpeTrainResult result;
  result.special_tokens = options.special_tokens;
  for (const auto& token : options.special_tokens) result.token_bytes.push_back(token);
  for (int b = 0; b < 256; ++b) result.token_bytes.emplace_back(1, static_cast<char>(b));

  // 1. Count pre-tokens: each thread counts a share of the lines, then the maps are merged.
  std::unordered_map<std::string, int64_t> word_counts;
  for (const auto& file : options.input_files) {
    const std::string text = read_text_file(file, "training input");
    result.corpus_bytes += static_cast<int64_t>(text.size());
    const int threads = std::max(1, omp_get_max_threads());
    std::vector<size_t> cuts{0};
    for (int t = 1; t < threads; ++t) {
      size_t cut = text.size() * t / threads;
      cut = text.find('\n', cut);
      cuts.push_back(cut == std::string::npos ? text.size() : cut + 1);
    }
    cuts.push_back(text.size());
    std::vector<std::unordered_map<std::string, int64_t>> partial(threads);
#pragma omp parallel for schedule(static, 1)
    for (int t = 0; t < threads; ++t) {
      const size_t begin = std::min(cuts[t], text.size());
      const size_t end = std::max(begin, std::min(cuts[t + 1], text.size()));
      count_words(std::string_view(text).substr(begin, end - begin), regex, specials, partial[t]);
    }
    for (auto& counts : partial)
      for (auto& [word, count] : counts) word_counts[word] += count;
  }
  result.distinct_words = static_cast<int64_t>(word_counts.size());

  // 2. Words as byte-id sequences, pair counts and where each pair occurs.
  const auto byte_id = [&](char c) {
    return static_cast<int32_t>(options.special_tokens.size()) + static_cast<uint8_t>(c);
  };
  std::vector<Word> words;
  words.reserve(word_counts.size());
  for (const auto& [word, count] : word_counts) {
    Word w{{}, count};
    for (char c : word) w.symbols.push_back(byte_id(c));
    words.push_back(std::move(w));
  }
  // A deterministic word order makes training reproducible across runs and thread counts.
  std::sort(words.begin(), words.end(),
            [](const Word& a, const Word& b) { return a.symbols < b.symbols; });
  std::unordered_map<uint64_t, int64_t> pair_counts;
  std::unordered_map<uint64_t, std::vector<uint32_t>> pair_words;
  for (uint32_t w = 0; w < words.size(); ++w) {
    const auto& symbols = words[w].symbols;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      const uint64_t key = pair_key(symbols[i], symbols[i + 1]);
      pair_counts[key] += words[w].count;
      pair_words[key].push_back(w);
    }
  }
  std::priority_queue<PairCandidate> queue;
  for (const auto& [pair, count] : pair_counts) queue.push({count, pair});

  // 3. Merge the most frequent pair until the vocabulary is full.
  std::vector<uint64_t> touched;
  while (static_cast<int>(result.token_bytes.size()) < options.vocab_size && !queue.empty()) {
    const PairCandidate top = queue.top();
    queue.pop();
    const int64_t current = pair_counts[top.pair];
    if (current != top.count) {  // stale entry: requeue with the current count
      if (current > 0) queue.push({current, top.pair});
      continue;
    }
    if (current < options.min_frequency) break;
    const auto left = static_cast<int32_t>(top.pair >> 32);
    const auto right = static_cast<int32_t>(top.pair & 0xFFFFFFFF);
    const auto merged = static_cast<int32_t>(result.token_bytes.size());
    result.token_bytes.push_back(result.token_bytes[left] + result.token_bytes[right]);
    result.merges.emplace_back(left, right);

    auto occurrences = std::move(pair_words[top.pair]);
    pair_words.erase(top.pair);
    std::sort(occurrences.begin(), occurrences.end());
    occurrences.erase(std::unique(occurrences.begin(), occurrences.end()), occurrences.end());
    touched.clear();
    for (uint32_t w : occurrences) {
      Word& word = words[w];
      auto& symbols = word.symbols;
      bool found = false;
      for (size_t i = 0; i + 1 < symbols.size(); ++i)
        found |= symbols[i] == left && symbols[i + 1] == right;
      if (!found) continue;
      // Remove the word's old pairs, merge left to right, add the new pairs.
      for (size_t i = 0; i + 1 < symbols.size(); ++i)
        pair_counts[pair_key(symbols[i], symbols[i + 1])] -= word.count;
      std::vector<int32_t> merged_symbols;
      merged_symbols.reserve(symbols.size());
      for (size_t i = 0; i < symbols.size(); ++i) {
        if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
          merged_symbols.push_back(merged);
          ++i;
        } else {
          merged_symbols.push_back(symbols[i]);
        }
      }
      symbols = std::move(merged_symbols);
      for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        const uint64_t key = pair_key(symbols[i], symbols[i + 1]);
        pair_counts[key] += word.count;
        if (symbols[i] == merged || symbols[i + 1] == merged) {
          pair_words[key].push_back(w);
          touched.push_back(key);
        }
      }
    }
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (uint64_t key : touched) queue.push({pair_counts[key], key});
    pair_counts.erase(top.pair);
    if (options.verbose && result.merges.size() % 1000 == 0)
      fmt::print(stderr, "bpe train: {} merges, vocabulary {}/{}\n", result.merges.size(),
                 result.token_bytes.size(), options.vocab_size);
  }
  return result;
}

std::string byte_level_bpe_tokenizer_json(const BpeTrainResult& result,
                                          const std::string& pattern) {
  using nlohmann::ordered_json;
  const size_t special_count = result.special_tokens.size();
  ordered_json added = ordered_json::array();
  for (size_t i = 0; i < special_count; ++i) {
    added.push_back({{"id", i},
                     {"content", result.special_tokens[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  ordered_json vocab = ordered_json::object();
  for (size_t id = 0; id < result.token_bytes.size(); ++id) {
    const std::string spelling =
        id < special_count ? result.token_bytes[id] : bytes_to_byte_level(result.token_bytes[id]);
    vocab[spelling] = id;
  }
  ordered_json merges = ordered_json::array();
  for (const auto& [left, right] : result.merges) {
    // Byte-level spellings never contain a space, so the "a b" form is unambiguous and is
    // readable by every tokenizers version.
    merges.push_back(bytes_to_byte_level(result.token_bytes[left]) + " " +
                     bytes_to_byte_level(result.token_bytes[right]));
  }
  const ordered_json byte_level_pre = {{"type", "ByteLevel"},
                                       {"add_prefix_space", false},
                                       {"trim_offsets", true},
                                       {"use_regex", false}};
  ordered_json root = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"Regex", pattern}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          byte_level_pre}}}},
      {"post_processor",
       {{"type", "ByteLevel"},
        {"add_prefix_space", true},
        {"trim_offsets", false},
        {"use_regex", true}}},
      {"decoder",
       {{"type", "ByteLevel"},
        {"add_prefix_space", true},
        {"trim_offsets", true},
        {"use_regex", true}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"vocab", vocab},
        {"merges", merges}}},
  };
  return root.dump(2);
}

BpeTrainResult train_and_save_byte_level_bpe(const BpeTrainOptions& options,
                                             const std::string& out_dir) {
  BpeTrainResult result = train_byte_level_bpe(options);
  std::filesystem::create_directories(out_dir);
  const std::filesystem::path dir(out_dir);
  write_file_atomically(dir / "tokenizer.json",
                        byte_level_bpe_tokenizer_json(result, options.pattern));
  nlohmann::ordered_json config = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                                   {"model_max_length", 1 << 20},
                                   {"clean_up_tokenization_spaces", false}};
  if (!result.special_tokens.empty()) {
    config["bos_token"] = result.special_tokens.front();
    config["eos_token"] = result.special_tokens.front();
  }
  write_file_atomically(dir / "tokenizer_config.json", config.dump(2));
  return result;
}

}  // namespace tessera::text
