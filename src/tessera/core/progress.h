#pragma once
// Progress reporting for long work: a bar with rate and ETA when stderr is a terminal,
// periodic plain log lines otherwise (CI logs, files). Commands reuse it.
#include <chrono>
#include <cstdint>
#include <string>

namespace tessera {

class Progress {
 public:
  // `total` 0 means unknown (no bar, no ETA). `unit` names what is counted ("tok", "step").
  Progress(std::string label, int64_t total, std::string unit = "it");
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(int64_t n = 1);
  void set(int64_t done);
  // Extra text shown after the rate, e.g. "loss 3.21".
  void set_note(std::string note);
  void finish();

  // Exposed for tests: how the line reads at `done` after `seconds`.
  static std::string format_line(const std::string& label, int64_t done, int64_t total,
                                 const std::string& unit, double seconds, const std::string& note,
                                 int bar_width);

 private:
  void maybe_print(bool force);
  std::string label_, unit_, note_;
  int64_t total_, done_ = 0;
  bool terminal_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_print_;
};

// "1.2k", "3.4M": compact counts for rates.
std::string human_count(double value);
// "1m05s", "2h03m": compact durations.
std::string human_duration(double seconds);

}  // namespace tessera
