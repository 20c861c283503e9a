#include "tessera/agents/wordle.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <set>

#include "tessera/agents/episode.h"
#include "tessera/agents/experts.h"
#include "tessera/core/error.h"

namespace tessera::agents {
namespace {

std::shared_ptr<const WordleVocabulary> small_vocabulary() {
  return std::make_shared<const WordleVocabulary>(std::vector<std::string>{
      "panic", "solar", "shire", "proxy", "point", "crane", "slate", "those", "geese", "fjord",
      "frown", "felon", "brick", "plumb", "gusty", "nymph", "waltz", "vexed", "quack", "jumbo"});
}

TEST(Wordle, FeedbackFollowsLmrlGymRule) {
  EXPECT_EQ(wordle_feedback("crane", "crane"), "ggggg");
  EXPECT_EQ(wordle_feedback("panic", "felon"), "bbybb");
  // A repeated letter is yellow wherever it is not green (LMRL-Gym's rule).
  EXPECT_EQ(wordle_feedback("geese", "those"), "byygg");
  EXPECT_EQ(wordle_feedback_code("geese", "those"), 0 * 81 + 1 * 27 + 1 * 9 + 2 * 3 + 2);
}

TEST(Wordle, VocabularyKeepsFiveLetterLowercaseWords) {
  std::string path = ::testing::TempDir() + "/wordle_words.txt";
  {
    std::ofstream out(path);
    out << "crane\nCrane\ncrane's\nslate\r\nfour\nsixths\nzebra\nslate\nnaïve\n";
  }
  auto vocabulary = WordleVocabulary::from_file(path);
  EXPECT_EQ(vocabulary->words(), (std::vector<std::string>{"crane", "slate", "zebra"}));
  auto limited = WordleVocabulary::from_file(path, 2);
  EXPECT_EQ(limited->size(), 2u);
  EXPECT_EQ(WordleVocabulary::from_file(path, 2)->words(), limited->words());  // fixed subset
  std::remove(path.c_str());
  EXPECT_THROW(WordleVocabulary::from_file(path), Error);
}

TEST(Wordle, GoldenEpisodeShape) {
  WordleEnvironment env(small_vocabulary());
  EXPECT_EQ(env.reset(7), "Let's start Wordle!");
  StepResult result = env.step("s h i r e");
  EXPECT_TRUE(std::regex_match(result.observation, std::regex("[bgy]( [bgy]){4}\n")))
      << result.observation;
  EXPECT_EQ(env.observation(), result.observation);
  // Every word left is consistent with that feedback for the guess.
  std::string feedback;
  for (char c : result.observation)
    if (c != ' ' && c != '\n') feedback += c;
  for (const auto& word : env.filtered_vocabulary())
    EXPECT_EQ(wordle_feedback("shire", word), feedback) << word;
}

TEST(Wordle, InvalidWordsUseTries) {
  WordleEnvironment env(small_vocabulary());
  env.reset(1);
  for (int i = 0; i < kWordleTries; ++i) {
    StepResult result = env.step(i % 2 ? "zzzzz" : "s h i");
    EXPECT_EQ(result.observation, "invalid word");
    EXPECT_EQ(result.reward, 0.0);
    EXPECT_EQ(result.done, i == kWordleTries - 1);
  }
  EXPECT_EQ(env.filtered_vocabulary().size(), small_vocabulary()->size());
  EXPECT_THROW(env.step("crane"), Error);
}

TEST(Wordle, HiddenWordDrawsAreReproducibleBySeed) {
  auto play = [](int64_t seed) {
    WordleEnvironment env(small_vocabulary());
    env.reset(seed);
    std::vector<std::string> observations;
    for (const char* guess : {"c r a n e", "p o i n t", "b r i c k"}) {
      if (env.done()) break;
      observations.push_back(env.step(guess).observation);
    }
    return observations;
  };
  EXPECT_EQ(play(3), play(3));
  std::set<std::vector<std::string>> distinct;
  for (int64_t seed = 0; seed < 20; ++seed) distinct.insert(play(seed));
  EXPECT_GT(distinct.size(), 3u);
}

TEST(Wordle, WinsWhenOneConsistentWordHasBeenGuessed) {
  auto vocabulary =
      std::make_shared<const WordleVocabulary>(std::vector<std::string>{"crane", "fjord"});
  WordleEnvironment env(vocabulary);
  env.reset(0);
  StepResult first = env.step("crane");  // the spaced form is optional: spaces are removed
  if (first.done) {
    EXPECT_EQ(first.observation, "g g g g g\n");
    EXPECT_EQ(first.reward, 1.0);
  } else {
    EXPECT_EQ(env.filtered_vocabulary(), std::vector<std::string>{"fjord"});
    StepResult second = env.step("f j o r d");
    EXPECT_TRUE(second.done);
    EXPECT_EQ(second.reward, 1.0);
  }
  EXPECT_TRUE(env.won());
}

TEST(Wordle, ExpertSolvesTheTestSplitWithTheDebianWordList) {
  GymConfig config;
  auto vocabulary = WordleVocabulary::for_config(config);  // needs wamerican (scripts/setup.sh)
  ASSERT_GT(vocabulary->size(), 4000u);
  WordleEnvironment env(vocabulary);
  auto expert = make_expert("wordle");
  const auto& spec = find_environment("wordle");
  int worst = 0;
  for (int64_t seed = spec.test_begin; seed < spec.test_end; ++seed) {
    Episode episode = run_expert_episode(env, seed, *expert);
    EXPECT_TRUE(episode.success) << "seed " << seed;
    worst = std::max(worst, episode.rounds);
  }
  EXPECT_LE(worst, kWordleTries);
}

}  // namespace
}  // namespace tessera::agents
