#include "tessera/infer/beam.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>

#include "tessera/core/autograd.h"
#include "tessera/kernels/cpu/reduce.h"

namespace tessera::infer {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

struct Beam {
  std::vector<int32_t> tokens;  // decoder start token first
  double sum = 0;
  std::unique_ptr<models::Seq2SeqState> state;
};

struct SentenceSearch {
  std::vector<Beam> beams;
  std::vector<Hypothesis> finished;  // best first
  int64_t max_len = 0;
  bool done = false;
  std::unique_ptr<Sampler> sampler;
};

double normalised(double sum, int64_t length, double penalty) {
  return penalty == 0.0
             ? sum
             : sum / std::pow(static_cast<double>(std::max<int64_t>(length, 1)), penalty);
}

void add_finished(SentenceSearch& s, const std::vector<int32_t>& tokens, double sum, int64_t length,
                  bool ended, const DecodeOptions& o, int64_t keep) {
  Hypothesis h;
  h.tokens.assign(tokens.begin() + 1, tokens.end());
  h.log_prob = sum;
  h.score = normalised(sum, length, o.length_penalty);
  h.finished = ended;
  auto at = std::upper_bound(s.finished.begin(), s.finished.end(), h.score,
                             [](double score, const Hypothesis& x) { return score > x.score; });
  s.finished.insert(at, std::move(h));
  if (static_cast<int64_t>(s.finished.size()) > keep) s.finished.resize(keep);
}

// log_softmax in double with the constraints applied (forced prefix, n-gram bans, min length).
void constrained_logprobs(const float* logits, int64_t V, const std::vector<int32_t>& tokens,
                          int64_t step, const DecodeOptions& o, int64_t eos,
                          std::vector<double>& out) {
  out.assign(V, kNegInf);
  if (step < static_cast<int64_t>(o.forced_prefix.size())) {
    out[o.forced_prefix[step]] =
        0.0;  // transformers' forced-BOS processor: the forced token costs nothing
    return;
  }
  double mx = -std::numeric_limits<double>::max();
  for (int64_t v = 0; v < V; ++v) mx = std::max(mx, static_cast<double>(logits[v]));
  double z = 0;
  for (int64_t v = 0; v < V; ++v) z += std::exp(static_cast<double>(logits[v]) - mx);
  const double lz = mx + std::log(z);
  for (int64_t v = 0; v < V; ++v) out[v] = static_cast<double>(logits[v]) - lz;
  for (int32_t banned : banned_ngram_tokens(tokens, o.no_repeat_ngram_size))
    if (banned >= 0 && banned < V) out[banned] = kNegInf;
  if (step < o.min_length && eos >= 0 && eos < V) out[eos] = kNegInf;
}

// The `take` most probable allowed next tokens of one row, best first (ties: the lower id),
// with their log-probabilities. Log-softmax keeps the order of the logits, so the selection is
// a top-k of the raw row (widened by the number of banned tokens, which are then skipped) and
// only the log-partition runs over the whole vocabulary; no row-sized buffer is written.
// Equals the best `take` of constrained_logprobs, up to its log-partition summed in f32.
void top_logprobs(const float* logits, int64_t V, const std::vector<int32_t>& tokens, int64_t step,
                  const DecodeOptions& o, int64_t eos, int64_t take,
                  std::vector<std::pair<double, int32_t>>& out) {
  out.clear();
  if (step < static_cast<int64_t>(o.forced_prefix.size())) {
    out.emplace_back(0.0, o.forced_prefix[step]);
    return;
  }
  std::vector<int32_t> banned = banned_ngram_tokens(tokens, o.no_repeat_ngram_size);
  if (step < o.min_length && eos >= 0 && eos < V) banned.push_back(static_cast<int32_t>(eos));
  std::sort(banned.begin(), banned.end());
  banned.erase(std::unique(banned.begin(), banned.end()), banned.end());
  float log_partition = 0;
  kernels::reduce(kernels::ReduceOp::logsumexp, logits, &log_partition, 1, V, 1);
  const int64_t wide = std::min<int64_t>(V, take + static_cast<int64_t>(banned.size()));
  std::vector<float> values(static_cast<size_t>(wide));
  std::vector<int64_t> ids(static_cast<size_t>(wide));
  kernels::topk_rows(logits, values.data(), ids.data(), 1, V, wide);
  for (int64_t r = 0; r < wide && static_cast<int64_t>(out.size()) < take; ++r) {
    const auto id = static_cast<int32_t>(ids[r]);
    if (values[r] == -std::numeric_limits<float>::infinity()) break;  // impossible from here on
    if (std::binary_search(banned.begin(), banned.end(), id)) continue;
    out.emplace_back(static_cast<double>(values[r]) - static_cast<double>(log_partition), id);
  }
}

void check_options(const DecodeOptions& o) {
  TESSERA_CHECK_INPUT(o.beam_size >= 1, "beam size must be at least 1, got {}", o.beam_size);
  TESSERA_CHECK_INPUT(o.num_return >= 1 && o.num_return <= o.beam_size,
                      "n-best size {} must be between 1 and the beam size {}", o.num_return,
                      o.beam_size);
  TESSERA_CHECK_INPUT(!o.sample || o.beam_size == 1, "sampling decodes with beam size 1, not {}",
                      o.beam_size);
  TESSERA_CHECK_INPUT(o.max_length_ratio >= 0 && o.max_length_offset >= 0,
                      "max length ratio and offset must not be negative");
  TESSERA_CHECK_INPUT(o.no_repeat_ngram_size >= 0, "no-repeat n-gram size must not be negative");
  TESSERA_CHECK_INPUT(o.batch_size >= 1, "batch size must be at least 1");
}

}  // namespace

