#include "tessera/agents/tool_env.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

#include "tessera/core/error.h"

namespace tessera::agents {

namespace {

std::string python_string(const std::string& text) {
  // Python picks double quotes when the text has a single quote and no double quote.
  bool use_double = text.find('\'') != std::string::npos && text.find('"') == std::string::npos;
  char quote = use_double ? '"' : '\'';
  std::string out(1, quote);
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == quote)
      out += std::string("\\") + quote;
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else
      out += c;
  }
  return out + quote;
}

std::string python_float_repr(double value) {
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".eni") == std::string::npos) text += ".0";
  return text;
}

std::string trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\n\r\f\v");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t\n\r\f\v");
  return text.substr(begin, end - begin + 1);
}

}  // namespace

std::string python_repr(const nlohmann::ordered_json& value) {
  switch (value.type()) {
    case nlohmann::ordered_json::value_t::null:
      return "None";
    case nlohmann::ordered_json::value_t::boolean:
      return value.get<bool>() ? "True" : "False";
    case nlohmann::ordered_json::value_t::number_integer:
    case nlohmann::ordered_json::value_t::number_unsigned:
      return value.dump();
    case nlohmann::ordered_json::value_t::number_float:
      return python_float_repr(value.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return python_string(value.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::string out = "[";
      for (size_t i = 0; i < value.size(); ++i) out += (i ? ", " : "") + python_repr(value[i]);
      return out + "]";
    }
    case nlohmann::ordered_json::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (const auto& [key, item] : value.items()) {
        out += (first ? "" : ", ") + python_string(key) + ": " + python_repr(item);
        first = false;
      }
      return out + "}";
    }
    default:
      return value.dump();
  }
}

nlohmann::ordered_json parse_action_input(const std::string& text) {
  auto parsed = nlohmann::ordered_json::parse(text, nullptr, false);
  if (!parsed.is_discarded()) return parsed;
  // Python literal -> JSON: swap quote kinds outside of strings and rename the constants.
  std::string converted;
  char in_string = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\' && i + 1 < text.size()) {
        converted += c;
        converted += text[++i];
        continue;
      }
      if (c == in_string) {
        converted += '"';
        in_string = 0;
      } else if (c == '"') {
        converted += "\\\"";
      } else {
        converted += c;
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      in_string = c;
      converted += '"';
      continue;
    }
    auto word_at = [&](const char* word) {
      size_t n = std::char_traits<char>::length(word);
      return text.compare(i, n, word) == 0 &&
             (i + n == text.size() || !std::isalnum(static_cast<unsigned char>(text[i + n])));
    };
    if (word_at("True")) {
      converted += "true";
      i += 3;
    } else if (word_at("False")) {
      converted += "false";
      i += 4;
    } else if (word_at("None")) {
      converted += "null";
      i += 3;
    } else {
      converted += c;
    }
  }
  parsed = nlohmann::ordered_json::parse(converted, nullptr, false);
  if (parsed.is_discarded()) {
    throw bad_input("Parameters in action input are not valid, please change your action input.");
  }
  return parsed;
}

const nlohmann::ordered_json& ToolEnvironment::required(const nlohmann::ordered_json& input,
                                                        const std::string& key) {
  if (!input.is_object() || !input.contains(key)) throw ToolFailure{"KeyError('" + key + "')"};
  return input[key];
}

std::string ToolEnvironment::reset(int64_t task) {
  task_ = make_task(task);
  begin_episode(task);
  produced_.clear();
  progress_ = 0.0;
  steps_ = 0;
  observation_ =
      "Now new trial starts.\nYou should perform actions to accomplish the goal: " + task_.goal +
      "\nGive me one action.";
  return observation_;
}

StepResult ToolEnvironment::step(const std::string& message) {
  require_running();
  ++steps_;
  StepResult result;
  // Upstream's server: "<name> with Action Input: <input>" must end the message.
  static const std::regex server_pattern(R"(\s*(.*?)\s*with\s*Action Input:\s*(.*?)$)");
  std::smatch match;
  if (!std::regex_search(message, match, server_pattern) || match.suffix().length() > 0) {
    result.observation =
        "Format error, please response in the format of  \"Action: [your action] with Action "
        "Input: [your action "
        "input]";
    result.reward = progress_;
    observation_ = result.observation;
    record_step(result);
    return result;
  }
  std::string name = trim(match[1].str());
  if (name.rfind("Action:", 0) == 0) name = trim(name.substr(7));
  std::string input_text = trim(match[2].str());
  std::string action_text = name + " with Action Input: " + input_text;
  std::string answer;
  bool finished = false;
  try {
    nlohmann::ordered_json input;
    try {
      input = parse_action_input(input_text);
    } catch (const Error& e) {
      throw ToolFailure{std::string("Exception(") + e.what() + ")"};
    }
    nlohmann::ordered_json value;
    if (name == "finish") {
      value = required(input, "answer");
      if (value.is_array()) std::sort(value.begin(), value.end());
      produced_.push_back(value);
    } else if (name == "check_valid_actions") {
      std::string names;
      for (const auto& tool : tool_names())
        names += (names.empty() ? "" : ", ") + python_repr(tool);
      value = "You can use following valid actions: [" + names + "]";
    } else {
      auto [ok, returned] = call_tool(name, input);
      value = returned;
      if (ok) {
        nlohmann::ordered_json subgoal = returned;
        // Upstream drops ids from a result before matching it against the subgoals.
        if (subgoal.is_object()) {
          subgoal.erase("id");
          for (const char* inner : {"task", "project"}) {
            if (subgoal.contains(inner) && subgoal[inner].is_object()) subgoal[inner].erase("id");
          }
        } else if (subgoal.is_array()) {
          for (auto& item : subgoal) {
            if (item.is_object()) item.erase("id");
          }
        }
        produced_.push_back(subgoal);
      }
    }
    answer = value.is_string() ? value.get<std::string>() : python_repr(value);
    // Upstream ends the episode whenever the action text mentions finishing.
    finished = action_text.find("finish") != std::string::npos ||
               action_text.find("Finish") != std::string::npos;
    std::vector<nlohmann::ordered_json> remaining = produced_;
    size_t matched = 0;
    for (const auto& subgoal : task_.subgoals) {
      auto it = std::find(remaining.begin(), remaining.end(), subgoal);
      if (it != remaining.end()) {
        remaining.erase(it);
        ++matched;
      }
    }
    if (!task_.subgoals.empty()) {
      progress_ = std::max(
          progress_, static_cast<double>(matched) / static_cast<double>(task_.subgoals.size()));
    }
  } catch (const ToolFailure& failure) {
    answer = "ERROR | " + failure.message;
  }
  result.observation = "Observation: " + answer + "\nGive me one action.";
  result.done = finished;
  result.reward = progress_;
  if (finished)
    result.reward = progress_ == 1.0 && current_state() == task_.final_state ? 1.0 : 0.0;
  observation_ = result.observation;
  record_step(result);
  return result;
}

}  // namespace tessera::agents
