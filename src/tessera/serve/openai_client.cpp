#include "tessera/serve/openai_client.h"

#include <httplib.h>

#include <cmath>
#include <mutex>

#include "tessera/core/error.h"

namespace tessera::serve {

namespace {

constexpr const char* kCompletionsSuffix = "/chat/completions";

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Seconds as httplib's (seconds, microseconds) pair.
std::pair<time_t, time_t> split_seconds(double seconds) {
  double whole = std::floor(seconds);
  return {static_cast<time_t>(whole), static_cast<time_t>((seconds - whole) * 1e6)};
}

// The message of an OpenAI-style error body ({"error": {"message": ...}}), or the body
// itself, cut short, when it is something else.
std::string describe_error_body(const std::string& body) {
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (!parsed.is_discarded() && parsed.is_object() && parsed.contains("error")) {
    const auto& error = parsed["error"];
    if (error.is_object() && error.contains("message") && error["message"].is_string()) {
      return error["message"].get<std::string>();
    }
    if (error.is_string()) return error.get<std::string>();
  }
  if (!parsed.is_discarded() && parsed.is_object() && parsed.contains("detail")) {
    return parsed["detail"].dump();
  }
  constexpr size_t kMaxQuoted = 300;
  return body.size() > kMaxQuoted ? body.substr(0, kMaxQuoted) + "..." : body;
}

}  // namespace

HttpUrl parse_http_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind("https://", 0) == 0) {
    throw bad_input("endpoint {}: https is not supported; use an http endpoint", url);
  }
  TESSERA_CHECK_INPUT(url.rfind(scheme, 0) == 0, "endpoint {}: expected http://host[:port][/path]",
                      url);
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  HttpUrl parsed;
  parsed.path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!parsed.path.empty() && parsed.path.back() == '/') parsed.path.pop_back();
  TESSERA_CHECK_INPUT(authority.find('@') == std::string::npos,
                      "endpoint {}: credentials in the URL are not supported (use --api-key)", url);
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    std::string port_text = authority.substr(colon + 1);
    TESSERA_CHECK_INPUT(!port_text.empty() && port_text.size() <= 5 &&
                            port_text.find_first_not_of("0123456789") == std::string::npos,
                        "endpoint {}: port '{}' is not a number", url, port_text);
    parsed.port = std::stoi(port_text);
    TESSERA_CHECK_INPUT(parsed.port > 0 && parsed.port < 65536, "endpoint {}: port {} out of range",
                        url, parsed.port);
    parsed.host = authority.substr(0, colon);
  } else {
    parsed.host = authority;
  }
  TESSERA_CHECK_INPUT(!parsed.host.empty(), "endpoint {}: no host", url);
  return parsed;
}

nlohmann::json chat_request_to_json(const ChatRequest& request) {
  nlohmann::json body;
  body["model"] = request.model;
  body["messages"] = nlohmann::json::array();
  for (const auto& message : request.messages) {
    body["messages"].push_back({{"role", message.role}, {"content", message.content}});
  }
  if (request.temperature) body["temperature"] = *request.temperature;
  if (request.max_tokens) body["max_tokens"] = *request.max_tokens;
  if (!request.stop.empty()) body["stop"] = request.stop;
  if (request.seed) body["seed"] = *request.seed;
  return body;
}

ChatResponse chat_response_from_json(const nlohmann::json& body) {
  TESSERA_CHECK(body.is_object(), "chat completion: response is not a JSON object");
  TESSERA_CHECK(body.contains("choices") && body["choices"].is_array() && !body["choices"].empty(),
                "chat completion: response has no choices");
  const auto& choice = body["choices"][0];
  TESSERA_CHECK(choice.is_object() && choice.contains("message") && choice["message"].is_object(),
                "chat completion: choices[0] has no message");
  const auto& message = choice["message"];
  ChatResponse response;
  if (message.contains("content") && message["content"].is_string()) {
    response.content = message["content"].get<std::string>();
  } else {
    TESSERA_CHECK(message.contains("content") && message["content"].is_null(),
                  "chat completion: choices[0].message.content is missing or not a string");
  }
  if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
    response.finish_reason = choice["finish_reason"].get<std::string>();
  }
  if (body.contains("model") && body["model"].is_string()) {
    response.model = body["model"].get<std::string>();
  }
  if (body.contains("usage") && body["usage"].is_object()) {
    const auto& usage = body["usage"];
    if (usage.contains("prompt_tokens") && usage["prompt_tokens"].is_number_integer()) {
      response.prompt_tokens = usage["prompt_tokens"].get<int64_t>();
    }
    if (usage.contains("completion_tokens") && usage["completion_tokens"].is_number_integer()) {
      response.completion_tokens = usage["completion_tokens"].get<int64_t>();
    }
  }
  return response;
}

// One keep-alive connection; httplib's client is not safe for concurrent use, hence the lock.
struct OpenAIClient::Connection {
  Connection(const std::string& host, int port) : client(host, port) {}
  httplib::Client client;
  std::mutex mutex;
};

OpenAIClient::OpenAIClient(OpenAIClientOptions options) : options_(std::move(options)) {
  TESSERA_CHECK_INPUT(options_.connect_timeout_seconds > 0 && options_.read_timeout_seconds > 0,
                      "endpoint {}: timeouts must be positive", options_.base_url);
  HttpUrl url = parse_http_url(options_.base_url);
  completions_path_ =
      ends_with(url.path, kCompletionsSuffix) ? url.path : url.path + kCompletionsSuffix;
  completions_url_ = "http://" + url.host + ":" + std::to_string(url.port) + completions_path_;
  connection_ = std::make_unique<Connection>(url.host, url.port);
  auto& client = connection_->client;
  auto [connect_s, connect_us] = split_seconds(options_.connect_timeout_seconds);
  auto [read_s, read_us] = split_seconds(options_.read_timeout_seconds);
  client.set_connection_timeout(connect_s, connect_us);
  client.set_read_timeout(read_s, read_us);
  client.set_write_timeout(connect_s + 1, 0);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  if (!options_.api_key.empty()) client.set_bearer_token_auth(options_.api_key.c_str());
}

OpenAIClient::~OpenAIClient() = default;

ChatResponse OpenAIClient::chat(const ChatRequest& request) {
  std::string payload = chat_request_to_json(request).dump();
  std::unique_lock lock(connection_->mutex);
  httplib::Result result = connection_->client.Post(completions_path_, payload, "application/json");
  lock.unlock();
  if (!result) {
    auto error = result.error();
    if (error == httplib::Error::Read || error == httplib::Error::ConnectionTimeout) {
      throw runtime_error("{}: no answer within the timeout ({})", completions_url_,
                          httplib::to_string(error));
    }
    throw runtime_error("{}: request failed ({})", completions_url_, httplib::to_string(error));
  }
  if (result->status < 200 || result->status >= 300) {
    throw runtime_error("{}: HTTP {}: {}", completions_url_, result->status,
                        describe_error_body(result->body));
  }
  auto body = nlohmann::json::parse(result->body, nullptr, false);
  if (body.is_discarded()) {
    throw runtime_error("{}: response is not valid JSON", completions_url_);
  }
  try {
    return chat_response_from_json(body);
  } catch (const Error& e) {
    throw e.with_context(completions_url_);
  }
}

}  // namespace tessera::serve
