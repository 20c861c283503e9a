#include "tessera/interp/harvest.h"

#include <memory>

#include "tessera/core/autograd.h"
#include "tessera/core/error.h"
#include "tessera/core/progress.h"
#include "tessera/train/data_loader.h"

namespace tessera::interp {

void check_hook_point(models::CausalLM& model, int64_t layer, const std::string& site) {
  TESSERA_CHECK_INPUT(site == "resid_post" || site == "resid_pre" || site == "mlp_out",
                      "--site '{}' (expected resid_post, resid_pre or mlp_out)", site);
  TESSERA_CHECK_INPUT(layer >= 0 && layer < model.num_layers(),
                      "--layer {} outside [0, {}) for this {}-layer model", layer,
                      model.num_layers(), model.num_layers());
}

Tensor capture_activations(models::CausalLM& model, const Tensor& ids, int64_t layer,
                           const std::string& site) {
  NoGrad no_grad;
  check_hook_point(model, layer, site);
  if (site == "resid_post") return model.hidden_states(ids, layer).to(DType::f32).contiguous();
  Tensor captured;
  models::CausalLM::ActivationHook hook{
      .layer = layer, .site = site, .replace = [&](const Tensor& a) {
        captured = a.to(DType::f32).contiguous();
        return a;
      }};
  model.forward_with_hook(ids, hook);
  TESSERA_CHECK(captured.defined(), "the hook at layer {} site {} was never called", layer, site);
  return captured;
}

int64_t harvest(models::CausalLM& model, const train::TokenDataset& data,
                const HarvestOptions& options,
                const std::function<void(const float* rows, int64_t count, int64_t d)>& sink) {
  TESSERA_CHECK_INPUT(options.tokens > 0, "--tokens must be positive, got {}", options.tokens);
  TESSERA_CHECK_INPUT(options.seq_len > 0 && options.batch > 0,
                      "--seq-len and --batch must be positive");
  check_hook_point(model, options.layer, options.site);
  TESSERA_CHECK_INPUT(data.vocab_size() <= model.vocab_size(),
                      "{}: dataset vocabulary {} exceeds the model's {}", data.folder(),
                      data.vocab_size(), model.vocab_size());
  const int64_t seq_len = std::min(options.seq_len, std::max<int64_t>(data.num_tokens() - 1, 1));
  train::PackedBatches batches(data,
                               {.batch_size = options.batch, .seq_len = seq_len, .shuffle = false});
  std::unique_ptr<Progress> progress;
  if (options.progress) progress = std::make_unique<Progress>("sae harvest", options.tokens, "tok");
  int64_t harvested = 0;
  train::TokenBatch batch;
  while (harvested < options.tokens && batches.next(batch)) {
    Tensor acts = capture_activations(model, batch.inputs_tensor(), options.layer, options.site);
    const int64_t d = acts.size(-1);
    const int64_t rows = std::min(batch.rows * batch.seq_len, options.tokens - harvested);
    sink(acts.data<float>(), rows, d);
    harvested += rows;
    if (progress) progress->set(harvested);
  }
  if (progress) progress->finish();
  return harvested;
}

int64_t harvest_to_folder(models::CausalLM& model, const std::string& model_name,
                          const train::TokenDataset& data, const HarvestOptions& options,
                          const std::string& out_dir) {
  std::unique_ptr<ActivationWriter> writer;
  const nlohmann::json metadata = {{"model", model_name},        {"model_type", model.model_type()},
                                   {"layer", options.layer},     {"site", options.site},
                                   {"seq_len", options.seq_len}, {"dataset", data.folder()}};
  const int64_t rows =
      harvest(model, data, options, [&](const float* values, int64_t count, int64_t d) {
        if (!writer)
          writer = std::make_unique<ActivationWriter>(out_dir, d, options.bf16, options.shard_rows,
                                                      metadata);
        writer->append(values, count);
      });
  TESSERA_CHECK_INPUT(writer != nullptr, "{}: the dataset produced no tokens", data.folder());
  writer->finish();
  return rows;
}

}  // namespace tessera::interp
