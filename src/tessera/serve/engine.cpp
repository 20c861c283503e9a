#include "tessera/serve/engine.h"

#include <algorithm>
#include <cmath>
#include <future>
#include <limits>
#include <numeric>

#include "tessera/core/autograd.h"
#include "tessera/core/error.h"
#include "tessera/core/parallel.h"
#include "tessera/serve/protocol.h"

namespace tessera::serve {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

// ---- Ticket ----

bool Ticket::wait(std::chrono::milliseconds timeout, std::vector<SequenceDelta>* out) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return finished_ || !pending_.empty(); });
  if (out != nullptr) {
    for (auto& delta : pending_) out->push_back(std::move(delta));
  }
  pending_.clear();
  return finished_;
}

const SequenceResult& Ticket::result() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return finished_; });
  return result_;
}

void Ticket::push(SequenceDelta delta) {
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(delta));
  }
  changed_.notify_all();
}

void Ticket::finish(SequenceResult result) {
  {
    std::lock_guard lock(mutex_);
    result_ = std::move(result);
    finished_ = true;
  }
  changed_.notify_all();
}

// ---- Engine ----

struct Engine::Sequence {
  SequenceSpec spec;
  std::shared_ptr<Ticket> ticket;
  std::unique_ptr<models::DecodeState> state;
  std::optional<infer::Sampler> sampler;
  std::optional<JsonMatcher> matcher;
  std::vector<int32_t> history;  // prompt + generated, for the penalties
  SequenceResult result;
  size_t streamed = 0;  // bytes of result.text handed to the ticket
  std::vector<TokenLogprob> unsent_logprobs;
  int32_t pending = -1;   // the sampled token the next decode step feeds
  int64_t prefilled = 0;  // prompt tokens already fed
  Clock::time_point submitted, last_token;
  bool done = false;
};

struct Engine::EmbeddingJob {
  std::vector<int32_t> ids;
  std::promise<std::vector<float>> promise;
};

Engine::Engine(models::CausalLM& model, const text::Tokenizer& tokenizer,
               std::vector<int32_t> end_ids, EngineOptions options, Metrics* metrics)
    : model_(model),
      tokenizer_(tokenizer),
      end_ids_(std::move(end_ids)),
      options_(options),
      metrics_(metrics) {
  TESSERA_CHECK_INPUT(options_.parallel > 0, "--parallel must be positive, got {}",
                      options_.parallel);
  TESSERA_CHECK_INPUT(options_.max_queue >= 0, "--max-queue must not be negative, got {}",
                      options_.max_queue);
  TESSERA_CHECK_INPUT(options_.context >= 0, "--ctx must not be negative, got {}",
                      options_.context);
  TESSERA_CHECK_INPUT(options_.prefill_chunk > 0, "--prefill-chunk must be positive, got {}",
                      options_.prefill_chunk);
  context_ = options_.context > 0 ? std::min(options_.context, model_.max_positions())
                                  : model_.max_positions();
  thread_ = std::thread([this] { run(); });
}

Engine::~Engine() {
  shutdown(std::chrono::milliseconds(0));
}

int64_t Engine::waiting() const {
  std::lock_guard lock(mutex_);
  return static_cast<int64_t>(queue_.size());
}

int64_t Engine::running() const {
  return running_count_.load();
}

VocabularyMasker& Engine::masker() {
  std::lock_guard lock(masker_mutex_);
  if (!masker_) {
    masker_ = std::make_unique<VocabularyMasker>(tokenizer_, end_ids_, model_.vocab_size());
  }
  return *masker_;
}

