// Issue #9's end-to-end check: Tessera's gym server and Tessera's own LLM server run
// in-process on loopback, the runner drives a small random model through maze episodes over
// the OpenAI API, and the trajectories it writes are valid AgentTraj JSONL. The episodes'
// opening observations are also fetched from the gym server's /maze routes, so the runner's
// in-process environment and the HTTP one are seen to agree.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "../serve/test_model.h"
#include "tessera/agents/environment.h"
#include "tessera/agents/gym_server.h"
#include "tessera/agents/runner.h"
#include "tessera/core/parallel.h"
#include "tessera/serve/server.h"

namespace tessera::agents {
namespace {

TEST(RunnerWithTesseraServer, RunsMazeEpisodesAndWritesValidTrajectories) {
  set_num_threads(1);
  const std::string dir =
      ::testing::TempDir() + "/tessera_runner_llm_" + std::to_string(::getpid());
  // The maze prompt alone is over a thousand bytes, and this tokenizer spends a token a byte.
  serve::testing::write_tiny_model(dir, 5, 32, 2, 8192);
  serve::ServerOptions llm_options;
  llm_options.port = 0;
  llm_options.model_name = "tiny";
  llm_options.parallel = 2;
  auto llm = serve::Server::from_folder(dir, llm_options);
  llm->start();

  GymServerOptions gym_options;
  gym_options.envs = {"maze"};
  gym_options.port = 0;
  gym_options.http_threads = 4;
  GymServer gym(gym_options);
  gym.start();

  RunnerOptions options;
  options.env = "maze";
  options.endpoint = llm->base_url();
  options.model = "tiny";
  options.episodes = 2;
  options.max_rounds = 3;
  options.max_tokens = 24;
  options.temperature = 0.8;
  options.seed = 11;
  const std::string trajectories = dir + "/maze_trajectories.jsonl";
  std::vector<Episode> episodes;
  RunnerSummary summary;
  {
    std::ofstream out(trajectories);
    summary = run_model(options, [&](const Episode& episode) {
      episodes.push_back(episode);
      out << to_agent_traj(episode).dump() << "\n";
    });
  }
  EXPECT_EQ(summary.episodes, 2);
  EXPECT_EQ(summary.failed_episodes, 0) << summary.first_error;
  EXPECT_GE(summary.mean_rounds, 1.0);
  EXPECT_LE(summary.mean_rounds, 3.0);

  // Every line of the file is one valid AgentTraj item with the runner's turns.
  std::ifstream in(trajectories);
  std::string line;
  int lines = 0;
  const EnvironmentSpec& spec = find_environment("maze");
  while (std::getline(in, line)) {
    nlohmann::json item = nlohmann::json::parse(line);
    EXPECT_NO_THROW(validate_agent_traj(item)) << line.substr(0, 200);
    EXPECT_EQ(item["item_id"], "maze_" + std::to_string(spec.test_begin + lines));
    int answers = 0;
    for (const auto& turn : item["conversations"])
      answers += turn["from"] == "gpt" && turn["loss"] == true;
    // The scripted opening has one assistant turn without loss; then one answer per round.
    EXPECT_EQ(answers, episodes[static_cast<size_t>(lines)].rounds);
    ++lines;
  }
  EXPECT_EQ(lines, 2);

  // The gym server's maze, reset to the same task, opens with the observation the runner saw.
  httplib::Client gym_client("127.0.0.1", gym.port());
  for (size_t i = 0; i < episodes.size(); ++i) {
    auto created = gym_client.Post("/maze/create", "{}", "application/json");
    ASSERT_TRUE(created);
    int64_t id = nlohmann::json::parse(created->body)["id"];
    nlohmann::json reset = {{"id", id}, {"game", episodes[i].task}};
    auto answer = gym_client.Post("/maze/reset", reset.dump(), "application/json");
    ASSERT_TRUE(answer);
    std::string observation = nlohmann::json::parse(answer->body)["observation"];
    bool seen = false;
    for (const auto& turn : episodes[i].conversation) {
      seen |= turn.from == "human" && turn.value.find(observation) != std::string::npos;
    }
    EXPECT_TRUE(seen) << observation;
  }

  // The LLM server answered one chat completion per round (its request log is written just
  // after each answer has gone out, so the last one may take a moment to be counted).
  int rounds = 0;
  for (const auto& episode : episodes) rounds += episode.rounds;
  const std::string expected =
      "tessera_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"} " +
      std::to_string(rounds) + "\n";
  std::string metrics;
  for (int attempt = 0; attempt < 200; ++attempt) {
    metrics = httplib::Client("127.0.0.1", llm->port()).Get("/metrics")->body;
    if (metrics.find(expected) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(metrics.find(expected), std::string::npos) << metrics.substr(0, 400);
  gym.stop();
  llm->shutdown();
}

}  // namespace
}  // namespace tessera::agents
