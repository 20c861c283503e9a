#include "tessera/models/hgrn_bit.h"

#include <algorithm>
#include <cmath>

#include "tessera/core/autograd.h"

namespace tessera::models {

namespace {

struct HgrnBitState : DecodeState {
  std::vector<Tensor> layers;  // h per layer, [hidden] (undefined before the first token)
  int64_t consumed = 0;
  int64_t length() const override { return consumed; }
};

void check_ids(const Tensor& ids) {
  TESSERA_CHECK_INPUT(ids.dim() == 2, "model input ids must be [batch, tokens], got {}",
                      shape_str(ids.shape()));
}

// xavier_uniform_ with gain 2^-2.5, as HGRNBitAttention initialises its projections.
void xavier_init(nn::BitLinear& layer, Generator& gen) {
  const double bound = std::pow(2.0, -2.5) *
                       std::sqrt(6.0 / static_cast<double>(layer.in_features + layer.out_features));
  layer.weight = rand_uniform({layer.out_features, layer.in_features}, -bound, bound, gen);
}

}  // namespace

HgrnBitModel::HgrnBitModel(const HgrnBitConfig& config, uint64_t seed) : config_(config) {
  Generator gen(seed);
  const double std = config.initializer_range;
  const int64_t d = config.hidden_size, inter = config.effective_intermediate_size();
  const int64_t L = config.num_hidden_layers;
  const bool packed = config.packing != nn::TernaryPacking::none;
  if (!packed) {
    embeddings_ = rand_normal({config.vocab_size, d}, 0.0, std, gen);
  } else if (config.embedding_storage == "int8") {
    embeddings_ = Tensor::zeros({config.vocab_size, d}, DType::i8);
    embedding_scales_ = Tensor::ones({config.vocab_size});
  } else {
    embeddings_ = Tensor::zeros({config.vocab_size, d}, DType::bf16);
  }
  if (config.use_lower_bound) lower_bounds_ = Tensor::zeros({L, d});
  for (int64_t i = 0; i < L; ++i) {
    HgrnBitBlock block;
    block.attn_norm = nn::RMSNorm::create(d, config.rms_norm_eps);
    block.mlp_norm = nn::RMSNorm::create(d, config.rms_norm_eps);
    if (packed) {
      auto p = [&](int64_t in, int64_t out) {
        return nn::BitLinear::create_packed(in, out, config.packing);
      };
      block.attn.i_proj = p(d, d);
      block.attn.f_proj = p(d, d);
      block.attn.g_proj = p(d, d);
      block.attn.o_proj = p(d, d);
      block.attn.g_norm_weight = Tensor::ones({d});
      block.attn.g_norm_eps = config.rms_norm_eps;
      block.mlp = {p(d, 2 * inter), p(inter, d)};
    } else {
      block.attn = nn::MlgruTokenMixer::create(d, std, config.rms_norm_eps, gen);
      for (nn::BitLinear* l :
           {&block.attn.i_proj, &block.attn.f_proj, &block.attn.g_proj, &block.attn.o_proj}) {
        xavier_init(*l, gen);
      }
      block.mlp = nn::BitGluMlp::create(d, inter, std, gen);
      // GPT-2 style residual scaling of down_proj by 1 / sqrt(2 * layers), as upstream.
      block.mlp.down_proj.weight =
          mul(block.mlp.down_proj.weight, 1.0 / std::sqrt(2.0 * static_cast<double>(L)));
    }
    layers_.push_back(std::move(block));
  }
  norm_ = nn::RMSNorm::create(d, config.rms_norm_eps);
  lm_head_ = packed ? nn::BitLinear::create_packed(d, config.vocab_size, config.packing)
                    : nn::BitLinear::create(d, config.vocab_size, std, gen);
}

Tensor HgrnBitModel::embed(const Tensor& ids) const {
  const DType storage = embeddings_.dtype();
  if (storage != DType::bf16 && storage != DType::i8) return embedding(embeddings_, ids);
  // Packed folders: gather the rows, widen only those.
  Tensor idx = ids.to(DType::i64).contiguous();
  const int64_t n = idx.numel(), d = config_.hidden_size;
  const int64_t* pi = idx.data<int64_t>();
  Tensor table = embeddings_.contiguous();
  Tensor scales = embedding_scales_.defined() ? embedding_scales_.contiguous() : Tensor();
  Tensor out = Tensor::empty({n, d});
  float* po = out.data<float>();
  for (int64_t k = 0; k < n; ++k) {
    TESSERA_CHECK_INPUT(pi[k] >= 0 && pi[k] < config_.vocab_size,
                        "token id {} outside the vocabulary of {}", pi[k], config_.vocab_size);
    if (storage == DType::bf16) {
      const uint16_t* src = static_cast<const uint16_t*>(table.raw_data()) + pi[k] * d;
      for (int64_t c = 0; c < d; ++c) po[k * d + c] = bf16_to_f32(src[c]);
    } else {
      const int8_t* src = table.data<int8_t>() + pi[k] * d;
      const float scale = scales.data<float>()[pi[k]];
      for (int64_t c = 0; c < d; ++c) po[k * d + c] = static_cast<float>(src[c]) * scale;
    }
  }
  Shape shape = ids.shape();
  shape.push_back(d);
  return out.reshape(shape);
}

Tensor HgrnBitModel::layer_lower_bounds() const {
  if (!lower_bounds_.defined()) return Tensor();
  // softmax over layers, cumulative sum, minus the first: layer 0 gets 0, deeper layers more.
  Tensor p = softmax(lower_bounds_, 0);
  return sub(cumsum(p, 0), p.select(0, 0));
}

Tensor HgrnBitModel::run_blocks(Tensor x, int64_t stop_after, std::vector<Tensor>* states) {
  Tensor bounds = layer_lower_bounds();
  for (int64_t i = 0; i < static_cast<int64_t>(layers_.size()); ++i) {
    if (stop_after >= 0 && i > stop_after) break;
    const HgrnBitBlock& block = layers_[i];
    Tensor lb = bounds.defined() && i > 0 ? bounds.select(0, i) : Tensor();
    Tensor h = block.attn.forward(block.attn_norm.forward(x), lb, states ? &(*states)[i] : nullptr);
    x = add(x, h);
    x = add(x, block.mlp.forward(block.mlp_norm.forward(x)));
  }
  return x;
}

Tensor HgrnBitModel::forward(const Tensor& ids) {
  check_ids(ids);
  return lm_head_.forward(norm_.forward(run_blocks(embed(ids), -1, nullptr)));
}

Tensor HgrnBitModel::hidden_states(const Tensor& ids, int64_t layer) {
  check_ids(ids);
  TESSERA_CHECK_INPUT(layer >= 0 && layer <= num_layers(), "layer {} outside [0, {}]", layer,
                      num_layers());
  if (layer == num_layers()) return norm_.forward(run_blocks(embed(ids), -1, nullptr));
  return run_blocks(embed(ids), layer, nullptr);
}

std::unique_ptr<DecodeState> HgrnBitModel::new_state() const {
  auto state = std::make_unique<HgrnBitState>();
  state->layers.resize(layers_.size());
  return state;
}

Tensor HgrnBitModel::forward_step(const Tensor& ids, const std::vector<DecodeState*>& states) {
  NoGrad no_grad;
  check_ids(ids);
  const int64_t B = ids.size(0), T = ids.size(1), d = config_.hidden_size;
  TESSERA_CHECK(static_cast<int64_t>(states.size()) == B, "forward_step: {} states for batch {}",
                states.size(), B);
  std::vector<HgrnBitState*> typed;
  for (DecodeState* s : states) {
    auto* state = dynamic_cast<HgrnBitState*>(s);
    TESSERA_CHECK(state != nullptr, "forward_step: state of another model type");
    typed.push_back(state);
  }
  // Per layer, the sequences' states stacked into [B, hidden] (zeros for a fresh sequence).
  std::vector<Tensor> stacked(layers_.size());
  for (size_t l = 0; l < layers_.size(); ++l) {
    std::vector<Tensor> rows;
    for (HgrnBitState* s : typed) {
      rows.push_back(s->layers[l].defined() ? s->layers[l].unsqueeze(0) : Tensor::zeros({1, d}));
    }
    stacked[l] = concat(rows, 0);
  }
  Tensor x = run_blocks(embed(ids), -1, &stacked);
  for (size_t l = 0; l < layers_.size(); ++l) {
    for (int64_t b = 0; b < B; ++b) typed[b]->layers[l] = stacked[l].select(0, b).contiguous();
  }
  for (HgrnBitState* s : typed) s->consumed += T;
  return lm_head_.forward(norm_.forward(x.select(1, T - 1)));
}

nn::ParameterRefs HgrnBitModel::parameters() {
  nn::ParameterRefs out;
  out.emplace_back("model.embeddings.weight", &embeddings_);
  if (embedding_scales_.defined())
    out.emplace_back("model.embeddings.weight_scale", &embedding_scales_);
  if (lower_bounds_.defined()) out.emplace_back("model.lower_bounds", &lower_bounds_);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    layers_[i].attn_norm.parameters(p + "attn_norm.", out);
    layers_[i].attn.parameters(p + "attn.", out);
    layers_[i].mlp_norm.parameters(p + "mlp_norm.", out);
    layers_[i].mlp.parameters(p + "mlp.", out);
  }
  norm_.parameters("model.norm.", out);
  lm_head_.parameters("lm_head.", out);
  return out;
}

