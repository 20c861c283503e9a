#pragma once
// The machinery AgentGym's tool environments share (agentenv-tool, after AgentBoard's
// Toolusage): actions written "Action: NAME with Action Input: {json}", answers
// "Observation: <Python repr of the result>\nGive me one action.", a progress reward (the
// share of the task's ground-truth subgoals that some call has produced so far), and the
// `finish` action that ends the episode, scored 1 only when every subgoal was reached and
// the final state equals the ground truth.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/agents/environment.h"

namespace tessera::agents {

// Python's repr of a JSON value ({'k': 'v', 'b': True, 'n': None}), as upstream prints results.
std::string python_repr(const nlohmann::ordered_json& value);
// Parses an action input as JSON, also accepting Python literals (True/False/None, single
// quotes), since upstream eval()s it. Throws BadInput when it is neither.
nlohmann::ordered_json parse_action_input(const std::string& text);

struct ToolTask {
  std::string goal;
  std::vector<nlohmann::ordered_json> subgoals;  // results some call must produce
  nlohmann::ordered_json final_state;            // what the tool's state must be at the end
  std::vector<std::pair<std::string, nlohmann::ordered_json>> solution;  // the expert's calls
};

class ToolEnvironment : public Environment {
 public:
  std::string reset(int64_t task) override;
  StepResult step(const std::string& action) override;
  std::string observation() const override { return observation_; }
  std::vector<std::string> available_actions() const override { return tool_names(); }

  const ToolTask& tool_task() const { return task_; }
  double progress() const { return progress_; }
  int steps() const { return steps_; }

 protected:
  // Builds task `task` and the tool's initial state.
  virtual ToolTask make_task(int64_t task) = 0;
  // Runs a tool; returns (ok, result). Unknown names and bad parameters throw ToolFailure.
  virtual std::pair<bool, nlohmann::ordered_json> call_tool(
      const std::string& name, const nlohmann::ordered_json& input) = 0;
  virtual std::vector<std::string> tool_names() const = 0;
  // The state compared with ToolTask::final_state when the agent finishes.
  virtual nlohmann::ordered_json current_state() const = 0;

  // A failure answered as "ERROR | <message>" (upstream's exception text).
  struct ToolFailure {
    std::string message;
  };
  static const nlohmann::ordered_json& required(const nlohmann::ordered_json& input,
                                                const std::string& key);

 private:
  ToolTask task_;
  std::vector<nlohmann::ordered_json> produced_;  // results of successful calls, for the subgoals
  double progress_ = 0.0;
  int steps_ = 0;
  std::string observation_;
};

}  // namespace tessera::agents
