#pragma once
// Batched generation: each request has its own decoding state (KV cache), prompts are
// prefilled one by one, then all live sequences advance together through one batched
// forward per step. Stop ids, stop strings, max tokens, streaming and cancellation.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/infer/sampler.h"
#include "tessera/models/causal_lm.h"
#include "tessera/text/tokenizer.h"

namespace tessera::infer {

struct GenerationRequest {
  std::vector<int32_t> prompt;
  int64_t max_tokens = 128;
  SamplingParams sampling;
  std::vector<int32_t> stop_ids;          // ends the sequence (not included in the text)
  std::vector<std::string> stop_strings;  // ends it where the text first contains one
};

enum class FinishReason { length, stop, cancelled };
const char* finish_reason_name(FinishReason reason);  // "length", "stop", "cancelled"

struct GenerationResult {
  std::vector<int32_t> tokens;        // generated ids (stop id excluded)
  std::string text;                   // decoded, cut before a stop string
  std::vector<float> token_logprobs;  // log p of each generated token under the sampled distribution
  FinishReason finish = FinishReason::length;
  int64_t prompt_tokens = 0;
};

struct GenerationStats {
  int64_t prefill_tokens = 0, decode_tokens = 0;
  double prefill_seconds = 0, decode_seconds = 0;
};

// Called as text becomes final (never a prefix of a possible stop string, never half a UTF-8
// character). Returning false cancels that request.
using StreamCallback = std::function<bool(size_t request, std::string_view text_delta)>;

// How many bytes at the end of generated `text` a stream must hold back: a prefix of a stop
// string (it may still complete, and stop text is never sent) or an unfinished UTF-8
// character (byte-level decoders hand a character's bytes over as they come; an incomplete
// one may also decode as U+FFFD until its last byte arrives).
size_t streaming_hold_back(const std::string& text, const std::vector<std::string>& stop_strings);

// `tokenizer` may be null: then stop strings cannot be matched and results carry no text.
std::vector<GenerationResult> generate(models::CausalLM& model, const text::Tokenizer* tokenizer,
                                       const std::vector<GenerationRequest>& requests,
                                       const StreamCallback& stream = {},
                                       GenerationStats* stats = nullptr);

// log p(continuation[i] | prompt, continuation[:i]) for each continuation token: the scoring
// that DPO, SaySelf and SAE evaluations use. The prompt must not be empty.
std::vector<double> score_continuation(models::CausalLM& model, const std::vector<int32_t>& prompt,
                                       const std::vector<int32_t>& continuation);

}  // namespace tessera::infer
