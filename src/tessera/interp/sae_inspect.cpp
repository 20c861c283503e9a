#include "tessera/interp/sae_inspect.h"

#include <algorithm>
#include <memory>

#include "tessera/core/autograd.h"
#include "tessera/core/error.h"
#include "tessera/core/progress.h"
#include "tessera/interp/harvest.h"
#include "tessera/train/data_loader.h"

namespace tessera::interp {

namespace {

struct Candidate {
  float activation;
  int64_t token_index;
  bool operator>(const Candidate& o) const {
    return activation != o.activation ? activation > o.activation : token_index < o.token_index;
  }
};

}  // namespace

InspectReport inspect_latents(models::CausalLM& model, const train::TokenDataset& data,
                              const TopKSae& sae, const InspectOptions& options) {
  NoGrad no_grad;
  check_hook_point(model, options.layer, options.site);
  TESSERA_CHECK_INPUT(options.tokens > 0 && options.top > 0, "--tokens and --top must be positive");
  const int64_t n = sae.n(), d = sae.d();
  const int64_t seq_len = std::min(options.seq_len, std::max<int64_t>(data.num_tokens() - 1, 1));
  train::PackedBatches batches(data,
                               {.batch_size = options.batch, .seq_len = seq_len, .shuffle = false});
  // Per latent: a min-heap of its best `top` tokens, and its activation values (at most k per
  // token), binned into the histogram once the maximum is known, without a second model pass.
  std::vector<std::vector<Candidate>> heaps(static_cast<size_t>(n));
  std::vector<std::vector<float>> values(static_cast<size_t>(n));
  std::unique_ptr<Progress> progress;
  if (options.progress) progress = std::make_unique<Progress>("sae inspect", options.tokens, "tok");
  InspectReport report;
  report.latents = n;
  train::TokenBatch batch;
  while (report.tokens < options.tokens && batches.next(batch)) {
    Tensor acts = capture_activations(model, batch.inputs_tensor(), options.layer, options.site);
    TESSERA_CHECK_INPUT(acts.size(-1) == d,
                        "the model's activation is {} wide but the SAE expects d_in = {}",
                        acts.size(-1), d);
    const int64_t rows = std::min(batch.rows * batch.seq_len, options.tokens - report.tokens);
    std::vector<float> x_norm(static_cast<size_t>(rows * d));
    RowNormalization stats;
    sae.normalize(acts.data<float>(), rows, x_norm.data(), &stats);
    SparseCodes codes = sae.encode_normalized(x_norm.data(), rows);
    for (int64_t r = 0; r < rows; ++r) {
      // Row r is token (r % seq_len) of window batch.windows[r / seq_len].
      const int64_t token_index =
          batch.windows[r / batch.seq_len] * batch.seq_len + r % batch.seq_len;
      for (int64_t j = 0; j < codes.k; ++j) {
        const int32_t l = codes.indices[r * codes.k + j];
        const float a = codes.values[r * codes.k + j];
        if (l < 0 || a <= 0) continue;
        values[l].push_back(a);
        auto& heap = heaps[l];
        const Candidate c{a, token_index};
        auto worse_first = [](const Candidate& x, const Candidate& y) { return x > y; };
        if (static_cast<int64_t>(heap.size()) < options.top) {
          heap.push_back(c);
          std::push_heap(heap.begin(), heap.end(), worse_first);
        } else if (c > heap.front()) {
          std::pop_heap(heap.begin(), heap.end(), worse_first);
          heap.back() = c;
          std::push_heap(heap.begin(), heap.end(), worse_first);
        }
      }
    }
    report.tokens += rows;
    if (progress) progress->set(report.tokens);
  }
  if (progress) progress->finish();

  report.summaries.resize(static_cast<size_t>(n));
  for (int64_t l = 0; l < n; ++l) {
    LatentSummary& s = report.summaries[l];
    s.latent = l;
    s.fired = static_cast<int64_t>(values[l].size());
    s.histogram.assign(kHistogramBins, 0);
    for (float v : values[l]) s.max_activation = std::max(s.max_activation, v);
    for (float v : values[l]) {
      const int bin =
          std::min(kHistogramBins - 1, static_cast<int>(v / s.max_activation * kHistogramBins));
      ++s.histogram[bin];
    }
    auto heap = heaps[l];
    std::sort(heap.begin(), heap.end(),
              [](const Candidate& a, const Candidate& b) { return a > b; });
    for (const Candidate& c : heap) {
      LatentExample e;
      e.activation = c.activation;
      e.token_index = c.token_index;
      const int64_t begin = std::max<int64_t>(0, c.token_index - options.context_before);
      const int64_t end =
          std::min<int64_t>(data.num_tokens(), c.token_index + options.context_after + 1);
      e.context = data.read(begin, end - begin);
      e.marked = c.token_index - begin;
      s.top.push_back(std::move(e));
    }
  }
  return report;
}

std::string format_latent(const LatentSummary& s,
                          const std::function<std::string(int32_t)>& token_text) {
  std::string out = fmt::format("latent {}: fired on {} tokens, max activation {:.4g}\n", s.latent,
                                s.fired, s.max_activation);
  for (const LatentExample& e : s.top) {
    std::string line;
    for (size_t i = 0; i < e.context.size(); ++i) {
      const std::string t = token_text(e.context[i]);
      line += static_cast<int64_t>(i) == e.marked ? "[[" + t + "]]" : t;
    }
    for (char& ch : line) {
      if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
    }
    out += fmt::format("  {:8.4f}  {}\n", e.activation, line);
  }
  return out;
}

nlohmann::json latent_json(const LatentSummary& s,
                           const std::function<std::string(int32_t)>& token_text) {
  nlohmann::json examples = nlohmann::json::array();
  for (const LatentExample& e : s.top) {
    nlohmann::json tokens = nlohmann::json::array();
    for (int32_t id : e.context) tokens.push_back(token_text(id));
    examples.push_back({{"activation", e.activation},
                        {"token_index", e.token_index},
                        {"tokens", tokens},
                        {"marked", e.marked}});
  }
  return {{"latent", s.latent},
          {"fired", s.fired},
          {"max_activation", s.max_activation},
          {"histogram", s.histogram},
          {"examples", examples}};
}

}  // namespace tessera::interp
