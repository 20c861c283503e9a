#include "tessera/interp/sae_train.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "tessera/core/error.h"
#include "tessera/core/io/safetensors.h"
#include "tessera/core/parallel.h"
#include "tessera/core/progress.h"
#include "tessera/core/rng.h"
#include "tessera/interp/sae_format.h"
#include "tessera/models/causal_lm.h"

namespace tessera::interp {

namespace fs = std::filesystem;

double default_learning_rate(int64_t latents) {
  return 2e-4 / std::sqrt(static_cast<double>(latents) / 16384.0);
}

SaeTrainer::SaeTrainer(const ActivationSource& data, SaeTrainOptions options)
    : data_(data), options_(std::move(options)) {
  TESSERA_CHECK_INPUT(data_.rows() > 0, "the activation dataset is empty");
  TESSERA_CHECK_INPUT(options_.latents > 0, "--latents must be positive, got {}", options_.latents);
  TESSERA_CHECK_INPUT(options_.k > 0 && options_.k <= options_.latents,
                      "--k must be in [1, latents = {}], got {}", options_.latents, options_.k);
  TESSERA_CHECK_INPUT(options_.batch > 0, "--batch must be positive, got {}", options_.batch);
  TESSERA_CHECK_INPUT(options_.lr >= 0, "--lr must not be negative, got {}", options_.lr);
  TESSERA_CHECK_INPUT(options_.tokens >= 0, "--tokens must not be negative, got {}",
                      options_.tokens);
  TESSERA_CHECK_INPUT(options_.dead_tokens > 0, "--dead-tokens must be positive, got {}",
                      options_.dead_tokens);
  TESSERA_CHECK_INPUT(!(options_.multi_topk && options_.batch_topk),
                      "--multi-topk and --batch-topk exclude each other");
  if (options_.aux_k < 0) options_.aux_k = std::max<int64_t>(data_.d() / 2, 1);
  lr_ = options_.lr > 0 ? options_.lr : default_learning_rate(options_.latents);
}

int64_t SaeTrainer::target_tokens() const {
  return options_.tokens > 0 ? options_.tokens : data_.rows();
}

int64_t SaeTrainer::dead_latents() const {
  int64_t dead = 0;
  for (int64_t t : since_fired_) dead += t >= options_.dead_tokens;
  return dead;
}

void SaeTrainer::start() {
  if (started_) return;
  started_ = true;
  const std::string checkpoint =
      options_.out_dir.empty() ? "" : (fs::path(options_.out_dir) / "checkpoint").string();
  if (!checkpoint.empty() && options_.resume &&
      fs::exists(fs::path(checkpoint) / "trainer_state.json")) {
    load_checkpoint(checkpoint);
    resumed_ = true;
    return;
  }
  initialize();
}

void SaeTrainer::initialize() {
  const int64_t d = data_.d(), n = options_.latents;
  SaeConfig config;
  config.d_in = d;
  config.n_latents = n;
  config.k = options_.k;
  config.normalization = options_.normalization;
  const nlohmann::json& meta = data_.metadata();
  config.model_name = meta.value("model", std::string());
  config.hook_layer = meta.value("layer", int64_t{-1});
  config.hook_site = meta.value("site", std::string("resid_post"));
  sae_ = TopKSae::initialize(config, options_.seed);

  // A random sample for the scale estimate and the geometric median: without replacement
  // when the data is small enough to permute, else uniform draws (repeats are then rare).
  const int64_t sample = std::min(options_.median_sample, data_.rows());
  Generator gen(options_.seed ^ 0x5ae5a3b1e5ULL);
  std::vector<int64_t> ids;
  if (data_.rows() <= 16 * sample) {
    ids.resize(static_cast<size_t>(data_.rows()));
    for (int64_t i = 0; i < data_.rows(); ++i) ids[i] = i;
    for (int64_t i = 0; i < sample; ++i) std::swap(ids[i], ids[gen.randint(i, data_.rows())]);
  } else {
    for (int64_t i = 0; i < sample; ++i) ids.push_back(gen.randint(0, data_.rows()));
  }
  std::vector<float> raw(static_cast<size_t>(sample * d)), normed(raw.size());
  data_.gather(ids.data(), sample, raw.data());
  if (options_.normalization == SaeNormalization::scale) {
    double sq = 0;
    for (float v : raw) sq += static_cast<double>(v) * v;
    const double mean_sq = sq / static_cast<double>(sample);
    TESSERA_CHECK_INPUT(mean_sq > 0, "activations are all zero: cannot scale them to E||x||^2 = d");
    sae_.mutable_config().input_scale = std::sqrt(static_cast<double>(d) / mean_sq);
  }
  RowNormalization stats;
  sae_.normalize(raw.data(), sample, normed.data(), &stats);
  sae_.b_pre = geometric_median(normed.data(), sample, d);

  grads_.reset(n, d);
  m_.reset(n, d);
  v_.reset(n, d);
  since_fired_.assign(static_cast<size_t>(n), 0);
  epoch_ = 0;
  position_ = 0;
  order_.clear();
}

void SaeTrainer::next_batch(std::vector<float>& x_norm, int64_t rows) {
  const int64_t N = data_.rows(), d = data_.d();
  std::vector<int64_t> ids(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    if (order_.empty() || position_ >= N) {
      if (position_ >= N) {
        ++epoch_;
        position_ = 0;
      }
      order_.resize(static_cast<size_t>(N));
      for (int64_t j = 0; j < N; ++j) order_[j] = j;
      Generator gen(options_.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch_) + 1);
      gen.shuffle(order_);
    }
    ids[i] = order_[position_++];
  }
  std::vector<float> raw(static_cast<size_t>(rows * d));
  data_.gather(ids.data(), rows, raw.data());
  x_norm.resize(raw.size());
  RowNormalization stats;
  sae_.normalize(raw.data(), rows, x_norm.data(), &stats);
}

