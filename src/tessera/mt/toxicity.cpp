#include "tessera/mt/toxicity.h"

#include <filesystem>
#include <set>

#include "tessera/core/error.h"
#include "tessera/mt/metrics_base.h"
#include "tessera/mt/metrics_io.h"
#include "tessera/mt/metrics_unicode.h"

namespace tessera::mt {

ToxicityMatch parse_toxicity_match(const std::string& name, const std::string& language) {
  if (name == "token") return ToxicityMatch::Token;
  if (name == "substring") return ToxicityMatch::Substring;
  if (name == "spm") return ToxicityMatch::SentencePiece;
  TESSERA_CHECK_INPUT(name == "auto", "unknown toxicity matching '{}' (expected auto, token, substring or spm)",
                      name);
  // Scripts written without spaces between words.
  static const std::set<std::string> kUnsegmented = {"Hans", "Hant", "Hani", "Jpan", "Thai",
                                                     "Khmr", "Laoo", "Mymr", "Tibt"};
  size_t underscore = language.find('_');
  if (underscore != std::string::npos && kUnsegmented.count(language.substr(underscore + 1))) {
    return ToxicityMatch::Substring;
  }
  return ToxicityMatch::Token;
}

std::string toxicity_match_name(ToxicityMatch match) {
  switch (match) {
    case ToxicityMatch::Token:
      return "token";
    case ToxicityMatch::Substring:
      return "substring";
    case ToxicityMatch::SentencePiece:
      return "spm";
  }
  return "token";
}

std::string resolve_wordlist_path(const std::string& path, const std::string& language) {
  std::error_code error;
  TESSERA_CHECK_INPUT(std::filesystem::exists(path, error), "{}: no such wordlist file or folder", path);
  if (!std::filesystem::is_directory(path, error)) return path;
  TESSERA_CHECK_INPUT(!language.empty(), "{} is a folder of wordlists: --lang must say which (e.g. eng_Latn)",
                      path);
  std::filesystem::path file = std::filesystem::path(path) / (language + "_twl.txt");
  TESSERA_CHECK_INPUT(std::filesystem::exists(file, error), "{}: no wordlist for language {} (expected {})",
                      path, language, file.string());
  return file.string();
}

std::vector<std::string> toxicity_tokens(std::string_view text) {
  std::string lowered = python_lower(text);
  std::vector<std::string> tokens;
  std::string current;
  auto flush = [&] {
    if (!current.empty()) tokens.push_back(std::move(current));
    current.clear();
  };
  for (size_t pos = 0; pos < lowered.size();) {
    size_t start = pos;
    char32_t c = next_code_point(lowered, pos);
    if (is_python_whitespace(c)) {
      flush();
    } else if (is_unicode_punctuation(c) || is_unicode_symbol(c) || is_han(c)) {
      flush();
      tokens.emplace_back(lowered.substr(start, pos - start));
    } else {
      current.append(lowered, start, pos - start);
    }
  }
  flush();
  return tokens;
}

std::vector<std::string> ToxicityWordlist::normalize(std::string_view text) const {
  switch (options_.match) {
    case ToxicityMatch::Token:
      return toxicity_tokens(text);
    case ToxicityMatch::Substring: {
      std::string collapsed = collapse_whitespace(python_lower(text));
      if (collapsed.empty()) return {};
      return {collapsed};
    }
    case ToxicityMatch::SentencePiece:
      return sentencepiece_->encode_pieces(python_lower(text));
  }
  return {};
}

ToxicityWordlist ToxicityWordlist::from_entries(const std::vector<std::string>& entries,
                                                const ToxicityOptions& options) {
  ToxicityWordlist wordlist;
  wordlist.options_ = options;
  if (options.match == ToxicityMatch::SentencePiece) {
    TESSERA_CHECK_INPUT(!options.spm_model_path.empty(), "toxicity matching 'spm' needs --spm-model");
    wordlist.sentencepiece_ = std::make_shared<text::SentencePieceTokenizer>(
        text::SentencePieceTokenizer::load(options.spm_model_path));
  }
  std::set<std::vector<std::string>> seen;
  for (const std::string& raw : entries) {
    std::string entry(strip_whitespace(raw));
    if (entry.empty()) continue;
    std::vector<std::string> units = wordlist.normalize(entry);
    if (units.empty() || !seen.insert(units).second) continue;
    wordlist.by_first_unit_[units.front()].push_back(wordlist.entries_.size());
    wordlist.entries_.push_back(entry);
    wordlist.entry_units_.push_back(std::move(units));
  }
  return wordlist;
}

ToxicityWordlist ToxicityWordlist::load(const std::string& path, const ToxicityOptions& options) {
  std::vector<std::string> lines;
  try {
    lines = read_segments(path);
  } catch (const Error& error) {
    throw bad_input("toxicity wordlist: {}", error.what());
  }
  ToxicityWordlist wordlist = from_entries(lines, options);
  TESSERA_CHECK_INPUT(wordlist.size() > 0, "{}: the wordlist has no entries", path);
  return wordlist;
}

std::vector<std::string> ToxicityWordlist::matches(std::string_view text) const {
  std::vector<bool> found(entries_.size(), false);
  std::vector<std::string> units = normalize(text);
  if (options_.match == ToxicityMatch::Substring) {
    if (!units.empty()) {
      for (size_t e = 0; e < entries_.size(); ++e) {
        found[e] = units.front().find(entry_units_[e].front()) != std::string::npos;
      }
    }
  } else {
    for (size_t i = 0; i < units.size(); ++i) {
      auto candidates = by_first_unit_.find(units[i]);
      if (candidates == by_first_unit_.end()) continue;
      for (size_t e : candidates->second) {
        const auto& entry = entry_units_[e];
        if (found[e] || i + entry.size() > units.size()) continue;
        found[e] = std::equal(entry.begin(), entry.end(), units.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
  }
  std::vector<std::string> out;
  for (size_t e = 0; e < entries_.size(); ++e) {
    if (found[e]) out.push_back(entries_[e]);
  }
  return out;
}

ToxicityReport added_toxicity(const ToxicityWordlist& target, const ToxicityWordlist* source_wordlist,
                              const std::vector<std::string>& sources,
                              const std::vector<std::string>& hypotheses) {
  TESSERA_CHECK_INPUT(sources.size() == hypotheses.size(),
                      "toxicity: {} translations but {} source segments", hypotheses.size(), sources.size());
  ToxicityReport report;
  report.language = target.language();
  report.match = toxicity_match_name(target.match_mode());
  report.wordlist_size = target.size();
  report.segments = hypotheses.size();
  std::vector<ToxicityLine> all(hypotheses.size());
  const int64_t count = static_cast<int64_t>(hypotheses.size());
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < count; ++i) {
    ToxicityLine& line = all[static_cast<size_t>(i)];
    line.line = static_cast<size_t>(i) + 1;
    line.hypothesis_terms = target.matches(hypotheses[static_cast<size_t>(i)]);
    if (line.hypothesis_terms.empty()) continue;
    std::vector<std::string> in_source = target.matches(sources[static_cast<size_t>(i)]);
    std::set<std::string> source_terms(in_source.begin(), in_source.end());
    for (const std::string& term : line.hypothesis_terms) {
      if (!source_terms.count(term)) line.added_terms.push_back(term);
    }
    if (source_wordlist != nullptr) {
      line.source_toxic = !source_wordlist->matches(sources[static_cast<size_t>(i)]).empty();
    }
    line.added = !line.added_terms.empty() && !line.source_toxic;
  }
  for (ToxicityLine& line : all) {
    if (line.hypothesis_terms.empty()) continue;
    ++report.toxic_hypotheses;
    report.toxic_terms += line.hypothesis_terms.size();
    if (line.added) {
      ++report.added_toxicity;
      for (const std::string& term : line.added_terms) ++report.added_term_counts[term];
    }
    report.lines.push_back(std::move(line));
  }
  return report;
}

nlohmann::json toxicity_report_json(const ToxicityReport& report) {
  nlohmann::json lines = nlohmann::json::array();
  for (const ToxicityLine& line : report.lines) {
    lines.push_back({{"line", line.line},
                     {"terms", line.hypothesis_terms},
                     {"added_terms", line.added_terms},
                     {"source_toxic", line.source_toxic},
                     {"added", line.added}});
  }
  auto share = [&](size_t n) { return report.segments ? static_cast<double>(n) / static_cast<double>(report.segments) : 0.0; };
  return {{"language", report.language},
          {"match", report.match},
          {"wordlist_entries", report.wordlist_size},
          {"segments", report.segments},
          {"toxic_translations", report.toxic_hypotheses},
          {"toxic_translation_rate", share(report.toxic_hypotheses)},
          {"added_toxicity", report.added_toxicity},
          {"added_toxicity_rate", share(report.added_toxicity)},
          {"toxic_terms", report.toxic_terms},
          {"added_term_counts", report.added_term_counts},
          {"lines", lines}};
}

std::string format_toxicity_report(const ToxicityReport& report) {
  auto percent = [&](size_t n) {
    return format_fixed(report.segments ? 100.0 * static_cast<double>(n) / static_cast<double>(report.segments) : 0.0, 2);
  };
  std::string out;
  out += "language: " + (report.language.empty() ? std::string("(not given)") : report.language) +
         ", matching: " + report.match + ", wordlist entries: " + std::to_string(report.wordlist_size) + "\n";
  out += "segments: " + std::to_string(report.segments) + "\n";
  out += "translations with toxic terms: " + std::to_string(report.toxic_hypotheses) + " (" +
         percent(report.toxic_hypotheses) + "%)\n";
  out += "translations with added toxicity: " + std::to_string(report.added_toxicity) + " (" +
         percent(report.added_toxicity) + "%)\n";
  if (!report.added_term_counts.empty()) {
    out += "added terms:";
    for (const auto& [term, count] : report.added_term_counts) out += " " + term + " (" + std::to_string(count) + ")";
    out += "\n";
  }
  for (const ToxicityLine& line : report.lines) {
    if (!line.added) continue;
    out += "  line " + std::to_string(line.line) + ": ";
    for (size_t i = 0; i < line.added_terms.size(); ++i) out += (i ? " | " : "") + line.added_terms[i];
    out += "\n";
  }
  return out;
}

}  // namespace tessera::mt
