// The generation endpoints: requests turned into engine sequences, and the engine's output
// turned into OpenAI's response and server-sent-event chunk objects.
#include <httplib.h>

#include <chrono>
#include <cmath>
#include <cstring>

#include "tessera/core/error.h"
#include "tessera/serve/server.h"
#include "tessera/text/loaders.h"

namespace tessera::serve {

namespace {

using nlohmann::json;

int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// JSON has no -infinity; OpenAI reports impossible alternatives as -9999.
double finite_logprob(float logprob) {
  return std::isfinite(logprob) ? static_cast<double>(logprob) : -9999.0;
}

json byte_array(const std::string& bytes) {
  json out = json::array();
  for (char c : bytes) out.push_back(static_cast<uint8_t>(c));
  return out;
}

// What the engine produced for one choice, as the parts of a response need it.
struct Choice {
  size_t index;
  std::shared_ptr<Ticket> ticket;
  std::string echo;  // completions with echo: the prompt text, sent first
};

class Formatter {
 public:
  Formatter(const text::Tokenizer& tokenizer, bool chat) : tokenizer_(tokenizer), chat_(chat) {}

  std::string token_text(int32_t id) const {
    const int32_t one[] = {id};
    return tokenizer_.decode(one, /*skip_special=*/false);
  }

  // Chat: {"content": [{token, logprob, bytes, top_logprobs}]}; completions: the legacy
  // {tokens, token_logprobs, top_logprobs, text_offset} arrays.
  json logprobs(const std::vector<TokenLogprob>& entries, size_t text_offset) const {
    if (chat_) {
      json content = json::array();
      for (const TokenLogprob& e : entries) {
        std::string token = token_text(e.id);
        json top = json::array();
        for (const auto& [id, logprob] : e.top) {
          std::string alt = token_text(id);
          top.push_back(
              {{"token", alt}, {"logprob", finite_logprob(logprob)}, {"bytes", byte_array(alt)}});
        }
        content.push_back({{"token", token},
                           {"logprob", finite_logprob(e.logprob)},
                           {"bytes", byte_array(token)},
                           {"top_logprobs", top}});
      }
      return {{"content", content}};
    }
    json tokens = json::array(), values = json::array(), tops = json::array(),
         offsets = json::array();
    for (const TokenLogprob& e : entries) {
      std::string token = token_text(e.id);
      tokens.push_back(token);
      values.push_back(finite_logprob(e.logprob));
      json top = json::object();
      for (const auto& [id, logprob] : e.top) top[token_text(id)] = finite_logprob(logprob);
      tops.push_back(top);
      offsets.push_back(text_offset);
      text_offset += token.size();
    }
    return {{"tokens", tokens},
            {"token_logprobs", values},
            {"top_logprobs", tops},
            {"text_offset", offsets}};
  }