void SaeTrainer::adam_update(std::vector<float>& param, std::vector<float>& grad,
                             std::vector<float>& m, std::vector<float>& v) {
  const double t = static_cast<double>(steps_);
  const float b1 = static_cast<float>(options_.beta1), b2 = static_cast<float>(options_.beta2);
  const float c1 = static_cast<float>(1.0 / (1.0 - std::pow(options_.beta1, t)));
  const float c2 = static_cast<float>(1.0 / (1.0 - std::pow(options_.beta2, t)));
  const float lr = static_cast<float>(lr_), eps = static_cast<float>(options_.eps);
  parallel_for(0, static_cast<int64_t>(param.size()), 1 << 14, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const float g = grad[i];
      m[i] = b1 * m[i] + (1.0f - b1) * g;
      v[i] = b2 * v[i] + (1.0f - b2) * g * g;
      param[i] -= lr * (m[i] * c1) / (std::sqrt(v[i] * c2) + eps);
      grad[i] = 0.0f;  // ready for the next step, without a separate pass
    }
  });
}

SaeLossStats SaeTrainer::step() {
  start();
  const int64_t rows = options_.batch;
  std::vector<float> x_norm;
  next_batch(x_norm, rows);
  std::vector<uint8_t> dead(since_fired_.size());
  int64_t num_dead = 0;
  for (size_t l = 0; l < dead.size(); ++l) {
    dead[l] = since_fired_[l] >= options_.dead_tokens;
    num_dead += dead[l];
  }
  SaeLossOptions loss_options{.multi_topk = options_.multi_topk,
                              .batch_topk = options_.batch_topk,
                              .aux_k = options_.aux_k,
                              .aux_coef = options_.aux_coef};
  SparseCodes codes;
  SaeLossStats stats = sae_loss_and_gradients(sae_, x_norm.data(), rows, loss_options,
                                              num_dead > 0 ? &dead : nullptr, grads_, &codes);
  sae_.project_decoder_gradient(grads_.W_dec);
  ++steps_;
  adam_update(sae_.W_enc, grads_.W_enc, m_.W_enc, v_.W_enc);
  adam_update(sae_.b_enc, grads_.b_enc, m_.b_enc, v_.b_enc);
  adam_update(sae_.W_dec, grads_.W_dec, m_.W_dec, v_.W_dec);
  adam_update(sae_.b_pre, grads_.b_pre, m_.b_pre, v_.b_pre);
  sae_.normalize_decoder_rows();

  std::vector<uint8_t> fired(since_fired_.size(), 0);
  for (size_t s = 0; s < codes.indices.size(); ++s) {
    if (codes.indices[s] >= 0 && codes.values[s] > 0.0f) fired[codes.indices[s]] = 1;
  }
  for (size_t l = 0; l < since_fired_.size(); ++l)
    since_fired_[l] = fired[l] ? 0 : since_fired_[l] + rows;
  tokens_ += rows;
  last_ = stats;
  if (options_.on_step) options_.on_step(steps_, stats);
  return stats;
}

