// `tessera sae harvest|train|eval|inspect|sweep|export`: TopK sparse autoencoders on a
// model's activations (interp/, docs/sae.md).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tessera/core/error.h"
#include "tessera/core/io/atomic_file.h"
#include "tessera/interp/harvest.h"
#include "tessera/interp/sae_eval.h"
#include "tessera/interp/sae_format.h"
#include "tessera/interp/sae_inspect.h"
#include "tessera/interp/sae_sweep.h"
#include "tessera/interp/sae_train.h"
#include "tessera/text/tokenizer.h"
#include "tessera/train/data_dataset.h"

namespace tessera::cli {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

void add_threads_option(CLI::App* cmd) {
  cmd->add_option("--threads", global_options().threads, "worker threads (0: all cores)")
      ->check(CLI::NonNegativeNumber);
}

train::TokenDataset open_split(const std::string& data, const std::string& split) {
  return train::TokenDataset::open(train::find_split_folder(data, split));
}

void write_text_file(const std::string& path, const std::string& text) {
  io::AtomicFileWriter writer(path);
  writer.write(text);
  writer.commit();
}

// Token ids as text for contexts: the model folder's tokenizer, else the dataset's, else ids.
std::function<std::string(int32_t)> token_printer(const std::string& model_dir,
                                                  const train::TokenDataset& data) {
  std::shared_ptr<text::Tokenizer> tokenizer;
  for (const std::string& path : {model_dir, data.tokenizer_path()}) {
    if (path.empty()) continue;
    try {
      tokenizer = text::load_tokenizer(path);
      break;
    } catch (const Error&) {
      // No tokenizer there: try the next place, and print ids if none has one.
    }
  }
  if (!tokenizer) return [](int32_t id) { return "<" + std::to_string(id) + ">"; };
  return [tokenizer](int32_t id) {
    const int32_t ids[1] = {id};
    return tokenizer->decode(ids);
  };
}

// The hook point of an SAE unless the command line overrides it.
void resolve_hook(const interp::TopKSae& sae, int64_t& layer, std::string& site) {
  if (layer < 0) layer = sae.config().hook_layer;
  if (site.empty()) site = sae.config().hook_site;
  TESSERA_CHECK_INPUT(layer >= 0, "the SAE's cfg.json names no hook layer: pass --layer");
}

void add_harvest_command(CLI::App& sae) {
  struct Options {
    std::string model, data, split = "train", out;
    interp::HarvestOptions harvest;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = sae.add_subcommand(
      "harvest", "Run a model over a token dataset and store one activation per token");
  cmd->add_option("--model", o->model, "model folder")->required();
  cmd->add_option("--layer", o->harvest.layer, "block index (0-based)")->required();
  cmd->add_option("--site", o->harvest.site, "resid_post, resid_pre or mlp_out");
  cmd->add_option("--data", o->data, "token dataset folder (tessera data build|corpus)")
      ->required();
  cmd->add_option("--split", o->split, "split inside --data");
  cmd->add_option("--tokens", o->harvest.tokens, "tokens to harvest");
  cmd->add_option("--seq-len", o->harvest.seq_len, "tokens per context window");
  cmd->add_option("--batch", o->harvest.batch, "windows per forward pass");
  cmd->add_flag("--bf16", o->harvest.bf16, "store bf16 shards (half the disk) instead of f32 .npy");
  cmd->add_option("--shard-rows", o->harvest.shard_rows, "rows per shard file");
  cmd->add_option("--out", o->out, "output folder")->required();
  cmd->add_flag("--json", o->json, "machine-readable summary");
  add_threads_option(cmd);
  cmd->callback([o] {
    auto model = models::load_model(o->model);
    auto data = open_split(o->data, o->split);
    o->harvest.progress = !o->json;
    const int64_t rows = interp::harvest_to_folder(*model, o->model, data, o->harvest, o->out);
    auto acts = interp::open_activations(o->out);
    const json summary = {{"out", o->out},           {"rows", rows},
                          {"d", acts->d()},          {"layer", o->harvest.layer},
                          {"site", o->harvest.site}, {"dtype", o->harvest.bf16 ? "bf16" : "f32"}};
    if (o->json) {
      fmt::print("{}\n", summary.dump());
    } else {
      fmt::print("harvested {} activations of width {} ({} at layer {}) into {}\n", rows, acts->d(),
                 o->harvest.site, o->harvest.layer, o->out);
    }
  });
}

void add_train_command(CLI::App& sae) {
  struct Options {
    std::string acts, model, data, split = "train", normalize = "none", format = "saelens";
    int64_t layer = -1;
    std::string site = "resid_post";
    int64_t online_tokens = 0;
    bool no_resume = false, json = false;
    interp::SaeTrainOptions train;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = sae.add_subcommand("train",
                                 "Train a TopK SAE (Adam, AuxK, unit-norm decoder) on activations");
  auto* acts = cmd->add_option("--acts", o->acts,
                               "harvest folder, folder of float32 [N, d] .npy files, or one .npy");
  auto* model = cmd->add_option(
      "--model", o->model, "train online: harvest from this model first (needs --data, --layer)");
  acts->excludes(model);
  cmd->add_option("--data", o->data, "token dataset for --model");
  cmd->add_option("--split", o->split, "split inside --data");
  cmd->add_option("--layer", o->layer, "block index for --model");
  cmd->add_option("--site", o->site, "resid_post, resid_pre or mlp_out (for --model)");
  cmd->add_option("--online-tokens", o->online_tokens,
                  "activations harvested for --model (default: min(--tokens, 1M))");
  cmd->add_option("--latents", o->train.latents, "dictionary size n")->required();
  cmd->add_option("--k", o->train.k, "active latents per token");
  cmd->add_option("--auxk", o->train.aux_k, "AuxK latents (default d/2; 0 disables AuxK)");
  cmd->add_option("--aux-coef", o->train.aux_coef, "AuxK loss coefficient");
  cmd->add_option("--dead-tokens", o->train.dead_tokens,
                  "tokens without firing after which a latent is dead");
  cmd->add_flag("--multi-topk", o->train.multi_topk, "add L(4k)/8 to the loss");
  cmd->add_flag("--batch-topk", o->train.batch_topk,
                "BatchTopK: the batch keeps batch*k activations");
  cmd->add_option("--normalize", o->normalize,
                  "input normalisation: none, layer_norm, scale (E||x||^2 = d)");
  cmd->add_option("--batch", o->train.batch, "tokens per step");
  cmd->add_option("--lr", o->train.lr, "learning rate (default: 2e-4 / sqrt(n / 2^14))");
  cmd->add_option("--tokens", o->train.tokens,
                  "training tokens (default: one pass over the activations)");
  cmd->add_option("--seed", o->train.seed, "initialisation and data-order seed");
  cmd->add_option("--checkpoint-every", o->train.checkpoint_every,
                  "tokens between checkpoints (0: at the end)");
  cmd->add_flag("--no-resume", o->no_resume, "start over even if --out holds a checkpoint");
  cmd->add_option("--format", o->format, "output layout: saelens (default) or sparsify");
  cmd->add_option("--out", o->train.out_dir, "output folder (the SAE, metrics.jsonl, checkpoint/)")
      ->required();
  cmd->add_flag("--json", o->json, "machine-readable summary");
  add_threads_option(cmd);
  cmd->callback([o] {
    o->train.normalization = interp::parse_normalization(o->normalize);
    o->train.resume = !o->no_resume;
    o->train.progress = !o->json;
    const interp::SaeFormat format = interp::parse_sae_format(o->format);
    std::unique_ptr<interp::ActivationSource> source;
    if (!o->acts.empty()) {
      source = interp::open_activations(o->acts);
    } else {
      TESSERA_CHECK_INPUT(!o->model.empty(),
                          "pass --acts DIR, or --model DIR with --data and --layer");
      TESSERA_CHECK_INPUT(!o->data.empty() && o->layer >= 0, "--model needs --data and --layer");
      auto lm = models::load_model(o->model);
      auto data = open_split(o->data, o->split);
      interp::HarvestOptions h{.layer = o->layer, .site = o->site, .progress = !o->json};
      h.tokens =
          o->online_tokens > 0
              ? o->online_tokens
              : std::min<int64_t>(o->train.tokens > 0 ? o->train.tokens : 1'000'000, 1'000'000);
      std::vector<float> values;
      int64_t width = 0;
      interp::harvest(*lm, data, h, [&](const float* rows, int64_t count, int64_t d) {
        values.insert(values.end(), rows, rows + count * d);
        width = d;
      });
      TESSERA_CHECK_INPUT(width > 0, "{}: the dataset produced no tokens", o->data);
      source = std::make_unique<interp::MemoryActivations>(std::move(values), width);
      // The hook point travels into cfg.json as for a harvest folder.
      source->set_metadata({{"model", o->model}, {"layer", o->layer}, {"site", o->site}});
    }
    interp::SaeTrainer trainer(*source, o->train);
    trainer.train();
    if (format == interp::SaeFormat::sparsify)
      interp::save_sae(trainer.sae(), o->train.out_dir, format);
    const auto& s = trainer.last_stats();
    const json summary = {{"out", o->train.out_dir},
                          {"steps", trainer.steps()},
                          {"tokens", trainer.tokens_seen()},
                          {"lr", trainer.learning_rate()},
                          {"fvu", s.fvu},
                          {"aux_fvu", s.aux_fvu},
                          {"l0", s.l0},
                          {"dead_latents", trainer.dead_latents()},
                          {"latents", trainer.sae().n()},
                          {"k", trainer.sae().k()},
                          {"d_in", trainer.sae().d()}};
    if (o->json) {
      fmt::print("{}\n", summary.dump());
    } else {
      fmt::print(
          "trained {} latents (k = {}) on {} tokens in {} steps: last-batch fvu {:.4f}, {} dead; "
          "SAE in {}\n",
          trainer.sae().n(), trainer.sae().k(), trainer.tokens_seen(), trainer.steps(), s.fvu,
          trainer.dead_latents(), o->train.out_dir);
    }
  });
}

void add_eval_command(CLI::App& sae) {
  struct Options {
    std::string sae, acts, model, data, split = "train", site;
    int64_t layer = -1, tokens = 8192, seq_len = 128, batch = 8;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = sae.add_subcommand(
      "eval", "Reconstruction metrics and downstream delta LM loss / KL of an SAE");
  cmd->add_option("--sae", o->sae, "SAE folder (SAELens or sparsify)")->required();
  cmd->add_option("--acts", o->acts, "activations for reconstruction metrics");
  cmd->add_option("--model", o->model, "model folder for the downstream metrics (with --data)");
  cmd->add_option("--data", o->data, "token dataset folder");
  cmd->add_option("--split", o->split, "split inside --data");
  cmd->add_option("--layer", o->layer, "hook layer (default: from cfg.json)");
  cmd->add_option("--site", o->site, "hook site (default: from cfg.json)");
  cmd->add_option("--tokens", o->tokens, "tokens evaluated (rows of --acts / model tokens)");
  cmd->add_option("--seq-len", o->seq_len, "tokens per context window");
  cmd->add_option("--batch", o->batch, "windows per forward pass");
  cmd->add_flag("--json", o->json, "machine-readable output");
  add_threads_option(cmd);
  cmd->callback([o] {
    TESSERA_CHECK_INPUT(!o->acts.empty() || !o->model.empty(),
                        "pass --acts and/or --model with --data");
    const interp::TopKSae sae = interp::load_sae(o->sae);
    json out = {{"sae", o->sae}, {"latents", sae.n()}, {"k", sae.k()}, {"d_in", sae.d()}};
    if (!o->acts.empty()) {
      auto acts = interp::open_activations(o->acts);
      out["reconstruction"] = interp::evaluate_reconstruction(sae, *acts, o->tokens).to_json();
    }
    if (!o->model.empty()) {
      TESSERA_CHECK_INPUT(!o->data.empty(), "--model needs --data");
      resolve_hook(sae, o->layer, o->site);
      auto model = models::load_model(o->model);
      auto data = open_split(o->data, o->split);
      interp::ReconstructionMetrics online;
      interp::DownstreamOptions d{.layer = o->layer,
                                  .site = o->site,
                                  .tokens = o->tokens,
                                  .seq_len = o->seq_len,
                                  .batch = o->batch};
      const auto m =
          interp::evaluate_downstream(*model, data, d, interp::sae_replacement(sae), &sae, &online);
      out["downstream"] = m.to_json();
      if (o->acts.empty()) out["reconstruction"] = online.to_json();
      out["hook"] = {{"layer", o->layer}, {"site", o->site}};
    }
    if (o->json) {
      fmt::print("{}\n", out.dump(2));
      return;
    }
    fmt::print("SAE {}: {} latents, k = {}, d_in = {}\n", o->sae, sae.n(), sae.k(), sae.d());
    if (out.contains("reconstruction")) {
      const auto& r = out["reconstruction"];
      fmt::print("reconstruction ({} tokens)\n", r["tokens"].get<int64_t>());
      fmt::print("  normalised MSE (mean baseline)  {:.5f}\n",
                 r["nmse_mean_baseline"].get<double>());
      fmt::print("  normalised MSE (zero baseline)  {:.5f}\n",
                 r["nmse_zero_baseline"].get<double>());
      fmt::print("  fraction of variance unexplained {:.5f}\n", r["fvu"].get<double>());
      fmt::print("  L0                              {:.2f}\n", r["l0"].get<double>());
      fmt::print("  dead fraction                   {:.4f}\n", r["dead_fraction"].get<double>());
    }
    if (out.contains("downstream")) {
      const auto& m = out["downstream"];
      fmt::print("downstream at layer {} {} ({} tokens)\n", o->layer, o->site,
                 m["tokens"].get<int64_t>());
      fmt::print("  LM loss clean                   {:.5f}\n", m["ce_clean"].get<double>());
      fmt::print("  delta LM loss, SAE spliced      {:+.5f}   KL {:.5f}\n",
                 m["delta_lm_loss"].get<double>(), m["kl_spliced"].get<double>());
      fmt::print("  delta LM loss, zero ablation    {:+.5f}   KL {:.5f}\n",
                 m["delta_lm_loss_zero_ablation"].get<double>(),
                 m["kl_zero_ablation"].get<double>());
      fmt::print("  delta LM loss, mean ablation    {:+.5f}   KL {:.5f}\n",
                 m["delta_lm_loss_mean_ablation"].get<double>(),
                 m["kl_mean_ablation"].get<double>());
      fmt::print("  loss recovered                  {:.4f}\n", m["loss_recovered"].get<double>());
    }
  });
}

void add_inspect_command(CLI::App& sae) {
  struct Options {
    std::string sae, model, data, split = "train", html, site;
    std::vector<int64_t> latents;
    int64_t layer = -1, max_page_latents = 2000;
    interp::InspectOptions inspect;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = sae.add_subcommand(
      "inspect", "Top-activating contexts of latents; --html writes a latent browser");
  cmd->add_option("--sae", o->sae, "SAE folder")->required();
  cmd->add_option("--model", o->model, "model folder")->required();
  cmd->add_option("--data", o->data, "token dataset folder")->required();
  cmd->add_option("--split", o->split, "split inside --data");
  cmd->add_option("--latent", o->latents, "latent index to print (repeatable)");
  cmd->add_option("--html", o->html, "write a self-contained latent-browser page here");
  cmd->add_option("--page-latents", o->max_page_latents,
                  "most latents embedded in the page (most frequent first)");
  cmd->add_option("--layer", o->layer, "hook layer (default: from cfg.json)");
  cmd->add_option("--site", o->site, "hook site (default: from cfg.json)");
  cmd->add_option("--tokens", o->inspect.tokens, "tokens scanned");
  cmd->add_option("--top", o->inspect.top, "contexts kept per latent");
  cmd->add_option("--seq-len", o->inspect.seq_len, "tokens per context window");
  cmd->add_flag("--json", o->json, "machine-readable output");
  add_threads_option(cmd);
  cmd->callback([o] {
    TESSERA_CHECK_INPUT(!o->latents.empty() || !o->html.empty(),
                        "pass --latent I and/or --html FILE");
    const interp::TopKSae sae = interp::load_sae(o->sae);
    for (int64_t l : o->latents) {
      TESSERA_CHECK_INPUT(l >= 0 && l < sae.n(), "--latent {} outside [0, {})", l, sae.n());
    }
    resolve_hook(sae, o->layer, o->site);
    o->inspect.layer = o->layer;
    o->inspect.site = o->site;
    o->inspect.progress = !o->json;
    auto model = models::load_model(o->model);
    auto data = open_split(o->data, o->split);
    const auto report = interp::inspect_latents(*model, data, sae, o->inspect);
    const auto token_text = token_printer(o->model, data);
    json out = json::array();
    for (int64_t l : o->latents) {
      if (o->json) {
        out.push_back(interp::latent_json(report.summaries[l], token_text));
      } else {
        fmt::print("{}", interp::format_latent(report.summaries[l], token_text));
      }
    }
    if (!o->html.empty()) {
      write_text_file(o->html, interp::latent_browser_html(report, token_text, "SAE " + o->sae,
                                                           o->max_page_latents));
      if (!o->json) fmt::print("latent browser written to {}\n", o->html);
    }
    if (o->json) fmt::print("{}\n", out.dump(-1, ' ', false, json::error_handler_t::replace));
  });
}

void add_sweep_command(CLI::App& sae) {
  struct Options {
    std::string acts, out, normalize = "none";
    interp::SweepOptions sweep;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = sae.add_subcommand(
      "sweep", "Train over a grid of latents and k; fit L(n, k) and a compute power law");
  cmd->add_option("--acts", o->acts, "activations (harvest folder or .npy files)")->required();
  cmd->add_option("--latents", o->sweep.latents, "latent counts, e.g. 1024,2048,4096")
      ->required()
      ->delimiter(',');
  cmd->add_option("--k", o->sweep.ks, "k values, e.g. 8,16,32")->required()->delimiter(',');
  cmd->add_option("--tokens", o->sweep.train.tokens, "training tokens per run");
  cmd->add_option("--batch", o->sweep.train.batch, "tokens per step");
  cmd->add_option("--lr", o->sweep.train.lr, "learning rate (default: the paper's rule per n)");
  cmd->add_option("--auxk", o->sweep.train.aux_k, "AuxK latents (default d/2; 0 disables)");
  cmd->add_option("--normalize", o->normalize, "none, layer_norm or scale");
  cmd->add_option("--holdout", o->sweep.holdout, "fraction of rows held out for scoring");
  cmd->add_option("--seed", o->sweep.train.seed, "seed");
  cmd->add_option("--out", o->out, "folder for sweep.json and sweep.svg")->required();
  cmd->add_flag("--json", o->json, "print sweep.json");
  add_threads_option(cmd);
  cmd->callback([o] {
    o->sweep.train.normalization = interp::parse_normalization(o->normalize);
    o->sweep.progress = !o->json;
    auto acts = interp::open_activations(o->acts);
    const auto result = interp::run_sweep(*acts, o->sweep);
    fs::create_directories(o->out);
    const json j = result.to_json();
    write_text_file((fs::path(o->out) / "sweep.json").string(), j.dump(2) + "\n");
    write_text_file((fs::path(o->out) / "sweep.svg").string(), interp::sweep_svg(result));
    if (o->json) {
      fmt::print("{}\n", j.dump(2));
      return;
    }
    fmt::print("{:>8} {:>5} {:>12} {:>8} {:>8}\n", "latents", "k", "nmse", "L0", "dead");
    for (const auto& p : result.points) {
      fmt::print("{:>8} {:>5} {:>12.5f} {:>8.2f} {:>8.4f}\n", p.latents, p.k, p.nmse, p.l0,
                 p.dead_fraction);
    }
    const auto& f = result.joint;
    fmt::print(
        "L(n,k) = exp({:.3f} {:+.3f} ln k {:+.3f} ln n {:+.4f} ln k ln n) + exp({:.3f} {:+.3f} ln "
        "k)"
        "  (rms {:.3f} in ln L)\n",
        f.alpha, f.beta_k, f.beta_n, f.gamma, f.zeta, f.eta, f.rms_log_error);
    for (const auto& law : result.compute_laws) {
      fmt::print("k = {}: L = {:.4g} * C^{:.4f} (r2 {:.3f})\n", law.k, law.coefficient,
                 law.exponent, law.r2);
    }
    fmt::print("wrote {}/sweep.json and {}/sweep.svg\n", o->out, o->out);
  });
}

void add_export_command(CLI::App& sae) {
  struct Options {
    std::string sae, out, format = "sparsify";
  };
  auto o = std::make_shared<Options>();
  auto* cmd = sae.add_subcommand("export", "Rewrite an SAE folder as SAELens or sparsify");
  cmd->add_option("--sae", o->sae, "SAE folder (either layout)")->required();
  cmd->add_option("--format", o->format, "saelens or sparsify");
  cmd->add_option("--out", o->out, "output folder")->required();
  cmd->callback([o] {
    const interp::SaeFormat format = interp::parse_sae_format(o->format);
    interp::save_sae(interp::load_sae(o->sae), o->out, format);
    fmt::print("wrote {} ({})\n", o->out, o->format);
  });
}

}  // namespace

void add_sae_commands(CLI::App& app) {
  auto* sae = app.add_subcommand(
      "sae", "TopK sparse autoencoders: harvest, train, eval, inspect, sweep, export");
  sae->require_subcommand(1);
  add_harvest_command(*sae);
  add_train_command(*sae);
  add_eval_command(*sae);
  add_inspect_command(*sae);
  add_sweep_command(*sae);
  add_export_command(*sae);
}

}  // namespace tessera::cli
