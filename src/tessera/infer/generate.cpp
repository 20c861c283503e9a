#include "tessera/infer/generate.h"

#include <algorithm>
#include <chrono>

#include "tessera/core/autograd.h"
#include "tessera/core/ops.h"

namespace tessera::infer {

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::length: return "length";
    case FinishReason::stop: return "stop";
    case FinishReason::cancelled: return "cancelled";
  }
  return "?";
}

namespace {

using Clock = std::chrono::steady_clock;

struct Sequence {
  const GenerationRequest* request;
  std::unique_ptr<models::DecodeState> state;
  Sampler sampler;
  std::vector<int32_t> history;  // prompt + generated, for penalties
  GenerationResult result;
  size_t streamed = 0;  // bytes of result.text already handed to the stream callback
  bool done = false;
};

// Applies one sampled token; returns true when the sequence has finished.
bool accept(Sequence& s, int32_t token, const text::Tokenizer* tokenizer, size_t index,
            const StreamCallback& stream) {
  const GenerationRequest& req = *s.request;
  if (std::find(req.stop_ids.begin(), req.stop_ids.end(), token) != req.stop_ids.end()) {
    s.result.finish = FinishReason::stop;
    return true;
  }
  s.result.tokens.push_back(token);
  s.result.token_logprobs.push_back(s.sampler.last_logprobs()[token]);
  s.history.push_back(token);
  bool finished = false;
  if (tokenizer != nullptr) {
    s.result.text = tokenizer->decode(s.result.tokens, /*skip_special=*/true);
    size_t cut = std::string::npos;
    for (const std::string& stop : req.stop_strings) {
      if (stop.empty()) continue;
      size_t at = s.result.text.find(stop, s.streamed > stop.size() ? s.streamed - stop.size() : 0);
      if (at != std::string::npos) cut = std::min(cut, at);
    }
    if (cut != std::string::npos) {
      s.result.text.resize(cut);
      s.result.finish = FinishReason::stop;
      finished = true;
    }
  }
  if (!finished && static_cast<int64_t>(s.result.tokens.size()) >= req.max_tokens) {
    s.result.finish = FinishReason::length;
    finished = true;
  }
  if (stream && tokenizer != nullptr) {
    size_t safe = finished ? s.result.text.size() : s.result.text.size() - streaming_hold_back(s.result.text, req.stop_strings);
    if (safe > s.streamed) {
      if (!stream(index, std::string_view(s.result.text).substr(s.streamed, safe - s.streamed))) {
        s.result.finish = FinishReason::cancelled;
        finished = true;
      }
      s.streamed = safe;
    }
  }
  return finished;
}

std::span<const float> row(const Tensor& logits, int64_t b) {
  const int64_t V = logits.size(1);
  return {logits.data<float>() + b * V, static_cast<size_t>(V)};
}

}  // namespace

