#include "tessera/agents/experts.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <mutex>

#include "tessera/agents/babyai.h"
#include "tessera/agents/maze.h"
#include "tessera/agents/sqlgym.h"
#include "tessera/agents/textcraft.h"
#include "tessera/agents/todo.h"
#include "tessera/agents/wordle.h"
#include "tessera/core/error.h"

namespace tessera::agents {

namespace {

// ---- Maze: breadth-first search to the goal. ----

class MazeExpert : public Expert {
 public:
  ExpertMove next(const Environment& env) override {
    const auto* maze = dynamic_cast<const MazeEnvironment*>(&env);
    TESSERA_CHECK(maze != nullptr, "maze expert: not a maze environment");
    GridPosition from = maze->position();
    GridPosition goal = MazeEnvironment::goal();
    // BFS backwards from the goal gives every cell its distance; step to a smaller one.
    std::array<std::array<int, MazeEnvironment::kCols>, MazeEnvironment::kRows> distance;
    for (auto& row : distance) row.fill(-1);
    std::deque<GridPosition> queue{goal};
    distance[goal.row][goal.col] = 0;
    while (!queue.empty()) {
      GridPosition cell = queue.front();
      queue.pop_front();
      for (const auto& action : MazeEnvironment::actions()) {
        GridPosition next = MazeEnvironment::move(cell, action);
        if (distance[next.row][next.col] < 0) {
          distance[next.row][next.col] = distance[cell.row][cell.col] + 1;
          queue.push_back(next);
        }
      }
    }
    int here = distance[from.row][from.col];
    TESSERA_CHECK(here > 0, "maze expert: no path from {}, {}", from.row, from.col);
    for (const auto& action : MazeEnvironment::actions()) {
      GridPosition next = MazeEnvironment::move(from, action);
      if (distance[next.row][next.col] == here - 1) {
        std::string thought =
            here == 1 ? fmt::format(
                            "I am at position {}, {}, right next to the goal at {}, {}. "
                            "One {} reaches it.",
                            from.row, from.col, goal.row, goal.col, action.substr(5))
                      : fmt::format(
                            "I am at position {}, {} and the goal is at {}, {}. The shortest "
                            "path around the walls takes {} moves from here, and it starts "
                            "by going {}.",
                            from.row, from.col, goal.row, goal.col, here, action.substr(5));
        return {thought, action};
      }
    }
    throw runtime_error("maze expert: no move decreases the distance at {}, {}", from.row,
                        from.col);
  }
};

// ---- Wordle: pick the guess that splits the consistent words into the most groups. ----

std::string spaced_word(const std::string& word) {
  std::string out;
  for (size_t i = 0; i < word.size(); ++i) {
    if (i) out += ' ';
    out += word[i];
  }
  return out;
}

// The words as letter masks, so the feedback of a pair costs a few bit tests.
struct PackedWord {
  std::array<uint8_t, kWordLength> letters{};
  uint32_t mask = 0;
};
PackedWord pack(const std::string& word) {
  PackedWord packed;
  for (int i = 0; i < kWordLength; ++i) {
    packed.letters[i] = static_cast<uint8_t>(word[i] - 'a');
    packed.mask |= 1u << packed.letters[i];
  }
  return packed;
}
int feedback_code(const PackedWord& guess, const PackedWord& hidden) {
  int code = 0;
  for (int i = 0; i < kWordLength; ++i) {
    int digit =
        guess.letters[i] == hidden.letters[i] ? 2 : ((hidden.mask >> guess.letters[i]) & 1u);
    code = code * 3 + digit;
  }
  return code;
}

struct GuessScore {
  int groups = 0;
  bool is_candidate = false;
  int largest_group = 0;
  bool better_than(const GuessScore& other) const {
    if (groups != other.groups) return groups > other.groups;
    if (is_candidate != other.is_candidate) return is_candidate;
    return largest_group < other.largest_group;
  }
};

class WordleExpert : public Expert {
 public:
  ExpertMove next(const Environment& env) override {
    const auto* wordle = dynamic_cast<const WordleEnvironment*>(&env);
    TESSERA_CHECK(wordle != nullptr, "wordle expert: not a wordle environment");
    const auto& candidates = wordle->filtered_vocabulary();
    if (candidates.size() == 1) {
      return {fmt::format("Only one word in the vocabulary fits all the feedback so far: \"{}\". "
                          "Guessing it wins.",
                          spaced_word(candidates[0])),
              spaced_word(candidates[0])};
    }
    std::string guess;
    GuessScore score;
    if (wordle->guesses().empty()) {
      std::tie(guess, score) = opener(wordle->vocabulary());
    } else {
      std::tie(guess, score) = best_guess(wordle->vocabulary(), candidates);
    }
    std::string thought;
    if (wordle->guesses().empty()) {
      thought = fmt::format(
          "No feedback yet, so any of the {} words could be the answer. \"{}\" "
          "splits them into {} different feedback patterns, more than any other "
          "word, so it tells me the most.",
          candidates.size(), spaced_word(guess), score.groups);
    } else {
      thought = fmt::format(
          "{} words still fit every feedback so far. Guessing \"{}\" separates "
          "them into {} groups{}, which narrows the answer down the most.",
          candidates.size(), spaced_word(guess), score.groups,
          score.is_candidate ? " and it could itself be the answer" : "");
    }
    return {thought, spaced_word(guess)};
  }

