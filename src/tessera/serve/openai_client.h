#pragma once
// A client for OpenAI-compatible chat-completion endpoints (`POST <base>/chat/completions`).
// The systems that drive a language model (the gym runner, BoT, SaySelf) talk to any such
// server through this one class: Tessera's own `serve`, a vLLM or llama.cpp server, or a
// hosted API. Only plain http is spoken; the runner and the tests stay on loopback.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::serve {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

struct ChatRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  std::optional<double> temperature;
  std::optional<int> max_tokens;
  std::vector<std::string> stop;
  std::optional<int64_t> seed;
};

struct ChatResponse {
  std::string content;        // choices[0].message.content
  std::string finish_reason;  // "stop", "length", ... (empty when the server omits it)
  std::string model;
  int64_t prompt_tokens = 0;  // usage, 0 when the server omits it
  int64_t completion_tokens = 0;
};

struct OpenAIClientOptions {
  // e.g. "http://127.0.0.1:8080/v1"; requests go to <base_url>/chat/completions. A URL that
  // already ends in /chat/completions is used as it is.
  std::string base_url;
  // Sent as `Authorization: Bearer <key>` when not empty.
  std::string api_key;
  double connect_timeout_seconds = 10.0;
  double read_timeout_seconds = 300.0;
};

// Builds the JSON body of a request (exposed for tests and for logging what was sent).
nlohmann::json chat_request_to_json(const ChatRequest& request);
// Parses a chat-completion response body; throws tessera::Error naming what is missing.
ChatResponse chat_response_from_json(const nlohmann::json& body);

class OpenAIClient {
 public:
  // Throws BadInput when the URL is not http://host[:port][/path].
  explicit OpenAIClient(OpenAIClientOptions options);
  ~OpenAIClient();
  OpenAIClient(const OpenAIClient&) = delete;
  OpenAIClient& operator=(const OpenAIClient&) = delete;

  // One chat completion. Errors (all tessera::Error, Runtime kind): the connection failed or
  // timed out, the server answered non-2xx (its error message quoted), or the body is not
  // the JSON of a chat completion.
  ChatResponse chat(const ChatRequest& request);

  const std::string& url() const { return completions_url_; }

 private:
  struct Connection;
  OpenAIClientOptions options_;
  std::string completions_url_;
  std::string completions_path_;
  std::unique_ptr<Connection> connection_;
};

// The parts of an http URL; throws BadInput for anything else.
struct HttpUrl {
  std::string host;
  int port = 80;
  std::string path;  // no trailing slash; "" for the root
};
HttpUrl parse_http_url(const std::string& url);

}  // namespace tessera::serve
