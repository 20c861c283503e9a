#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "../common/byte_tokenizer.h"
#include "tessera/infer/chat.h"
#include "tessera/infer/generate.h"
#include "tessera/text/loaders.h"

namespace tessera::infer {
namespace {

// The 256 byte tokens and "<eos>" = 256: enough to decode any id sequence of a small random model.
std::unique_ptr<text::Tokenizer> byte_tokenizer() {
  return text::parse_hf_tokenizer_json(testing::byte_tokenizer_json().dump(), "test tokenizer.json");
}

std::unique_ptr<models::CausalLM> tiny_model(uint64_t seed) {
  nlohmann::json c = {{"model_type", "llama"},      {"vocab_size", 257},     {"hidden_size", 16},
                      {"intermediate_size", 32},    {"num_hidden_layers", 2}, {"num_attention_heads", 2},
                      {"num_key_value_heads", 1},   {"max_position_embeddings", 128},
                      {"initializer_range", 0.5}};
  return models::create_model(c, seed);
}

TEST(Sampler, GreedyPicksTheArgmax) {
  Sampler s({.temperature = 0.0});
  std::vector<float> logits = {0.1f, 2.0f, -1.0f, 1.9f};
  EXPECT_EQ(s.sample(logits, {}), 1);
  EXPECT_NEAR(s.last_logprobs()[1], std::log(std::exp(2.0) / (std::exp(0.1) + std::exp(2.0) + std::exp(-1.0) + std::exp(1.9))), 1e-6);
}

TEST(Sampler, TopKTopPMinPRestrictTheCandidates) {
  std::vector<float> logits = {3.0f, 2.9f, 0.0f, -5.0f};
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Sampler k({.top_k = 2, .seed = seed});
    EXPECT_LT(k.sample(logits, {}), 2);
    Sampler p({.top_p = 0.5, .seed = seed});
    EXPECT_EQ(p.sample(logits, {}), 0);  // the first token alone holds > 50%
    Sampler m({.min_p = 0.5, .seed = seed});
    EXPECT_LT(m.sample(logits, {}), 2);
  }
}

// The distribution the sampler draws from, computed the plain way: sort the whole vocabulary,
// softmax, cut by top-k, top-p and min-p, renormalise. The sampler sorts lazily; the kept set
// and probabilities must be the same, including cuts far past its first sorted block.
std::vector<double> reference_distribution(const std::vector<float>& logits, const SamplingParams& p) {
  const int64_t V = static_cast<int64_t>(logits.size());
  std::vector<int32_t> order(V);
  for (int64_t i = 0; i < V; ++i) order[i] = static_cast<int32_t>(i);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  int64_t keep = p.top_k > 0 ? std::min<int64_t>(p.top_k, V) : V;
  const double mx = logits[order[0]] / p.temperature;
  double total = 0;
  for (int64_t i = 0; i < keep; ++i) total += std::exp(logits[order[i]] / p.temperature - mx);
  auto prob = [&](int64_t r) { return std::exp(logits[order[r]] / p.temperature - mx) / total; };
  if (p.top_p < 1.0) {
    double mass = 0;
    for (int64_t i = 0; i < keep; ++i) {
      mass += prob(i);
      if (mass >= p.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (p.min_p > 0.0) {
    int64_t cut = 1;
    while (cut < keep && prob(cut) >= p.min_p * prob(0)) ++cut;
    keep = cut;
  }
  double kept = 0;
  for (int64_t i = 0; i < keep; ++i) kept += prob(i);
  std::vector<double> dist(V, 0.0);
  for (int64_t i = 0; i < keep; ++i) dist[order[i]] = prob(i) / kept;
  return dist;
}

TEST(Sampler, LazySortingKeepsTheSameDistribution) {
  Generator gen(3);
  for (double spread : {0.05, 1.0, 8.0}) {  // flat logits push the top-p cut past 64 tokens
    std::vector<float> logits = rand_normal({5000}, 0.0, spread, gen).to_vector<float>();
    logits[17] = logits[18];  // a tie, broken by id
    for (SamplingParams p : {SamplingParams{.temperature = 0.7, .top_p = 0.9},
                             SamplingParams{.temperature = 1.0, .min_p = 0.05},
                             SamplingParams{.temperature = 1.3, .top_p = 0.95, .min_p = 0.01},
                             SamplingParams{.temperature = 1.0, .top_k = 300, .top_p = 0.5},
                             SamplingParams{.temperature = 1.0}}) {
      Sampler sampler(p);
      const int32_t token = sampler.sample(logits, {});
      std::vector<double> expected = reference_distribution(logits, p);
      const std::vector<float>& got = sampler.last_logprobs();
      ASSERT_EQ(got.size(), expected.size());
      for (size_t i = 0; i < expected.size(); ++i) {
        if (expected[i] == 0.0) {
          ASSERT_TRUE(std::isinf(got[i]) && got[i] < 0) << "token " << i << " spread " << spread;
        } else {
          ASSERT_NEAR(std::exp(got[i]), expected[i], 1e-6 + 1e-4 * expected[i]) << "token " << i << " spread " << spread;
        }
      }
      EXPECT_GT(expected[token], 0.0);
    }
  }
}

TEST(Streaming, HoldsBackStopPrefixesAndUnfinishedUtf8) {
  EXPECT_EQ(streaming_hold_back("hello", {}), 0u);
  EXPECT_EQ(streaming_hold_back("ab\xC3", {}), 1u);          // lead byte of a 2-byte character
  EXPECT_EQ(streaming_hold_back("a\xE2\x82", {}), 2u);      // 2 of the 3 bytes of the euro sign
  EXPECT_EQ(streaming_hold_back("a\xE2\x82\xAC", {}), 0u);  // complete
  EXPECT_EQ(streaming_hold_back("x\xF0\x9F\x98", {}), 3u);  // 3 of 4
  EXPECT_EQ(streaming_hold_back("say ST", {"STOP"}), 2u);
  EXPECT_EQ(streaming_hold_back("say S", {"STOP", "Sx"}), 1u);
  EXPECT_EQ(streaming_hold_back("ok \xEF\xBF\xBD", {}), 3u);  // U+FFFD from a partial decode
}

TEST(Sampler, SeedReproducesAndPenaltiesApply) {
  std::vector<float> logits(50, 0.0f);
  std::vector<int32_t> a, b;
  Sampler s1({.seed = 9}), s2({.seed = 9});
  for (int i = 0; i < 20; ++i) {
    a.push_back(s1.sample(logits, {}));
    b.push_back(s2.sample(logits, {}));
  }
  EXPECT_EQ(a, b);
  std::vector<float> two = {1.0f, 1.0f};
  std::vector<int32_t> history = {0, 0};
  Sampler pen({.temperature = 0.0, .frequency_penalty = 0.3});
  EXPECT_EQ(pen.sample(two, history), 1);
  Sampler bias({.temperature = 0.0, .logit_bias = {{0, 5.0}}});
  EXPECT_EQ(bias.sample(std::vector<float>{0.0f, 4.0f}, {}), 0);
  Sampler rep({.temperature = 0.0, .repetition_penalty = 2.0});
  EXPECT_EQ(rep.sample(std::vector<float>{2.0f, 1.5f}, std::vector<int32_t>{0}), 1);  // 2/2 < 1.5
  EXPECT_THROW(Sampler({.temperature = -1}), Error);
}

TEST(Generate, BatchedEqualsOneByOneAndStopsWork) {
  auto model = tiny_model(1);
  auto tok = byte_tokenizer();
  std::vector<GenerationRequest> reqs(3);
  reqs[0].prompt = {72, 105};
  reqs[1].prompt = {1, 2, 3, 4, 5};
  reqs[2].prompt = {100};
  for (auto& r : reqs) {
    r.max_tokens = 6;
    r.sampling.temperature = 0.0;
  }
  reqs[2].sampling = {.temperature = 0.8, .top_k = 20, .seed = 3};
  auto together = generate(*model, tok.get(), reqs);
  for (size_t i = 0; i < reqs.size(); ++i) {
    auto alone = generate(*model, tok.get(), {reqs[i]});
    EXPECT_EQ(alone[0].tokens, together[i].tokens) << i;
    EXPECT_EQ(together[i].tokens.size(), 6u);
    EXPECT_STREQ(finish_reason_name(together[i].finish), "length");
  }
  // Stop id: generation ends before the stop token.
  GenerationRequest stop = reqs[0];
  stop.stop_ids = {together[0].tokens[2]};
  auto stopped = generate(*model, tok.get(), {stop});
  EXPECT_EQ(stopped[0].finish, FinishReason::stop);
  EXPECT_EQ(stopped[0].tokens.size(), 2u);
  // Stop string: the text is cut where it appears.
  std::string full = together[1].text;
  ASSERT_GE(full.size(), 3u);
  GenerationRequest stop_text = reqs[1];
  stop_text.stop_strings = {full.substr(2, 1)};
  auto cut = generate(*model, tok.get(), {stop_text});
  EXPECT_EQ(cut[0].finish, FinishReason::stop);
  EXPECT_EQ(cut[0].text, full.substr(0, full.find(full.substr(2, 1))));
}

TEST(Generate, StreamingDeliversTheWholeTextAndCanCancel) {
  auto model = tiny_model(2);
  auto tok = byte_tokenizer();
  GenerationRequest r;
  r.prompt = {65, 66};
  r.max_tokens = 8;
  r.sampling.temperature = 0.0;
  std::string streamed;
  auto res = generate(*model, tok.get(), {r}, [&](size_t, std::string_view d) {
    streamed += d;
    return true;
  });
  EXPECT_EQ(streamed, res[0].text);
  int calls = 0;
  auto cancelled = generate(*model, tok.get(), {r}, [&](size_t, std::string_view) { return ++calls < 2; });
  EXPECT_EQ(cancelled[0].finish, FinishReason::cancelled);
  EXPECT_THROW(generate(*model, tok.get(), {GenerationRequest{}}), Error);
}

TEST(Score, LogProbsMatchTheFullForward) {
  auto model = tiny_model(3);
  std::vector<int32_t> prompt = {5, 6, 7}, cont = {8, 9};
  std::vector<double> lp = score_continuation(*model, prompt, cont);
  ASSERT_EQ(lp.size(), 2u);
  Tensor logits = model->forward(Tensor::from_vector<int64_t>({5, 6, 7, 8}, {1, 4}));
  std::vector<float> row(257);
  for (int v = 0; v < 257; ++v) row[v] = static_cast<float>(logits.at({0, 3, v}));
  EXPECT_NEAR(lp[1], log_probabilities(row)[9], 1e-5);
  // Greedy generation's token log-probs equal scoring the same continuation.
  GenerationRequest r{.prompt = prompt, .max_tokens = 3, .sampling = {.temperature = 0.0}};
  auto g = generate(*model, nullptr, {r});
  std::vector<double> scored = score_continuation(*model, prompt, g[0].tokens);
  for (size_t i = 0; i < scored.size(); ++i) EXPECT_NEAR(scored[i], g[0].token_logprobs[i], 1e-4);
}

TEST(Chat, TemplatesAreExact) {
  std::vector<ChatMessage> m = {{"system", "Be brief."}, {"user", " Hi \n"}, {"assistant", "Hello."}, {"user", "Bye"}};
  EXPECT_EQ(apply_chat_template(ChatTemplate::llama3, m),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(apply_chat_template(ChatTemplate::chatml, {{"user", "Hi"}}),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(apply_chat_template(ChatTemplate::mistral, m),
            "<s>[INST] Be brief.\n\n Hi \n [/INST]Hello.</s>[INST] Bye [/INST]");
  EXPECT_EQ(detect_chat_template("{% ... '<|im_start|>' + message['role'] %}"), ChatTemplate::chatml);
  EXPECT_FALSE(detect_chat_template("{{ messages }}").has_value());
  EXPECT_THROW(apply_chat_template(ChatTemplate::chatml, {{"robot", "x"}}), Error);
  ChatTemplate t;
  EXPECT_TRUE(parse_chat_template("mistral", t));
  EXPECT_FALSE(parse_chat_template("alpaca", t));
}

}  // namespace
}  // namespace tessera::infer
