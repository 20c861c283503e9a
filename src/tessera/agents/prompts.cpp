#include "tessera/agents/prompts.h"

#include <cctype>

#include "tessera/agents/prompts_internal.h"
#include "tessera/agents/wordle.h"
#include "tessera/core/error.h"

namespace tessera::agents {

namespace {

constexpr const char* kAcknowledgement =
    "OK. I'll follow your instructions and try my best to solve the task.";

std::string trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\n\r\f\v");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t\n\r\f\v");
  return text.substr(begin, end - begin + 1);
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// LMRL-Gym's clients: drop a trailing "</s>", split on "Action:" and keep the second piece,
// trimmed. (Upstream cuts five characters for the four of "</s>", eating the character before
// it; that is a newline in its models' output, which the trim removes anyway, but would be the
// action's last letter for a model that writes "move down</s>", so only "</s>" is cut here.)
std::string extract_lmrlgym_action(std::string output) {
  const std::string eos = "</s>";
  if (output.size() >= eos.size() &&
      output.compare(output.size() - eos.size(), eos.size(), eos) == 0) {
    output.resize(output.size() - eos.size());
  }
  const std::string marker = "Action:";
  size_t first = output.find(marker);
  if (first == std::string::npos) return trim(output);
  size_t start = first + marker.size();
  size_t second = output.find(marker, start);
  return trim(
      output.substr(start, second == std::string::npos ? std::string::npos : second - start));
}

// TextCraft's client: the text after each "Action:" up to the line end; more than one is
// refused; characters other than letters, digits, commas and spaces are dropped and runs of
// blanks collapsed.
ParsedAnswer parse_textcraft_answer(const std::string& output) {
  std::vector<std::string> matches;
  const std::string marker = "Action:";
  for (size_t at = output.find(marker); at != std::string::npos;
       at = output.find(marker, at + marker.size())) {
    size_t start = at + marker.size();
    while (start < output.size() && std::isspace(static_cast<unsigned char>(output[start])))
      ++start;
    size_t end = output.find('\n', start);
    matches.push_back(
        output.substr(start, end == std::string::npos ? std::string::npos : end - start));
  }
  if (matches.size() > 1) {
    return {"", "Error: Only one 'Action' is allowed per response. Please adjust your response."};
  }
  std::string action;
  for (char c : matches.empty() ? std::string() : matches.back()) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == ',' || c == ' ') action += c;
  }
  std::string collapsed;
  for (size_t i = 0; i < action.size(); ++i) {
    if (action[i] == ' ' && (collapsed.empty() || collapsed.back() == ' ')) continue;
    collapsed += action[i];
  }
  while (!collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
  return {collapsed, std::nullopt};
}

}  // namespace

std::vector<Turn> conversation_start(const std::string& env_name) {
  std::string role;
  if (env_name == "maze") {
    role = "You are an expert maze solver.";
  } else if (env_name == "wordle") {
    role = "You are an expert wordle player.";
  } else if (env_name == "textcraft") {
    role = prompts::kTextCraftInstructions;
  } else if (env_name == "babyai") {
    role = prompts::kBabyAIInstructions;
  } else if (env_name == "sqlgym") {
    return {{"human", prompts::kSqlGymInstructions, std::nullopt}, {"gpt", "Ok.", false}};
  } else if (env_name == "todo") {
    return {{"human", prompts::kTodoInstructions, std::nullopt}, {"gpt", "Ok.", false}};
  } else if (env_name == "weather") {
    return {{"human", prompts::kWeatherInstructions, std::nullopt}, {"gpt", "Ok.", false}};
  } else {
    throw bad_input("no prompts for environment '{}'", env_name);
  }
  return {{"human", role, std::nullopt}, {"gpt", kAcknowledgement, false}};
}

std::string first_prompt(const Environment& env, const std::string& reset_observation) {
  const std::string name = env.name();
  if (name == "maze") return std::string(prompts::kMazeInstructions) + "\n" + reset_observation;
  if (name == "wordle") {
    const auto& wordle = dynamic_cast<const WordleEnvironment&>(env);
    std::string vocabulary;
    for (const auto& word : wordle.vocabulary().words()) {
      if (!vocabulary.empty()) vocabulary += '\n';
      vocabulary += word;
    }
    return replace_all(prompts::kWordleInstructions, "{{vocab}}", vocabulary);
  }
  if (name == "textcraft" || name == "babyai" || name == "sqlgym" || name == "todo" ||
      name == "weather")
    return reset_observation;
  throw bad_input("no prompts for environment '{}'", name);
}

ParsedAnswer parse_answer(const std::string& env_name, const std::string& model_output) {
  if (env_name == "maze" || env_name == "wordle")
    return {extract_lmrlgym_action(model_output), std::nullopt};
  // BabyAI's client parses answers exactly as TextCraft's does.
  if (env_name == "textcraft" || env_name == "babyai") return parse_textcraft_answer(model_output);
  // The tool clients send the model's whole answer; the server finds the action in it.
  if (env_name == "todo" || env_name == "weather") return {model_output, std::nullopt};
  if (env_name == "sqlgym") {
    // SQLGym's client: the text after the last "```sql", up to the next fence, trimmed.
    std::string sql = model_output;
    size_t fence = sql.rfind("```sql");
    if (fence != std::string::npos) sql = sql.substr(fence + 6);
    size_t close = sql.find("```");
    if (close != std::string::npos) sql = sql.substr(0, close);
    return {trim(sql), std::nullopt};
  }
  throw bad_input("no action parser for environment '{}'", env_name);
}

std::string extract_action(const std::string& env_name, const std::string& model_output) {
  return parse_answer(env_name, model_output).action;
}

std::string format_react(const std::string& env_name, const std::string& thought,
                         const std::string& action) {
  if (env_name == "sqlgym" || env_name == "todo" || env_name == "weather") {
    return "Thought: " + thought + "\n\nAction: " + action;
  }
  return "Thought:\n" + thought + "\n\nAction:\n" + action;
}

}  // namespace tessera::agents
