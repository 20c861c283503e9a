// Encoder-decoder decoding: beam search equals exhaustive search on a tiny model, greedy equals
// the argmax chain of the teacher-forced forward, batching is invisible, constraints hold.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "tessera/core/autograd.h"
#include "tessera/infer/beam.h"

namespace tessera::infer {
namespace {

std::unique_ptr<models::Seq2SeqLM> tiny_model(int64_t vocab, uint64_t seed) {
  nlohmann::json c = {
      {"model_type", "m2m_100"},       {"vocab_size", vocab},   {"d_model", 8},
      {"encoder_layers", 1},           {"decoder_layers", 2},   {"encoder_attention_heads", 2},
      {"decoder_attention_heads", 2},  {"encoder_ffn_dim", 12}, {"decoder_ffn_dim", 12},
      {"max_position_embeddings", 64}, {"pad_token_id", 1},     {"eos_token_id", 2},
      {"decoder_start_token_id", 2},   {"init_std", 0.8}};
  return models::create_seq2seq_model(c, seed);
}

struct Scored {
  std::vector<int32_t> tokens;
  double score;
};

// Every continuation up to max_len tokens, scored through the model's own decode_step (each
// prefix extended from a cloned state).
std::vector<Scored> exhaustive(models::Seq2SeqLM& model, const std::vector<int32_t>& src,
                               int64_t max_len, double length_penalty) {
  NoGrad no_grad;
  std::vector<int64_t> ids(src.begin(), src.end());
  auto states = model.encode(Tensor::from_vector(ids, {1, static_cast<int64_t>(ids.size())}));
  const int64_t V = model.vocab_size(), eos = model.eos_token_id();
  std::vector<Scored> out;
  std::function<void(models::Seq2SeqState&, int32_t, std::vector<int32_t>&, double)> walk =
      [&](models::Seq2SeqState& state, int32_t last, std::vector<int32_t>& prefix, double sum) {
        Tensor logits =
            model.decode_step(Tensor::from_vector(std::vector<int64_t>{last}, {1, 1}), {&state});
        std::vector<double> l = logits.select(0, 0).to_vector<double>();
        double mx = *std::max_element(l.begin(), l.end()), z = 0;
        for (double v : l) z += std::exp(v - mx);
        const int64_t len = static_cast<int64_t>(prefix.size()) + 1;
        for (int32_t t = 0; t < V; ++t) {
          double s = sum + l[t] - mx - std::log(z);
          if (t == eos) {
            out.push_back({prefix, s / std::pow(double(len), length_penalty)});
          } else {
            prefix.push_back(t);
            if (len == max_len) {
              out.push_back({prefix, s / std::pow(double(len), length_penalty)});
            } else {
              auto child = state.clone();
              walk(*child, t, prefix, s);
            }
            prefix.pop_back();
          }
        }
      };
  std::vector<int32_t> prefix;
  walk(*states[0], static_cast<int32_t>(model.decoder_start_token_id()), prefix, 0.0);
  std::stable_sort(out.begin(), out.end(),
                   [](const Scored& a, const Scored& b) { return a.score > b.score; });
  return out;
}

TEST(BeamSearch, WideBeamEqualsExhaustiveSearch) {
  for (double penalty : {0.0, 1.0}) {
    auto model = tiny_model(6, 21);
    std::vector<int32_t> src = {4, 5, 3, 2};
    DecodeOptions o;
    o.beam_size = 216;  // 6^3: nothing is ever pruned
    o.num_return = 5;
    o.length_penalty = penalty;
    o.max_length_ratio = 0;
    o.max_length_offset = 3;
    o.early_stopping = EarlyStopping::never;
    auto got = decode(*model, {src}, o)[0];
    auto want = exhaustive(*model, src, 3, penalty);
    ASSERT_EQ(got.size(), 5u);
    for (size_t i = 0; i < 5; ++i) {
      EXPECT_EQ(got[i].tokens, want[i].tokens) << "rank " << i << " penalty " << penalty;
      EXPECT_NEAR(got[i].score, want[i].score, 1e-5);
    }
  }
}

TEST(BeamSearch, NarrowBeamNeverBeatsExhaustiveAndGreedyFollowsArgmax) {
  auto model = tiny_model(9, 5);
  std::vector<int32_t> src = {7, 3, 8, 2};
  DecodeOptions o;
  o.max_length_ratio = 0;
  o.max_length_offset = 3;
  o.beam_size = 3;
  auto beam = decode(*model, {src}, o)[0];
  auto best = exhaustive(*model, src, 3, 1.0)[0];
  EXPECT_LE(beam[0].score, best.score + 1e-9);

  o.beam_size = 1;
  auto greedy = decode(*model, {src}, o)[0][0];
  // Independent check: the teacher-forced forward's argmax at every position.
  NoGrad no_grad;
  std::vector<int64_t> dec = {2};
  for (int32_t t : greedy.tokens) dec.push_back(t);
  Tensor logits =
      model
          ->forward(Tensor::from_vector(std::vector<int64_t>(src.begin(), src.end()), {1, 4}),
                    Tensor::from_vector(dec, {1, static_cast<int64_t>(dec.size())}))
          .logits;
  std::vector<int64_t> arg = argmax(logits.select(0, 0), -1).to_vector<int64_t>();
  for (size_t i = 0; i < greedy.tokens.size(); ++i) EXPECT_EQ(arg[i], greedy.tokens[i]);
  if (greedy.finished) {
    EXPECT_EQ(arg[greedy.tokens.size()], 2);
  }
}

TEST(BeamSearch, BatchingAndSortingAreInvisible) {
  auto model = tiny_model(11, 9);
  std::vector<std::vector<int32_t>> sources = {
      {4, 2}, {5, 6, 7, 8, 9, 2}, {10, 3, 2}, {4, 4, 5, 2}, {9, 2}};
  DecodeOptions o;
  o.beam_size = 3;
  o.num_return = 2;
  o.batch_size = 2;
  auto together = decode(*model, sources, o);
  for (size_t i = 0; i < sources.size(); ++i) {
    auto alone = decode(*model, {sources[i]}, o)[0];
    ASSERT_EQ(alone.size(), together[i].size());
    for (size_t k = 0; k < alone.size(); ++k) {
      EXPECT_EQ(alone[k].tokens, together[i][k].tokens);
      EXPECT_NEAR(alone[k].score, together[i][k].score, 1e-5);
    }
  }
}

TEST(BeamSearch, ConstraintsHold) {
  auto model = tiny_model(8, 3);
  DecodeOptions o;
  o.beam_size = 4;
  o.forced_prefix = {6};
  o.no_repeat_ngram_size = 1;  // no token twice
  o.min_length = 3;
  o.max_length_ratio = 1.0;
  o.max_length_offset = 2;
  std::vector<int32_t> src = {3, 4, 5, 2};
  auto hyps = decode(*model, {src}, o)[0];
  ASSERT_FALSE(hyps.empty());
  const auto& t = hyps[0].tokens;
  EXPECT_EQ(t[0], 6);
  EXPECT_LE(static_cast<int64_t>(t.size()) + (hyps[0].finished ? 1 : 0), 4 + 2);
  if (hyps[0].finished) {
    EXPECT_GE(static_cast<int64_t>(t.size()), 3);
  }
  std::vector<int32_t> sorted = t;
  sorted.insert(sorted.begin(), 2);  // the decoder start token counts as history too
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());

