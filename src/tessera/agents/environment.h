#pragma once
// One interface for every AgentGym environment. An environment is reset to a task (a maze
// start position, a Wordle seed, a crafting goal, ...) and then stepped with text actions;
// every environment is deterministic given its task id, so the same id always replays the
// same episode. The HTTP server, the expert solvers and the LLM runner all work through this.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::agents {

struct StepResult {
  std::string observation;
  double reward = 0.0;
  bool done = false;
};

class Environment {
 public:
  virtual ~Environment() = default;

  // The registry name ("maze", "wordle", ...).
  virtual std::string name() const = 0;
  // Starts the episode for `task` (meaning per environment) and returns its first observation.
  // Throws tessera::Error (BadInput) for a task id out of range.
  virtual std::string reset(int64_t task) = 0;
  // Applies one action. Invalid actions are part of the game (each environment answers them
  // the way upstream does); stepping before reset or after the episode ended throws BadInput.
  virtual StepResult step(const std::string& action) = 0;
  // The latest observation (the reset observation before any step).
  virtual std::string observation() const = 0;
  // Actions that are valid now, where the environment can enumerate them (may be empty).
  virtual std::vector<std::string> available_actions() const = 0;

  // Whether the episode ended in success (by default: ended with reward 1).
  virtual bool succeeded() const { return done_ && last_reward_ >= 1.0; }
  double last_reward() const { return last_reward_; }
  bool has_started() const { return started_; }
  bool done() const { return done_; }
  // Sum of rewards since reset.
  double total_reward() const { return total_reward_; }
  int64_t task() const { return task_; }

 protected:
  // Bookkeeping shared by every environment; subclasses call these from reset/step.
  void begin_episode(int64_t task) {
    started_ = true;
    done_ = false;
    total_reward_ = 0.0;
    last_reward_ = 0.0;
    task_ = task;
  }
  void record_step(const StepResult& result) {
    total_reward_ += result.reward;
    last_reward_ = result.reward;
    done_ = result.done;
  }
  // Throws BadInput unless the episode has started and not ended (or ended, for the
  // environments whose upstream keeps taking actions after the end).
  void require_running() const;
  virtual bool continues_after_done() const { return false; }

 private:
  bool started_ = false;
  bool done_ = false;
  double total_reward_ = 0.0;
  double last_reward_ = 0.0;
  int64_t task_ = -1;
};

// Settings the environments read from the command line (word list, sizes).
struct GymConfig {
  std::string wordle_word_list = "/usr/share/dict/american-english";
  // Use only this many words (a seeded, fixed subset) when > 0: the whole list is over 4,000
  // words, which is long for the prompt AgentGym shows a model.
  int64_t wordle_vocab_size = 0;
};

struct EnvironmentSpec {
  std::string name;
  std::string description;
  // Tasks are 0..task_count-1; the test split is the range below.
  int64_t task_count = 0;
  int64_t test_begin = 0;
  int64_t test_end = 0;
  std::function<std::unique_ptr<Environment>(const GymConfig&)> make;
};

// Every environment Tessera serves, in a fixed order.
const std::vector<EnvironmentSpec>& environment_specs();
// Throws BadInput naming the known environments when `name` is unknown.
const EnvironmentSpec& find_environment(const std::string& name);
std::unique_ptr<Environment> make_environment(const std::string& name, const GymConfig& config);

}  // namespace tessera::agents
