#include "tessera/agents/episode.h"

#include "tessera/core/error.h"

namespace tessera::agents {

Episode run_episode(Environment& env, int64_t task, const Policy& policy,
                    const EpisodeOptions& options) {
  TESSERA_CHECK_INPUT(options.max_rounds > 0, "max rounds must be positive, got {}",
                      options.max_rounds);
  Episode episode;
  episode.env_name = env.name();
  episode.task = task;
  std::string reset_observation = env.reset(task);
  episode.conversation = conversation_start(episode.env_name);
  episode.conversation.push_back({"human", first_prompt(env, reset_observation), std::nullopt});
  while (!env.done() && episode.rounds < options.max_rounds) {
    std::string answer = policy(episode.conversation);
    episode.conversation.push_back({"gpt", answer, true});
    ParsedAnswer parsed = parse_answer(episode.env_name, answer);
    ++episode.rounds;
    if (parsed.client_reply) {
      episode.conversation.push_back({"human", *parsed.client_reply, std::nullopt});
      episode.reward = 0.0;
      continue;
    }
    StepResult result = env.step(parsed.action);
    episode.reward = result.reward;
    if (!result.done || options.record_final_observation) {
      episode.conversation.push_back({"human", result.observation, std::nullopt});
    }
  }
  episode.done = env.done();
  episode.total_reward = env.total_reward();
  episode.success = env.succeeded();
  return episode;
}

Episode run_expert_episode(Environment& env, int64_t task, Expert& expert, int max_rounds) {
  Policy policy = [&](const std::vector<Turn>&) {
    ExpertMove move = expert.next(env);
    return format_react(env.name(), move.thought, move.action);
  };
  return run_episode(env, task, policy, {max_rounds, false});
}

nlohmann::json to_agent_traj(const Episode& episode) {
  nlohmann::json conversations = nlohmann::json::array();
  for (const auto& turn : episode.conversation) {
    conversations.push_back(
        {{"from", turn.from},
         {"loss", turn.loss ? nlohmann::json(*turn.loss) : nlohmann::json(nullptr)},
         {"value", turn.value}});
  }
  return {{"conversations", conversations}, {"item_id", episode.item_id()}};
}

void validate_agent_traj(const nlohmann::json& item) {
  TESSERA_CHECK_INPUT(item.is_object(), "trajectory: not a JSON object");
  TESSERA_CHECK_INPUT(item.contains("item_id") && item["item_id"].is_string(),
                      "trajectory: missing string item_id");
  TESSERA_CHECK_INPUT(item.contains("conversations") && item["conversations"].is_array() &&
                          !item["conversations"].empty(),
                      "trajectory {}: missing conversations", item["item_id"].get<std::string>());
  const auto& turns = item["conversations"];
  for (size_t i = 0; i < turns.size(); ++i) {
    const auto& turn = turns[i];
    TESSERA_CHECK_INPUT(turn.is_object() && turn.contains("from") && turn.contains("value") &&
                            turn.contains("loss") && turn["value"].is_string(),
                        "trajectory: turn {} lacks from/value/loss", i);
    const std::string from = turn["from"].get<std::string>();
    const std::string expected = i % 2 == 0 ? "human" : "gpt";
    TESSERA_CHECK_INPUT(from == expected, "trajectory: turn {} is from '{}', expected '{}'", i,
                        from, expected);
    if (from == "human") {
      TESSERA_CHECK_INPUT(turn["loss"].is_null(), "trajectory: human turn {} has a loss flag", i);
    } else {
      TESSERA_CHECK_INPUT(turn["loss"].is_boolean(), "trajectory: gpt turn {} has no boolean loss",
                          i);
    }
  }
}

}  // namespace tessera::agents
