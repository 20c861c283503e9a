#pragma once
// The TopK sparse autoencoder of Gao et al. (2024), "Scaling and evaluating sparse
// autoencoders": z = ReLU(TopK(W_enc (x - b_pre) + b_enc)), x_hat = W_dec z + b_pre, with
// unit-norm decoder rows. Parameters live in plain float vectors (row per latent for both
// W_enc and W_dec) because every hot path is a fused kernel (kernels/cpu/topk_sae.h) that owns
// its backward; tensors appear only at the file boundary (sae_format.h).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessera::interp {

// How inputs are brought to a common scale before encoding (undone after decoding).
enum class SaeNormalization {
  none,
  layer_norm,  // per token: subtract the mean, divide by the std (the released GPT-2 SAEs)
  scale,       // one factor so that E||x||^2 = d over the training data
};
SaeNormalization parse_normalization(const std::string& name);  // BadInput on others
std::string normalization_name(SaeNormalization normalization);

struct SaeConfig {
  int64_t d_in = 0;
  int64_t n_latents = 0;
  int64_t k = 0;
  SaeNormalization normalization = SaeNormalization::none;
  double input_scale = 1.0;  // the factor of SaeNormalization::scale
  // Where the activations came from (written into cfg.json, used by eval/inspect).
  std::string model_name;
  int64_t hook_layer = -1;
  std::string hook_site = "resid_post";
  // Checks sizes; BadInput naming the field.
  void validate() const;
};

// k (index, value) slots per token; index -1 marks an empty slot (value 0).
struct SparseCodes {
  int64_t rows = 0;
  int64_t k = 0;
  std::vector<int32_t> indices;
  std::vector<float> values;
  void resize(int64_t rows, int64_t k);
  int64_t active(int64_t row) const;  // non-empty slots of a row
};

// Per-token statistics of the layer_norm input normalisation, kept to undo it.
struct RowNormalization {
  std::vector<float> mean, std;
};

class TopKSae {
 public:
  TopKSae() = default;
  // Tied initialisation: W_enc rows uniform in +-1/sqrt(d) (nn.Linear's default), W_dec =
  // W_enc with unit-norm rows, biases zero.
  static TopKSae initialize(const SaeConfig& config, uint64_t seed);
  // Takes ownership of loaded parameters; checks their sizes.
  static TopKSae from_parameters(const SaeConfig& config, std::vector<float> W_enc,
                                 std::vector<float> b_enc, std::vector<float> W_dec,
                                 std::vector<float> b_pre);

  const SaeConfig& config() const { return config_; }
  SaeConfig& mutable_config() { return config_; }
  int64_t d() const { return config_.d_in; }
  int64_t n() const { return config_.n_latents; }
  int64_t k() const { return config_.k; }

  // Parameters: W_enc [n, d], b_enc [n], W_dec [n, d], b_pre [d].
  std::vector<float> W_enc, b_enc, W_dec, b_pre;

  // x [rows, d] raw -> normalised copy in `out` (stats filled for layer_norm).
  void normalize(const float* x, int64_t rows, float* out, RowNormalization* stats) const;
  // Undoes normalize() in place on a reconstruction.
  void denormalize(float* x_hat, int64_t rows, const RowNormalization* stats) const;

  // Codes of normalised inputs with `k` slots (default: the configured k).
  SparseCodes encode_normalized(const float* x_norm, int64_t rows, int64_t k = 0) const;
  // x_hat in normalised space: W_dec z + b_pre.
  void decode_normalized(const SparseCodes& codes, float* x_hat) const;
  // Raw activations in, raw reconstruction out (normalise, encode, decode, undo).
  void reconstruct(const float* x, int64_t rows, float* x_hat, SparseCodes* codes = nullptr) const;

  // Rescales every decoder row to unit length (after each optimizer step).
  void normalize_decoder_rows();
  // Removes from each decoder-row gradient its component along the row (which the following
  // renormalisation would undo anyway), so Adam's moments only see useful directions.
  void project_decoder_gradient(std::vector<float>& grad_W_dec) const;

 private:
  SaeConfig config_;
};

// The geometric median of `rows` points in R^d (Weiszfeld iterations), the paper's b_pre
// initialisation: it minimises the summed distance to the sample and ignores outliers.
std::vector<float> geometric_median(const float* points, int64_t rows, int64_t d,
                                    int max_iterations = 100, double tolerance = 1e-6);

}  // namespace tessera::interp
