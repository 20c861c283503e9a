// AgentGym environment throughput: steps per second in-process, and over HTTP with 64
// concurrent sessions on loopback (each benchmark thread is one client with its own
// keep-alive connection and session, like AgentGym's parallel evaluation clients).
//
//   bench_gym --benchmark_filter='Http' --benchmark_repetitions=5
//
// Actions are a fixed, cheap cycle per environment (valid moves, valid words, inventory
// checks), so the numbers measure the environment and the server rather than a policy.
#include <benchmark/benchmark.h>
#include <httplib.h>

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tessera/agents/gym_server.h"
#include "tessera/agents/textcraft.h"
#include "tessera/agents/wordle.h"

namespace {

using tessera::agents::GymConfig;

// The action for step `i` of an episode of `env` (cheap, mostly valid).
std::string cycle_action(const std::string& env, int64_t i) {
  static const char* moves[] = {"move right", "move down", "move left", "move up"};
  static const char* words[] = {"c r a n e", "s l a t e", "p o i n t",
                                "b r i c k", "f j o r d", "n y m p h"};
  if (env == "maze") return moves[i % 4];
  if (env == "wordle") return words[i % 6];
  if (env == "textcraft") return i % 2 ? "inventory" : "get 1 nothing";
  if (env == "babyai") return i % 3 == 2 ? "move forward" : "turn left";
  if (env == "sqlgym") return "SELECT COUNT(*) FROM sqlite_master";
  if (env == "todo") return "Action: get_projects with Action Input: {}";
  return "Action: get_user_current_date with Action Input: {}";
}

void BM_InProcessSteps(benchmark::State& state, std::string env_name) {
  auto env = tessera::agents::make_environment(env_name, GymConfig{});
  int64_t task = 0, i = 0;
  env->reset(task);
  for (auto _ : state) {
    auto result = env->step(cycle_action(env_name, i++));
    benchmark::DoNotOptimize(result);
    if (result.done || i % 40 == 0) env->reset(++task % 25);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_InProcessSteps, maze, std::string("maze"));
BENCHMARK_CAPTURE(BM_InProcessSteps, wordle, std::string("wordle"));
BENCHMARK_CAPTURE(BM_InProcessSteps, textcraft, std::string("textcraft"));
BENCHMARK_CAPTURE(BM_InProcessSteps, babyai, std::string("babyai"));
BENCHMARK_CAPTURE(BM_InProcessSteps, sqlgym, std::string("sqlgym"));
BENCHMARK_CAPTURE(BM_InProcessSteps, todo, std::string("todo"));
BENCHMARK_CAPTURE(BM_InProcessSteps, weather, std::string("weather"));

// One server for the whole program, on an ephemeral loopback port.
tessera::agents::GymServer& shared_server() {
  static std::once_flag once;
  static std::unique_ptr<tessera::agents::GymServer> server;
  std::call_once(once, [] {
    tessera::agents::GymServerOptions options;
    options.port = 0;
    options.envs = {};  // every environment
    options.max_sessions = 100000;
    server = std::make_unique<tessera::agents::GymServer>(options);
    server->start();
  });
  return *server;
}

void BM_HttpSteps(benchmark::State& state, std::string env_name) {
  auto& server = shared_server();
  httplib::Client client("127.0.0.1", server.port());
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  auto post = [&](const std::string& path, const nlohmann::json& body) {
    auto result = client.Post("/" + env_name + path, body.dump(), "application/json");
    if (!result || result->status != 200) return nlohmann::json();
    return nlohmann::json::parse(result->body);
  };
  nlohmann::json created = post("/create", nlohmann::json::object());
  if (created.is_object() && created.contains("id")) created = created["id"];
  if (!created.is_number_integer()) {
    state.SkipWithError("create failed");
    return;
  }
  int64_t id = created.get<int64_t>();
  // Each upstream server names things its own way.
  const bool tool_style = env_name == "sqlgym" || env_name == "todo" || env_name == "weather";
  const char* id_field = tool_style ? "env_idx" : "id";
  const char* task_field = env_name == "maze"     ? "game"
                           : env_name == "wordle" ? "seed"
                           : env_name == "sqlgym" ? "item_id"
                           : tool_style           ? "id"
                                                  : "data_idx";
  int64_t task = state.thread_index() % 25, i = 0;
  post("/reset", {{id_field, id}, {task_field, task}});
  for (auto _ : state) {
    nlohmann::json answer =
        post("/step", {{id_field, id}, {"action", cycle_action(env_name, i++)}});
    if (!answer.contains("observation") && !answer.contains("state")) {
      state.SkipWithError("step failed");
      break;
    }
    if (answer["done"].get<bool>() || i % 40 == 0)
      post("/reset", {{id_field, id}, {task_field, ++task % 25}});
  }
  post("/close", {{id_field, id}});
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_HttpSteps, maze, std::string("maze"))
    ->Threads(64)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK_CAPTURE(BM_HttpSteps, wordle, std::string("wordle"))
    ->Threads(64)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK_CAPTURE(BM_HttpSteps, textcraft, std::string("textcraft"))
    ->Threads(64)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK_CAPTURE(BM_HttpSteps, babyai, std::string("babyai"))
    ->Threads(64)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK_CAPTURE(BM_HttpSteps, sqlgym, std::string("sqlgym"))
    ->Threads(64)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK_CAPTURE(BM_HttpSteps, todo, std::string("todo"))
    ->Threads(64)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK_CAPTURE(BM_HttpSteps, weather, std::string("weather"))
    ->Threads(64)
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK_CAPTURE(BM_HttpSteps, maze_1client, std::string("maze"))
    ->Threads(1)
    ->UseRealTime()
    ->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
