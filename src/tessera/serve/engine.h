#pragma once
// Continuous batching: one scheduler thread owns the model. Requests arrive from HTTP threads
// at any time; each decode step feeds every running sequence's last token through one
// batched forward_step, so a sequence joins the batch as soon as its prompt is prefilled (in
// chunks between decode steps, so a long prompt does not freeze the others) and
// leaves it the moment it finishes, without waiting for the others. The scheduler never
// blocks on a client: what a sequence produces goes into its Ticket, which the HTTP thread
// drains at its own pace (a slow reader delays nobody), and a cancelled ticket (client gone)
// is dropped at the next step.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tessera/infer/generate.h"
#include "tessera/infer/sampler.h"
#include "tessera/models/causal_lm.h"
#include "tessera/serve/json_grammar.h"
#include "tessera/serve/metrics.h"
#include "tessera/serve/token_mask.h"
#include "tessera/text/tokenizer.h"

namespace tessera::serve {

struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;  // the most likely alternatives, best first
};

struct SequenceSpec {
  std::vector<int32_t> prompt;
  int64_t max_tokens = 16;
  infer::SamplingParams sampling;
  std::vector<int32_t> stop_ids;
  std::vector<std::string> stop_strings;
  int top_logprobs = -1;                       // -1: no logprobs
  std::shared_ptr<const JsonGrammar> grammar;  // null: unconstrained
};

// Text that became final since the last drain, with the logprobs of the tokens behind it.
struct SequenceDelta {
  std::string text;
  std::vector<TokenLogprob> logprobs;
};

struct SequenceResult {
  std::string text;
  std::vector<int32_t> tokens;
  std::vector<TokenLogprob> logprobs;
  infer::FinishReason finish = infer::FinishReason::length;
  int64_t prompt_tokens = 0;
  std::string error;  // set when the engine failed on this sequence
};

// The meeting point of one sequence's producer (scheduler) and consumer (HTTP thread).
class Ticket {
 public:
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }
  // Waits up to `timeout` for news; appends pending deltas to `out`; true once finished
  // (every delta has then been handed out).
  bool wait(std::chrono::milliseconds timeout, std::vector<SequenceDelta>* out);
  // Blocks until finished.
  const SequenceResult& result();

 private:
  friend class Engine;
  void push(SequenceDelta delta);
  void finish(SequenceResult result);

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<SequenceDelta> pending_;
  bool finished_ = false;
  SequenceResult result_;
  std::atomic<bool> cancelled_{false};
};

struct EngineOptions {
  int parallel = 8;             // sequences decoded together at most
  int64_t max_queue = 64;       // sequences waiting for a slot before 429
  int64_t context = 0;          // tokens per sequence (prompt + completion); 0: the model's maximum
  int64_t prefill_chunk = 128;  // prompt tokens fed per scheduler step, over all sequences
};

class Engine {
 public:
  // `end_ids` end a sequence (EOS); the model and tokenizer must outlive the engine.
  Engine(models::CausalLM& model, const text::Tokenizer& tokenizer, std::vector<int32_t> end_ids,
         EngineOptions options, Metrics* metrics);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues the sequences together (the n choices of one request): all or none. Throws
  // ApiError 429 when the queue is full, 503 when shutting down, 400 when a prompt does not
  // fit the context. max_tokens is clamped to the context left after the prompt.
  std::vector<std::shared_ptr<Ticket>> submit(std::vector<SequenceSpec> specs);
  // Mean-pooled, L2-normalised final hidden states of `ids` (run on the scheduler thread
  // between decode steps).
  std::vector<float> embed(const std::vector<int32_t>& ids);

  // Stops taking requests, lets running and queued sequences finish for up to `grace`, then
  // cancels what is left and stops the scheduler. Idempotent.
  void shutdown(std::chrono::milliseconds grace);

  int64_t context() const { return context_; }
  const std::vector<int32_t>& end_ids() const { return end_ids_; }
  int64_t waiting() const;
  int64_t running() const;
  VocabularyMasker& masker();  // built on first use (walks the whole vocabulary once)

 private:
  struct Sequence;
  struct EmbeddingJob;
  void run();
  void admit(std::vector<std::unique_ptr<Sequence>>& running);
  int64_t prefill_chunk(Sequence& s, int64_t budget);
  void decode_step(std::vector<std::unique_ptr<Sequence>>& running);
  // Picks the next token from a logits row; false when the sequence must end (no allowed token).
  bool choose(Sequence& s, const float* logits, int32_t& token);
  bool accept(Sequence& s, int32_t token);
  void finish(Sequence& s, infer::FinishReason reason, const std::string& error = {});
  void run_embeddings();

  models::CausalLM& model_;
  const text::Tokenizer& tokenizer_;
  std::vector<int32_t> end_ids_;
  EngineOptions options_;
  Metrics* metrics_;
  int64_t context_;
  std::unique_ptr<VocabularyMasker> masker_;
  std::mutex masker_mutex_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Sequence>> queue_;
  std::deque<std::shared_ptr<EmbeddingJob>> embedding_jobs_;
  std::atomic<int64_t> running_count_{0};
  bool accepting_ = true;
  bool stop_ = false;
  std::optional<std::chrono::steady_clock::time_point> cancel_deadline_;
  std::thread thread_;
};

}  // namespace tessera::serve
