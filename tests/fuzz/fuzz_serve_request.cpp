// Fuzzes what the server reads from the network: the request-body parsers of
// /v1/chat/completions, /v1/completions and /v1/embeddings, and, for a body whose
// response_format carries a JSON schema, the schema compiler and the byte automaton fed with
// the rest of the input. Refusals must be ApiError with a 4xx status and a message; an accepted
// request must satisfy the limits it was parsed under; the automaton must never crash, and a
// document it accepts must be JSON.
#include <nlohmann/json.hpp>

#include <string>

#include "fuzz_check.h"
#include "tessera/serve/json_grammar.h"
#include "tessera/serve/protocol.h"

using namespace tessera;

namespace {

template <typename Parse>
bool parse_or_refuse(Parse&& parse) {
  try {
    parse();
    return true;
  } catch (const serve::ApiError& e) {
    fuzz::check(e.status() >= 400 && e.status() < 500, "a refusal is not a 4xx");
    fuzz::check(e.what()[0] != '\0', "a refusal without a message");
    return false;
  }
}

void check_sampling(const serve::SamplingRequest& r, const serve::RequestLimits& limits) {
  fuzz::check(r.n >= 1 && r.n <= limits.max_n, "n outside its limits");
  fuzz::check(!r.max_tokens || (*r.max_tokens >= 0 && *r.max_tokens <= limits.max_tokens),
              "max_tokens outside its limits");
  fuzz::check(r.temperature >= 0 && r.temperature <= 2, "temperature outside [0, 2]");
  fuzz::check(r.top_p > 0 && r.top_p <= 1, "top_p outside (0, 1]");
  fuzz::check(static_cast<int>(r.stop.size()) <= limits.max_stop, "too many stop strings");
  fuzz::check(r.top_logprobs <= limits.max_top_logprobs, "top_logprobs over its limit");
  for (const auto& [id, bias] : r.logit_bias) {
    fuzz::check(id >= 0 && id < limits.vocab_size && bias >= -100 && bias <= 100,
                "logit_bias outside the vocabulary or range");
  }
}

void run_automaton(const serve::ResponseFormat& format, const std::string& document) {
  std::shared_ptr<const serve::JsonGrammar> grammar;
  if (format.kind == serve::ResponseFormatKind::json_object) {
    grammar = serve::JsonGrammar::any_object();
  } else if (format.kind == serve::ResponseFormatKind::json_schema) {
    if (!parse_or_refuse([&] { grammar = serve::JsonGrammar::from_schema(format.schema); })) return;
  } else {
    return;
  }
  serve::JsonMatcher matcher(*grammar);
  size_t fed = 0;
  for (char c : document) {
    serve::JsonMatcher probe = matcher;
    if (!probe.feed(static_cast<uint8_t>(c))) break;
    matcher = probe;
    ++fed;
  }
  if (matcher.accepting()) {
    auto parsed = nlohmann::json::parse(document.substr(0, fed), nullptr, false);
    fuzz::check(!parsed.is_discarded(), "the automaton accepted text that is not JSON");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // First byte: which endpoint; the body runs to the first NUL, the rest is a document for the
  // automaton.
  const uint8_t selector = data[0] % 3;
  std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t nul = rest.find('\0');
  std::string body = rest.substr(0, nul);
  std::string document = nul == std::string::npos ? "" : rest.substr(nul + 1);
  serve::RequestLimits limits;
  limits.vocab_size = 1000;
  if (selector == 0) {
    serve::ChatCompletionRequest request;
    if (!parse_or_refuse([&] { request = serve::parse_chat_request(body, limits); })) return 0;
    check_sampling(request, limits);
    fuzz::check(!request.messages.empty(), "accepted a chat without messages");
    for (const auto& m : request.messages) {
      fuzz::check(m.role == "system" || m.role == "user" || m.role == "assistant",
                  "accepted an unknown role");
    }
    run_automaton(request.response_format, document);
  } else if (selector == 1) {
    serve::CompletionRequest request;
    if (!parse_or_refuse([&] { request = serve::parse_completion_request(body, limits); }))
      return 0;
    check_sampling(request, limits);
    fuzz::check(!request.prompts.empty(), "accepted a completion without a prompt");
    for (const auto& p : request.prompts) {
      for (int32_t id : p.ids)
        fuzz::check(id >= 0 && id < limits.vocab_size, "token id outside the vocabulary");
    }
    run_automaton(request.response_format, document);
  } else {
    serve::EmbeddingRequest request;
    if (!parse_or_refuse([&] { request = serve::parse_embedding_request(body, limits); })) return 0;
    fuzz::check(!request.inputs.empty(), "accepted embeddings without input");
  }
  return 0;
}
