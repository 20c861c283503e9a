#pragma once
// One episode of an agent (a model or an expert) in an environment, recorded as an AgentTraj
// conversation: the scripted opening, the first prompt, then alternating ReAct answers
// ("gpt", loss true) and observations ("human").
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/agents/environment.h"
#include "tessera/agents/experts.h"
#include "tessera/agents/prompts.h"

namespace tessera::agents {

struct Episode {
  std::string env_name;
  int64_t task = 0;
  std::vector<Turn> conversation;
  double reward = 0.0;        // the last step's reward (AgentGym's score for the episode)
  double total_reward = 0.0;  // sum over the episode
  bool success = false;       // ended with reward 1
  bool done = false;          // the environment ended the episode (not the round limit)
  int rounds = 0;
  std::string item_id() const { return env_name + "_" + std::to_string(task); }
};

// Answers the conversation so far with the next "gpt" message (a ReAct answer).
using Policy = std::function<std::string(const std::vector<Turn>& conversation)>;

struct EpisodeOptions {
  int max_rounds = 100;  // the loop always ends: environments end, and so does this bound
  // AgentGym's runner appends the observation that ended the episode; AgentTraj training
  // items end with the last answer instead.
  bool record_final_observation = true;
};

Episode run_episode(Environment& env, int64_t task, const Policy& policy,
                    const EpisodeOptions& options);
// The expert's episode, ending with its last answer (AgentTraj style).
Episode run_expert_episode(Environment& env, int64_t task, Expert& expert, int max_rounds = 100);

// {"item_id": ..., "conversations": [{"from", "loss", "value"}, ...]}
nlohmann::json to_agent_traj(const Episode& episode);
// Checks one parsed JSONL line against the AgentTraj shape; throws BadInput naming the fault.
void validate_agent_traj(const nlohmann::json& item);

}  // namespace tessera::agents
