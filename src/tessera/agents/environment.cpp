#include "tessera/agents/environment.h"

#include <fmt/format.h>

#include "tessera/agents/babyai.h"
#include "tessera/agents/maze.h"
#include "tessera/agents/sqlgym.h"
#include "tessera/agents/textcraft.h"
#include "tessera/agents/todo.h"
#include "tessera/agents/weather.h"
#include "tessera/agents/wordle.h"
#include "tessera/core/error.h"

namespace tessera::agents {

void Environment::require_running() const {
  TESSERA_CHECK_INPUT(started_, "{}: the environment has not been reset", name());
  TESSERA_CHECK_INPUT(!done_ || continues_after_done(),
                      "{}: the episode has finished; reset it first", name());
}

const std::vector<EnvironmentSpec>& environment_specs() {
  static const std::vector<EnvironmentSpec> specs = [] {
    std::vector<EnvironmentSpec> list;
    int64_t maze_tasks = static_cast<int64_t>(MazeEnvironment::start_positions().size());
    list.push_back({"maze", "LMRL-Gym double-T maze (task = start position 0..24)", maze_tasks, 0,
                    maze_tasks,
                    [](const GymConfig&) { return std::make_unique<MazeEnvironment>(); }});
    list.push_back({"wordle", "LMRL-Gym Wordle (task = seed of the hidden-word draws)", 1'000'000,
                    0, 100, [](const GymConfig& config) {
                      return std::make_unique<WordleEnvironment>(
                          WordleVocabulary::for_config(config));
                    }});
    list.push_back(
        {"textcraft",
         "TextCraft with generated recipe worlds (task = world seed; depth 1 + task % 3)",
         1'000'000, 0, 100,
         [](const GymConfig&) { return std::make_unique<TextCraftEnvironment>(); }});
    list.push_back({"babyai",
                    "BabyAI-text grid worlds, ten level families (task = level task % 10 and seed)",
                    1'000'000, 0, 100,
                    [](const GymConfig&) { return std::make_unique<BabyAIEnvironment>(); }});
    list.push_back(
        {"sqlgym",
         "SQL questions over generated SQLite databases (task = database and question seed)",
         1'000'000, 0, 100,
         [](const GymConfig&) { return std::make_unique<SqlGymEnvironment>(); }});
    list.push_back(
        {"todo", "Todo-list tools over a generated account (task = account and goal seed)",
         1'000'000, 0, 100, [](const GymConfig&) { return std::make_unique<TodoEnvironment>(); }});
    list.push_back({"weather",
                    "Weather tools over generated data for real cities (task = question seed)",
                    1'000'000, 0, 100,
                    [](const GymConfig&) { return std::make_unique<WeatherEnvironment>(); }});
    return list;
  }();
  return specs;
}

const EnvironmentSpec& find_environment(const std::string& name) {
  std::vector<std::string> known;
  for (const auto& spec : environment_specs()) {
    if (spec.name == name) return spec;
    known.push_back(spec.name);
  }
  throw bad_input("unknown environment '{}' (known: {})", name, fmt::join(known, ", "));
}

std::unique_ptr<Environment> make_environment(const std::string& name, const GymConfig& config) {
  return find_environment(name).make(config);
}

}  // namespace tessera::agents