std::vector<std::shared_ptr<Ticket>> Engine::submit(std::vector<SequenceSpec> specs) {
  std::vector<std::unique_ptr<Sequence>> sequences;
  std::vector<std::shared_ptr<Ticket>> tickets;
  for (SequenceSpec& spec : specs) {
    const auto prompt_tokens = static_cast<int64_t>(spec.prompt.size());
    if (prompt_tokens == 0) throw ApiError(400, "the prompt is empty", "prompt");
    if (prompt_tokens >= context_) {
      throw ApiError(400,
                     fmt::format("the prompt has {} tokens; this server's context is {} tokens",
                                 prompt_tokens, context_),
                     "messages", "invalid_request_error", "context_length_exceeded");
    }
    spec.max_tokens = std::min(spec.max_tokens, context_ - prompt_tokens);
    auto s = std::make_unique<Sequence>();
    s->sampler.emplace(spec.sampling);  // validates the sampling parameters
    if (spec.grammar) s->matcher.emplace(*spec.grammar);
    s->history = spec.prompt;
    s->result.prompt_tokens = prompt_tokens;
    s->spec = std::move(spec);
    s->ticket = std::make_shared<Ticket>();
    s->submitted = Clock::now();
    tickets.push_back(s->ticket);
    sequences.push_back(std::move(s));
  }
  {
    std::lock_guard lock(mutex_);
    if (!accepting_) {
      throw ApiError(503, "the server is shutting down", "", "server_error", "shutting_down");
    }
    // Free decoding slots take sequences at the next step; only the rest count as waiting.
    const int64_t free_slots = std::max<int64_t>(0, options_.parallel - running_count_.load());
    if (static_cast<int64_t>(queue_.size() + sequences.size()) > options_.max_queue + free_slots) {
      throw ApiError(
          429, fmt::format("the queue is full ({} sequences waiting); retry later", queue_.size()),
          "", "rate_limit_error", "queue_full");
    }
    for (auto& s : sequences) queue_.push_back(std::move(s));
  }
  wake_.notify_all();
  return tickets;
}

std::vector<float> Engine::embed(const std::vector<int32_t>& ids) {
  if (ids.empty()) throw ApiError(400, "an input is empty", "input");
  if (static_cast<int64_t>(ids.size()) > context_) {
    throw ApiError(400,
                   fmt::format("an input has {} tokens; this server's context is {} tokens",
                               ids.size(), context_),
                   "input", "invalid_request_error", "context_length_exceeded");
  }
  auto job = std::make_shared<EmbeddingJob>();
  job->ids = ids;
  auto future = job->promise.get_future();
  {
    std::lock_guard lock(mutex_);
    if (!accepting_) {
      throw ApiError(503, "the server is shutting down", "", "server_error", "shutting_down");
    }
    embedding_jobs_.push_back(job);
  }
  wake_.notify_all();
  return future.get();
}

void Engine::shutdown(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(mutex_);
    accepting_ = false;
    stop_ = true;
    auto deadline = Clock::now() + grace;
    if (!cancel_deadline_ || deadline < *cancel_deadline_) cancel_deadline_ = deadline;
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Engine::finish(Sequence& s, infer::FinishReason reason, const std::string& error) {
  if (s.done) return;
  s.done = true;
  s.result.finish = reason;
  s.result.error = error;
  // Whatever was held back for a possible stop string is final now.
  if (s.streamed < s.result.text.size() || !s.unsent_logprobs.empty()) {
    s.ticket->push({s.result.text.substr(s.streamed), std::move(s.unsent_logprobs)});
    s.streamed = s.result.text.size();
  }
  if (reason == infer::FinishReason::cancelled && metrics_) metrics_->cancelled();
  if (metrics_) {
    metrics_->tokens(s.result.prompt_tokens, static_cast<int64_t>(s.result.tokens.size()));
  }
  s.state.reset();  // the KV cache goes back to the allocator now, not when the ticket dies
  s.ticket->finish(std::move(s.result));
}

bool Engine::choose(Sequence& s, const float* logits, int32_t& token) {
  const auto vocab = static_cast<size_t>(model_.vocab_size());
  std::span<const float> row(logits, vocab);
  std::vector<float> masked;
  if (s.matcher) {
    VocabularyMasker& vocabulary = masker();
    const TokenMask& mask = vocabulary.allowed(*s.matcher);
    if (mask.count() == 0) return false;
    masked.assign(row.begin(), row.end());
    for (size_t i = 0; i < vocab; ++i) {
      if (!mask.test(static_cast<int64_t>(i))) masked[i] = -std::numeric_limits<float>::infinity();
    }
    row = masked;
  }
  token = s.sampler->sample(row, s.history);
  if (s.spec.top_logprobs >= 0) {
    const std::vector<float>& logprobs = s.sampler->last_logprobs();
    TokenLogprob entry{token, logprobs[static_cast<size_t>(token)], {}};
    if (s.spec.top_logprobs > 0) {
      std::vector<int32_t> order(vocab);
      std::iota(order.begin(), order.end(), 0);
      const size_t k = std::min<size_t>(static_cast<size_t>(s.spec.top_logprobs), vocab);
      std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                        [&](int32_t a, int32_t b) {
                          return logprobs[a] > logprobs[b] || (logprobs[a] == logprobs[b] && a < b);
                        });
      for (size_t i = 0; i < k; ++i) entry.top.emplace_back(order[i], logprobs[order[i]]);
    }
    s.unsent_logprobs.push_back(std::move(entry));
  }
  return true;
}

