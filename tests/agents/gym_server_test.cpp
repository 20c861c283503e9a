// The gym server over real HTTP on 127.0.0.1 (an ephemeral port per test).
#include "tessera/agents/gym_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tessera/agents/experts.h"
#include "tessera/agents/maze.h"
#include "tessera/core/error.h"

namespace tessera::agents {
namespace {

struct Answer {
  int status = 0;
  nlohmann::json body;
};

class ServerFixture {
 public:
  explicit ServerFixture(GymServerOptions options = {}) {
    options.port = 0;
    if (options.envs.empty()) options.envs = {"maze", "wordle"};
    server_ = std::make_unique<GymServer>(options);
    server_->start();
  }
  httplib::Client client() const { return httplib::Client("127.0.0.1", server_->port()); }
  GymServer& server() { return *server_; }

  Answer post(const std::string& path, const std::string& body) {
    auto c = client();
    auto result = c.Post(path, body, "application/json");
    if (!result) return {-1, nullptr};
    return {result->status, nlohmann::json::parse(result->body, nullptr, false)};
  }
  Answer post(const std::string& path, const nlohmann::json& body) {
    return post(path, body.dump());
  }
  Answer get(const std::string& path) {
    auto c = client();
    auto result = c.Get(path);
    if (!result) return {-1, nullptr};
    return {result->status, nlohmann::json::parse(result->body, nullptr, false)};
  }