void SaeTrainer::train() {
  start();
  const int64_t target = target_tokens();
  std::unique_ptr<Progress> progress;
  if (options_.progress) progress = std::make_unique<Progress>("sae train", target, "tok");
  std::unique_ptr<std::ofstream> metrics;
  if (!options_.out_dir.empty()) {
    fs::create_directories(options_.out_dir);
    metrics = std::make_unique<std::ofstream>(
        (fs::path(options_.out_dir) / "metrics.jsonl").string(),
        resumed_ ? std::ios::app : std::ios::trunc);  // a fresh run starts a fresh log
  }
  int64_t next_checkpoint =
      options_.checkpoint_every > 0 ? tokens_ + options_.checkpoint_every : -1;
  while (tokens_ < target) {
    const SaeLossStats stats = step();
    if (metrics && (steps_ % std::max<int64_t>(options_.log_every, 1) == 0 || tokens_ >= target)) {
      *metrics << nlohmann::json{{"step", steps_},
                                 {"tokens", tokens_},
                                 {"loss", stats.loss},
                                 {"fvu", stats.fvu},
                                 {"aux_fvu", stats.aux_fvu},
                                 {"multi_fvu", stats.multi_fvu},
                                 {"l0", stats.l0},
                                 {"dead", dead_latents()},
                                 {"lr", lr_}}
                      .dump()
               << "\n";
      metrics->flush();
    }
    if (progress) {
      progress->set(std::min(tokens_, target));
      progress->set_note(fmt::format("fvu {:.4f} dead {}", stats.fvu, dead_latents()));
    }
    if (next_checkpoint > 0 && tokens_ >= next_checkpoint && !options_.out_dir.empty()) {
      save_checkpoint((fs::path(options_.out_dir) / "checkpoint").string());
      next_checkpoint += options_.checkpoint_every;
    }
  }
  if (progress) progress->finish();
  if (!options_.out_dir.empty()) {
    save_checkpoint((fs::path(options_.out_dir) / "checkpoint").string());
    save_sae(sae_, options_.out_dir, SaeFormat::saelens);
  }
}

void SaeTrainer::save_checkpoint(const std::string& dir) const {
  fs::create_directories(dir);
  const int64_t n = sae_.n(), d = sae_.d();
  auto t = [](const std::vector<float>& v, const Shape& shape) {
    return Tensor::from_vector<float>(v, shape);
  };
  io::NamedTensors tensors = {
      {"W_enc", t(sae_.W_enc, {n, d})},
      {"b_enc", t(sae_.b_enc, {n})},
      {"W_dec", t(sae_.W_dec, {n, d})},
      {"b_pre", t(sae_.b_pre, {d})},
      {"m.W_enc", t(m_.W_enc, {n, d})},
      {"m.b_enc", t(m_.b_enc, {n})},
      {"m.W_dec", t(m_.W_dec, {n, d})},
      {"m.b_pre", t(m_.b_pre, {d})},
      {"v.W_enc", t(v_.W_enc, {n, d})},
      {"v.b_enc", t(v_.b_enc, {n})},
      {"v.W_dec", t(v_.W_dec, {n, d})},
      {"v.b_pre", t(v_.b_pre, {d})},
      {"tokens_since_fired", Tensor::from_vector<int64_t>(since_fired_, {n})}};
  io::save_safetensors((fs::path(dir) / "state.safetensors").string(), tensors);
  const SaeConfig& c = sae_.config();
  // Written last: a checkpoint folder with this file has complete tensors.
  models::write_json_file((fs::path(dir) / "trainer_state.json").string(),
                          {{"steps", steps_},
                           {"tokens", tokens_},
                           {"epoch", epoch_},
                           {"position", position_},
                           {"data_rows", data_.rows()},
                           {"seed", options_.seed},
                           {"d_in", c.d_in},
                           {"latents", c.n_latents},
                           {"k", c.k},
                           {"normalization", normalization_name(c.normalization)},
                           {"input_scale", c.input_scale},
                           {"model_name", c.model_name},
                           {"hook_layer", c.hook_layer},
                           {"hook_site", c.hook_site}});
}