// Applies a sampled token; returns true when the sequence is finished.
bool Engine::accept(Sequence& s, int32_t token) {
  auto now = Clock::now();
  if (s.result.tokens.empty()) {
    if (metrics_) metrics_->time_to_first_token(seconds_between(s.submitted, now));
  } else if (metrics_) {
    metrics_->time_per_output_token(seconds_between(s.last_token, now));
  }
  s.last_token = now;
  const auto& stop_ids = s.spec.stop_ids;
  if (std::find(stop_ids.begin(), stop_ids.end(), token) != stop_ids.end()) {
    if (s.spec.top_logprobs >= 0 && !s.unsent_logprobs.empty()) {
      s.unsent_logprobs.pop_back();  // the end token is not part of the completion
    }
    finish(s, infer::FinishReason::stop);
    return true;
  }
  s.result.tokens.push_back(token);
  s.history.push_back(token);
  if (!s.unsent_logprobs.empty()) s.result.logprobs.push_back(s.unsent_logprobs.back());
  if (s.matcher && !s.matcher->feed(masker().token_bytes(token))) {
    finish(s, infer::FinishReason::stop, "constrained decoding reached a state with no way on");
    return true;
  }
  s.result.text = tokenizer_.decode(s.result.tokens, /*skip_special=*/true);
  size_t cut = std::string::npos;
  for (const std::string& stop : s.spec.stop_strings) {
    size_t from = s.streamed > stop.size() ? s.streamed - stop.size() : 0;
    size_t at = s.result.text.find(stop, from);
    if (at != std::string::npos) cut = std::min(cut, at);
  }
  if (cut != std::string::npos) {
    s.result.text.resize(cut);
    finish(s, infer::FinishReason::stop);
    return true;
  }
  if (s.matcher && s.matcher->finished()) {
    finish(s, infer::FinishReason::stop);  // the document is complete: only EOS could follow
    return true;
  }
  if (static_cast<int64_t>(s.result.tokens.size()) >= s.spec.max_tokens ||
      s.state->length() + 1 >= context_) {
    finish(s, infer::FinishReason::length);
    return true;
  }
  size_t safe = s.result.text.size() - infer::streaming_hold_back(s.result.text, s.spec.stop_strings);
  if (safe > s.streamed) {
    s.ticket->push(
        {s.result.text.substr(s.streamed, safe - s.streamed), std::move(s.unsent_logprobs)});
    s.unsent_logprobs.clear();
    s.streamed = safe;
  }
  return false;
}

// Feeds the next chunk of a prompt; once the whole prompt is in, samples the first token.
// Returns the prompt tokens fed (0 when the sequence ended instead).
int64_t Engine::prefill_chunk(Sequence& s, int64_t budget) {
  if (s.spec.max_tokens == 0) {
    finish(s, infer::FinishReason::length);
    return 0;
  }
  if (!s.state) s.state = model_.new_state();
  const auto total = static_cast<int64_t>(s.spec.prompt.size());
  const int64_t count = std::min(budget, total - s.prefilled);
  std::vector<int64_t> ids(s.spec.prompt.begin() + s.prefilled,
                           s.spec.prompt.begin() + s.prefilled + count);
  std::vector<models::DecodeState*> states{s.state.get()};
  Tensor logits = model_.forward_step(Tensor::from_vector(ids, {1, count}), states);
  s.prefilled += count;
  if (s.prefilled < total) return count;
  int32_t token = 0;
  if (!choose(s, logits.data<float>(), token)) {
    finish(s, infer::FinishReason::stop, "constrained decoding allows no token");
    return count;
  }
  s.pending = token;
  accept(s, token);
  return count;
}

void Engine::admit(std::vector<std::unique_ptr<Sequence>>& running) {
  while (static_cast<int>(running.size()) < options_.parallel) {
    std::unique_ptr<Sequence> s;
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) break;
      s = std::move(queue_.front());
      queue_.pop_front();
    }
    if (s->ticket->cancelled()) {
      finish(*s, infer::FinishReason::cancelled);
      continue;
    }
    running.push_back(std::move(s));
  }
  // Prompts go in by chunks, a bounded number of tokens per step, so that a long prompt
  // arriving delays the sequences already decoding by one chunk's forward, not by its whole
  // prefill (what llama.cpp's batch size bounds too).
  int64_t budget = options_.prefill_chunk;
  for (auto& s : running) {
    if (budget <= 0) break;
    if (s->done || s->prefilled == static_cast<int64_t>(s->spec.prompt.size())) continue;
    try {
      budget -= std::max<int64_t>(1, prefill_chunk(*s, budget));
    } catch (const std::exception& e) {
      finish(*s, infer::FinishReason::stop, e.what());
    }
  }
}

