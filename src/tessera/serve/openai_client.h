#pragma once
// serve::Client: a client for OpenAI-compatible endpoints (`<base>/chat/completions`,
// `<base>/embeddings`, `<base>/models`). The systems that drive a language model (the gym
// runner, BoT, SaySelf) and `tessera ask` talk to any such server through this one class:
// Tessera's own `serve`, a vLLM or llama.cpp server, or a hosted API. Only plain http is
// spoken; the runner and the tests stay on loopback.
//
// Failures that a retry can cure (connection refused or reset, 408, 409, 429, 5xx) are
// retried with exponential backoff (honouring Retry-After); a read timeout is not retried, as
// the generation may still be running. Every call's token usage is added to usage() so that
// callers can report what a run cost.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::serve {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

struct ChatRequest {
  std::string model;  // empty: the client's default model
  std::vector<ChatMessage> messages;
  std::optional<double> temperature;
  std::optional<int> max_tokens;
  std::vector<std::string> stop;
  std::optional<int64_t> seed;
  std::optional<double> top_p;
  std::optional<double> presence_penalty;
  std::optional<double> frequency_penalty;
  std::optional<int> n;
  bool logprobs = false;
  std::optional<int> top_logprobs;
  // The whole response_format object, e.g. from json_schema_format().
  std::optional<nlohmann::json> response_format;
};

// response_format for a JSON-schema answer (strict, as OpenAI's structured outputs).
nlohmann::json json_schema_format(const std::string& name, const nlohmann::json& schema);

struct TokenLogprobInfo {
  std::string token;
  double logprob = 0;
  std::vector<std::pair<std::string, double>> top;
};

struct ChatChoice {
  std::string content;
  std::string finish_reason;
  std::vector<TokenLogprobInfo> logprobs;  // when requested
};

struct ChatResponse {
  std::string content;        // choices[0].message.content
  std::string finish_reason;  // "stop", "length", ... (empty when the server omits it)
  std::string model;
  int64_t prompt_tokens = 0;  // usage, 0 when the server omits it
  int64_t completion_tokens = 0;
  std::vector<ChatChoice> choices;  // every choice (n > 1), choices[0] included
};

// What a client has spent so far, over all its calls.
struct UsageTotals {
  int64_t calls = 0;  // successful calls
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t retries = 0;   // attempts repeated after a retryable failure
  int64_t failures = 0;  // calls that ended in an error
};

struct ClientOptions {
  // e.g. "http://127.0.0.1:8080/v1"; a URL that ends in /chat/completions is accepted too.
  std::string base_url;
  // Sent as `Authorization: Bearer <key>` when not empty.
  std::string api_key;
  double connect_timeout_seconds = 10.0;
  double read_timeout_seconds = 300.0;
  std::string model;  // used when a request names none
  int max_retries = 2;
  double backoff_initial_seconds = 0.25;  // doubled after each retry
  double backoff_max_seconds = 8.0;
};

// Builds the JSON body of a request (exposed for tests and for logging what was sent).
nlohmann::json chat_request_to_json(const ChatRequest& request);
// Parses a chat-completion response body; throws tessera::Error naming what is missing.
ChatResponse chat_response_from_json(const nlohmann::json& body);

class Client {
 public:
  // Called with each piece of streamed text of choice `choice`; return false to stop early.
  using StreamCallback = std::function<bool(size_t choice, std::string_view delta)>;

  // Throws BadInput when the URL is not http://host[:port][/path] or an option is invalid.
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // One chat completion. Errors (tessera::Error, Runtime kind): the connection failed or timed
  // out, the server answered non-2xx (its error message quoted) after the retries, or the body
  // is not the JSON of a chat completion.
  ChatResponse chat(const ChatRequest& request);
  // The same, streamed: `on_delta` sees the text as it arrives; the aggregated response
  // (usage included when the server sends it) is returned at the end.
  ChatResponse chat_stream(const ChatRequest& request, const StreamCallback& on_delta);
  // /embeddings for each input (one vector per input, in order).
  std::vector<std::vector<float>> embeddings(const std::vector<std::string>& inputs,
                                             const std::string& model = {});
  // The ids /models lists.
  std::vector<std::string> models();

  UsageTotals usage() const;
  const std::string& url() const { return completions_url_; }

 private:
  struct Connection;
  struct Reply {
    int status = 0;
    std::string body;
    std::string retry_after;
  };
  // POST (or GET when body is null) with retries; streaming sinks receive 2xx bodies.
  Reply send(const std::string& path, const std::string* body,
             const std::function<bool(const char*, size_t)>& sink);
  void count_call(int64_t prompt_tokens, int64_t completion_tokens);
  void count_failure();

  ClientOptions options_;
  std::string base_path_;
  std::string origin_;  // http://host:port
  std::string completions_url_;
  std::unique_ptr<Connection> connection_;
  mutable std::mutex usage_mutex_;
  UsageTotals usage_;
};

// The names other layers already use (agents/runner.cpp, older call sites).
using OpenAIClient = Client;
using OpenAIClientOptions = ClientOptions;

// The parts of an http URL; throws BadInput for anything else.
struct HttpUrl {
  std::string host;
  int port = 80;
  std::string path;  // no trailing slash; "" for the root
};
HttpUrl parse_http_url(const std::string& url);

}  // namespace tessera::serve
