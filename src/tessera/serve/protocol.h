#pragma once
// The OpenAI wire format as the server reads it: request bodies parsed and validated into
// plain structs, and errors as OpenAI error objects. Everything a client can send goes
// through here first, so this file (and nothing else) is what the fuzz target exercises:
// any byte string must come out as a parsed request or an ApiError, never a crash.
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/infer/chat.h"

namespace tessera::serve {

// An error answered to the client: HTTP status plus OpenAI's error object
// {"error": {"message", "type", "param", "code"}}.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::string param = {},
           std::string type = "invalid_request_error", std::string code = {});
  int status() const { return status_; }
  const std::string& param() const { return param_; }
  const std::string& type() const { return type_; }
  const std::string& code() const { return code_; }
  nlohmann::json to_json() const;

 private:
  int status_;
  std::string param_, type_, code_;
};

// The OpenAI error object for any status (used for errors raised outside the handlers too).
nlohmann::json error_body(const std::string& message, const std::string& type,
                          const std::string& param = {}, const std::string& code = {});

// Limits the server enforces while parsing (the rest are enforced by the engine).
struct RequestLimits {
  int64_t max_tokens = 4096;  // largest max_tokens a request may ask for
  int max_n = 16;             // largest n
  int max_stop = 4;           // OpenAI allows up to 4 stop sequences
  int max_top_logprobs = 20;  // OpenAI's ceiling for chat; completions allow 5
  int64_t max_inputs = 256;   // embeddings inputs / completion prompts per request
  int64_t vocab_size = 0;     // for logit_bias and token-id prompts; 0: unchecked
};

enum class ResponseFormatKind { text, json_object, json_schema };

struct ResponseFormat {
  ResponseFormatKind kind = ResponseFormatKind::text;
  nlohmann::json schema;  // json_schema: the schema object
  std::string name;       // json_schema: its name
};

// The fields completions and chat completions share.
struct SamplingRequest {
  std::string model;
  std::optional<int64_t> max_tokens;  // max_tokens or max_completion_tokens
  double temperature = 1.0;
  double top_p = 1.0;
  int64_t top_k = 0;   // an extension llama.cpp and vLLM accept too
  double min_p = 0.0;  // likewise
  double presence_penalty = 0.0;
  double frequency_penalty = 0.0;
  double repetition_penalty = 1.0;
  std::map<int32_t, double> logit_bias;
  std::vector<std::string> stop;
  std::optional<int64_t> seed;
  int n = 1;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  // -1: no logprobs; otherwise how many alternatives to report per token (0 = only the
  // chosen token's logprob).
  int top_logprobs = -1;
  ResponseFormat response_format;
};

struct ChatCompletionRequest : SamplingRequest {
  std::vector<infer::ChatMessage> messages;
};

// A completion prompt: text, or token ids as the API allows.
struct Prompt {
  std::string text;
  std::vector<int32_t> ids;
  bool is_ids = false;
};

struct CompletionRequest : SamplingRequest {
  std::vector<Prompt> prompts;  // a batch: each prompt gets n choices
  bool echo = false;
  std::string suffix;  // accepted only when empty (no fill-in-the-middle)
};

struct EmbeddingRequest {
  std::string model;
  std::vector<Prompt> inputs;
  bool base64 = false;  // encoding_format "base64"
  std::optional<int64_t> dimensions;
};

// Each throws ApiError (status 400) naming the offending field for anything malformed:
// invalid JSON, wrong types, out-of-range values, unknown roles, unsupported options.
ChatCompletionRequest parse_chat_request(const std::string& body, const RequestLimits& limits);
CompletionRequest parse_completion_request(const std::string& body, const RequestLimits& limits);
EmbeddingRequest parse_embedding_request(const std::string& body, const RequestLimits& limits);

// JSON text that never throws on invalid UTF-8 (token pieces may be partial characters).
std::string dump_json(const nlohmann::json& value);

}  // namespace tessera::serve