 private:
  std::unique_ptr<GymServer> server_;
};

TEST(GymServer, MazeRoutesMirrorLmrlGym) {
  ServerFixture fixture;
  Answer created = fixture.post("/maze/create", std::string());
  ASSERT_EQ(created.status, 200);
  int64_t id = created.body["id"].get<int64_t>();
  Answer reset = fixture.post("/maze/reset", {{"id", id}, {"game", 18}});
  EXPECT_EQ(
      reset.body["observation"],
      "The goal is at position 8, 6. Your current position is at position 7, 6. There are walls "
      "to your right, to your left.");
  EXPECT_EQ(fixture.get("/maze/available_actions").body,
            nlohmann::json({"move left", "move right", "move up", "move down"}));
  EXPECT_EQ(fixture.get("/maze/observation?id=" + std::to_string(id)).body,
            reset.body["observation"]);
  Answer detail = fixture.get("/maze/detail?id=" + std::to_string(id));
  EXPECT_EQ(detail.body["maze_name"], "double_t_maze");
  EXPECT_EQ(detail.body["done"], false);
  EXPECT_EQ(detail.body["deleted"], false);
  Answer step = fixture.post("/maze/step", {{"id", id}, {"action", "move down"}});
  EXPECT_EQ(step.body,
            (nlohmann::json{{"observation", "Success\n"}, {"reward", 1.0}, {"done", true}}));
  // A finished episode refuses steps with upstream's message, until reset.
  Answer again = fixture.post("/maze/step", {{"id", id}, {"action", "move down"}});
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body["error"],
            "The task with environment " + std::to_string(id) + " has finished.");
  EXPECT_TRUE(fixture.post("/maze/reset", {{"id", id}, {"game", 0}}).body.contains("observation"));
  Answer bad_game = fixture.post("/maze/reset", {{"id", id}, {"game", 99}});
  EXPECT_EQ(bad_game.body["error"], "The game 99 is not valid.");
}

TEST(GymServer, WordleRoutesMirrorLmrlGym) {
  ServerFixture fixture;
  int64_t id = fixture.post("/wordle/create", std::string()).body["id"].get<int64_t>();
  Answer vocabulary = fixture.get("/wordle/filtered_vocab?id=" + std::to_string(id));
  ASSERT_TRUE(vocabulary.body.is_array());
  size_t all_words = vocabulary.body.size();
  EXPECT_GT(all_words, 4000u);
  Answer reset = fixture.post("/wordle/reset", {{"id", id}, {"seed", 5}});
  EXPECT_EQ(reset.body, (nlohmann::json{{"id", id}, {"observation", "Let's start Wordle!"}}));
  Answer invalid = fixture.post("/wordle/step", {{"id", id}, {"action", "x y z"}});
  EXPECT_EQ(invalid.body["observation"], "invalid word");
  Answer step = fixture.post("/wordle/step", {{"id", id}, {"action", "c r a n e"}});
  EXPECT_EQ(step.body["observation"].get<std::string>().size(), 10u);
  EXPECT_LT(fixture.get("/wordle/filtered_vocab?id=" + std::to_string(id)).body.size(), all_words);
  Answer detail = fixture.get("/wordle/detail?id=" + std::to_string(id));
  EXPECT_EQ(detail.body["seed"], 5);
}

TEST(GymServer, TextCraftRoutesMirrorUpstream) {
  GymServerOptions options;
  options.envs = {"textcraft"};
  ServerFixture fixture(options);
  Answer created = fixture.post("/textcraft/create", nlohmann::json::object());
  ASSERT_EQ(created.status, 200);
  int64_t id = created.body["id"].get<int64_t>();
  EXPECT_EQ(created.body["done"], false);
  EXPECT_EQ(created.body["observation"].get<std::string>().rfind("Crafting commands:\n", 0), 0u);
  Answer reset = fixture.post("/textcraft/reset", {{"id", id}, {"data_idx", 4}});
  EXPECT_EQ(reset.body["id"], id);
  Answer step = fixture.post("/textcraft/step", {{"id", id}, {"action", "inventory"}});
  EXPECT_EQ(step.body["observation"], "Inventory: You are not carrying anything.");
  std::string goal =
      fixture.get("/textcraft/goal?id=" + std::to_string(id)).body.get<std::string>();
  EXPECT_EQ(goal.rfind("minecraft:", 0), 0u);
  EXPECT_TRUE(fixture.get("/textcraft/commands?id=" + std::to_string(id)).body.is_string());
  EXPECT_EQ(fixture.get("/textcraft/detail?id=" + std::to_string(id)).body["deleted"], false);
  EXPECT_EQ(fixture.post("/textcraft/close", nlohmann::json{{"id", id}}).body, true);
  EXPECT_EQ(fixture.post("/textcraft/close", nlohmann::json{{"id", id}}).body, false);
  EXPECT_EQ(fixture.get("/textcraft/").body, "This is environment TextCraft.");
}

TEST(GymServer, SqlGymRoutesMirrorUpstream) {
  GymServerOptions options;
  options.envs = {"sqlgym"};
  ServerFixture fixture(options);
  EXPECT_EQ(fixture.get("/sqlgym/").body, "ok");
  Answer created = fixture.post("/sqlgym/create", std::string());
  ASSERT_TRUE(created.body.is_number_integer());
  int64_t id = created.body.get<int64_t>();
  EXPECT_EQ(fixture.get("/sqlgym/list_envs").body, nlohmann::json::array({id}));
  Answer reset = fixture.post("/sqlgym/reset", {{"env_idx", id}, {"item_id", 2}});
  ASSERT_TRUE(reset.body.is_array());
  EXPECT_TRUE(reset.body[1].is_null());
  EXPECT_EQ(fixture.get("/sqlgym/observation?env_idx=" + std::to_string(id)).body, reset.body[0]);
  Answer step = fixture.post("/sqlgym/step", {{"env_idx", id}, {"action", "SELECT 1"}});
  EXPECT_EQ(step.body["state"], "[(1,)]");
  EXPECT_EQ(step.body["done"], true);
  EXPECT_TRUE(step.body.contains("info"));
}

TEST(GymServer, BabyAIAndTodoRoutesMirrorUpstream) {
  GymServerOptions options;
  options.envs = {"babyai", "todo"};
  ServerFixture fixture(options);
  int64_t id = fixture.post("/babyai/create", std::string()).body["id"].get<int64_t>();
  Answer reset = fixture.post("/babyai/reset", {{"id", id}, {"data_idx", 1}});
  EXPECT_EQ(
      reset.body["observation"].get<std::string>().rfind("Your goal: go to the red ball\n", 0), 0u);
  EXPECT_EQ(reset.body["score"], 0.0);
  Answer step = fixture.post("/babyai/step", {{"id", id}, {"action", "turn left"}});
  EXPECT_TRUE(step.body.contains("score"));
  EXPECT_NE(step.body["observation"].get<std::string>().find("Available actions: ["),
            std::string::npos);
  EXPECT_TRUE(fixture.get("/babyai/observation?id=" + std::to_string(id)).body.contains("deleted"));

  Answer created = fixture.post("/todo/create", nlohmann::json{{"id", 3}});
  ASSERT_TRUE(created.body.is_number_integer());
  int64_t env_idx = created.body.get<int64_t>();
  Answer observation = fixture.get("/todo/observation?env_idx=" + std::to_string(env_idx));
  EXPECT_EQ(observation.body.get<std::string>().rfind("Now new trial starts.", 0), 0u);
  Answer todo_step = fixture.post(
      "/todo/step",
      {{"env_idx", env_idx}, {"action", "Action: get_projects with Action Input: {}"}});
  EXPECT_EQ(todo_step.body["done"], false);
  EXPECT_TRUE(fixture.post("/todo/reset", {{"env_idx", env_idx}, {"id", 4}}).body.is_string());
}

TEST(GymServer, MalformedRequestsAreAnsweredNotCrashed) {
  ServerFixture fixture;
  Answer not_json = fixture.post("/maze/step", std::string("{\"id\": 0, "));
  EXPECT_EQ(not_json.status, 422);
  EXPECT_EQ(not_json.body["detail"][0]["type"], "json_invalid");
  Answer missing = fixture.post("/maze/step", nlohmann::json{{"id", 0}});
  EXPECT_EQ(missing.status, 422);
  EXPECT_EQ(missing.body["detail"][0]["loc"], nlohmann::json({"body", "action"}));
  Answer wrong_type = fixture.post("/maze/reset", nlohmann::json{{"id", "zero"}, {"game", 1}});
  EXPECT_EQ(wrong_type.status, 422);
  EXPECT_EQ(fixture.post("/maze/step", std::string("[1,2]")).status, 422);
  EXPECT_EQ(fixture.get("/maze/observation").status, 422);
  EXPECT_EQ(fixture.get("/maze/observation?id=abc").status, 422);
  Answer unknown = fixture.post("/maze/step", nlohmann::json{{"id", 12345}, {"action", "move up"}});
  EXPECT_EQ(unknown.status, 200);
  EXPECT_EQ(unknown.body["error"], "The id 12345 is not valid.");
  Answer not_reset_id = fixture.post("/maze/create", std::string());
  Answer before_reset =
      fixture.post("/maze/step", {{"id", not_reset_id.body["id"]}, {"action", "move up"}});
  EXPECT_TRUE(before_reset.body.contains("error"));
  Answer no_route = fixture.get("/nowhere");
  EXPECT_EQ(no_route.status, 404);
  EXPECT_EQ(no_route.body["detail"], "Not Found");
  EXPECT_EQ(fixture.get("/").status, 200);  // still alive
}

TEST(GymServer, SessionLimitAnswers503AndCloseFreesASlot) {
  GymServerOptions options;
  options.max_sessions = 3;
  ServerFixture fixture(options);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(fixture.post("/maze/create", std::string()).status, 200);
  Answer over = fixture.post("/wordle/create", std::string());
  EXPECT_EQ(over.status, 503);
  EXPECT_TRUE(over.body.contains("error"));
  EXPECT_EQ(fixture.post("/maze/close", nlohmann::json{{"id", 1}}).body["closed"], true);
  EXPECT_EQ(fixture.post("/wordle/create", std::string()).status, 200);
  EXPECT_EQ(fixture.post("/maze/close", nlohmann::json{{"id", 1}}).body["error"],
            "The id 1 is not valid.");
}

TEST(GymServer, IdleSessionsAreEvicted) {
  GymServerOptions options;
  options.idle_ttl_seconds = 0.15;
  ServerFixture fixture(options);
  int64_t id = fixture.post("/maze/create", std::string()).body["id"].get<int64_t>();
  EXPECT_EQ(fixture.server().session_count(), 1u);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (fixture.server().session_count() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(fixture.server().session_count(), 0u);
  EXPECT_EQ(fixture.post("/maze/reset", {{"id", id}, {"game", 0}}).body["error"],
            "The id " + std::to_string(id) + " is not valid.");
}

TEST(GymServer, SixtyFourConcurrentSessionsSolveTheirMazes) {
  ServerFixture fixture;
  constexpr int kClients = 64;
  std::atomic<int> solved{0}, failures{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client = fixture.client();
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      auto post = [&](const std::string& path, const nlohmann::json& body) {
        auto result = client.Post(path, body.dump(), "application/json");
        if (!result || result->status != 200) return nlohmann::json();
        return nlohmann::json::parse(result->body, nullptr, false);
      };
      nlohmann::json created = post("/maze/create", nlohmann::json::object());
      if (!created.contains("id")) {
        ++failures;
        return;
      }
      int64_t id = created["id"].get<int64_t>();
      int64_t game = c % 25;
      post("/maze/reset", {{"id", id}, {"game", game}});
      // Replay the expert's moves from a local copy; the server must agree at every step.
      MazeEnvironment local;
      local.reset(game);
      auto expert = make_expert("maze");
      for (int round = 0; round < 20 && !local.done(); ++round) {
        std::string action = expert->next(local).action;
        StepResult expected = local.step(action);
        nlohmann::json got = post("/maze/step", {{"id", id}, {"action", action}});
        if (!got.contains("observation") || got["observation"] != expected.observation) {
          ++failures;
          return;
        }
      }
      if (local.done() && local.total_reward() == 1.0) ++solved;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(solved.load(), kClients);
  EXPECT_EQ(fixture.server().session_count(), static_cast<size_t>(kClients));
}

TEST(GymServer, RejectsBadOptions) {
  GymServerOptions options;
  options.envs = {"chess"};
  EXPECT_THROW(GymServer server(options), Error);
  options.envs = {"maze"};
  options.max_sessions = 0;
  EXPECT_THROW(GymServer server(options), Error);
  options.max_sessions = 10;
  options.config.wordle_word_list = "/nonexistent/words";
  options.envs = {"wordle"};
  EXPECT_THROW(GymServer server(options), Error);
}

}  // namespace
}  // namespace tessera::agents
