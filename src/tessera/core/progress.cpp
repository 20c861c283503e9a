#include "tessera/core/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace tessera {

std::string human_count(double v) {
  const char* suffix[] = {"", "k", "M", "G", "T"};
  int i = 0;
  while (std::abs(v) >= 1000.0 && i < 4) {
    v /= 1000.0;
    ++i;
  }
  return i == 0 ? fmt::format("{:.1f}", v) : fmt::format("{:.1f}{}", v, suffix[i]);
}

std::string human_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = static_cast<int64_t>(seconds + 0.5);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}h{:02d}m", s / 3600, (s % 3600) / 60);
}

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total) {
  terminal_ = ::isatty(STDERR_FILENO) != 0;
  start_ = last_print_ = std::chrono::steady_clock::now();
}

Progress::~Progress() { finish(); }

void Progress::advance(int64_t n) {
  done_ += n;
  maybe_print(false);
}

void Progress::set(int64_t done) {
  done_ = done;
  maybe_print(false);
}

void Progress::set_note(std::string note) { note_ = std::move(note); }

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  maybe_print(true);
  if (terminal_) std::fputc('\n', stderr);
}

std::string Progress::format_line(const std::string& label, int64_t done, int64_t total,
                                  const std::string& unit, double seconds, const std::string& note,
                                  int bar_width) {
  double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  std::string line = label;
  if (total > 0) {
    double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    if (bar_width > 0) {
      int filled = static_cast<int>(frac * bar_width);
      line += " [" + std::string(filled, '#') + std::string(bar_width - filled, '.') + "]";
    }
    line += fmt::format(" {:3.0f}% {}/{}", frac * 100.0, done, total);
  } else {
    line += fmt::format(" {}", done);
  }
  line += fmt::format(" {} {}/s", human_count(rate), unit);
  if (total > 0) {
    double eta = rate > 0 ? static_cast<double>(total - done) / rate : NAN;
    line += " eta " + (done >= total ? std::string("0s") : human_duration(eta));
  }
  line += " elapsed " + human_duration(seconds);
  if (!note.empty()) line += " | " + note;
  return line;
}

void Progress::maybe_print(bool force) {
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_print_).count();
  // A terminal redraws often; a log gets a line every 10 s so it stays readable.
  double interval = terminal_ ? 0.1 : 10.0;
  if (!force && since < interval) return;
  last_print_ = now;
  double seconds = std::chrono::duration<double>(now - start_).count();
  std::string line = format_line(label_, done_, total_, unit_, seconds, note_, terminal_ ? 30 : 0);
  if (terminal_) {
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace tessera
