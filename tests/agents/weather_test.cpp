#include "tessera/agents/weather.h"

#include <gtest/gtest.h>

#include "tessera/agents/episode.h"
#include "tessera/core/error.h"

namespace tessera::agents {
namespace {

TEST(Weather, ToolAnswersHaveUpstreamShapes) {
  WeatherEnvironment env;
  env.reset(0);
  StepResult where =
      env.step("Action: get_latitude_longitude with Action Input: {\"name\": \"Lisbon\"}");
  EXPECT_EQ(
      where.observation,
      "Observation: {'results': [{'name': 'Lisbon', 'latitude': 38.71667, 'longitude': -9.13333, "
      "'country_code': 'PT'}]}\nGive me one action.");
  std::string date = env.step("Action: get_user_current_date with Action Input: {}").observation;
  ASSERT_EQ(date.rfind("Observation: 2024-", 0), 0u) << date;
  StepResult temp = env.step(
      "Action: get_historical_temp with Action Input: {\"latitude\": 38.71667, \"longitude\": "
      "-9.13333, "
      "\"start_date\": \"2024-01-01\", \"end_date\": \"2024-01-02\"}");
  EXPECT_NE(temp.observation.find(
                "'daily': {'time': ['2024-01-01', '2024-01-02'], 'temperature_2m_max': ["),
            std::string::npos)
      << temp.observation;
  StepResult too_long = env.step(
      "Action: get_historical_rain with Action Input: {\"latitude\": 1, \"longitude\": 2, "
      "\"start_date\": "
      "\"2023-01-01\", \"end_date\": \"2023-03-01\"}");
  EXPECT_NE(too_long.observation.find("maximum time span of 30 days"), std::string::npos);
  StepResult future = env.step(
      "Action: get_historical_rain with Action Input: {\"latitude\": 1, \"longitude\": 2, "
      "\"start_date\": "
      "\"2030-01-01\", \"end_date\": \"2030-01-02\"}");
  EXPECT_NE(future.observation.find("start_date should be earlier than current_date"),
            std::string::npos);
  EXPECT_EQ(env.step("Action: get_air_quality_level with Action Input: {\"air_quality_index\": 35}")
                .observation,
            "Observation: fair\nGive me one action.");
}

TEST(Weather, SameQuestionSameAnswer) {
  WeatherEnvironment a, b;
  a.reset(11);
  b.reset(11);
  EXPECT_EQ(a.tool_task().goal, b.tool_task().goal);
  EXPECT_EQ(a.tool_task().subgoals, b.tool_task().subgoals);
}

TEST(Weather, ExpertSolvesTheTestSplit) {
  WeatherEnvironment env;
  auto expert = make_expert("weather");
  for (int64_t task = 0; task < 100; ++task) {
    Episode episode = run_expert_episode(env, task, *expert);
    ASSERT_TRUE(episode.success) << env.tool_task().goal << "\n" << to_agent_traj(episode).dump(1);
  }
}

}  // namespace
}  // namespace tessera::agents
