#include "tessera/infer/chat.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tessera/core/error.h"

namespace tessera::infer {

bool parse_chat_template(const std::string& name, ChatTemplate& out) {
  if (name == "llama3" || name == "llama-3") {
    out = ChatTemplate::llama3;
  } else if (name == "chatml") {
    out = ChatTemplate::chatml;
  } else if (name == "mistral") {
    out = ChatTemplate::mistral;
  } else {
    return false;
  }
  return true;
}

const char* chat_template_name(ChatTemplate t) {
  switch (t) {
    case ChatTemplate::llama3: return "llama3";
    case ChatTemplate::chatml: return "chatml";
    case ChatTemplate::mistral: return "mistral";
  }
  return "?";
}

namespace {

// Jinja's `trim`, which the official Llama 3 template applies to every content.
std::string trim(const std::string& s) {
  const char* ws = " \t\n\r\f\v";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

void check_role(const ChatMessage& m) {
  TESSERA_CHECK_INPUT(m.role == "system" || m.role == "user" || m.role == "assistant",
                      "chat message role \"{}\" is not system, user or assistant", m.role);
}

}  // namespace

std::string apply_chat_template(ChatTemplate t, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt) {
  std::string out;
  switch (t) {
    case ChatTemplate::llama3:
      out = "<|begin_of_text|>";
      for (const ChatMessage& m : messages) {
        check_role(m);
        out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + trim(m.content) + "<|eot_id|>";
      }
      if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      break;
    case ChatTemplate::chatml:
      for (const ChatMessage& m : messages) {
        check_role(m);
        out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      }
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      break;
    case ChatTemplate::mistral: {
      out = "<s>";
      std::string system;
      bool first_user = true;
      for (const ChatMessage& m : messages) {
        check_role(m);
        if (m.role == "system") {
          system = m.content;
        } else if (m.role == "user") {
          std::string content = m.content;
          if (first_user && !system.empty()) content = system + "\n\n" + content;
          first_user = false;
          out += "[INST] " + content + " [/INST]";
        } else {
          out += m.content + "</s>";
        }
      }
      break;  // the reply follows [/INST] directly: nothing to add for generation
    }
  }
  return out;
}

std::optional<ChatTemplate> detect_chat_template(const std::string& jinja) {
  if (jinja.find("<|start_header_id|>") != std::string::npos) return ChatTemplate::llama3;
  if (jinja.find("<|im_start|>") != std::string::npos) return ChatTemplate::chatml;
  if (jinja.find("[INST]") != std::string::npos) return ChatTemplate::mistral;
  return std::nullopt;
}

std::optional<ChatTemplate> detect_chat_template_in(const std::string& model_dir) {
  std::filesystem::path path = std::filesystem::path(model_dir) / "tokenizer_config.json";
  std::ifstream in(path);
  if (!in.good()) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json config = nlohmann::json::parse(buffer.str(), nullptr, /*allow_exceptions=*/false);
  TESSERA_CHECK_INPUT(!config.is_discarded(), "{}: invalid JSON", path.string());
  if (!config.contains("chat_template")) return std::nullopt;
  const auto& tpl = config["chat_template"];
  if (tpl.is_string()) return detect_chat_template(tpl.get<std::string>());
  if (tpl.is_array()) {  // [{"name": "default", "template": "..."}, ...]
    for (const auto& entry : tpl) {
      if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
          entry["template"].is_string())
        return detect_chat_template(entry["template"].get<std::string>());
    }
  }
  return std::nullopt;
}

std::vector<std::string> chat_stop_strings(ChatTemplate t) {
  switch (t) {
    case ChatTemplate::llama3: return {"<|eot_id|>"};
    case ChatTemplate::chatml: return {"<|im_end|>"};
    case ChatTemplate::mistral: return {"</s>"};
  }
  return {};
}

}  // namespace tessera::infer