std::vector<std::pair<std::string, const nn::BitLinear*>> HgrnBitModel::bit_linears() const {
  std::vector<std::pair<std::string, const nn::BitLinear*>> out;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const auto& b = layers_[i];
    out.emplace_back(p + "attn.i_proj", &b.attn.i_proj);
    out.emplace_back(p + "attn.f_proj", &b.attn.f_proj);
    out.emplace_back(p + "attn.g_proj", &b.attn.g_proj);
    out.emplace_back(p + "attn.o_proj", &b.attn.o_proj);
    out.emplace_back(p + "mlp.gate_proj", &b.mlp.gate_proj);
    out.emplace_back(p + "mlp.down_proj", &b.mlp.down_proj);
  }
  out.emplace_back("lm_head", &lm_head_);
  return out;
}

int64_t HgrnBitModel::resident_weight_bytes() {
  int64_t bytes = 0;
  for (auto& [name, tensor] : parameters()) bytes += static_cast<int64_t>(tensor->nbytes());
  if (!is_packed()) {
    // Inference on latent weights keeps one ternarized f32 copy per BitLinear as well.
    for (auto& [name, layer] : bit_linears()) bytes += layer->out_features * layer->in_features * 4;
  }
  return bytes;
}

std::unique_ptr<HgrnBitModel> HgrnBitModel::quantized(nn::TernaryPacking packing,
                                                      const std::string& embedding_storage) const {
  TESSERA_CHECK(packing != nn::TernaryPacking::none, "quantized: a packing is required");
  TESSERA_CHECK_INPUT(embedding_storage == "bf16" || embedding_storage == "int8",
                      "embedding storage \"{}\" is not supported (bf16 or int8)",
                      embedding_storage);
  HgrnBitConfig config = config_;
  config.packing = packing;
  config.embedding_storage = embedding_storage;
  auto out = std::make_unique<HgrnBitModel>(config, 0);
  NoGrad no_grad;
  // Rows as f32 (an already packed source is widened first, so nothing is quantized twice
  // beyond its own rounding).
  Tensor rows = embed(Tensor::arange(config_.vocab_size)).contiguous();
  if (embedding_storage == "bf16") {
    out->embeddings_ = rows.to(DType::bf16).contiguous();
  } else {
    // Per-row absmax int8: scale = max|row| / 127.
    const int64_t V = config_.vocab_size, d = config_.hidden_size;
    const float* src = rows.data<float>();
    int8_t* dst = out->embeddings_.data<int8_t>();
    float* scales = out->embedding_scales_.data<float>();
    for (int64_t v = 0; v < V; ++v) {
      float max_abs = 0;
      for (int64_t c = 0; c < d; ++c) max_abs = std::max(max_abs, std::fabs(src[v * d + c]));
      const float scale = max_abs > 0 ? max_abs / 127.0f : 1.0f;
      for (int64_t c = 0; c < d; ++c) {
        dst[v * d + c] =
            static_cast<int8_t>(std::clamp(std::round(src[v * d + c] / scale), -127.0f, 127.0f));
      }
      scales[v] = scale;
    }
  }
  if (lower_bounds_.defined()) out->lower_bounds_ = lower_bounds_.detach().clone();
  for (size_t i = 0; i < layers_.size(); ++i) {
    const HgrnBitBlock& from = layers_[i];
    HgrnBitBlock& to = out->layers_[i];
    to.attn_norm.weight = from.attn_norm.weight.detach().clone();
    to.mlp_norm.weight = from.mlp_norm.weight.detach().clone();
    to.attn.i_proj = from.attn.i_proj.packed(packing);
    to.attn.f_proj = from.attn.f_proj.packed(packing);
    to.attn.g_proj = from.attn.g_proj.packed(packing);
    to.attn.o_proj = from.attn.o_proj.packed(packing);
    to.attn.g_norm_weight = from.attn.g_norm_weight.detach().clone();
    to.mlp.gate_proj = from.mlp.gate_proj.packed(packing);
    to.mlp.down_proj = from.mlp.down_proj.packed(packing);
  }
  out->norm_.weight = norm_.weight.detach().clone();
  out->lm_head_ = lm_head_.packed(packing);
  return out;
}

}  // namespace tessera::models