 private:
  const text::Tokenizer& tokenizer_;
  bool chat_;
};

json usage_json(int64_t prompt_tokens, int64_t completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

const char* finish_reason(const SequenceResult& result) {
  // A cancelled sequence (shutdown) reports what it has, cut short like a length limit.
  return result.finish == infer::FinishReason::stop ? "stop" : "length";
}

// Everything a streaming response needs after the handler has returned.
struct Stream {
  bool chat = true;
  std::string id, model;
  int64_t created = 0;
  bool include_usage = false;
  bool logprobs = false;
  int64_t prompt_tokens = 0;
  std::vector<Choice> choices;
  std::vector<bool> finished;
  std::vector<size_t> text_offsets;
  bool started = false;
  std::unique_ptr<Formatter> formatter;
  std::atomic<int>* open_streams = nullptr;
};

bool write_event(httplib::DataSink& sink, const json& payload) {
  std::string event = "data: " + dump_json(payload) + "\n\n";
  return sink.write(event.data(), event.size());
}

json chunk(const Stream& s, json choice) {
  json out = {{"id", s.id},
              {"object", s.chat ? "chat.completion.chunk" : "text_completion"},
              {"created", s.created},
              {"model", s.model},
              {"system_fingerprint", "tessera"},
              {"choices", json::array({std::move(choice)})}};
  return out;
}

json delta_choice(const Stream& s, size_t index, const std::string& text, json logprobs,
                  json finish) {
  if (s.chat) {
    json delta = json::object();
    if (!text.empty()) delta["content"] = text;
    return {{"index", index}, {"delta", delta}, {"logprobs", logprobs}, {"finish_reason", finish}};
  }
  return {{"index", index}, {"text", text}, {"logprobs", logprobs}, {"finish_reason", finish}};
}

// Writes what choice i has ready; false when the client is gone.
bool drain(Stream& s, httplib::DataSink& sink, size_t i, std::chrono::milliseconds timeout,
           bool& progressed) {
  std::vector<SequenceDelta> deltas;
  bool done = s.choices[i].ticket->wait(timeout, &deltas);
  for (SequenceDelta& d : deltas) {
    if (d.text.empty() && d.logprobs.empty()) continue;
    json logprobs =
        s.logprobs ? s.formatter->logprobs(d.logprobs, s.text_offsets[i]) : json(nullptr);
    s.text_offsets[i] += d.text.size();
    progressed = true;
    if (!write_event(sink,
                     chunk(s, delta_choice(s, s.choices[i].index, d.text, logprobs, nullptr)))) {
      return false;
    }
  }
  if (done) {
    const SequenceResult& result = s.choices[i].ticket->result();
    s.finished[i] = true;
    progressed = true;
    json last = chunk(s, delta_choice(s, s.choices[i].index, "", nullptr, finish_reason(result)));
    // With a single choice the usage rides on its last chunk (as llama.cpp sends it), unless
    // the client asked for OpenAI's separate usage chunk.
    if (s.choices.size() == 1 && !s.include_usage) {
      last["usage"] = usage_json(s.prompt_tokens, static_cast<int64_t>(result.tokens.size()));
    }
    if (!write_event(sink, last)) return false;
  }
  return true;
}

// One call of httplib's chunked content provider: writes whatever is ready, waiting briefly
// when nothing is. Returning false ends the response (the client went away).
bool stream_step(Stream& s, httplib::DataSink& sink) {
  if (!s.started) {
    s.started = true;
    for (const Choice& c : s.choices) {
      json first = s.chat ? json{{"index", c.index},
                                 {"delta", {{"role", "assistant"}, {"content", ""}}},
                                 {"logprobs", nullptr},
                                 {"finish_reason", nullptr}}
                          : delta_choice(s, c.index, c.echo, nullptr, nullptr);
      if ((s.chat || !c.echo.empty()) && !write_event(sink, chunk(s, first))) return false;
    }
  }
  bool progressed = false;
  for (size_t i = 0; i < s.choices.size(); ++i) {
    if (!s.finished[i] && !drain(s, sink, i, std::chrono::milliseconds(0), progressed))
      return false;
  }
  if (!progressed) {
    for (size_t i = 0; i < s.choices.size(); ++i) {
      if (s.finished[i]) continue;
      if (!drain(s, sink, i, std::chrono::milliseconds(25), progressed)) return false;
      break;
    }
  }
  if (std::find(s.finished.begin(), s.finished.end(), false) != s.finished.end()) return true;
  if (s.include_usage) {
    int64_t completion_tokens = 0;
    for (const Choice& c : s.choices) {
      completion_tokens += static_cast<int64_t>(c.ticket->result().tokens.size());
    }
    json usage_chunk = chunk(s, nullptr);
    usage_chunk["choices"] = json::array();
    usage_chunk["usage"] = usage_json(s.prompt_tokens, completion_tokens);
    if (!write_event(sink, usage_chunk)) return false;
  }
  static const char kDone[] = "data: [DONE]\n\n";
  if (!sink.write(kDone, std::strlen(kDone))) return false;
  sink.done();
  return true;
}

}  // namespace

std::shared_ptr<const JsonGrammar> Server::grammar_for(const ResponseFormat& format) {
  if (format.kind == ResponseFormatKind::text) return nullptr;
  std::string key = format.kind == ResponseFormatKind::json_object ? std::string("object")
                                                                   : dump_json(format.schema);
  {
    std::lock_guard lock(grammar_mutex_);
    if (auto it = grammars_.find(key); it != grammars_.end()) return it->second;
  }
  auto grammar = format.kind == ResponseFormatKind::json_object
                     ? JsonGrammar::any_object()
                     : JsonGrammar::from_schema(format.schema);
  std::lock_guard lock(grammar_mutex_);
  if (grammars_.size() >= 64) grammars_.clear();  // schemas are few in practice; stay bounded
  grammars_.emplace(key, grammar);
  return grammar;
}

std::vector<SequenceSpec> Server::specs_for(const SamplingRequest& request,
                                            const std::vector<int32_t>& prompt) {
  auto grammar = grammar_for(request.response_format);
  std::vector<SequenceSpec> specs;
  // Without a seed every request draws fresh randomness; with one, choice i uses seed + i, so
  // the same request reproduces the same n answers.
  const uint64_t seed = request.seed ? static_cast<uint64_t>(*request.seed)
                                     : seed_base_ * 0x9E3779B97F4A7C15ull + next_id_++;
  for (int i = 0; i < request.n; ++i) {
    SequenceSpec spec;
    spec.prompt = prompt;
    spec.max_tokens = request.max_tokens.value_or(options_.default_max_tokens);
    spec.sampling.temperature = request.temperature;
    spec.sampling.top_p = request.top_p;
    spec.sampling.top_k = request.top_k;
    spec.sampling.min_p = request.min_p;
    spec.sampling.presence_penalty = request.presence_penalty;
    spec.sampling.frequency_penalty = request.frequency_penalty;
    spec.sampling.repetition_penalty = request.repetition_penalty;
    spec.sampling.logit_bias = request.logit_bias;
    spec.sampling.seed = seed + static_cast<uint64_t>(i);
    spec.stop_ids = end_ids_;
    spec.stop_strings = request.stop;
    spec.top_logprobs = request.top_logprobs;
    spec.grammar = grammar;
    specs.push_back(std::move(spec));
  }
  return specs;
}

void Server::answer(bool chat, const SamplingRequest& request,
                    const std::vector<std::vector<int32_t>>& prompts,
                    const std::vector<std::string>& echo_texts, httplib::Response& res) {
  if (shutting_down_) {
    throw ApiError(503, "the server is shutting down", "", "server_error", "shutting_down");
  }
  std::vector<SequenceSpec> specs;
  int64_t prompt_tokens = 0;
  for (const auto& prompt : prompts) {
    auto more = specs_for(request, prompt);
    if (chat) {
      for (auto& spec : more) {
        for (const auto& stop : infer::chat_stop_strings(template_))
          spec.stop_strings.push_back(stop);
      }
    }
    prompt_tokens += static_cast<int64_t>(prompt.size());
    for (auto& spec : more) specs.push_back(std::move(spec));
  }
  auto tickets = engine_->submit(std::move(specs));
  std::vector<Choice> choices;
  for (size_t i = 0; i < tickets.size(); ++i) {
    const size_t prompt_index = i / static_cast<size_t>(request.n);
    choices.push_back({i, tickets[i], echo_texts.empty() ? "" : echo_texts[prompt_index]});
  }
  const std::string id = new_id(chat ? "chatcmpl" : "cmpl");
  const bool logprobs = request.top_logprobs >= 0;

  if (request.stream) {
    auto stream = std::make_shared<Stream>();
    stream->chat = chat;
    stream->id = id;
    stream->model = options_.model_name;
    stream->created = unix_time();
    stream->include_usage = request.include_usage;
    stream->logprobs = logprobs;
    stream->prompt_tokens = prompt_tokens;
    stream->choices = std::move(choices);
    stream->finished.assign(stream->choices.size(), false);
    stream->text_offsets.assign(stream->choices.size(), 0);
    for (size_t i = 0; i < stream->choices.size(); ++i) {
      stream->text_offsets[i] = stream->choices[i].echo.size();
    }
    stream->formatter = std::make_unique<Formatter>(*tokenizer_, chat);
    stream->open_streams = &open_streams_;
    ++open_streams_;
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [stream](size_t, httplib::DataSink& sink) { return stream_step(*stream, sink); },
        [stream](bool) {
          // Whatever ended the response (done, client gone, server stopping), nothing more
          // will be read: free the decoding slots.
          for (const Choice& c : stream->choices) c.ticket->cancel();
          --*stream->open_streams;
        });
    return;
  }