void Engine::decode_step(std::vector<std::unique_ptr<Sequence>>& running) {
  std::vector<Sequence*> ready;
  for (auto& s : running) {
    if (!s->done && s->prefilled == static_cast<int64_t>(s->spec.prompt.size())) {
      ready.push_back(s.get());
    }
  }
  if (ready.empty()) return;
  std::vector<int64_t> ids;
  std::vector<models::DecodeState*> states;
  for (Sequence* s : ready) {
    ids.push_back(s->pending);
    states.push_back(s->state.get());
  }
  const auto batch = static_cast<int64_t>(ready.size());
  if (metrics_) metrics_->batch_size(batch);
  Tensor logits = model_.forward_step(Tensor::from_vector(ids, {batch, 1}), states);
  const int64_t vocab = logits.size(1);
  for (int64_t b = 0; b < batch; ++b) {
    Sequence& s = *ready[static_cast<size_t>(b)];
    int32_t token = 0;
    if (!choose(s, logits.data<float>() + b * vocab, token)) {
      finish(s, infer::FinishReason::stop, "constrained decoding allows no token");
      continue;
    }
    s.pending = token;
    accept(s, token);
  }
}

void Engine::run_embeddings() {
  std::deque<std::shared_ptr<EmbeddingJob>> jobs;
  {
    std::lock_guard lock(mutex_);
    jobs.swap(embedding_jobs_);
  }
  for (auto& job : jobs) {
    try {
      std::vector<int64_t> ids(job->ids.begin(), job->ids.end());
      Tensor hidden = model_.hidden_states(
          Tensor::from_vector(ids, {1, static_cast<int64_t>(ids.size())}), model_.num_layers());
      hidden = hidden.contiguous();
      const int64_t tokens = hidden.size(1), width = hidden.size(2);
      std::vector<double> sum(static_cast<size_t>(width), 0.0);
      const float* data = hidden.data<float>();
      for (int64_t t = 0; t < tokens; ++t) {
        for (int64_t h = 0; h < width; ++h) sum[h] += data[t * width + h];
      }
      double norm = 0;
      for (double& v : sum) {
        v /= static_cast<double>(tokens);
        norm += v * v;
      }
      norm = std::sqrt(norm);
      std::vector<float> embedding(static_cast<size_t>(width));
      for (size_t h = 0; h < embedding.size(); ++h) {
        embedding[h] = static_cast<float>(norm > 0 ? sum[h] / norm : 0.0);
      }
      job->promise.set_value(std::move(embedding));
    } catch (...) {
      job->promise.set_exception(std::current_exception());
    }
  }
}

void Engine::run() {
  // OpenMP's thread count is per thread: give the scheduler the one --threads chose.
  set_num_threads(num_threads());
  NoGrad no_grad;
  std::vector<std::unique_ptr<Sequence>> running;
  while (true) {
    bool cancel_all = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] {
        return stop_ || !queue_.empty() || !embedding_jobs_.empty() || !running.empty();
      });
      if (stop_ && queue_.empty() && embedding_jobs_.empty() && running.empty()) break;
      cancel_all = cancel_deadline_ && Clock::now() >= *cancel_deadline_;
      if (cancel_all) {
        for (auto& s : queue_) s->ticket->cancel();
      }
    }
    for (auto& s : running) {
      if (cancel_all || s->ticket->cancelled()) finish(*s, infer::FinishReason::cancelled);
    }
    try {
      run_embeddings();
      admit(running);
      std::erase_if(running, [](const auto& s) { return s->done; });
      decode_step(running);
    } catch (const std::exception& e) {
      // A failure inside the model ends the sequences in flight, not the server.
      for (auto& s : running) finish(*s, infer::FinishReason::stop, e.what());
    }
    std::erase_if(running, [](const auto& s) { return s->done; });
    running_count_ = static_cast<int64_t>(running.size());
    if (metrics_) metrics_->set_queue(waiting(), running_count_.load());
  }
  running_count_ = 0;
}

}  // namespace tessera::serve
