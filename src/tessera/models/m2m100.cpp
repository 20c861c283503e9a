#include "tessera/models/m2m100.h"

#include <cmath>

#include "tessera/core/autograd.h"

namespace tessera::models {

namespace {

struct EncoderMemory {
  std::vector<std::pair<Tensor, Tensor>> cross_kv;  // per decoder layer, [1, S, H, D] each
  int64_t length = 0;
};

struct M2M100State : Seq2SeqState {
  std::shared_ptr<const EncoderMemory> memory;
  std::vector<nn::LayerKVCache> self;
  int64_t consumed = 0;
  int64_t length() const override { return consumed; }
  int64_t source_length() const override { return memory->length; }
  std::unique_ptr<Seq2SeqState> clone() const override {
    auto copy = std::make_unique<M2M100State>();
    copy->memory = memory;
    copy->consumed = consumed;
    copy->self.resize(self.size());
    for (size_t i = 0; i < self.size(); ++i) {
      if (self[i].k.defined()) {
        copy->self[i].k = self[i].k.clone();
        copy->self[i].v = self[i].v.clone();
      }
      copy->self[i].length = self[i].length;
    }
    return copy;
  }
};

void check_ids(const Tensor& ids, const char* what) {
  TESSERA_CHECK_INPUT(ids.dim() == 2 && ids.size(0) > 0 && ids.size(1) > 0,
                      "{} must be a non-empty [batch, tokens] tensor, got {}", what,
                      shape_str(ids.shape()));
}

}  // namespace

M2M100Model::M2M100Model(const M2M100Config& config, uint64_t seed)
    : config_(config), dropout_gen_(seed ^ 0x5eed) {
  Generator gen(seed);
  const double std = config.init_std;
  const int64_t d = config.d_model;
  shared_ = nn::Embedding::create(config.vocab_size, d, std, gen);
  {
    // nn.Embedding(padding_idx) starts the pad row at zero.
    Tensor pad_row = shared_.weight.select(0, config.pad_token_id);
    pad_row.fill_(0.0);
  }
  auto make_ffn = [&](bool sparse, int64_t ffn_dim) {
    FeedForward f;
    if (sparse) {
      f.moe = nn::MoeFfn::create(d, ffn_dim, config.moe_config(), config.router_bias, std, gen);
    } else {
      f.fc1 = nn::QuantizableLinear::create(d, ffn_dim, true, std, gen);
      f.fc2 = nn::QuantizableLinear::create(ffn_dim, d, true, std, gen);
    }
    return f;
  };
  const double eps = config.layer_norm_eps;
  for (int64_t i = 0; i < config.encoder_layers; ++i) {
    EncoderLayer l;
    l.self_attn = nn::MultiHeadAttention::create(d, config.encoder_attention_heads, std, gen);
    l.self_attn_layer_norm = nn::LayerNorm::create(d, eps);
    l.ffn = make_ffn(config.encoder_layer_sparse(i), config.encoder_ffn_dim);
    l.ffn_layer_norm = nn::LayerNorm::create(d, eps);
    encoder_layers_.push_back(std::move(l));
  }
  for (int64_t i = 0; i < config.decoder_layers; ++i) {
    DecoderLayer l;
    l.self_attn = nn::MultiHeadAttention::create(d, config.decoder_attention_heads, std, gen);
    l.self_attn_layer_norm = nn::LayerNorm::create(d, eps);
    l.cross_attn = nn::MultiHeadAttention::create(d, config.decoder_attention_heads, std, gen);
    l.cross_attn_layer_norm = nn::LayerNorm::create(d, eps);
    l.ffn = make_ffn(config.decoder_layer_sparse(i), config.decoder_ffn_dim);
    l.ffn_layer_norm = nn::LayerNorm::create(d, eps);
    decoder_layers_.push_back(std::move(l));
  }
  encoder_norm_ = nn::LayerNorm::create(d, eps);
  decoder_norm_ = nn::LayerNorm::create(d, eps);
  if (!config.tie_word_embeddings)
    lm_head_ = nn::Linear::create(d, config.vocab_size, false, std, gen);
  positions_ = nn::sinusoidal_position_table(config.max_position_embeddings + 2, d,
                                             config.pad_token_id, DType::f32);
}

void M2M100Model::set_training(bool on, uint64_t seed) {
  training_ = on;
  if (on) dropout_gen_ = Generator(seed ^ 0x5eed);
}

Tensor M2M100Model::token_embeddings(const Tensor& ids) const {
  // Once quantized with tied embeddings, the int8 output projection is the embedding table.
  if (!shared_.weight.defined()) return nn::int8_rows(output_int8_, ids);
  return embedding(shared_.weight, ids);
}

Tensor M2M100Model::embed(const Tensor& ids, int64_t past) {
  const int64_t B = ids.size(0), T = ids.size(1), d = config_.d_model;
  Tensor pos = nn::positions_from_ids(ids, config_.pad_token_id, past);
  const int64_t needed = config_.pad_token_id + 1 + past + T;
  if (positions_.size(0) < needed ||
      (shared_.weight.defined() && positions_.dtype() != shared_.weight.dtype())) {
    // Longer than max_position_embeddings: upstream extends the table the same way.
    positions_ = nn::sinusoidal_position_table(
        std::max(needed, positions_.size(0)), d, config_.pad_token_id,
        (shared_.weight.defined() ? shared_.weight.dtype() : DType::f32));
  }
  Tensor x = token_embeddings(ids);
  if (config_.scale_embedding) x = mul(x, std::sqrt(static_cast<double>(d)));
  x = add(x, index_select(positions_, 0, pos.reshape({B * T})).reshape({B, T, d}));
  if (training_) x = nn::dropout(x, config_.dropout, dropout_gen_);
  return x;
}

Tensor M2M100Model::run_ffn(const FeedForward& ffn, const Tensor& x,
                            const std::vector<uint8_t>* active, RouterLosses* losses) {
  if (!ffn.moe) {
    Tensor hidden = nn::activate(ffn.fc1.forward(x), config_.activation);
    if (training_) hidden = nn::dropout(hidden, config_.activation_dropout, dropout_gen_);
    return ffn.fc2.forward(hidden);
  }
  nn::MoeOutput out = ffn.moe->forward(x, training_, &dropout_gen_, active);
  if (losses) {
    losses->balance.push_back(out.aux_loss);
    losses->z.push_back(out.z_loss);
  }
  return out.y;
}

bool M2M100Model::drop_layer(double layerdrop) {
  return training_ && layerdrop > 0 && dropout_gen_.next_double() < layerdrop;
}

namespace {
std::vector<uint8_t> non_pad(const Tensor& ids, int64_t pad) {
  std::vector<int64_t> v = ids.to_vector<int64_t>();
  std::vector<uint8_t> flags(v.size());
  for (size_t i = 0; i < v.size(); ++i) flags[i] = v[i] != pad;
  return flags;
}
}  // namespace

Tensor M2M100Model::run_encoder(const Tensor& src_ids, RouterLosses* losses) {
  Tensor x = embed(src_ids, 0);
  Tensor bias = nn::key_padding_bias(src_ids, config_.pad_token_id, x.dtype());
  std::vector<uint8_t> active = non_pad(src_ids, config_.pad_token_id);
  const double p = training_ ? config_.dropout : 0.0;
  const double p_attn = training_ ? config_.attention_dropout : 0.0;
  for (const EncoderLayer& l : encoder_layers_) {
    if (drop_layer(config_.encoder_layerdrop)) continue;
    Tensor h = l.self_attn_layer_norm.forward(x);
    h = l.self_attn.forward(h, h, bias, false, p_attn, &dropout_gen_);
    x = add(x, nn::dropout(h, p, dropout_gen_));
    h = run_ffn(l.ffn, l.ffn_layer_norm.forward(x), &active, losses);
    x = add(x, nn::dropout(h, p, dropout_gen_));
  }
  return encoder_norm_.forward(x);
}

Tensor M2M100Model::encoder_hidden(const Tensor& src_ids) {
  check_ids(src_ids, "source ids");
  return run_encoder(src_ids, nullptr);
}

Tensor M2M100Model::output_logits(const Tensor& hidden) const {
  Tensor h = decoder_norm_.forward(hidden);
  if (output_int8_.defined()) return nn::int8_linear(h, output_int8_);
  return lm_head_.weight.defined() ? lm_head_.forward(h) : linear(h, shared_.weight);
}

void M2M100Model::quantize_int8() {
  TESSERA_CHECK_INPUT(!training_,
                      "int8 quantization is for inference; the model is in training mode");
  auto ffn = [](FeedForward& f) {
    if (f.moe) {
      f.moe->quantize_int8();
    } else {
      f.fc1.quantize();
      f.fc2.quantize();
    }
  };
  for (EncoderLayer& l : encoder_layers_) {
    l.self_attn.quantize_int8();
    ffn(l.ffn);
  }
  for (DecoderLayer& l : decoder_layers_) {
    l.self_attn.quantize_int8();
    l.cross_attn.quantize_int8();
    ffn(l.ffn);
  }
  // The tied output projection gets its own int8 copy; the embedding lookup keeps f32 rows.
  output_int8_ =
      nn::quantize_rows_int8(lm_head_.weight.defined() ? lm_head_.weight : shared_.weight);
  if (lm_head_.weight.defined()) {
    lm_head_.weight = Tensor();
  } else {
    shared_.weight = Tensor();  // tied: embedding lookups read the int8 rows as well
  }
}

int64_t M2M100Model::resident_weight_bytes() {
  int64_t bytes = output_int8_.bytes();
  auto add_q = [&](const nn::QuantizableLinear& l) { bytes += l.int8.bytes(); };
  for (EncoderLayer& l : encoder_layers_) {
    for (auto* p :
         {&l.self_attn.q_proj, &l.self_attn.k_proj, &l.self_attn.v_proj, &l.self_attn.out_proj})
      add_q(*p);
    add_q(l.ffn.fc1);
    add_q(l.ffn.fc2);
    if (l.ffn.moe)
      for (auto& e : l.ffn.moe->experts) add_q(e.fc1), add_q(e.fc2);
  }
  for (DecoderLayer& l : decoder_layers_) {
    for (auto* a : {&l.self_attn, &l.cross_attn})
      for (auto* p : {&a->q_proj, &a->k_proj, &a->v_proj, &a->out_proj}) add_q(*p);
    add_q(l.ffn.fc1);
    add_q(l.ffn.fc2);
    if (l.ffn.moe)
      for (auto& e : l.ffn.moe->experts) add_q(e.fc1), add_q(e.fc2);
  }
  return bytes + Seq2SeqLM::resident_weight_bytes();
}

Seq2SeqOutput M2M100Model::forward(const Tensor& src_ids, const Tensor& decoder_ids) {
  check_ids(src_ids, "source ids");
  check_ids(decoder_ids, "decoder ids");
  TESSERA_CHECK_INPUT(src_ids.size(0) == decoder_ids.size(0),
                      "source batch {} and decoder batch {} differ", src_ids.size(0),
                      decoder_ids.size(0));
  RouterLosses losses;
  Tensor memory = run_encoder(src_ids, &losses);
  Tensor memory_bias = nn::key_padding_bias(src_ids, config_.pad_token_id, memory.dtype());
  std::vector<uint8_t> active = non_pad(decoder_ids, config_.pad_token_id);
  const double p = training_ ? config_.dropout : 0.0;
  const double p_attn = training_ ? config_.attention_dropout : 0.0;
  Tensor y = embed(decoder_ids, 0);
  for (const DecoderLayer& l : decoder_layers_) {
    if (drop_layer(config_.decoder_layerdrop)) continue;
    // Right padding: causal masking alone keeps real tokens from seeing pads.
    Tensor h = l.self_attn_layer_norm.forward(y);
    h = l.self_attn.forward(h, h, Tensor(), true, p_attn, &dropout_gen_);
    y = add(y, nn::dropout(h, p, dropout_gen_));
    h = l.cross_attn_layer_norm.forward(y);
    h = l.cross_attn.forward(h, memory, memory_bias, false, p_attn, &dropout_gen_);
    y = add(y, nn::dropout(h, p, dropout_gen_));
    h = run_ffn(l.ffn, l.ffn_layer_norm.forward(y), &active, &losses);
    y = add(y, nn::dropout(h, p, dropout_gen_));
  }
  Seq2SeqOutput out;
  out.logits = output_logits(y);
  auto layer_mean = [](const std::vector<Tensor>& values) {
    Tensor total = values[0];
    for (size_t i = 1; i < values.size(); ++i) total = add(total, values[i]);
    return mul(total, 1.0 / static_cast<double>(values.size()));
  };
  if (!losses.balance.empty()) {
    out.aux_loss = layer_mean(losses.balance);
    out.z_loss = layer_mean(losses.z);
  }
  return out;
}

std::vector<std::unique_ptr<Seq2SeqState>> M2M100Model::encode(const Tensor& src_ids) {
  NoGrad no_grad;
  check_ids(src_ids, "source ids");
  const int64_t B = src_ids.size(0), S = src_ids.size(1);
  Tensor memory = run_encoder(src_ids, nullptr);
  std::vector<int64_t> ids = src_ids.to_vector<int64_t>();
  std::vector<std::pair<Tensor, Tensor>> kv;
  for (const DecoderLayer& l : decoder_layers_) kv.push_back(l.cross_attn.project_kv(memory));
  std::vector<std::unique_ptr<Seq2SeqState>> states;
  for (int64_t b = 0; b < B; ++b) {
    int64_t len = 0;
    while (len < S && ids[b * S + len] != config_.pad_token_id) ++len;
    TESSERA_CHECK_INPUT(len > 0, "source sequence {} is empty (only padding)", b);
    for (int64_t t = len; t < S; ++t)
      TESSERA_CHECK_INPUT(ids[b * S + t] == config_.pad_token_id,
                          "source sequence {}: padding must come after the tokens (right padding)",
                          b);
    auto mem = std::make_shared<EncoderMemory>();
    mem->length = len;
    for (auto& [k, v] : kv)
      mem->cross_kv.emplace_back(k.narrow(0, b, 1).narrow(1, 0, len).contiguous(),
                                 v.narrow(0, b, 1).narrow(1, 0, len).contiguous());
    auto state = std::make_unique<M2M100State>();
    state->memory = std::move(mem);
    state->self.resize(decoder_layers_.size());
    states.push_back(std::move(state));
  }
  return states;
}

Tensor M2M100Model::decode_step(const Tensor& ids, const std::vector<Seq2SeqState*>& states) {
  NoGrad no_grad;
  check_ids(ids, "decoder ids");
  const int64_t B = ids.size(0), d = config_.d_model;
  TESSERA_CHECK(ids.size(1) == 1, "decode_step takes one token per sequence, got {}", ids.size(1));
  TESSERA_CHECK(static_cast<int64_t>(states.size()) == B, "decode_step: {} states for batch {}",
                states.size(), B);
  std::vector<M2M100State*> s(B);
  std::vector<int64_t> pos(B);
  for (int64_t b = 0; b < B; ++b) {
    s[b] = dynamic_cast<M2M100State*>(states[b]);
    TESSERA_CHECK(s[b] != nullptr, "decode_step: state of another model type");
    pos[b] = config_.pad_token_id + 1 + s[b]->consumed;
  }
  int64_t max_pos = *std::max_element(pos.begin(), pos.end());
  if (positions_.size(0) <= max_pos ||
      (shared_.weight.defined() && positions_.dtype() != shared_.weight.dtype()))
    positions_ = nn::sinusoidal_position_table(
        std::max(2 * max_pos, positions_.size(0)), d, config_.pad_token_id,
        (shared_.weight.defined() ? shared_.weight.dtype() : DType::f32));
  Tensor x = token_embeddings(ids);
  if (config_.scale_embedding) x = mul(x, std::sqrt(static_cast<double>(d)));
  x = add(x, index_select(positions_, 0, Tensor::from_vector(pos, {B})).reshape({B, 1, d}));
  for (size_t i = 0; i < decoder_layers_.size(); ++i) {
    const DecoderLayer& l = decoder_layers_[i];
    std::vector<nn::LayerKVCache*> caches(B);
    std::vector<std::pair<Tensor, Tensor>> kv(B);
    for (int64_t b = 0; b < B; ++b) {
      caches[b] = &s[b]->self[i];
      kv[b] = s[b]->memory->cross_kv[i];
    }
    x = add(x, l.self_attn.attend_self(l.self_attn_layer_norm.forward(x), caches));
    x = add(x, l.cross_attn.attend(l.cross_attn_layer_norm.forward(x), kv));
    x = add(x, run_ffn(l.ffn, l.ffn_layer_norm.forward(x), nullptr, nullptr));
  }
  for (M2M100State* state : s) ++state->consumed;
  return output_logits(x).select(1, 0);
}

std::string M2M100Model::layer_prefix(bool encoder, int64_t i) const {
  return std::string(encoder ? "model.encoder.layers." : "model.decoder.layers.") +
         std::to_string(i) + ".";
}

nn::ParameterRefs M2M100Model::parameters() {
  nn::ParameterRefs out;
  const bool moe = config_.moe_layout;
  auto ffn_params = [&](FeedForward& f, const std::string& p) {
    if (f.moe) {
      f.moe->parameters(p + "ffn.", out);
    } else {
      f.fc1.parameters(p + (moe ? "ffn.fc1." : "fc1."), out);
      f.fc2.parameters(p + (moe ? "ffn.fc2." : "fc2."), out);
    }
  };
  shared_.parameters("model.shared.", out);
  for (size_t i = 0; i < encoder_layers_.size(); ++i) {
    std::string p = layer_prefix(true, static_cast<int64_t>(i));
    EncoderLayer& l = encoder_layers_[i];
    l.self_attn.parameters(p + "self_attn.", out);
    l.self_attn_layer_norm.parameters(p + "self_attn_layer_norm.", out);
    ffn_params(l.ffn, p);
    l.ffn_layer_norm.parameters(p + (moe ? "ff_layer_norm." : "final_layer_norm."), out);
  }
  encoder_norm_.parameters("model.encoder.layer_norm.", out);
  for (size_t i = 0; i < decoder_layers_.size(); ++i) {
    std::string p = layer_prefix(false, static_cast<int64_t>(i));
    DecoderLayer& l = decoder_layers_[i];
    l.self_attn.parameters(p + "self_attn.", out);
    l.self_attn_layer_norm.parameters(p + "self_attn_layer_norm.", out);
    l.cross_attn.parameters(p + (moe ? "cross_attention." : "encoder_attn."), out);
    l.cross_attn_layer_norm.parameters(
        p + (moe ? "cross_attention_layer_norm." : "encoder_attn_layer_norm."), out);
    ffn_params(l.ffn, p);
    l.ffn_layer_norm.parameters(p + (moe ? "ff_layer_norm." : "final_layer_norm."), out);
  }
  decoder_norm_.parameters("model.decoder.layer_norm.", out);
  lm_head_.parameters("lm_head.", out);
  return out;
}

std::vector<std::string> M2M100Model::aliases_of(const std::string& name) const {
  if (name != "model.shared.weight") return {};
  std::vector<std::string> names = {"model.encoder.embed_tokens.weight",
                                    "model.decoder.embed_tokens.weight"};
  if (config_.tie_word_embeddings) names.push_back("lm_head.weight");
  return names;
}

std::vector<std::string> M2M100Model::optional_checkpoint_names() const {
  std::vector<std::string> names = aliases_of("model.shared.weight");
  for (const char* part : {"encoder", "decoder"}) {
    names.push_back(std::string("model.") + part + ".embed_positions.weights");
    names.push_back(std::string("model.") + part + ".embed_positions._float_tensor");
  }
  return names;
}

}  // namespace tessera::models
