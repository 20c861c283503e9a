#include "tessera/agents/wordle.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>

#include "tessera/core/error.h"

namespace tessera::agents {

namespace {

bool is_vocabulary_shaped(const std::string& word) {
  return word.size() == kWordLength &&
         std::all_of(word.begin(), word.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

// LMRL-Gym reads the guess as the action with surrounding blanks trimmed and every space
// removed ("s h i r e" -> "shire").
std::string guess_from_action(const std::string& action) {
  size_t begin = action.find_first_not_of(" \t\n\r\f\v");
  size_t end = action.find_last_not_of(" \t\n\r\f\v");
  std::string trimmed = begin == std::string::npos ? "" : action.substr(begin, end - begin + 1);
  trimmed.erase(std::remove(trimmed.begin(), trimmed.end(), ' '), trimmed.end());
  return trimmed;
}

std::string spaced(const std::string& letters) {
  std::string out;
  for (size_t i = 0; i < letters.size(); ++i) {
    if (i) out += ' ';
    out += letters[i];
  }
  return out;
}

}  // namespace

WordleVocabulary::WordleVocabulary(std::vector<std::string> words) : words_(std::move(words)) {
  std::erase_if(words_, [](const std::string& w) { return !is_vocabulary_shaped(w); });
  std::sort(words_.begin(), words_.end());
  words_.erase(std::unique(words_.begin(), words_.end()), words_.end());
  TESSERA_CHECK_INPUT(!words_.empty(), "wordle: the vocabulary has no five-letter a-z words");
}

std::shared_ptr<const WordleVocabulary> WordleVocabulary::from_file(const std::string& path,
                                                                    int64_t limit) {
  std::ifstream in(path);
  TESSERA_CHECK_INPUT(
      in.good(), "wordle: cannot read word list {} (Debian package wamerican provides it)", path);
  std::vector<std::string> words;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (is_vocabulary_shaped(line)) words.push_back(line);
  }
  TESSERA_CHECK_INPUT(!words.empty(), "wordle: word list {} has no five-letter lowercase a-z words",
                      path);
  TESSERA_CHECK_INPUT(limit >= 0, "wordle: vocabulary size must be >= 0, got {}", limit);
  if (limit > 0 && static_cast<size_t>(limit) < words.size()) {
    // A fixed subset (seed 0), so a given list and size always mean the same vocabulary.
    std::sort(words.begin(), words.end());
    words.erase(std::unique(words.begin(), words.end()), words.end());
    SeededRandom generator(0);
    generator.shuffle(words);
    words.resize(static_cast<size_t>(limit));
  }
  return std::make_shared<const WordleVocabulary>(std::move(words));
}

std::shared_ptr<const WordleVocabulary> WordleVocabulary::for_config(const GymConfig& config) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, int64_t>, std::shared_ptr<const WordleVocabulary>> cache;
  std::lock_guard lock(mutex);
  auto key = std::make_pair(config.wordle_word_list, config.wordle_vocab_size);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  auto vocabulary = from_file(config.wordle_word_list, config.wordle_vocab_size);
  cache.emplace(key, vocabulary);
  return vocabulary;
}

bool WordleVocabulary::contains(const std::string& word) const {
  return std::binary_search(words_.begin(), words_.end(), word);
}

std::string wordle_feedback(const std::string& guess, const std::string& hidden) {
  std::string feedback(kWordLength, 'b');
  for (int i = 0; i < kWordLength; ++i) {
    if (guess[i] == hidden[i]) {
      feedback[i] = 'g';
    } else if (hidden.find(guess[i]) != std::string::npos) {
      feedback[i] = 'y';
    }
  }
  return feedback;
}

int wordle_feedback_code(const std::string& guess, const std::string& hidden) {
  int code = 0;
  for (int i = 0; i < kWordLength; ++i) {
    int digit = 0;
    if (guess[i] == hidden[i]) {
      digit = 2;
    } else if (hidden.find(guess[i]) != std::string::npos) {
      digit = 1;
    }
    code = code * 3 + digit;
  }
  return code;
}

WordleKnowledge::WordleKnowledge() {
  for (auto& letter : letters_) letter.fill(Cell::Possible);
}

void WordleKnowledge::apply(const std::string& guess, const std::string& feedback) {
  for (int i = 0; i < kWordLength; ++i) {
    auto& letter = letters_[static_cast<size_t>(guess[i] - 'a')];
    if (feedback[i] == 'g') {
      letter[i] = Cell::Here;
    } else if (feedback[i] == 'y') {
      letter[i] = Cell::NotHere;
    } else {
      letter.fill(Cell::NotHere);
    }
  }
}

bool WordleKnowledge::consistent(const std::string& word) const {
  for (int c = 0; c < 26; ++c) {
    const auto& letter = letters_[static_cast<size_t>(c)];
    const char ch = static_cast<char>('a' + c);
    bool all_possible = true, all_not_here = true;
    for (Cell cell : letter) {
      all_possible &= cell == Cell::Possible;
      all_not_here &= cell == Cell::NotHere;
    }
    if (all_possible) continue;
    bool present = word.find(ch) != std::string::npos;
    if (all_not_here) {
      if (present) return false;
      continue;
    }
    for (int i = 0; i < kWordLength; ++i) {
      if (letter[i] == Cell::Here && word[i] != ch) return false;
      if (letter[i] == Cell::NotHere && word[i] == ch) return false;
    }
    if (!present) return false;
  }
  return true;
}

WordleEnvironment::WordleEnvironment(std::shared_ptr<const WordleVocabulary> vocabulary)
    : vocabulary_(std::move(vocabulary)) {
  TESSERA_CHECK(vocabulary_ != nullptr, "wordle: no vocabulary");
  candidates_ = vocabulary_->words();
}

std::string WordleEnvironment::reset(int64_t seed) {
  TESSERA_CHECK_INPUT(seed >= 0, "wordle: seed must be >= 0, got {}", seed);
  begin_episode(seed);
  generator_ = SeededRandom(static_cast<uint64_t>(seed));
  knowledge_ = WordleKnowledge();
  candidates_ = vocabulary_->words();
  guesses_.clear();
  won_ = false;
  observation_ = "Let's start Wordle!";
  return observation_;
}

StepResult WordleEnvironment::step(const std::string& action) {
  require_running();
  std::string guess = guess_from_action(action);
  guesses_.push_back(guess);
  StepResult result;
  if (!is_vocabulary_shaped(guess) || !vocabulary_->contains(guess)) {
    result.observation = "invalid word";
  } else {
    const std::string& hidden = candidates_[static_cast<size_t>(
        generator_.randint(0, static_cast<int64_t>(candidates_.size())))];
    std::string feedback = wordle_feedback(guess, hidden);
    knowledge_.apply(guess, feedback);
    // Knowledge only grows, so the new consistent set is a subset of the old one.
    std::vector<std::string> remaining;
    for (const auto& word : candidates_) {
      if (knowledge_.consistent(word)) remaining.push_back(word);
    }
    candidates_ = std::move(remaining);
    won_ = candidates_.size() == 1 &&
           std::find(guesses_.begin(), guesses_.end(), candidates_[0]) != guesses_.end();
    result.observation = spaced(feedback) + "\n";
    result.reward = won_ ? 1.0 : 0.0;
  }
  result.done = won_ || static_cast<int>(guesses_.size()) == kWordleTries;
  observation_ = result.observation;
  record_step(result);
  return result;
}

}  // namespace tessera::agents
