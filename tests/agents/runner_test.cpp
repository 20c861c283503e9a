// The model runner against a scripted OpenAI-compatible endpoint on 127.0.0.1: a "model" that
// reads the maze observation from the conversation and answers in ReAct form.
#include "tessera/agents/runner.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <regex>
#include <thread>

#include "tessera/agents/experts.h"
#include "tessera/agents/maze.h"
#include "tessera/core/error.h"

namespace tessera::agents {
namespace {

class ScriptedModel {
 public:
  explicit ScriptedModel(std::function<std::string(const nlohmann::json& messages)> answer)
      : answer_(std::move(answer)) {
    server_.Post(
        "/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
          ++requests_;
          auto body = nlohmann::json::parse(req.body, nullptr, false);
          if (body.is_discarded() || !body.contains("messages")) {
            res.status = 400;
            res.set_content(R"({"error":{"message":"bad request"}})", "application/json");
            return;
          }
          std::string content = answer_(body["messages"]);
          if (content == "<500>") {
            res.status = 500;
            res.set_content(R"({"error":{"message":"model crashed"}})", "application/json");
            return;
          }
          nlohmann::json reply = {{"object", "chat.completion"},
                                  {"model", body.value("model", "")},
                                  {"choices",
                                   {{{"index", 0},
                                     {"message", {{"role", "assistant"}, {"content", content}}},
                                     {"finish_reason", "stop"}}}}};
          res.set_content(reply.dump(), "application/json");
        });
    server_.set_tcp_nodelay(true);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~ScriptedModel() {
    server_.stop();
    thread_.join();
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int requests() const { return requests_.load(); }

 private:
  std::function<std::string(const nlohmann::json&)> answer_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
};

// Plays the maze from the text alone, as a model would: reads the position, moves by BFS.
std::string maze_player(const nlohmann::json& messages) {
  std::string last = messages.back()["content"].get<std::string>();
  std::smatch match;
  static const std::regex position(R"(Your current position is at position (\d+), (\d+)\.)");
  std::string::const_iterator search_from = last.cbegin();
  std::smatch latest;
  while (std::regex_search(search_from, last.cend(), match, position)) {
    latest = match;
    search_from = match.suffix().first;
  }
  if (latest.empty()) return "Thought:\nI cannot see my position.\n\nAction:\nmove up";
  MazeEnvironment env;
  // Find the start whose coordinates match, or walk an env to that cell through the expert's
  // view: BFS only needs the position, so reuse the expert on a fresh episode placed there.
  GridPosition at{std::stoi(latest[1]), std::stoi(latest[2])};
  for (int64_t game = 0; game < 25; ++game) {
    if (MazeEnvironment::start_positions()[static_cast<size_t>(game)] == at) {
      env.reset(game);
      ExpertMove move = make_expert("maze")->next(env);
      return "Thought:\n" + move.thought + "\n\nAction:\n" + move.action + "</s>";
    }
  }
  return "Thought:\nUnknown cell.\n\nAction:\nmove up";
}

TEST(Runner, CompletesMazeEpisodesAndRecordsValidTrajectories) {
  ScriptedModel model(maze_player);
  RunnerOptions options;
  options.env = "maze";
  options.endpoint = model.endpoint();
  options.episodes = 4;
  options.max_rounds = 20;
  std::vector<Episode> episodes;
  RunnerSummary summary = run_model(options, [&](const Episode& e) { episodes.push_back(e); });
  EXPECT_EQ(summary.episodes, 4);
  EXPECT_EQ(summary.successes, 4);
  EXPECT_DOUBLE_EQ(summary.mean_reward, 1.0);
  ASSERT_EQ(episodes.size(), 4u);
  for (const auto& episode : episodes) {
    nlohmann::json item = to_agent_traj(episode);
    EXPECT_NO_THROW(validate_agent_traj(item));
    const auto& turns = item["conversations"];
    EXPECT_EQ(turns[0]["value"], "You are an expert maze solver.");
    EXPECT_EQ(turns[1]["loss"], false);
    EXPECT_EQ(turns.back()["value"], "Success\n");  // the runner records the final observation
  }
  EXPECT_EQ(episodes[0].item_id(), "maze_0");
  EXPECT_EQ(model.requests(), summary.mean_rounds * 4);
}

TEST(Runner, AModelThatNeverActsRunsOutOfRounds) {
  ScriptedModel model([](const nlohmann::json&) { return std::string("I am not sure."); });
  RunnerOptions options;
  options.env = "maze";
  options.endpoint = model.endpoint();
  options.episodes = 2;
  options.max_rounds = 3;
  RunnerSummary summary = run_model(options, nullptr);
  EXPECT_EQ(summary.successes, 0);
  EXPECT_DOUBLE_EQ(summary.mean_rounds, 3.0);
  EXPECT_EQ(model.requests(), 6);
}

TEST(Runner, EndpointErrorsEndEpisodesAndAllFailingIsAnError) {
  ScriptedModel broken([](const nlohmann::json&) { return std::string("<500>"); });
  RunnerOptions options;
  options.env = "maze";
  options.endpoint = broken.endpoint();
  options.episodes = 2;
  try {
    run_model(options, nullptr);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model crashed"), std::string::npos) << e.what();
  }
  options.env = "chess";
  EXPECT_THROW(run_model(options, nullptr), Error);
  options.env = "maze";
  options.episodes = 26;
  EXPECT_THROW(run_model(options, nullptr), Error);
}

TEST(Runner, ExpertTrajectoriesAreValidAgentTraj) {
  GymConfig config;
  for (const char* name : {"maze", "wordle"}) {
    auto env = make_environment(name, config);
    auto expert = make_expert(name);
    for (int64_t task = 0; task < 5; ++task) {
      Episode episode = run_expert_episode(*env, task, *expert);
      nlohmann::json item = to_agent_traj(episode);
      EXPECT_NO_THROW(validate_agent_traj(item)) << item.dump();
      EXPECT_TRUE(episode.success);
      EXPECT_EQ(item["conversations"].back()["from"],
                "gpt");  // AgentTraj items end with the answer
      EXPECT_EQ(item["item_id"], std::string(name) + "_" + std::to_string(task));
    }
  }
  nlohmann::json bad = {{"item_id", "x"},
                        {"conversations", {{{"from", "gpt"}, {"value", "hi"}, {"loss", true}}}}};
  EXPECT_THROW(validate_agent_traj(bad), Error);
}

TEST(Prompts, ActionParsingFollowsAgentGymClients) {
  EXPECT_EQ(extract_action("maze", "Thought:\nGo.\n\nAction:\nmove up"), "move up");
  EXPECT_EQ(extract_action("maze", "move left"), "move left");
  EXPECT_EQ(extract_action("wordle", "Thought:\nx\n\nAction:\nc r a n e\n</s>"), "c r a n e");
  EXPECT_EQ(extract_action("maze", "Action: move down Action: move up"), "move down");
  EXPECT_EQ(conversation_start("wordle")[0].value, "You are an expert wordle player.");
  EXPECT_THROW(conversation_start("chess"), Error);
}

}  // namespace
}  // namespace tessera::agents
