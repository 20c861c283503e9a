#pragma once
// LMRL-Gym's Wordle as AgentGym serves it. Guesses are five space-separated letters
// ("s h i r e"); feedback is five space-separated letters b/y/g. Six tries; a guess that is
// not a five-letter vocabulary word answers "invalid word" and still uses a try. The game
// never commits to a hidden word: at each valid guess the word is drawn, with the episode's
// seeded generator, from the words still consistent with all feedback so far, and the game is
// won when exactly one word remains consistent and it has been guessed. Rewards follow
// AgentGym's shaping of LMRL-Gym's (-1 per turn, 0 on the win) into 0 per turn, 1 on the win.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tessera/agents/environment.h"
#include "tessera/agents/seeded_random.h"

namespace tessera::agents {

constexpr int kWordLength = 5;
constexpr int kWordleTries = 6;

// The sorted, de-duplicated five-letter lowercase ASCII words of a word list.
class WordleVocabulary {
 public:
  explicit WordleVocabulary(std::vector<std::string> words);
  // Reads one word per line and keeps exactly-five-letter a-z words (Debian's wamerican list
  // /usr/share/dict/american-english gives about 4,600). Throws BadInput naming the file.
  static std::shared_ptr<const WordleVocabulary> from_file(const std::string& path,
                                                           int64_t limit = 0);
  // The shared vocabulary for `config` (loaded once per path and size).
  static std::shared_ptr<const WordleVocabulary> for_config(const GymConfig& config);

  const std::vector<std::string>& words() const { return words_; }
  bool contains(const std::string& word) const;
  size_t size() const { return words_.size(); }

 private:
  std::vector<std::string> words_;
};

// Feedback of one guess against one hidden word under LMRL-Gym's rule: 'g' when the letter
// is at that position, else 'y' when the letter is anywhere in the word, else 'b' (so a
// repeated letter is marked y/g at every position, unlike the newspaper game).
std::string wordle_feedback(const std::string& guess, const std::string& hidden);
// The feedback as a base-3 code 0..242 (b=0, y=1, g=2, first letter most significant).
int wordle_feedback_code(const std::string& guess, const std::string& hidden);

// What is known per letter and position (LMRL-Gym's CharState): each letter/position is
// possible, known not-here, or known here; a letter known absent is not-here everywhere.
class WordleKnowledge {
 public:
  WordleKnowledge();
  void apply(const std::string& guess, const std::string& feedback);
  bool consistent(const std::string& word) const;

 private:
  enum class Cell : uint8_t { Possible, NotHere, Here };
  std::array<std::array<Cell, kWordLength>, 26> letters_;
};

class WordleEnvironment : public Environment {
 public:
  explicit WordleEnvironment(std::shared_ptr<const WordleVocabulary> vocabulary);

  std::string name() const override { return "wordle"; }
  // `seed` seeds the draws of the hidden word; any non-negative integer is a task.
  std::string reset(int64_t seed) override;
  StepResult step(const std::string& action) override;
  std::string observation() const override { return observation_; }
  std::vector<std::string> available_actions() const override { return {}; }

  // Words still consistent with the feedback (the /wordle/filtered_vocab answer).
  const std::vector<std::string>& filtered_vocabulary() const { return candidates_; }
  const WordleVocabulary& vocabulary() const { return *vocabulary_; }
  const std::vector<std::string>& guesses() const { return guesses_; }
  bool won() const { return won_; }

 private:
  std::shared_ptr<const WordleVocabulary> vocabulary_;
  SeededRandom generator_{0};
  WordleKnowledge knowledge_;
  std::vector<std::string> candidates_;
  std::vector<std::string> guesses_;  // every try, invalid ones included
  std::string observation_;
  bool won_ = false;
};

}  // namespace tessera::agents