 private:
  static std::pair<std::string, GuessScore> best_guess(const WordleVocabulary& vocabulary,
                                                       const std::vector<std::string>& candidates) {
    std::vector<PackedWord> hidden;
    hidden.reserve(candidates.size());
    for (const auto& word : candidates) hidden.push_back(pack(word));
    // With two words left, guessing one of them is never worse than guessing elsewhere.
    const auto& pool = candidates.size() <= 2 ? candidates : vocabulary.words();
    std::string best;
    GuessScore best_score;
    std::array<int, 243> counts;
    for (const auto& word : pool) {
      counts.fill(0);
      PackedWord guess = pack(word);
      GuessScore score;
      for (const auto& h : hidden) {
        int& count = counts[static_cast<size_t>(feedback_code(guess, h))];
        if (count++ == 0) ++score.groups;
        score.largest_group = std::max(score.largest_group, count);
      }
      score.is_candidate = std::binary_search(candidates.begin(), candidates.end(), word);
      if (best.empty() || score.better_than(best_score)) {
        best = word;
        best_score = score;
      }
    }
    return {best, best_score};
  }

  // The first guess depends only on the vocabulary: computed once per vocabulary (keyed by
  // a hash of its words, so two equal vocabularies share it).
  static std::pair<std::string, GuessScore> opener(const WordleVocabulary& vocabulary) {
    uint64_t hash = 1469598103934665603ull;  // FNV-1a
    for (const auto& word : vocabulary.words()) {
      for (char c : word) hash = (hash ^ static_cast<uint8_t>(c)) * 1099511628211ull;
      hash = (hash ^ 0xffu) * 1099511628211ull;
    }
    static std::mutex mutex;
    static std::map<uint64_t, std::pair<std::string, GuessScore>> cache;
    std::lock_guard lock(mutex);
    auto it = cache.find(hash);
    if (it != cache.end()) return it->second;
    auto result = best_guess(vocabulary, vocabulary.words());
    cache.emplace(hash, result);
    return result;
  }
};

}  // namespace

std::unique_ptr<Expert> make_expert(const std::string& env_name) {
  if (env_name == "maze") return std::make_unique<MazeExpert>();
  if (env_name == "wordle") return std::make_unique<WordleExpert>();
  if (env_name == "textcraft") return make_textcraft_expert();
  if (env_name == "babyai") return make_babyai_expert();
  if (env_name == "sqlgym") return make_sqlgym_expert();
  if (env_name == "todo" || env_name == "weather") return make_tool_expert();
  throw bad_input("no expert for environment '{}'", env_name);
}

}  // namespace tessera::agents
