#include "tessera/agents/todo.h"

#include <gtest/gtest.h>

#include "tessera/agents/episode.h"
#include "tessera/agents/prompts.h"
#include "tessera/core/error.h"

namespace tessera::agents {
namespace {

TEST(ToolEnv, PythonReprAndPythonLiteralInputs) {
  nlohmann::ordered_json value = {
      {"id", "12"}, {"ok", true}, {"n", nullptr}, {"x", 2.5}, {"list", {1, "it's"}}};
  EXPECT_EQ(python_repr(value),
            R"({'id': '12', 'ok': True, 'n': None, 'x': 2.5, 'list': [1, "it's"]})");
  EXPECT_EQ(parse_action_input("{'project_id': '42', 'is_favorite': True}"),
            nlohmann::ordered_json({{"project_id", "42"}, {"is_favorite", true}}));
  EXPECT_EQ(parse_action_input(R"({"answer": ["b", "a"]})")["answer"][0], "b");
  EXPECT_THROW(parse_action_input("{oops"), Error);
}

TEST(Todo, GoldenObservationsAndToolAnswers) {
  TodoEnvironment env;
  std::string first = env.reset(0);
  EXPECT_EQ(
      first.rfind("Now new trial starts.\nYou should perform actions to accomplish the goal: ", 0),
      0u);
  EXPECT_EQ(first.substr(first.size() - 20), "\nGive me one action.");
  StepResult projects =
      env.step("Thought: list them.\n\nAction: get_projects with Action Input: {}");
  EXPECT_EQ(projects.observation.rfind("Observation: [{'id': '", 0), 0u) << projects.observation;
  EXPECT_NE(projects.observation.find("'color': 'charcoal', 'name': '"), std::string::npos);
  EXPECT_FALSE(projects.done);
  StepResult date = env.step("Action: get_user_current_date with Action Input: {}");
  EXPECT_EQ(date.observation, "Observation: 2024-05-30\nGive me one action.");
}

TEST(Todo, InvalidActionsAnswerLikeUpstream) {
  TodoEnvironment env;
  env.reset(1);
  EXPECT_EQ(env.step("I will look around.").observation,
            "Format error, please response in the format of  \"Action: [your action] with Action "
            "Input: [your action "
            "input]");
  EXPECT_EQ(env.step("Action: fly with Action Input: {}").observation,
            "Observation: ERROR | Invalid action: fly.\nGive me one action.");
  EXPECT_EQ(env.step("Action: get_tasks with Action Input: {}").observation,
            "Observation: ERROR | KeyError('project_id')\nGive me one action.");
  EXPECT_EQ(env.step("Action: get_tasks with Action Input: {nope").observation,
            "Observation: ERROR | Exception(Parameters in action input are not valid, please "
            "change your action "
            "input.)\nGive me one action.");
  EXPECT_EQ(env.step("Action: get_tasks with Action Input: {\"project_id\": \"1\"}").observation,
            "Observation: Project 1 is not exists.\nGive me one action.");
  StepResult wrong = env.step("Action: finish with Action Input: {\"answer\": \"no idea\"}");
  EXPECT_TRUE(wrong.done);
  EXPECT_EQ(wrong.reward, 0.0);
}

TEST(Todo, ExpertSolvesTheTestSplitWithFullReward) {
  TodoEnvironment env;
  auto expert = make_expert("todo");
  for (int64_t task = 0; task < 100; ++task) {
    Episode episode = run_expert_episode(env, task, *expert);
    ASSERT_TRUE(episode.success) << env.tool_task().goal << "\n" << to_agent_traj(episode).dump(1);
  }
}

TEST(Todo, OperationsMustChangeTheState) {
  // Finishing with "done" without doing the operation scores 0 even though "done" is a subgoal.
  TodoEnvironment env;
  for (int64_t task = 0; task < 50; ++task) {
    env.reset(task);
    if (env.tool_task().subgoals.size() < 2) continue;
    StepResult result = env.step("Action: finish with Action Input: {\"answer\": \"done\"}");
    EXPECT_TRUE(result.done);
    EXPECT_EQ(result.reward, 0.0);
    return;
  }
  FAIL() << "no operation task in 50";
}

}  // namespace
}  // namespace tessera::agents
