#pragma once
// Latent inspection: one pass of a model over a token dataset, encoding the activation at
// the SAE's hook point and keeping, for every latent, its top-activating tokens (with their
// context), its firing count and an activation histogram. The report prints as text or
// becomes a self-contained HTML latent browser (no network, no external files).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/interp/sae.h"
#include "tessera/models/causal_lm.h"
#include "tessera/train/data_dataset.h"

namespace tessera::interp {

struct LatentExample {
  float activation = 0;
  int64_t token_index = 0;  // position of the activating token in the dataset stream
  std::vector<int32_t> context;
  int64_t marked = 0;  // index of the activating token inside `context`
};

inline constexpr int kHistogramBins = 20;

struct LatentSummary {
  int64_t latent = 0;
  int64_t fired = 0;  // tokens on which it was active
  float max_activation = 0;
  std::vector<LatentExample> top;  // largest first
  std::vector<int64_t> histogram;  // kHistogramBins over (0, max_activation]
};

struct InspectOptions {
  int64_t layer = 0;
  std::string site = "resid_post";
  int64_t tokens = 20'000;
  int64_t seq_len = 128;
  int64_t batch = 8;
  int64_t top = 10;  // examples kept per latent
  int64_t context_before = 12, context_after = 4;
  bool progress = false;
};

struct InspectReport {
  int64_t tokens = 0;
  int64_t latents = 0;
  std::vector<LatentSummary> summaries;  // one per latent, index = latent
};

InspectReport inspect_latents(models::CausalLM& model, const train::TokenDataset& data,
                              const TopKSae& sae, const InspectOptions& options);

// Plain-text top contexts of one latent; the activating token is shown as [[token]].
std::string format_latent(const LatentSummary& summary,
                          const std::function<std::string(int32_t)>& token_text);
nlohmann::json latent_json(const LatentSummary& summary,
                           const std::function<std::string(int32_t)>& token_text);

// A self-contained HTML page: search by latent index, latents sorted by firing count, per
// latent its histogram (inline SVG) and top contexts with the activating token marked.
// `max_latents` caps how many latents (most frequent first) the page embeds.
std::string latent_browser_html(const InspectReport& report,
                                const std::function<std::string(int32_t)>& token_text,
                                const std::string& title, int64_t max_latents = 2000);

}  // namespace tessera::interp