  EXPECT_EQ(banned_ngram_tokens({1, 2, 3, 1, 2}, 3), std::vector<int32_t>{3});
  EXPECT_EQ(banned_ngram_tokens({1, 2, 1, 2}, 2), std::vector<int32_t>{1});  // "2 1" was seen
  EXPECT_TRUE(banned_ngram_tokens({1, 2}, 0).empty());

  DecodeOptions bad;
  bad.beam_size = 2;
  bad.num_return = 3;
  EXPECT_THROW(decode(*model, {src}, bad), Error);
  EXPECT_THROW(decode(*model, {{}}, DecodeOptions{}), Error);
}

TEST(Sampling, SeededAndDifferentFromGreedySometimes) {
  auto model = tiny_model(12, 4);
  DecodeOptions o;
  o.beam_size = 1;
  o.sample = true;
  o.sampling.temperature = 1.5;
  o.sampling.seed = 7;
  std::vector<std::vector<int32_t>> sources(6, std::vector<int32_t>{5, 6, 7, 2});
  auto a = decode(*model, sources, o), b = decode(*model, sources, o);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i][0].tokens, b[i][0].tokens);
  bool any_differs = false;
  for (size_t i = 1; i < a.size(); ++i) any_differs |= a[i][0].tokens != a[0][0].tokens;
  EXPECT_TRUE(any_differs) << "per-sentence seeds should give different draws";
}

}  // namespace
}  // namespace tessera::infer
