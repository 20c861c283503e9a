// Language-model commands: train, generate, chat, eval, forward.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "tessera/core/autograd.h"
#include "tessera/core/io/npy.h"
#include "tessera/infer/chat.h"
#include "tessera/infer/generate.h"
#include "tessera/models/causal_lm.h"
#include "tessera/models/presets.h"
#include "tessera/models/seq2seq.h"
#include "tessera/train/corpus.h"
#include "tessera/train/recipe.h"

namespace tessera::cli {

namespace {

namespace fs = std::filesystem;

std::unique_ptr<text::Tokenizer> model_tokenizer(const std::string& dir) {
  return text::load_tokenizer(dir);
}

std::vector<int32_t> stop_ids_for(const models::CausalLM& model, const text::Tokenizer& tok) {
  std::vector<int32_t> ids;
  if (auto eos = tok.eos_id()) ids.push_back(*eos);
  const auto& eos = model.config_json()["eos_token_id"];
  if (eos.is_number_integer()) ids.push_back(eos.get<int32_t>());
  if (eos.is_array())
    for (const auto& e : eos) ids.push_back(e.get<int32_t>());
  return ids;
}

struct SamplingFlags {
  int64_t max_tokens = 128;
  double temperature = 0.8, top_p = 0.95, min_p = 0.0, repetition_penalty = 1.0;
  int64_t top_k = 0;
  uint64_t seed = 0;
  void add_to(CLI::App* cmd) {
    cmd->add_option("--max-tokens", max_tokens, "tokens to generate")->check(CLI::NonNegativeNumber);
    cmd->add_option("--temperature", temperature, "0 = greedy")->check(CLI::NonNegativeNumber);
    cmd->add_option("--top-p", top_p, "nucleus sampling mass")->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--top-k", top_k, "0 = off")->check(CLI::NonNegativeNumber);
    cmd->add_option("--min-p", min_p, "0 = off")->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--repetition-penalty", repetition_penalty, "1 = off");
    cmd->add_option("--seed", seed, "sampling seed");
  }
  infer::SamplingParams params() const {
    return {.temperature = temperature, .top_k = top_k, .top_p = top_p, .min_p = min_p,
            .repetition_penalty = repetition_penalty, .seed = seed};
  }
};

void add_train(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a model from scratch or resume a run");
  auto recipe = std::make_shared<train::TrainRecipe>();
  auto schedule_name = std::make_shared<std::string>("cosine");
  auto lr = std::make_shared<double>(1e-3);
  auto warmup = std::make_shared<int64_t>(50);
  cmd->add_option("--model-type", recipe->model_type, "architecture (model_type)");
  cmd->add_option("--preset", recipe->preset, "model size: tiny, small, base, 125m");
  cmd->add_option("--config", recipe->config_path, "config.json whose keys override the preset");
  cmd->add_option("--data", recipe->data_dir, "dataset folder with train/ and valid/ (tessera data build|corpus)")->required();
  cmd->add_option("--out", recipe->options.out_dir, "checkpoint folder")->required();
  auto* steps = cmd->add_option("--steps", recipe->options.steps, "optimizer steps");
  cmd->add_option("--minutes", recipe->options.minutes, "stop after this much wall time")->excludes(steps);
  cmd->add_flag("--resume", recipe->options.resume, "continue from the checkpoint in --out");
  cmd->add_option("--batch-size", recipe->options.batch_size, "sequences per micro-batch");
  cmd->add_option("--seq-len", recipe->options.seq_len, "tokens per sequence");
  cmd->add_option("--grad-accum", recipe->options.grad_accum, "micro-batches per step");
  cmd->add_option("--lr", *lr, "peak learning rate");
  cmd->add_option("--warmup", *warmup, "warm-up steps");
  cmd->add_option("--schedule", *schedule_name, "constant, linear, cosine, wsd, inverse-sqrt");
  cmd->add_option("--weight-decay", recipe->options.adamw.weight_decay, "AdamW decoupled weight decay");
  cmd->add_option("--clip", recipe->options.clip_norm, "global gradient-norm clip (0 = off)");
  cmd->add_option("--eval-every", recipe->options.eval_every, "steps between validations");
  cmd->add_option("--save-every", recipe->options.save_every, "steps between checkpoints");
  cmd->add_option("--runs-dir", recipe->options.runs_dir, "where runs/<name>/metrics.jsonl goes");
  cmd->add_option("--seed", recipe->options.seed, "initialisation and data-order seed");
  cmd->callback([=] {
    train::TrainRecipe r = *recipe;
    TESSERA_CHECK_INPUT(parse_schedule_kind(*schedule_name, r.options.schedule.kind),
                        "unknown --schedule \"{}\"", *schedule_name);
    r.options.schedule.peak_lr = *lr;
    r.options.schedule.warmup_steps = *warmup;
    if (r.options.minutes > 0) r.options.steps = 1'000'000'000;  // time decides
    r.options.schedule.total_steps = r.options.minutes > 0 ? 0 : r.options.steps;
    auto result = train::run_recipe(r);
    const auto& s = result.summary;
    fmt::print("trained {} parameters to step {} in {:.1f} s ({:.0f} tokens/s)\n", result.parameters,
               s.steps_done, s.seconds, s.tokens_per_second);
    if (!result.valid_folder.empty()) {
      fmt::print("valid loss {:.4f} -> {:.4f} (perplexity {:.2f} -> {:.2f})\n", s.valid_loss_before,
                 s.valid_loss_after, std::exp(s.valid_loss_before), std::exp(s.valid_loss_after));
    }
    fmt::print("checkpoint: {}\n", r.options.out_dir);
  });
}

void add_generate(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "Generate text from a prompt");
  auto model_dir = std::make_shared<std::string>();
  auto prompt = std::make_shared<std::string>();
  auto stats = std::make_shared<bool>(false);
  auto flags = std::make_shared<SamplingFlags>();
  cmd->add_option("--model", *model_dir, "model folder")->required();
  cmd->add_option("--prompt", *prompt, "prompt text")->required();
  cmd->add_flag("--stats", *stats, "print prefill/decode tokens/s and weight bytes to stderr");
  flags->add_to(cmd);
  cmd->callback([=] {
    auto model = models::load_model(*model_dir);
    auto tok = model_tokenizer(*model_dir);
    infer::GenerationRequest req;
    std::vector<int32_t> ids = tok->encode(*prompt, /*add_special=*/true);
    req.prompt = ids;
    req.max_tokens = flags->max_tokens;
    req.sampling = flags->params();
    req.stop_ids = stop_ids_for(*model, *tok);
    std::fputs(prompt->c_str(), stdout);
    infer::GenerationStats st;
    infer::generate(*model, tok.get(), {req}, [](size_t, std::string_view d) {
      std::fwrite(d.data(), 1, d.size(), stdout);
      std::fflush(stdout);
      return true;
    }, &st);
    std::fputc('\n', stdout);
    std::fflush(stdout);  // the text first, then the statistics on stderr
    if (*stats) {
      fmt::print(stderr, "prefill: {} tokens, {:.1f} tokens/s\ndecode: {} tokens, {:.1f} tokens/s\nweights: {} bytes\n",
                 st.prefill_tokens, st.prefill_tokens / std::max(st.prefill_seconds, 1e-9), st.decode_tokens,
                 st.decode_tokens / std::max(st.decode_seconds, 1e-9), model->resident_weight_bytes());
    }
  });
}

void add_chat(CLI::App& app) {
  auto* cmd = app.add_subcommand("chat", "Interactive chat through the model's chat template");
  auto model_dir = std::make_shared<std::string>();
  auto template_name = std::make_shared<std::string>();
  auto system = std::make_shared<std::string>();
  auto flags = std::make_shared<SamplingFlags>();
  flags->max_tokens = 512;
  cmd->add_option("--model", *model_dir, "model folder")->required();
  cmd->add_option("--template", *template_name, "llama3, chatml or mistral (default: from tokenizer_config.json)");
  cmd->add_option("--system", *system, "system message");
  flags->add_to(cmd);
  cmd->callback([=] {
    auto model = models::load_model(*model_dir);
    auto tok = model_tokenizer(*model_dir);
    infer::ChatTemplate tpl;
    if (!template_name->empty()) {
      TESSERA_CHECK_INPUT(infer::parse_chat_template(*template_name, tpl), "unknown --template \"{}\"", *template_name);
    } else {
      auto detected = infer::detect_chat_template_in(*model_dir);
      TESSERA_CHECK_INPUT(detected.has_value(), "{}: no recognisable chat template; pass --template", *model_dir);
      tpl = *detected;
    }
    std::vector<infer::ChatMessage> history;
    if (!system->empty()) history.push_back({"system", *system});
    std::string line;
    while (true) {
      std::fputs("> ", stderr);
      if (!std::getline(std::cin, line)) break;
      if (line.empty()) continue;
      history.push_back({"user", line});
      infer::GenerationRequest req;
      req.prompt = tok->encode(infer::apply_chat_template(tpl, history), false);
      req.max_tokens = flags->max_tokens;
      req.sampling = flags->params();
      req.stop_ids = stop_ids_for(*model, *tok);
      req.stop_strings = infer::chat_stop_strings(tpl);
      auto res = infer::generate(*model, tok.get(), {req}, [](size_t, std::string_view d) {
        std::fwrite(d.data(), 1, d.size(), stdout);
        std::fflush(stdout);
        return true;
      });
      std::fputc('\n', stdout);
      history.push_back({"assistant", res[0].text});
    }
  });
}

void add_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Loss and perplexity of a model on a dataset split");
  auto model_dir = std::make_shared<std::string>(), data = std::make_shared<std::string>();
  auto split = std::make_shared<std::string>("valid");
  auto batch = std::make_shared<int64_t>(8), seq = std::make_shared<int64_t>(256), max_batches = std::make_shared<int64_t>(0);
  auto json = std::make_shared<bool>(false);
  cmd->add_option("--model", *model_dir, "model folder")->required();
  cmd->add_option("--data", *data, "dataset folder")->required();
  cmd->add_option("--split", *split, "split inside --data");
  cmd->add_option("--batch-size", *batch, "sequences per batch");
  cmd->add_option("--seq-len", *seq, "tokens per sequence");
  cmd->add_option("--max-batches", *max_batches, "0 = the whole split");
  cmd->add_flag("--json", *json, "machine-readable output");
  cmd->callback([=] {
    auto model = models::load_model(*model_dir);
    auto dataset = train::TokenDataset::open(train::find_split_folder(*data, *split));
    double loss = train::evaluate_loss(*model, dataset, *batch, *seq, *max_batches);
    if (*json) {
      fmt::print("{}\n", nlohmann::json({{"loss", loss}, {"perplexity", std::exp(loss)}}).dump());
    } else {
      fmt::print("loss {:.4f}  perplexity {:.3f}\n", loss, std::exp(loss));
    }
  });
}