std::vector<int32_t> banned_ngram_tokens(const std::vector<int32_t>& history, int64_t n) {
  std::vector<int32_t> banned;
  const int64_t L = static_cast<int64_t>(history.size());
  if (n <= 0 || L + 1 < n) return banned;
  // The last n-1 tokens, followed by any token that followed them before, would repeat an n-gram.
  for (int64_t start = 0; start + n <= L; ++start) {
    bool match = true;
    for (int64_t k = 0; k < n - 1 && match; ++k)
      match = history[start + k] == history[L - (n - 1) + k];
    if (match) banned.push_back(history[start + n - 1]);
  }
  return banned;
}

std::vector<std::vector<Hypothesis>> decode(models::Seq2SeqLM& model,
                                            const std::vector<std::vector<int32_t>>& sources,
                                            const DecodeOptions& o, DecodeStats* stats) {
  check_options(o);
  NoGrad no_grad;
  auto started = std::chrono::steady_clock::now();
  const int64_t V = model.vocab_size(), eos = model.eos_token_id(), pad = model.pad_token_id();
  for (int32_t t : o.forced_prefix)
    TESSERA_CHECK_INPUT(t >= 0 && t < V, "forced token {} outside the vocabulary of {}", t, V);
  std::vector<std::vector<Hypothesis>> results(sources.size());
  std::vector<size_t> order(sources.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sources[a].size() > sources[b].size(); });
  const int64_t K = o.beam_size;
  const int64_t keep = std::max<int64_t>(K, o.num_return);
  DecodeStats local;

  for (size_t chunk = 0; chunk < order.size(); chunk += o.batch_size) {
    const size_t n = std::min<size_t>(o.batch_size, order.size() - chunk);
    int64_t S = 0;
    for (size_t i = 0; i < n; ++i) {
      const auto& src = sources[order[chunk + i]];
      TESSERA_CHECK_INPUT(!src.empty(), "source sentence {} has no tokens", order[chunk + i]);
      for (int32_t t : src)
        TESSERA_CHECK_INPUT(t >= 0 && t < V && t != pad,
                            "source sentence {}: token {} is outside the vocabulary or padding",
                            order[chunk + i], t);
      S = std::max<int64_t>(S, static_cast<int64_t>(src.size()));
    }
    std::vector<int64_t> ids(n * S, pad);
    for (size_t i = 0; i < n; ++i) {
      const auto& src = sources[order[chunk + i]];
      std::copy(src.begin(), src.end(), ids.begin() + i * S);
      local.source_tokens += static_cast<int64_t>(src.size());
    }
    auto states = model.encode(Tensor::from_vector(ids, {static_cast<int64_t>(n), S}));
    std::vector<SentenceSearch> search(n);
    for (size_t i = 0; i < n; ++i) {
      const int64_t src_len = static_cast<int64_t>(sources[order[chunk + i]].size());
      int64_t max_len =
          static_cast<int64_t>(std::ceil(o.max_length_ratio * src_len)) + o.max_length_offset;
      max_len = std::min<int64_t>(max_len, model.max_positions() - 1);
      max_len = std::max<int64_t>(max_len, static_cast<int64_t>(o.forced_prefix.size()) + 1);
      search[i].max_len = max_len;
      Beam b;
      b.tokens = {static_cast<int32_t>(model.decoder_start_token_id())};
      b.state = std::move(states[i]);
      search[i].beams.push_back(std::move(b));
      if (o.sample) {
        SamplingParams p = o.sampling;
        p.seed = o.sampling.seed + order[chunk + i];
        search[i].sampler = std::make_unique<Sampler>(p);
      }
    }

    std::vector<double> lp;
    std::vector<float> masked;
    while (true) {
      std::vector<std::pair<size_t, size_t>> live;  // (sentence, beam)
      for (size_t i = 0; i < n; ++i)
        if (!search[i].done)
          for (size_t b = 0; b < search[i].beams.size(); ++b) live.emplace_back(i, b);
      if (live.empty()) break;
      std::vector<int64_t> step_ids;
      std::vector<models::Seq2SeqState*> step_states;
      for (auto [i, b] : live) {
        step_ids.push_back(search[i].beams[b].tokens.back());
        step_states.push_back(search[i].beams[b].state.get());
      }
      Tensor logits_t =
          model
              .decode_step(Tensor::from_vector(step_ids, {static_cast<int64_t>(live.size()), 1}),
                           step_states)
              .to(DType::f32)
              .contiguous();
      const float* logits = logits_t.data<float>();
      ++local.decoder_steps;

      // Each row's best continuations, rows in parallel (the bookkeeping below is sequential):
      // the argmax for greedy search, 2K candidates per beam for beam search.
      std::vector<std::vector<std::pair<double, int32_t>>> best(live.size());
      if (!o.sample) {
#pragma omp parallel for schedule(dynamic, 4)
        for (size_t r = 0; r < live.size(); ++r) {
          const auto [i, b] = live[r];
          const Beam& beam = search[i].beams[b];
          const auto step = static_cast<int64_t>(beam.tokens.size()) - 1;
          top_logprobs(logits + r * V, V, beam.tokens, step, o, eos, K == 1 ? 1 : 2 * K, best[r]);
        }
      }

      size_t row = 0;
      for (size_t i = 0; i < n; ++i) {
        SentenceSearch& s = search[i];
        if (s.done) continue;
        const int64_t step =
            static_cast<int64_t>(s.beams[0].tokens.size()) - 1;  // tokens generated so far
        const bool last_step = step + 1 >= s.max_len;
        if (K == 1) {
          Beam& beam = s.beams[0];
          const float* row_logits = logits + row * V;
          const auto& row_best = best[row];
          ++row;
          int32_t token;
          double token_logprob;
          if (s.sampler) {
            constrained_logprobs(row_logits, V, beam.tokens, step, o, eos, lp);
            if (step >= static_cast<int64_t>(o.forced_prefix.size())) {
              masked.assign(row_logits, row_logits + V);
              for (int64_t v = 0; v < V; ++v)
                if (lp[v] == kNegInf) masked[v] = -std::numeric_limits<float>::infinity();
              token = s.sampler->sample(masked, beam.tokens);
            } else {
              token = static_cast<int32_t>(std::max_element(lp.begin(), lp.end()) - lp.begin());
            }
            token_logprob = lp[token];
          } else {
            TESSERA_CHECK(!row_best.empty(), "decode: every token of a row is banned");
            token_logprob = row_best[0].first;
            token = row_best[0].second;
          }
          beam.sum += token_logprob;
          beam.tokens.push_back(token);
          if (token == eos || last_step) {
            std::vector<int32_t> kept = beam.tokens;
            if (token == eos) kept.pop_back();
            add_finished(s, kept, beam.sum, step + 1, token == eos, o, keep);
            s.done = true;
          }
          continue;
        }
        // Beam search: the best 2K continuations over all beams of the sentence.
        struct Candidate {
          double total;
          size_t beam;
          int32_t token;
        };
        std::vector<Candidate> cands;
        for (size_t b = 0; b < s.beams.size(); ++b, ++row)
          for (const auto& [logprob, token] : best[row])
            cands.push_back({s.beams[b].sum + logprob, b, token});
        std::stable_sort(cands.begin(), cands.end(),
                         [](const Candidate& a, const Candidate& c) { return a.total > c.total; });
        if (static_cast<int64_t>(cands.size()) > 2 * K) cands.resize(2 * K);
        std::vector<Candidate> next;
        for (size_t r = 0; r < cands.size() && static_cast<int64_t>(next.size()) < K; ++r) {
          const Candidate& c = cands[r];
          if (c.token == eos) {
            if (static_cast<int64_t>(r) >= K)
              continue;  // an EOS outside the top K does not finish a hypothesis
            add_finished(s, s.beams[c.beam].tokens, c.total, step + 1, true, o, keep);
          } else {
            next.push_back(c);
          }
        }
        bool done = next.empty();
        if (!done && static_cast<int64_t>(s.finished.size()) >= K) {
          if (o.early_stopping == EarlyStopping::when_full) done = true;
          if (o.early_stopping == EarlyStopping::heuristic)
            done = normalised(next[0].total, step + 1, o.length_penalty) <= s.finished.back().score;
        }
        if (!done && last_step) {
          for (const Candidate& c : next) {
            std::vector<int32_t> t = s.beams[c.beam].tokens;
            t.push_back(c.token);
            add_finished(s, t, c.total, step + 1, false, o, keep);
          }
          done = true;
        }
        if (done) {
          s.done = true;
          s.beams.clear();
          continue;
        }
        // Children take over their parent's state: the last child moves it, the others copy.
        std::vector<int64_t> children(s.beams.size(), 0);
        for (const Candidate& c : next) ++children[c.beam];
        std::vector<Beam> beams;
        for (const Candidate& c : next) {
          Beam& parent = s.beams[c.beam];
          Beam child;
          child.tokens = parent.tokens;
          child.tokens.push_back(c.token);
          child.sum = c.total;
          child.state = --children[c.beam] == 0 ? std::move(parent.state) : parent.state->clone();
          beams.push_back(std::move(child));
        }
        s.beams = std::move(beams);
      }
    }
    for (size_t i = 0; i < n; ++i) {
      auto& out = results[order[chunk + i]];
      out = std::move(search[i].finished);
      if (static_cast<int64_t>(out.size()) > o.num_return) out.resize(o.num_return);
      if (!out.empty())
        local.generated_tokens +=
            static_cast<int64_t>(out[0].tokens.size()) + (out[0].finished ? 1 : 0);
    }
  }
  local.sentences = static_cast<int64_t>(sources.size());
  local.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (stats) *stats = local;
  return results;
}

}  // namespace tessera::infer
