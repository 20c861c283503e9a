#include "tessera/agents/maze.h"

#include <gtest/gtest.h>

#include "tessera/agents/episode.h"
#include "tessera/agents/experts.h"
#include "tessera/core/error.h"

namespace tessera::agents {
namespace {

TEST(Maze, GoldenObservationsMatchUpstreamSentences) {
  MazeEnvironment env;
  EXPECT_EQ(
      env.reset(0),
      "The goal is at position 8, 6. Your current position is at position 1, 1. There are walls "
      "to your left, above you, below you.");
  // The cells of AgentGym's own prompt example.
  EXPECT_EQ(MazeEnvironment::describe_walls({5, 6}), "There is a wall above you.");
  EXPECT_EQ(MazeEnvironment::describe_walls({5, 5}), "There are walls above you, below you.");
  EXPECT_EQ(MazeEnvironment::describe_walls({5, 3}), "There are walls to your left, below you.");
  EXPECT_EQ(MazeEnvironment::describe_walls({6, 6}),
            "There are walls to your right, to your left.");
  EXPECT_EQ(MazeEnvironment::describe_walls({1, 3}), "There is a wall above you.");
  EXPECT_EQ(
      env.reset(16),
      "The goal is at position 8, 6. Your current position is at position 5, 6. There is a wall "
      "above you.");
}

TEST(Maze, MovesAndWalls) {
  MazeEnvironment env;
  env.reset(13);  // (5, 3)
  StepResult blocked = env.step("move left");
  EXPECT_EQ(env.position(), (GridPosition{5, 3}));
  EXPECT_EQ(blocked.reward, 0.0);
  EXPECT_FALSE(blocked.done);
  StepResult moved = env.step("move right");
  EXPECT_EQ(env.position(), (GridPosition{5, 4}));
  EXPECT_EQ(
      moved.observation,
      "The goal is at position 8, 6. Your current position is at position 5, 4. There are walls "
      "above you, below you.");
  EXPECT_EQ(env.steps_taken(), 2);
}

TEST(Maze, InvalidActionStaysAndCostsAStep) {
  MazeEnvironment env;
  std::string first = env.reset(3);
  for (const char* action : {"jump", "Move left", "move left\n", ""}) {
    StepResult result = env.step(action);
    EXPECT_EQ(result.observation, first) << action;
    EXPECT_EQ(result.reward, 0.0);
    EXPECT_FALSE(result.done);
  }
  EXPECT_EQ(env.steps_taken(), 4);
}

TEST(Maze, SuccessAndStepLimit) {
  MazeEnvironment env;
  env.reset(18);  // (7, 6), right above the goal
  StepResult success = env.step("move down");
  EXPECT_EQ(success.observation, "Success\n");
  EXPECT_EQ(success.reward, 1.0);
  EXPECT_TRUE(success.done);
  EXPECT_THROW(env.step("move down"), Error);

  env.reset(0);
  for (int i = 0; i < MazeEnvironment::kMaxSteps; ++i) EXPECT_FALSE(env.step("move up").done);
  StepResult failure = env.step("move right");
  EXPECT_EQ(failure.observation, "Failure\n");
  EXPECT_EQ(failure.reward, -1.0);
  EXPECT_TRUE(failure.done);
  EXPECT_EQ(env.position(), (GridPosition{1, 1}));  // the failing step does not move
  EXPECT_EQ(env.total_reward(), -1.0);
}

TEST(Maze, TaskIdsAreChecked) {
  MazeEnvironment env;
  EXPECT_THROW(env.step("move up"), Error);  // before reset
  EXPECT_THROW(env.reset(25), Error);        // upstream's 26th start is the goal itself
  EXPECT_THROW(env.reset(-1), Error);
  EXPECT_EQ(MazeEnvironment::start_positions().size(), 25u);
}

TEST(Maze, ExpertSolvesEveryStartOnAShortestPath) {
  auto expert = make_expert("maze");
  MazeEnvironment env;
  // Shortest path lengths worked out by hand from the layout for a few starts.
  const std::map<int, int> known = {{0, 12}, {16, 3}, {18, 1}, {9, 12}, {24, 9}};
  for (int64_t task = 0; task < 25; ++task) {
    Episode episode = run_expert_episode(env, task, *expert);
    EXPECT_TRUE(episode.success) << "task " << task;
    EXPECT_EQ(episode.reward, 1.0);
    if (known.count(static_cast<int>(task))) {
      EXPECT_EQ(episode.rounds, known.at(static_cast<int>(task))) << task;
    }
    EXPECT_LE(episode.rounds, 12);
  }
}

}  // namespace
}  // namespace tessera::agents