void add_forward(CLI::App& app) {
  auto* cmd = app.add_subcommand("forward", "Write the logits [T, vocab] of given ids to .npy");
  auto model_dir = std::make_shared<std::string>(), ids_text = std::make_shared<std::string>(),
       out = std::make_shared<std::string>();
  cmd->add_option("--model", *model_dir, "model folder (config.json + weights suffice)")->required();
  cmd->add_option("--ids", *ids_text, "space-separated token ids")->required();
  cmd->add_option("--out", *out, "output .npy (float32)")->required();
  auto decoder_ids_text = std::make_shared<std::string>();
  cmd->add_option("--decoder-ids", *decoder_ids_text,
                  "encoder-decoder models (m2m_100, nllb-moe): decoder input ids; --ids is the source");
  cmd->callback([=] {
    auto parse_ids = [](const std::string& text, const char* flag) {
      std::vector<int64_t> ids;
      std::istringstream in(text);
      std::string word;
      while (in >> word) {
        try {
          size_t used = 0;
          ids.push_back(std::stoll(word, &used));
          TESSERA_CHECK_INPUT(used == word.size(), "{}: \"{}\" is not an integer", flag, word);
        } catch (const std::logic_error&) {
          throw bad_input("{}: \"{}\" is not an integer", flag, word);
        }
      }
      TESSERA_CHECK_INPUT(!ids.empty(), "{}: no token ids given", flag);
      return ids;
    };
    std::vector<int64_t> ids = parse_ids(*ids_text, "--ids");
    if (models::is_seq2seq_folder(*model_dir)) {
      // Encoder-decoder: eval-mode decoder logits [T_dec, vocab] for source --ids.
      TESSERA_CHECK_INPUT(!decoder_ids_text->empty(), "--decoder-ids is required for an encoder-decoder model");
      std::vector<int64_t> dec = parse_ids(*decoder_ids_text, "--decoder-ids");
      auto s2s = models::load_seq2seq_model(*model_dir);
      NoGrad no_grad;
      Tensor logits = s2s->forward(Tensor::from_vector(ids, {1, static_cast<int64_t>(ids.size())}),
                                   Tensor::from_vector(dec, {1, static_cast<int64_t>(dec.size())})).logits;
      io::save_npy(*out, logits.select(0, 0).to(DType::f32).contiguous());
      fmt::print("wrote {} decoder logits [{}, {}] to {}\n", s2s->model_type(), dec.size(), s2s->vocab_size(), *out);
      return;
    }
    TESSERA_CHECK_INPUT(decoder_ids_text->empty(), "--decoder-ids applies to encoder-decoder models only");
    auto model = models::load_model(*model_dir);
    Tensor logits = model->forward(Tensor::from_vector(ids, {1, static_cast<int64_t>(ids.size())}));
    io::save_npy(*out, logits.select(0, 0).to(DType::f32).contiguous());
    fmt::print("wrote {} logits [{}, {}] to {}\n", model->model_type(), ids.size(), model->vocab_size(), *out);
  });
}

