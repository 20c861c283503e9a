#pragma once
// Chat templates: the three prompt formats most local models use, written out in code (no
// Jinja interpreter), and picked from tokenizer_config.json when its template is recognisable.
#include <optional>
#include <string>
#include <vector>

namespace tessera::infer {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

enum class ChatTemplate { llama3, chatml, mistral };

bool parse_chat_template(const std::string& name, ChatTemplate& out);  // "llama3", "chatml", "mistral"
const char* chat_template_name(ChatTemplate t);

// The prompt text; with add_generation_prompt it ends where the assistant's reply starts.
// The text includes the BOS token where the format has one (llama3, mistral), so encode it
// without adding special tokens again.
//  llama3:  <|begin_of_text|><|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|>...
//  chatml:  <|im_start|>ROLE\nCONTENT<|im_end|>\n...
//  mistral: <s>[INST] USER [/INST]ASSISTANT</s>[INST] ... (a system message is prepended to
//           the first user message, separated by a blank line)
std::string apply_chat_template(ChatTemplate t, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt = true);

// Recognises the format from a Jinja template string (tokenizer_config.json "chat_template").
std::optional<ChatTemplate> detect_chat_template(const std::string& jinja);
// Reads DIR/tokenizer_config.json (if any) and detects its template.
std::optional<ChatTemplate> detect_chat_template_in(const std::string& model_dir);

// The token strings that end an assistant turn in each format (stop strings for generation).
std::vector<std::string> chat_stop_strings(ChatTemplate t);

}  // namespace tessera::infer