void SaeTrainer::load_checkpoint(const std::string& dir) {
  const std::string state_path = (fs::path(dir) / "trainer_state.json").string();
  const nlohmann::json state = models::read_json_file(state_path);
  SaeConfig c;
  try {
    c.d_in = state.at("d_in").get<int64_t>();
    c.n_latents = state.at("latents").get<int64_t>();
    c.k = state.at("k").get<int64_t>();
    c.normalization = parse_normalization(state.at("normalization").get<std::string>());
    c.input_scale = state.at("input_scale").get<double>();
    c.model_name = state.value("model_name", std::string());
    c.hook_layer = state.value("hook_layer", int64_t{-1});
    c.hook_site = state.value("hook_site", std::string("resid_post"));
    steps_ = state.at("steps").get<int64_t>();
    tokens_ = state.at("tokens").get<int64_t>();
    epoch_ = state.at("epoch").get<int64_t>();
    position_ = state.at("position").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw bad_input("{}: {}", state_path, e.what());
  }
  TESSERA_CHECK_INPUT(
      c.d_in == data_.d() && c.n_latents == options_.latents && c.k == options_.k,
      "{}: the checkpoint is d={}, latents={}, k={}; this run asks d={}, latents={}, k={} "
      "(use another --out or --no-resume)",
      dir, c.d_in, c.n_latents, c.k, data_.d(), options_.latents, options_.k);
  TESSERA_CHECK_INPUT(state.value("data_rows", int64_t{-1}) == data_.rows() &&
                          state.value("seed", uint64_t{0}) == options_.seed,
                      "{}: the checkpoint was trained on other data or with another seed", dir);
  const int64_t n = c.n_latents, d = c.d_in;
  auto file = io::SafetensorsFile::open((fs::path(dir) / "state.safetensors").string());
  auto get = [&](const std::string& name, const Shape& shape) {
    TESSERA_CHECK_INPUT(file.has(name), "{}: missing tensor '{}'", file.source(), name);
    Tensor tensor = file.get(name, DType::f32);
    check_shape(tensor, shape, file.source() + ": " + name);
    return tensor.contiguous().to_vector<float>();
  };
  sae_ = TopKSae::from_parameters(c, get("W_enc", {n, d}), get("b_enc", {n}), get("W_dec", {n, d}),
                                  get("b_pre", {d}));
  m_ = {get("m.W_enc", {n, d}), get("m.b_enc", {n}), get("m.W_dec", {n, d}), get("m.b_pre", {d})};
  v_ = {get("v.W_enc", {n, d}), get("v.b_enc", {n}), get("v.W_dec", {n, d}), get("v.b_pre", {d})};
  TESSERA_CHECK_INPUT(file.has("tokens_since_fired"), "{}: missing tokens_since_fired",
                      file.source());
  since_fired_ = file.get("tokens_since_fired").contiguous().to_vector<int64_t>();
  TESSERA_CHECK_INPUT(static_cast<int64_t>(since_fired_.size()) == n,
                      "{}: tokens_since_fired has {} entries, expected {}", file.source(),
                      since_fired_.size(), n);
  grads_.reset(n, d);
  order_.clear();
  // The epoch's order is a function of (seed, epoch): rebuild it at the saved position.
  if (position_ > 0 && position_ < data_.rows()) {
    order_.resize(static_cast<size_t>(data_.rows()));
    for (int64_t j = 0; j < data_.rows(); ++j) order_[j] = j;
    Generator gen(options_.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch_) + 1);
    gen.shuffle(order_);
  }
  started_ = true;
}

}  // namespace tessera::interp
