#pragma once
// The conversation AgentGym's clients hold with a model: the opening exchange, the first
// prompt after reset (instructions plus the first observation), and how an action is taken
// out of a model's ReAct answer ("Thought: ... Action: ...").
#include <optional>
#include <string>
#include <vector>

#include "tessera/agents/environment.h"

namespace tessera::agents {

// One message of an AgentTraj conversation: from "human" (loss null) or "gpt" (loss true for
// the turns a model is trained on, false for the scripted opening reply).
struct Turn {
  std::string from;
  std::string value;
  std::optional<bool> loss;
};

// The scripted opening ("You are an expert maze solver." / "OK. I'll follow ...").
std::vector<Turn> conversation_start(const std::string& env_name);
// What the client shows the model right after reset.
std::string first_prompt(const Environment& env, const std::string& reset_observation);
// A model's answer as the environment's AgentGym client reads it: the action to send, or a
// reply the client gives itself without stepping the environment (TextCraft's client refuses
// answers with two "Action:" lines this way).
struct ParsedAnswer {
  std::string action;
  std::optional<std::string> client_reply;
};
ParsedAnswer parse_answer(const std::string& env_name, const std::string& model_output);
// parse_answer(...).action
std::string extract_action(const std::string& env_name, const std::string& model_output);
// The ReAct answer in the layout the environment's prompt asks for: "Thought:\n<thought>\n\n
// Action:\n<action>" (LMRL-Gym, TextCraft, BabyAI) or "Thought: <thought>\n\nAction: <action>"
// (SQLGym and the tool environments).
std::string format_react(const std::string& env_name, const std::string& thought,
                         const std::string& action);

}  // namespace tessera::agents