std::vector<GenerationResult> generate(models::CausalLM& model, const text::Tokenizer* tokenizer,
                                       const std::vector<GenerationRequest>& requests,
                                       const StreamCallback& stream, GenerationStats* stats) {
  NoGrad no_grad;
  std::vector<Sequence> seqs;
  seqs.reserve(requests.size());
  GenerationStats local;
  for (const GenerationRequest& req : requests) {
    TESSERA_CHECK_INPUT(!req.prompt.empty(), "generate: empty prompt (add a BOS token)");
    TESSERA_CHECK_INPUT(req.max_tokens >= 0, "generate: max_tokens {} is negative", req.max_tokens);
    for (int32_t id : req.prompt) {
      TESSERA_CHECK_INPUT(id >= 0 && id < model.vocab_size(), "generate: prompt token {} outside [0, {})",
                          id, model.vocab_size());
    }
    seqs.push_back({&req, model.new_state(), Sampler(req.sampling), req.prompt, {}, 0, false});
    seqs.back().result.prompt_tokens = static_cast<int64_t>(req.prompt.size());
  }
  // Prefill one prompt at a time (lengths differ), sampling each sequence's first token.
  std::vector<int32_t> pending(seqs.size(), -1);
  for (size_t i = 0; i < seqs.size(); ++i) {
    Sequence& s = seqs[i];
    if (s.request->max_tokens == 0) {
      s.done = true;
      continue;
    }
    auto start = Clock::now();
    std::vector<int64_t> ids(s.request->prompt.begin(), s.request->prompt.end());
    std::vector<models::DecodeState*> states{s.state.get()};
    Tensor logits = model.forward_step(Tensor::from_vector(ids, {1, static_cast<int64_t>(ids.size())}), states);
    local.prefill_seconds += std::chrono::duration<double>(Clock::now() - start).count();
    local.prefill_tokens += static_cast<int64_t>(ids.size());
    int32_t token = s.sampler.sample(row(logits, 0), s.history);
    s.done = accept(s, token, tokenizer, i, stream);
    pending[i] = token;
  }
  // Decode all live sequences together.
  auto start = Clock::now();
  while (true) {
    std::vector<size_t> live;
    for (size_t i = 0; i < seqs.size(); ++i) {
      if (!seqs[i].done) live.push_back(i);
    }
    if (live.empty()) break;
    std::vector<int64_t> ids;
    std::vector<models::DecodeState*> states;
    for (size_t i : live) {
      ids.push_back(pending[i]);
      states.push_back(seqs[i].state.get());
    }
    Tensor logits = model.forward_step(Tensor::from_vector(ids, {static_cast<int64_t>(live.size()), 1}), states);
    local.decode_tokens += static_cast<int64_t>(live.size());
    for (size_t b = 0; b < live.size(); ++b) {
      Sequence& s = seqs[live[b]];
      int32_t token = s.sampler.sample(row(logits, static_cast<int64_t>(b)), s.history);
      s.done = accept(s, token, tokenizer, live[b], stream);
      pending[live[b]] = token;
      if (!s.done && s.state->length() >= model.max_positions()) {
        s.result.finish = FinishReason::length;  // the context is full
        s.done = true;
      }
    }
  }
  local.decode_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (stats != nullptr) *stats = local;
  std::vector<GenerationResult> results;
  for (Sequence& s : seqs) results.push_back(std::move(s.result));
  return results;
}

std::vector<double> score_continuation(models::CausalLM& model, const std::vector<int32_t>& prompt,
                                       const std::vector<int32_t>& continuation) {
  NoGrad no_grad;
  TESSERA_CHECK_INPUT(!prompt.empty(), "score: empty prompt");
  if (continuation.empty()) return {};
  std::vector<int64_t> ids(prompt.begin(), prompt.end());
  ids.insert(ids.end(), continuation.begin(), continuation.end() - 1);
  Tensor logits = model.forward(Tensor::from_vector(ids, {1, static_cast<int64_t>(ids.size())}));
  Tensor logp = log_softmax(logits.select(0, 0), -1);
  std::vector<double> out;
  const int64_t start = static_cast<int64_t>(prompt.size()) - 1;
  for (size_t i = 0; i < continuation.size(); ++i) {
    out.push_back(logp.at({start + static_cast<int64_t>(i), continuation[i]}));
  }
  return out;
}

size_t streaming_hold_back(const std::string& text, const std::vector<std::string>& stop_strings) {
  size_t hold = 0;
  for (const std::string& stop : stop_strings) {
    for (size_t n = std::min(stop.size() - 1, text.size()); n > hold; --n) {
      if (text.compare(text.size() - n, n, stop, 0, n) == 0) {
        hold = n;
        break;
      }
    }
  }
  for (size_t back = 1; back <= std::min<size_t>(4, text.size()); ++back) {
    auto byte = static_cast<uint8_t>(text[text.size() - back]);
    if ((byte & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    size_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1;
    if (length > back) hold = std::max(hold, back);
    break;
  }
  static const std::string kReplacement = "\xEF\xBF\xBD";
  if (text.size() >= 3 && text.compare(text.size() - 3, 3, kReplacement) == 0) hold = std::max<size_t>(hold, 3);
  return hold;
}

}  // namespace tessera::infer
