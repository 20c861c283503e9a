#include "tessera/serve/openai_client.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

#include "tessera/core/error.h"

namespace tessera::serve {

namespace {

using nlohmann::json;

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
  auto parsed = json::parse(body, nullptr, false);
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

bool retryable_status(int status) {
  return status == 408 || status == 409 || status == 429 || status >= 500;
}

double logprob_in(const json& entry) {
  auto it = entry.find("logprob");
  return it != entry.end() && it->is_number() ? it->get<double>()
                                              : -std::numeric_limits<double>::infinity();
}

std::vector<TokenLogprobInfo> parse_logprobs(const json& choice) {
  std::vector<TokenLogprobInfo> out;
  if (!choice.contains("logprobs") || !choice["logprobs"].is_object()) return out;
  const json& content = choice["logprobs"].value("content", json::array());
  if (!content.is_array()) return out;
  for (const json& entry : content) {
    if (!entry.is_object()) continue;
    TokenLogprobInfo info;
    info.token = entry.value("token", "");
    info.logprob = logprob_in(entry);
    for (const json& alt : entry.value("top_logprobs", json::array())) {
      if (alt.is_object()) info.top.emplace_back(alt.value("token", ""), logprob_in(alt));
    }
    out.push_back(std::move(info));
  }
  return out;
}

void read_usage(const json& body, ChatResponse& response) {
  if (!body.contains("usage") || !body["usage"].is_object()) return;
  const auto& usage = body["usage"];
  if (usage.contains("prompt_tokens") && usage["prompt_tokens"].is_number_integer()) {
    response.prompt_tokens = usage["prompt_tokens"].get<int64_t>();
  }
  if (usage.contains("completion_tokens") && usage["completion_tokens"].is_number_integer()) {
    response.completion_tokens = usage["completion_tokens"].get<int64_t>();
  }
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

json json_schema_format(const std::string& name, const json& schema) {
  return {{"type", "json_schema"},
          {"json_schema", {{"name", name}, {"strict", true}, {"schema", schema}}}};
}

json chat_request_to_json(const ChatRequest& request) {
  json body;
  body["model"] = request.model;
  body["messages"] = json::array();
  for (const auto& message : request.messages) {
    body["messages"].push_back({{"role", message.role}, {"content", message.content}});
  }
  if (request.temperature) body["temperature"] = *request.temperature;
  if (request.max_tokens) body["max_tokens"] = *request.max_tokens;
  if (!request.stop.empty()) body["stop"] = request.stop;
  if (request.seed) body["seed"] = *request.seed;
  if (request.top_p) body["top_p"] = *request.top_p;
  if (request.presence_penalty) body["presence_penalty"] = *request.presence_penalty;
  if (request.frequency_penalty) body["frequency_penalty"] = *request.frequency_penalty;
  if (request.n) body["n"] = *request.n;
  if (request.logprobs) body["logprobs"] = true;
  if (request.top_logprobs) body["top_logprobs"] = *request.top_logprobs;
  if (request.response_format) body["response_format"] = *request.response_format;
  return body;
}

ChatResponse chat_response_from_json(const json& body) {
  TESSERA_CHECK(body.is_object(), "chat completion: response is not a JSON object");
  TESSERA_CHECK(body.contains("choices") && body["choices"].is_array() && !body["choices"].empty(),
                "chat completion: response has no choices");
  ChatResponse response;
  for (size_t i = 0; i < body["choices"].size(); ++i) {
    const auto& choice = body["choices"][i];
    TESSERA_CHECK(choice.is_object() && choice.contains("message") && choice["message"].is_object(),
                  "chat completion: choices[{}] has no message", i);
    const auto& message = choice["message"];
    ChatChoice parsed;
    if (message.contains("content") && message["content"].is_string()) {
      parsed.content = message["content"].get<std::string>();
    } else {
      TESSERA_CHECK(message.contains("content") && message["content"].is_null(),
                    "chat completion: choices[{}].message.content is missing or not a string", i);
    }
    if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
      parsed.finish_reason = choice["finish_reason"].get<std::string>();
    }
    parsed.logprobs = parse_logprobs(choice);
    response.choices.push_back(std::move(parsed));
  }
  response.content = response.choices[0].content;
  response.finish_reason = response.choices[0].finish_reason;
  if (body.contains("model") && body["model"].is_string()) {
    response.model = body["model"].get<std::string>();
  }
  read_usage(body, response);
  return response;
}

// One keep-alive connection; httplib's client is not safe for concurrent use, hence the lock.
struct Client::Connection {
  Connection(const std::string& host, int port) : client(host, port) {}
  httplib::Client client;
  std::mutex mutex;
};

Client::Client(ClientOptions options) : options_(std::move(options)) {
  TESSERA_CHECK_INPUT(options_.connect_timeout_seconds > 0 && options_.read_timeout_seconds > 0,
                      "endpoint {}: timeouts must be positive", options_.base_url);
  TESSERA_CHECK_INPUT(options_.max_retries >= 0 && options_.backoff_initial_seconds >= 0 &&
                          options_.backoff_max_seconds >= 0,
                      "endpoint {}: retries and backoff must not be negative", options_.base_url);
  HttpUrl url = parse_http_url(options_.base_url);
  base_path_ = url.path;
  if (ends_with(base_path_, kCompletionsSuffix)) {
    base_path_.resize(base_path_.size() - std::string(kCompletionsSuffix).size());
  }
  origin_ = "http://" + url.host + ":" + std::to_string(url.port);
  completions_url_ = origin_ + base_path_ + kCompletionsSuffix;
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

Client::~Client() = default;

UsageTotals Client::usage() const {
  std::lock_guard lock(usage_mutex_);
  return usage_;
}

void Client::count_call(int64_t prompt_tokens, int64_t completion_tokens) {
  std::lock_guard lock(usage_mutex_);
  ++usage_.calls;
  usage_.prompt_tokens += prompt_tokens;
  usage_.completion_tokens += completion_tokens;
}

void Client::count_failure() {
  std::lock_guard lock(usage_mutex_);
  ++usage_.failures;
}

Client::Reply Client::send(const std::string& path, const std::string* body,
                           const std::function<bool(const char*, size_t)>& sink) {
  const std::string url = origin_ + path;
  double backoff = options_.backoff_initial_seconds;
  for (int attempt = 0;; ++attempt) {
    Reply reply;
    bool delivered = false;  // a streaming sink has seen data: no retry after that
    httplib::Request req;
    req.method = body ? "POST" : "GET";
    req.path = path;
    if (body) {
      req.body = *body;
      req.set_header("Content-Type", "application/json");
    }
    if (sink) {
      req.response_handler = [&](const httplib::Response& response) {
        reply.status = response.status;
        return true;
      };
      req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
        if (reply.status < 200 || reply.status >= 300) {
          reply.body.append(data, size);
          return true;
        }
        delivered = true;
        return sink(data, size);
      };
    }
    std::unique_lock lock(connection_->mutex);
    httplib::Result result = connection_->client.send(req);
    lock.unlock();
    bool retry = false;
    std::string failure;
    if (!result) {
      auto error = result.error();
      if (error == httplib::Error::Canceled && delivered) return {200, {}, {}};  // sink stopped
      if (error == httplib::Error::Read || error == httplib::Error::ConnectionTimeout) {
        count_failure();
        throw runtime_error("{}: no answer within the timeout ({})", url,
                            httplib::to_string(error));
      }
      failure = fmt::format("{}: request failed ({})", url, httplib::to_string(error));
      retry = !delivered;
    } else {
      reply.status = result->status;
      if (!sink) reply.body = result->body;
      reply.retry_after = result->get_header_value("Retry-After");
      if (reply.status >= 200 && reply.status < 300) return reply;
      failure = fmt::format("{}: HTTP {}: {}", url, reply.status, describe_error_body(reply.body));
      retry = retryable_status(reply.status) && !delivered;
    }
    if (!retry || attempt >= options_.max_retries) {
      count_failure();
      throw runtime_error("{}", failure);
    }
    double wait = backoff;
    if (!reply.retry_after.empty()) {
      try {
        wait = std::stod(reply.retry_after);
      } catch (const std::exception&) {
      }
    }
    wait = std::clamp(wait, 0.0, options_.backoff_max_seconds);
    {
      std::lock_guard usage_lock(usage_mutex_);
      ++usage_.retries;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    backoff = std::min(backoff * 2, options_.backoff_max_seconds);
  }
}

ChatResponse Client::chat(const ChatRequest& request) {
  json payload = chat_request_to_json(request);
  if (request.model.empty()) payload["model"] = options_.model;
  std::string body = payload.dump();
  Reply reply = send(base_path_ + kCompletionsSuffix, &body, nullptr);
  auto parsed = json::parse(reply.body, nullptr, false);
  if (parsed.is_discarded()) {
    count_failure();
    throw runtime_error("{}: response is not valid JSON", completions_url_);
  }
  try {
    ChatResponse response = chat_response_from_json(parsed);
    count_call(response.prompt_tokens, response.completion_tokens);
    return response;
  } catch (const Error& e) {
    count_failure();
    throw e.with_context(completions_url_);
  }
}

ChatResponse Client::chat_stream(const ChatRequest& request, const StreamCallback& on_delta) {
  json payload = chat_request_to_json(request);
  if (request.model.empty()) payload["model"] = options_.model;
  payload["stream"] = true;
  payload["stream_options"] = {{"include_usage", true}};
  std::string body = payload.dump();
  ChatResponse response;
  std::string buffer;
  bool done = false;
  bool stopped = false;
  std::string malformed;
  // Server-sent events: "data: <json>" lines, events separated by a blank line.
  auto handle_event = [&](const std::string& event) {
    for (size_t at = 0; at < event.size();) {
      size_t end = event.find('\n', at);
      std::string line = event.substr(at, end == std::string::npos ? std::string::npos : end - at);
      at = end == std::string::npos ? event.size() : end + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind("data:", 0) != 0) continue;  // comments, event names, ids
      std::string data = line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
      if (data == "[DONE]") {
        done = true;
        continue;
      }
      json chunk = json::parse(data, nullptr, false);
      if (chunk.is_discarded() || !chunk.is_object()) {
        malformed = data.substr(0, 100);
        continue;
      }
      if (chunk.contains("model") && chunk["model"].is_string()) response.model = chunk["model"];
      read_usage(chunk, response);
      if (!chunk.contains("choices") || !chunk["choices"].is_array()) continue;
      for (const json& choice : chunk["choices"]) {
        if (!choice.is_object()) continue;
        size_t index = choice.value("index", 0);
        if (index > 1024) continue;
        if (response.choices.size() <= index) response.choices.resize(index + 1);
        ChatChoice& target = response.choices[index];
        if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
          target.finish_reason = choice["finish_reason"];
        }
        for (auto& info : parse_logprobs(choice)) target.logprobs.push_back(std::move(info));
        if (!choice.contains("delta") || !choice["delta"].is_object()) continue;
        const json& delta = choice["delta"];
        if (!delta.contains("content") || !delta["content"].is_string()) continue;
        std::string text = delta["content"];
        target.content += text;
        if (!text.empty() && on_delta && !stopped && !on_delta(index, text)) stopped = true;
      }
    }
  };
  auto sink = [&](const char* data, size_t size) {
    buffer.append(data, size);
    size_t end;
    while ((end = buffer.find("\n\n")) != std::string::npos) {
      handle_event(buffer.substr(0, end));
      buffer.erase(0, end + 2);
    }
    return !stopped;
  };
  send(base_path_ + kCompletionsSuffix, &body, sink);
  if (!buffer.empty()) handle_event(buffer);
  if (!malformed.empty()) {
    count_failure();
    throw runtime_error("{}: a streamed chunk is not JSON: {}", completions_url_, malformed);
  }
  if (!done && !stopped) {
    count_failure();
    throw runtime_error("{}: the stream ended without [DONE]", completions_url_);
  }
  if (response.choices.empty()) response.choices.resize(1);
  response.content = response.choices[0].content;
  response.finish_reason = response.choices[0].finish_reason;
  count_call(response.prompt_tokens, response.completion_tokens);
  return response;
}

std::vector<std::vector<float>> Client::embeddings(const std::vector<std::string>& inputs,
                                                   const std::string& model) {
  std::string body =
      json{{"model", model.empty() ? options_.model : model}, {"input", inputs}}.dump();
  Reply reply = send(base_path_ + "/embeddings", &body, nullptr);
  auto parsed = json::parse(reply.body, nullptr, false);
  std::vector<std::vector<float>> out(inputs.size());
  bool ok = !parsed.is_discarded() && parsed.is_object() && parsed.contains("data") &&
            parsed["data"].is_array() && parsed["data"].size() == inputs.size();
  if (ok) {
    for (const json& item : parsed["data"]) {
      size_t index = item.value("index", out.size());
      if (index >= out.size() || !item.contains("embedding") || !item["embedding"].is_array()) {
        ok = false;
        break;
      }
      out[index] = item["embedding"].get<std::vector<float>>();
    }
  }
  if (!ok) {
    count_failure();
    throw runtime_error("{}{}/embeddings: response is not a list of {} embeddings", origin_,
                        base_path_, inputs.size());
  }
  int64_t tokens = parsed.contains("usage") && parsed["usage"].is_object()
                       ? parsed["usage"].value("prompt_tokens", int64_t{0})
                       : 0;
  count_call(tokens, 0);
  return out;
}

std::vector<std::string> Client::models() {
  Reply reply = send(base_path_ + "/models", nullptr, nullptr);
  auto parsed = json::parse(reply.body, nullptr, false);
  std::vector<std::string> ids;
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("data") ||
      !parsed["data"].is_array()) {
    count_failure();
    throw runtime_error("{}{}/models: response is not a model list", origin_, base_path_);
  }
  for (const json& model : parsed["data"]) {
    if (model.is_object() && model.contains("id") && model["id"].is_string())
      ids.push_back(model["id"]);
  }
  return ids;
}

}  // namespace tessera::serve