// The README's main job: corpus -> a few minutes of training -> perplexity and samples.
void add_quickstart(CLI::App& app) {
  auto* cmd = app.add_subcommand("quickstart", "Build the default corpus, train a small model for a few minutes, sample from it");
  auto out = std::make_shared<std::string>("quickstart");
  auto minutes = std::make_shared<double>(3.0);
  auto preset = std::make_shared<std::string>("tiny");
  auto seed = std::make_shared<uint64_t>(0);
  cmd->add_option("--out", *out, "folder for the corpus, the run and the model");
  cmd->add_option("--minutes", *minutes, "training time")->check(CLI::PositiveNumber);
  cmd->add_option("--preset", *preset, "model size");
  cmd->add_option("--seed", *seed, "initialisation, data order and sampling seed");
  cmd->callback([=] {
    const fs::path root(*out);
    const fs::path corpus = root / "corpus";
    if (fs::exists(corpus / "train" / "index.json") && fs::exists(corpus / "valid" / "index.json")) {
      fmt::print("corpus: reusing {}\n", corpus.string());
    } else {
      fmt::print("corpus: building {} from Debian package text...\n", corpus.string());
      train::CorpusOptions copts;
      copts.out = corpus.string();
      copts.show_progress = true;
      auto report = train::build_default_corpus(copts);
      fmt::print("corpus: {:.1f} MB train, {:.1f} MB valid; sources in {}\n", report.train_bytes / 1e6,
                 report.valid_bytes / 1e6, (corpus / "SOURCES.md").string());
    }
    train::TrainRecipe recipe;
    recipe.preset = *preset;
    recipe.data_dir = corpus.string();
    recipe.options.out_dir = (root / "model").string();
    recipe.options.runs_dir = (root / "runs").string();
    recipe.options.run_name = "quickstart";
    recipe.options.minutes = *minutes;
    recipe.options.steps = 1'000'000'000;
    recipe.options.batch_size = 16;
    recipe.options.seq_len = 128;
    recipe.options.eval_every = 0;
    recipe.options.save_every = 0;
    recipe.options.eval_batches = 20;
    recipe.options.seed = *seed;
    recipe.options.schedule.kind = ScheduleKind::wsd;  // no total known in advance: hold, then the end decays
    recipe.options.schedule.peak_lr = 3e-3;
    recipe.options.schedule.warmup_steps = 30;
    // With a time budget the step count is estimated from the first steps' speed.
    recipe.options.schedule.total_steps = 0;
    auto result = train::run_recipe(recipe);
    const auto& s = result.summary;
    fmt::print("model: {} parameters, {} steps in {:.0f} s ({:.0f} tokens/s)\n", result.parameters,
               s.steps_done, s.seconds, s.tokens_per_second);
    fmt::print("valid perplexity: {:.1f} before training -> {:.1f} after\n", std::exp(s.valid_loss_before),
               std::exp(s.valid_loss_after));
    auto model = models::load_model(recipe.options.out_dir);
    auto tok = model_tokenizer(recipe.options.out_dir);
    const char* prompts[] = {"In the beginning", "And Jesus said unto them,", "A man who"};
    std::vector<infer::GenerationRequest> reqs;
    for (const char* p : prompts) {
      infer::GenerationRequest r;
      r.prompt = tok->encode(p, true);
      r.max_tokens = 40;
      r.sampling = {.temperature = 0.8, .top_p = 0.95, .seed = *seed};
      r.stop_ids = stop_ids_for(*model, *tok);
      reqs.push_back(r);
    }
    auto results = infer::generate(*model, tok.get(), reqs);
    for (size_t i = 0; i < results.size(); ++i) fmt::print("--- {}{}\n", prompts[i], results[i].text);
    fmt::print("model folder: {} (try: tessera generate --model {} --prompt \"...\")\n",
               recipe.options.out_dir, recipe.options.out_dir);
  });
}

}  // namespace

void add_lm_commands(CLI::App& app) {
  add_quickstart(app);
  add_train(app);
  add_generate(app);
  add_chat(app);
  add_eval(app);
  add_forward(app);
}

}  // namespace tessera::cli
