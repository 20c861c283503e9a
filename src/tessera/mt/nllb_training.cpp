#include "tessera/mt/nllb_training.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "tessera/core/autograd.h"
#include "tessera/core/io/atomic_file.h"
#include "tessera/core/io/safetensors.h"
#include "tessera/core/optim.h"
#include "tessera/models/causal_lm.h"
#include "tessera/models/m2m100.h"
#include "tessera/mt/corpus_builder.h"
#include "tessera/mt/nllb_training_data.h"

namespace tessera::mt {

namespace fs = std::filesystem;

namespace {

nlohmann::json model_config(const MtTrainOptions& o, int64_t vocab) {
  nlohmann::json c = {{"model_type", o.arch == "moe" ? "nllb-moe" : "m2m_100"},
                      {"vocab_size", vocab},
                      {"d_model", o.d_model},
                      {"encoder_layers", o.layers},
                      {"decoder_layers", o.layers},
                      {"encoder_attention_heads", o.heads},
                      {"decoder_attention_heads", o.heads},
                      {"encoder_ffn_dim", o.ffn_dim},
                      {"decoder_ffn_dim", o.ffn_dim},
                      {"max_position_embeddings", std::max<int64_t>(256, 2 * o.max_tokens)},
                      {"activation_function", "relu"},
                      {"scale_embedding", true},
                      {"dropout", o.dropout},
                      {"attention_dropout", o.attention_dropout},
                      {"activation_dropout", o.activation_dropout},
                      {"encoder_layerdrop", o.layerdrop},
                      {"decoder_layerdrop", o.layerdrop},
                      {"init_std", 0.02},
                      {"pad_token_id", NllbTokenizer::kPad},
                      {"bos_token_id", NllbTokenizer::kBos},
                      {"eos_token_id", NllbTokenizer::kEos},
                      {"decoder_start_token_id", NllbTokenizer::kEos},
                      {"tie_word_embeddings", true}};
  if (o.arch == "moe") {
    c["num_experts"] = o.num_experts;
    c["encoder_sparse_step"] = o.sparse_step;
    c["decoder_sparse_step"] = o.sparse_step;
    c["moe_token_dropout"] = o.eom_rate;
    c["router_aux_loss_coef"] = o.aux_loss_weight;
    c["router_z_loss_coef"] = o.z_loss_weight;
    c["expert_capacity"] = 0;
    c["moe_eval_capacity_token_fraction"] = 1.0;
  }
  return c;
}

// Parameters a token passes through: everything except the experts it is not routed to.
int64_t active_parameter_count(models::Seq2SeqLM& model, int64_t num_experts) {
  int64_t active = 0;
  for (auto& [name, t] : model.parameters()) {
    const bool expert = name.find(".experts.expert_") != std::string::npos;
    active += expert ? t->numel() * 2 / std::max<int64_t>(num_experts, 1) : t->numel();
  }
  return active;
}

double dev_loss(models::Seq2SeqLM& model, const std::vector<LanguagePairs>& dev,
                const NllbTokenizer& tok, int64_t max_tokens, int64_t batch_size) {
  NoGrad no_grad;
  std::vector<Direction> directions = make_directions(dev, 1.0);
  double total = 0;
  int64_t tokens = 0;
  for (size_t d = 0; d < directions.size(); ++d) {
    const int64_t n = std::min<int64_t>(directions[d].pairs, 32);  // a fixed slice per direction
    for (int64_t start = 0; start < n; start += batch_size) {
      std::vector<std::pair<size_t, size_t>> picks;
      for (int64_t i = start; i < std::min(n, start + batch_size); ++i)
        picks.emplace_back(d, static_cast<size_t>(i));
      Batch b = make_batch(dev, directions, picks, tok, max_tokens);
      Tensor logits = model.forward(b.src, b.decoder_in).logits;
      const int64_t V = logits.size(-1);
      Tensor loss = cross_entropy(logits.reshape({-1, V}), b.labels.reshape({-1}));
      total += loss.item<double>() * static_cast<double>(b.target_tokens);
      tokens += b.target_tokens;
    }
  }
  return tokens ? total / static_cast<double>(tokens) : 0.0;
}

void write_json(const fs::path& path, const nlohmann::json& j) {
  io::AtomicFileWriter w(path.string());
  w.write(j.dump(2) + "\n");
  w.commit();
}

}  // namespace

MtTrainSummary train_translation_model(const MtTrainOptions& o) {
  TESSERA_CHECK_INPUT(o.arch == "dense" || o.arch == "moe",
                      "--arch must be dense or moe, got \"{}\"", o.arch);
  TESSERA_CHECK_INPUT(o.eom_rate >= 0 && o.eom_rate < 1, "--eom rate {} outside [0, 1)",
                      o.eom_rate);
  TESSERA_CHECK_INPUT(o.arch == "moe" || o.eom_rate == 0, "--eom applies to --arch moe only");
  for (auto [flag, value] : {std::pair{"--dropout", o.dropout},
                             {"--attention-dropout", o.attention_dropout},
                             {"--activation-dropout", o.activation_dropout},
                             {"--layerdrop", o.layerdrop}})
    TESSERA_CHECK_INPUT(value >= 0 && value < 1, "{} {} outside [0, 1)", flag, value);
  TESSERA_CHECK_INPUT(o.z_loss_weight >= 0 && o.aux_loss_weight >= 0,
                      "--z-loss and --aux-loss must not be negative");
  TESSERA_CHECK_INPUT(o.steps > 0 && o.batch_size > 0 && o.max_tokens >= 4,
                      "steps, batch and max tokens must be positive");
  TESSERA_CHECK_INPUT(!o.out_dir.empty(), "--out is required");
  std::vector<std::string> codes = o.languages;
  if (codes.empty()) codes = corpus_languages(o.corpus_dir, "train");
  codes.erase(std::remove(codes.begin(), codes.end(), "eng_Latn"), codes.end());
  TESSERA_CHECK_INPUT(!codes.empty(), "{}: no languages to train on", o.corpus_dir);
  for (const std::string& c : codes)
    TESSERA_CHECK_INPUT(fs::exists(fs::path(o.corpus_dir) / "train" / ("eng_Latn-" + c + ".tsv")),
                        "{}: no training pairs for {} (train/eng_Latn-{}.tsv)", o.corpus_dir, c, c);
  fs::create_directories(o.out_dir);
  const bool resuming = o.resume && fs::exists(fs::path(o.out_dir) / "trainer_state.json");

  std::unique_ptr<models::Seq2SeqLM> model;
  std::unique_ptr<NllbTokenizer> tok;
  if (resuming) {
    model = models::load_seq2seq_model(o.out_dir);
    tok = std::make_unique<NllbTokenizer>(NllbTokenizer::load(o.out_dir));
    std::vector<std::string> saved(tok->language_codes().begin() + 1, tok->language_codes().end());
    TESSERA_CHECK_INPUT(saved == codes, "{}: the checkpoint was trained on other languages",
                        o.out_dir);
  } else {
    tok = std::make_unique<NllbTokenizer>(
        train_nllb_tokenizer(o.corpus_dir, codes, o.vocab_size, o.temperature, o.out_dir, o.seed));
    tok->save(o.out_dir);
    model = models::create_seq2seq_model(model_config(o, tok->vocab_size()), o.seed);
  }
  std::vector<LanguagePairs> train = load_encoded_pairs(o.corpus_dir, "train", codes, *tok);
  std::vector<LanguagePairs> dev = load_encoded_pairs(o.corpus_dir, "dev", codes, *tok);
  std::vector<Direction> directions = make_directions(train, o.temperature);

  nn::ParameterRefs refs = model->parameters();
  std::vector<NamedParameter> params;
  MtTrainSummary summary;
  for (auto& [name, t] : refs) {
    *t = t->contiguous().clone();  // writable, owned memory (a loaded checkpoint may be mapped)
    t->requires_grad_(true);
    const bool decay =
        name.find("layer_norm") == std::string::npos && name.find(".bias") == std::string::npos;
    params.push_back({name, *t, decay});
    summary.parameters += t->numel();
  }
  summary.active_parameters = active_parameter_count(*model, o.arch == "moe" ? o.num_experts : 1);
  AdamW optimizer(params,
                  {.beta1 = 0.9, .beta2 = 0.98, .eps = 1e-8, .weight_decay = o.weight_decay});
  Schedule schedule{.kind = ScheduleKind::inverse_sqrt,
                    .peak_lr = o.lr,
                    .warmup_steps = o.warmup_steps,
                    .total_steps = o.steps};
  Generator data_gen(o.seed * 7919 + 17);
  int64_t step = 0;
  if (resuming) {
    nlohmann::json state =
        models::read_json_file((fs::path(o.out_dir) / "trainer_state.json").string());
    step = state.at("step").get<int64_t>();
    data_gen.set_state(state.at("data_seed").get<uint64_t>(),
                       state.at("data_offset").get<uint64_t>());
    io::SafetensorsFile file =
        io::SafetensorsFile::open((fs::path(o.out_dir) / "optimizer.safetensors").string());
    std::map<std::string, Tensor> slots;
    for (const auto& name : file.names()) slots[name] = file.get(name).clone();
    // Optimizer slots refer to the tensors it was built with: rebuild after loading.
    optimizer.load_state(slots, step);
  }
  model->set_training(true, o.seed + static_cast<uint64_t>(step));

  const std::string run_name =
      o.run_name.empty() ? fs::path(o.out_dir).filename().string() : o.run_name;
  fs::path run_dir = fs::path(o.runs_dir) / run_name;
  fs::create_directories(run_dir);
  std::ofstream metrics(run_dir / "metrics.jsonl", resuming ? std::ios::app : std::ios::trunc);

  auto save = [&](int64_t at_step) {
    NoGrad no_grad;
    model->set_training(false);
    models::save_seq2seq_model(*model, o.out_dir);
    io::NamedTensors state;
    for (auto& [name, t] : optimizer.state_tensors()) state.emplace_back(name, t);
    io::save_safetensors((fs::path(o.out_dir) / "optimizer.safetensors").string(), state);
    write_json(fs::path(o.out_dir) / "trainer_state.json", {{"step", at_step},
                                                            {"data_seed", data_gen.seed()},
                                                            {"data_offset", data_gen.offset()},
                                                            {"arch", o.arch},
                                                            {"eom_rate", o.eom_rate},
                                                            {"languages", codes}});
    model->set_training(true, o.seed + static_cast<uint64_t>(at_step));
  };

  auto started = std::chrono::steady_clock::now();
  double loss_sum = 0;
  int64_t loss_count = 0;
  while (step < o.steps) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (o.minutes > 0 && elapsed > o.minutes * 60) break;
    Batch batch =
        make_batch(train, directions, sample_picks(train, directions, o.batch_size, data_gen), *tok,
                   o.max_tokens);
    models::Seq2SeqOutput out = model->forward(batch.src, batch.decoder_in);
    const int64_t V = out.logits.size(-1);
    Tensor loss = cross_entropy(out.logits.reshape({-1, V}), batch.labels.reshape({-1}), -100,
                                o.label_smoothing);
    Tensor total = loss;
    if (out.aux_loss.defined()) total = add(total, mul(out.aux_loss, o.aux_loss_weight));
    if (out.z_loss.defined() && o.z_loss_weight > 0)
      total = add(total, mul(out.z_loss, o.z_loss_weight));
    optimizer.zero_grad();
    total.backward();
    clip_grad_norm(params, o.clip_norm);
    const double lr = schedule.lr_at(step);
    optimizer.step(lr);
    ++step;
    summary.tokens_seen += batch.target_tokens;
    const double l = loss.item<double>();
    summary.last_train_loss = l;
    loss_sum += l;
    ++loss_count;
    if (step % o.log_every == 0 || step == o.steps) {
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      nlohmann::json row = {{"step", step},
                            {"loss", loss_sum / loss_count},
                            {"lr", lr},
                            {"tokens_per_second", summary.tokens_seen / std::max(secs, 1e-9)}};
      if (out.aux_loss.defined()) row["aux_loss"] = out.aux_loss.item<double>();
      if (out.z_loss.defined()) row["z_loss"] = out.z_loss.item<double>();
      if (o.eval_every > 0 && step % o.eval_every == 0) {
        model->set_training(false);
        row["dev_loss"] = dev_loss(*model, dev, *tok, o.max_tokens, o.batch_size);
        model->set_training(true, o.seed + static_cast<uint64_t>(step));
      }
      metrics << row.dump() << "\n" << std::flush;
      if (o.progress)
        fmt::print(stderr, "step {} loss {:.3f} lr {:.2e}\n", step, loss_sum / loss_count, lr);
      loss_sum = 0;
      loss_count = 0;
    }
    if (o.save_every > 0 && step % o.save_every == 0) save(step);
  }
  summary.steps_done = step;
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  summary.tokens_per_second = summary.tokens_seen / std::max(summary.seconds, 1e-9);
  model->set_training(false);
  summary.dev_loss = dev_loss(*model, dev, *tok, o.max_tokens, o.batch_size);
  save(step);
  summary.languages = codes;
  write_json(run_dir / "summary.json", {{"steps", summary.steps_done},
                                        {"seconds", summary.seconds},
                                        {"tokens_per_second", summary.tokens_per_second},
                                        {"train_loss", summary.last_train_loss},
                                        {"dev_loss", summary.dev_loss},
                                        {"parameters", summary.parameters},
                                        {"active_parameters", summary.active_parameters},
                                        {"arch", o.arch},
                                        {"eom_rate", o.eom_rate},
                                        {"languages", codes}});
  return summary;
}

}  // namespace tessera::mt