  Formatter formatter(*tokenizer_, chat);
  json out_choices = json::array();
  int64_t completion_tokens = 0;
  for (const Choice& c : choices) {
    const SequenceResult& result = c.ticket->result();
    if (!result.error.empty() && result.tokens.empty()) {
      throw ApiError(500, "generation failed: " + result.error, "", "server_error");
    }
    completion_tokens += static_cast<int64_t>(result.tokens.size());
    json lp = logprobs ? formatter.logprobs(result.logprobs, c.echo.size()) : json(nullptr);
    if (chat) {
      out_choices.push_back({{"index", c.index},
                             {"message", {{"role", "assistant"}, {"content", result.text}}},
                             {"logprobs", lp},
                             {"finish_reason", finish_reason(result)}});
    } else {
      out_choices.push_back({{"index", c.index},
                             {"text", c.echo + result.text},
                             {"logprobs", lp},
                             {"finish_reason", finish_reason(result)}});
    }
  }
  json body = {{"id", id},
               {"object", chat ? "chat.completion" : "text_completion"},
               {"created", unix_time()},
               {"model", options_.model_name},
               {"system_fingerprint", "tessera"},
               {"choices", out_choices},
               {"usage", usage_json(prompt_tokens, completion_tokens)}};
  res.set_content(dump_json(body), "application/json");
}

void Server::handle_chat(const httplib::Request& req, httplib::Response& res) {
  ChatCompletionRequest request = parse_chat_request(req.body, limits());
  std::string prompt;
  try {
    prompt = infer::apply_chat_template(template_, request.messages, true);
  } catch (const Error& e) {
    throw ApiError(400, e.what(), "messages");
  }
  // Special-token spellings typed by a user stay text; only the template's own markers are
  // special. The template text already carries BOS where the format has one.
  std::vector<int32_t> ids = tokenizer_->encode(prompt, /*add_special=*/false,
                                                /*match_special=*/true);
  answer(true, request, {ids}, {}, res);
}

void Server::handle_completion(const httplib::Request& req, httplib::Response& res) {
  CompletionRequest request = parse_completion_request(req.body, limits());
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::string> echoes;
  for (const Prompt& p : request.prompts) {
    if (p.is_ids) {
      prompts.push_back(p.ids);
      if (request.echo) echoes.push_back(tokenizer_->decode(p.ids, true));
    } else {
      prompts.push_back(tokenizer_->encode(p.text, /*add_special=*/true, /*match_special=*/false));
      if (request.echo) echoes.push_back(p.text);
    }
    if (prompts.back().empty()) throw ApiError(400, "a prompt encodes to no tokens", "prompt");
  }
  answer(false, request, prompts, echoes, res);
}

void Server::handle_embeddings(const httplib::Request& req, httplib::Response& res) {
  EmbeddingRequest request = parse_embedding_request(req.body, limits());
  if (shutting_down_) {
    throw ApiError(503, "the server is shutting down", "", "server_error", "shutting_down");
  }
  json data = json::array();
  int64_t tokens = 0;
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    const Prompt& input = request.inputs[i];
    std::vector<int32_t> ids =
        input.is_ids ? input.ids : tokenizer_->encode(input.text, true, false);
    tokens += static_cast<int64_t>(ids.size());
    std::vector<float> embedding = engine_->embed(ids);
    if (request.dimensions) {
      if (*request.dimensions > static_cast<int64_t>(embedding.size())) {
        throw ApiError(400,
                       fmt::format("dimensions {} exceeds the model's {}", *request.dimensions,
                                   embedding.size()),
                       "dimensions");
      }
      // Truncate, then renormalise (what OpenAI does for its shortened embeddings).
      embedding.resize(static_cast<size_t>(*request.dimensions));
      double norm = 0;
      for (float v : embedding) norm += static_cast<double>(v) * v;
      norm = std::sqrt(norm);
      if (norm > 0) {
        for (float& v : embedding) v = static_cast<float>(v / norm);
      }
    }
    json value;
    if (request.base64) {
      std::string bytes(reinterpret_cast<const char*>(embedding.data()),
                        embedding.size() * sizeof(float));
      value = text::encode_base64(bytes);
    } else {
      value = embedding;
    }
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", value}});
  }
  metrics_.tokens(tokens, 0);
  res.set_content(dump_json({{"object", "list"},
                             {"data", data},
                             {"model", options_.model_name},
                             {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}}),
                  "application/json");
}

}  // namespace tessera::serve
