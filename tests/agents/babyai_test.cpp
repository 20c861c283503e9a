#include "tessera/agents/babyai.h"

#include <gtest/gtest.h>

#include "tessera/agents/episode.h"
#include "tessera/agents/prompts.h"
#include "tessera/core/error.h"

namespace tessera::agents {
namespace {

TEST(BabyAI, TenLevelFamiliesDeterministicBySeed) {
  EXPECT_EQ(babyai_level_names().size(), 10u);
  for (int64_t task = 0; task < 20; ++task) {
    GridWorld a = generate_babyai_world(task), b = generate_babyai_world(task);
    EXPECT_EQ(a.cells, b.cells);
    EXPECT_EQ(a.agent, b.agent);
    EXPECT_EQ(a.mission.text, b.mission.text);
    EXPECT_EQ(a.level, babyai_level_names()[static_cast<size_t>(task % 10)]);
  }
  EXPECT_EQ(generate_babyai_world(0).mission.text, "go to the red ball");
}

TEST(BabyAI, GoldenObservationShape) {
  BabyAIEnvironment env;
  std::string first = env.reset(1);  // GoToRedBallNoDists
  EXPECT_EQ(first.rfind("Your goal: go to the red ball\n", 0), 0u) << first;
  EXPECT_NE(first.find("The room has walls around you. "), std::string::npos);
  EXPECT_NE(
      first.find(
          "You are not carrying anything.\nAvailable actions: [\"turn left\", \"turn right\""),
      std::string::npos)
      << first;
  EXPECT_NE(first.find("\"check available actions\"]"), std::string::npos);
}

TEST(BabyAI, PrimitiveRulesAndInvalidActions) {
  BabyAIEnvironment env;
  env.reset(8);  // Unlock: a locked door and its key
  StepResult unknown = env.step("fly away");
  EXPECT_EQ(
      unknown.observation.rfind("The action is not recognized. Please check valid actions.", 0),
      0u);
  EXPECT_EQ(env.step("").observation.rfind("No change in state.", 0), 0u);
  EXPECT_EQ(env.step("drop").observation.rfind(
                "You cannot drop the object, as you are not carrying anything.", 0),
            0u);
  StepResult check = env.step("check available actions");
  EXPECT_EQ(check.observation.rfind("You can take the following actions: turn left, turn right", 0),
            0u);
  GridWorld w = generate_babyai_world(8);
  // Face the locked door from the agent's room: a key of another colour does not open it.
  GridPoint door{};
  for (int y = 0; y < w.height; ++y) {
    if (w.at({7, y}).kind == CellKind::Door) door = {7, y};
  }
  ASSERT_EQ(w.at(door).door, DoorState::Locked);
  w.agent = {door.x - 1, door.y};
  w.dir = 0;
  EXPECT_FALSE(w.forward());
  w.carrying = GridCell{CellKind::Key, w.at(door).color == "red" ? "blue" : "red"};
  EXPECT_FALSE(w.toggle());
  w.carrying = GridCell{CellKind::Key, w.at(door).color};
  EXPECT_TRUE(w.toggle());
  EXPECT_EQ(w.at(door).door, DoorState::Open);
  EXPECT_TRUE(w.mission_done());  // Unlock's mission: open that door
  EXPECT_TRUE(w.forward());
}

TEST(BabyAI, ExpertSolvesTheTestSplit) {
  BabyAIEnvironment env;
  auto expert = make_expert("babyai");
  int solved = 0;
  for (int64_t task = 0; task < 100; ++task) {
    Episode episode = run_expert_episode(env, task, *expert, 100);
    EXPECT_TRUE(episode.success) << "task " << task << " " << env.goal() << " ("
                                 << env.world().level << ")";
    solved += episode.success;
  }
  EXPECT_EQ(solved, 100);
}

TEST(BabyAI, ClientParsing) {
  EXPECT_EQ(parse_answer("babyai", "Thought:\nGo.\n\nAction:\ngo to red ball 1").action,
            "go to red ball 1");
  EXPECT_EQ(conversation_start("babyai")[1].value,
            "OK. I'll follow your instructions and try my best to solve the task.");
}

}  // namespace
}  // namespace tessera::agents
