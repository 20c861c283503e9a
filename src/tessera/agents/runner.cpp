#include "tessera/agents/runner.h"

#include "tessera/core/error.h"
#include "tessera/serve/openai_client.h"

namespace tessera::agents {

namespace {
// Raised inside the policy so the episode loop stops where the endpoint failed.
struct EndpointFailure {
  std::string message;
};
}  // namespace

RunnerSummary run_model(const RunnerOptions& options,
                        const std::function<void(const Episode&)>& on_episode) {
  const EnvironmentSpec& spec = find_environment(options.env);
  TESSERA_CHECK_INPUT(options.episodes > 0, "--episodes must be positive, got {}",
                      options.episodes);
  TESSERA_CHECK_INPUT(options.max_rounds > 0, "--max-rounds must be positive, got {}",
                      options.max_rounds);
  int64_t first = options.first_task < 0 ? spec.test_begin : options.first_task;
  TESSERA_CHECK_INPUT(first + options.episodes <= spec.task_count,
                      "{} has tasks 0..{}; tasks {}..{} requested", spec.name, spec.task_count - 1,
                      first, first + options.episodes - 1);

  serve::OpenAIClient client({options.endpoint, options.api_key, 10.0, options.timeout_seconds});
  auto env = spec.make(options.config);
  RunnerSummary summary;
  summary.env = spec.name;
  double reward_sum = 0.0, rounds_sum = 0.0;

  Policy policy = [&](const std::vector<Turn>& conversation) {
    serve::ChatRequest request;
    request.model = options.model;
    for (const auto& turn : conversation) {
      request.messages.push_back({turn.from == "gpt" ? "assistant" : "user", turn.value});
    }
    request.temperature = options.temperature;
    request.max_tokens = options.max_tokens;
    request.seed = options.seed;
    try {
      return client.chat(request).content;
    } catch (const Error& e) {
      throw EndpointFailure{e.what()};
    }
  };

  for (int i = 0; i < options.episodes; ++i) {
    int64_t task = first + i;
    Episode episode;
    try {
      episode = run_episode(*env, task, policy, {options.max_rounds, true});
    } catch (const EndpointFailure& failure) {
      // AgentGym ends an episode whose generation fails and goes on with the next one.
      ++summary.failed_episodes;
      if (summary.first_error.empty()) summary.first_error = failure.message;
      episode.env_name = spec.name;
      episode.task = task;
    }
    ++summary.episodes;
    summary.successes += episode.success ? 1 : 0;
    reward_sum += episode.reward;
    rounds_sum += episode.rounds;
    if (!episode.conversation.empty() && on_episode) on_episode(episode);
  }
  if (summary.failed_episodes == summary.episodes) {
    throw runtime_error("gym run: every episode failed at the endpoint; first error: {}",
                        summary.first_error);
  }
  summary.mean_reward = reward_sum / summary.episodes;
  summary.mean_rounds = rounds_sum / summary.episodes;
  return summary;
}

}  // namespace tessera::agents
