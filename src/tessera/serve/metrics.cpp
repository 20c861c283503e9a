#include "tessera/serve/metrics.h"

#include <fmt/format.h>

namespace tessera::serve {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  size_t bucket = 0;
  while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

void Histogram::render(const std::string& name, std::string& out) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cumulative);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, count_);
  out += fmt::format("{}_sum {}\n{}_count {}\n", name, sum_, name, count_);
}

Metrics::Metrics()
    : request_seconds_({0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}),
      ttft_seconds_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}),
      token_seconds_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}),
      batch_sizes_({1, 2, 4, 8, 16, 32, 64}) {}

void Metrics::request_finished(const std::string& endpoint, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{endpoint, status}];
  request_seconds_.observe(seconds);
}

void Metrics::tokens(int64_t prompt_tokens, int64_t completion_tokens) {
  std::lock_guard lock(mutex_);
  prompt_tokens_ += static_cast<uint64_t>(prompt_tokens);
  completion_tokens_ += static_cast<uint64_t>(completion_tokens);
}

void Metrics::time_to_first_token(double seconds) {
  std::lock_guard lock(mutex_);
  ttft_seconds_.observe(seconds);
}

void Metrics::time_per_output_token(double seconds) {
  std::lock_guard lock(mutex_);
  token_seconds_.observe(seconds);
}

void Metrics::batch_size(int64_t sequences) {
  std::lock_guard lock(mutex_);
  batch_sizes_.observe(static_cast<double>(sequences));
}

void Metrics::set_queue(int64_t waiting, int64_t running) {
  std::lock_guard lock(mutex_);
  waiting_ = waiting;
  running_ = running;
}

void Metrics::cancelled() {
  std::lock_guard lock(mutex_);
  ++cancelled_;
}

int64_t Metrics::requests_total() const {
  std::lock_guard lock(mutex_);
  uint64_t total = 0;
  for (const auto& [key, count] : requests_) total += count;
  return static_cast<int64_t>(total);
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out += "# HELP tessera_requests_total HTTP requests answered, by endpoint and status.\n";
  out += "# TYPE tessera_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    out += fmt::format("tessera_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first,
                       key.second, count);
  }
  out += "# HELP tessera_prompt_tokens_total Prompt tokens processed.\n";
  out += "# TYPE tessera_prompt_tokens_total counter\n";
  out += fmt::format("tessera_prompt_tokens_total {}\n", prompt_tokens_);
  out += "# HELP tessera_generated_tokens_total Completion tokens generated.\n";
  out += "# TYPE tessera_generated_tokens_total counter\n";
  out += fmt::format("tessera_generated_tokens_total {}\n", completion_tokens_);
  out += "# HELP tessera_cancelled_sequences_total Sequences cancelled (client gone, shutdown).\n";
  out += "# TYPE tessera_cancelled_sequences_total counter\n";
  out += fmt::format("tessera_cancelled_sequences_total {}\n", cancelled_);
  out += "# HELP tessera_queue_waiting Sequences waiting for a decoding slot.\n";
  out += "# TYPE tessera_queue_waiting gauge\n";
  out += fmt::format("tessera_queue_waiting {}\n", waiting_);
  out += "# HELP tessera_sequences_running Sequences in the decoding batch.\n";
  out += "# TYPE tessera_sequences_running gauge\n";
  out += fmt::format("tessera_sequences_running {}\n", running_);
  out += "# HELP tessera_request_duration_seconds Time from request to full answer.\n";
  out += "# TYPE tessera_request_duration_seconds histogram\n";
  request_seconds_.render("tessera_request_duration_seconds", out);
  out += "# HELP tessera_time_to_first_token_seconds Time from submission to the first token.\n";
  out += "# TYPE tessera_time_to_first_token_seconds histogram\n";
  ttft_seconds_.render("tessera_time_to_first_token_seconds", out);
  out += "# HELP tessera_time_per_output_token_seconds Time between consecutive tokens.\n";
  out += "# TYPE tessera_time_per_output_token_seconds histogram\n";
  token_seconds_.render("tessera_time_per_output_token_seconds", out);
  out += "# HELP tessera_batch_size Sequences per batched decode step.\n";
  out += "# TYPE tessera_batch_size histogram\n";
  batch_sizes_.render("tessera_batch_size", out);
  return out;
}

}  // namespace tessera::serve
