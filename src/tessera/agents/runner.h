#pragma once
// Drives a language model behind any OpenAI-compatible endpoint through AgentGym episodes:
// the conversation AgentGym's clients hold (human -> user, gpt -> assistant), the action
// parsed from each answer, the trajectory recorded in AgentTraj form.
#include <functional>
#include <optional>
#include <string>

#include "tessera/agents/environment.h"
#include "tessera/agents/episode.h"

namespace tessera::agents {

struct RunnerOptions {
  std::string env;
  std::string endpoint;  // e.g. http://127.0.0.1:8080/v1
  std::string model = "tessera";
  std::string api_key;
  int episodes = 1;
  int max_rounds = 20;
  int64_t first_task = -1;  // -1: the start of the environment's test split
  double temperature = 0.0;
  int max_tokens = 256;
  std::optional<int64_t> seed;
  double timeout_seconds = 300;
  GymConfig config;
};

struct RunnerSummary {
  std::string env;
  int episodes = 0;
  int successes = 0;
  double mean_reward = 0.0;
  double mean_rounds = 0.0;
  int failed_episodes = 0;  // ended early because the endpoint failed
  std::string first_error;
  double success_rate() const { return episodes ? static_cast<double>(successes) / episodes : 0.0; }
};

// Runs the episodes in order; `on_episode` sees each finished one (to write it out).
RunnerSummary run_model(const RunnerOptions& options,
                        const std::function<void(const Episode&)>& on_episode);

}  // namespace tessera::agents
