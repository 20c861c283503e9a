#include "tessera/mt/metrics_report.h"

#include <algorithm>
#include <sstream>

#include "tessera/mt/metrics_unicode.h"

namespace tessera::mt {

namespace {

// Display width as tabulate measures it without wcwidth: one column per code point.
size_t display_width(std::string_view text) {
  size_t width = 0;
  for (unsigned char c : text) width += (c & 0xC0) != 0x80;
  return width;
}

std::vector<std::string> split_lines(const std::string& cell) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (true) {
    size_t end = cell.find('\n', start);
    lines.push_back(cell.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return lines;
}

std::string repeat(std::string_view unit, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) out.append(unit);
  return out;
}

// Python's format(text, '>w') and format(text, '^w') (the extra space of centring goes right).
std::string align(const std::string& text, size_t width, bool right) {
  size_t length = display_width(text);
  if (length >= width) return text;
  size_t padding = width - length;
  if (right) return std::string(padding, ' ') + text;
  size_t left = padding / 2;
  return std::string(left, ' ') + text + std::string(padding - left, ' ');
}

std::string border(const std::vector<size_t>& widths, std::string_view left, std::string_view fill,
                   std::string_view middle, std::string_view right) {
  std::string line(left);
  for (size_t c = 0; c < widths.size(); ++c) {
    if (c > 0) line.append(middle);
    line += repeat(fill, widths[c] + 2);
  }
  line.append(right);
  return line;
}

}  // namespace

std::string render_grid_table(const std::vector<std::string>& headers,
                              const std::vector<std::vector<std::string>>& rows) {
  const size_t columns = headers.size();
  std::vector<size_t> widths(columns);
  for (size_t c = 0; c < columns; ++c) widths[c] = display_width(headers[c]) + 2;  // MIN_PADDING
  std::vector<std::vector<std::vector<std::string>>> cell_lines;
  for (const auto& row : rows) {
    std::vector<std::vector<std::string>> split_row;
    for (size_t c = 0; c < columns; ++c) {
      split_row.push_back(split_lines(c < row.size() ? row[c] : std::string()));
      for (const std::string& line : split_row.back()) widths[c] = std::max(widths[c], display_width(line));
    }
    cell_lines.push_back(std::move(split_row));
  }
  std::ostringstream out;
  out << border(widths, "╒", "═", "╤", "╕") << "\n";
  out << "│";
  for (size_t c = 0; c < columns; ++c) out << " " << align(headers[c], widths[c], c == 0) << " │";
  out << "\n" << border(widths, "╞", "═", "╪", "╡") << "\n";
  for (size_t r = 0; r < cell_lines.size(); ++r) {
    size_t height = 0;
    for (const auto& lines : cell_lines[r]) height = std::max(height, lines.size());
    for (size_t l = 0; l < height; ++l) {
      out << "│";
      for (size_t c = 0; c < columns; ++c) {
        const auto& lines = cell_lines[r][c];
        out << " " << align(l < lines.size() ? lines[l] : std::string(), widths[c], c == 0) << " │";
      }
      out << "\n";
    }
    out << (r + 1 < cell_lines.size() ? border(widths, "├", "─", "┼", "┤")
                                      : border(widths, "╘", "═", "╧", "╛"))
        << "\n";
  }
  if (cell_lines.empty()) out << border(widths, "╘", "═", "╧", "╛") << "\n";
  return out.str();
}

namespace {
std::string signature_list(const std::vector<std::pair<std::string, std::string>>& signatures) {
  std::ostringstream out;
  out << "-----------------\nMetric signatures\n-----------------\n";
  for (const auto& [name, signature] : signatures) {
    std::string padded = name;
    if (display_width(padded) < 10) padded += std::string(10 - display_width(padded), ' ');
    out << " - " << padded << " " << signature << "\n";
  }
  return out.str();
}
}  // namespace

std::string format_systems_report(const std::vector<SystemScores>& systems,
                                  const std::vector<std::string>& signatures, int width) {
  std::vector<std::string> headers = {"System"};
  if (!systems.empty()) {
    for (const MetricScore& score : systems.front().scores) headers.push_back(score.name);
  }
  std::vector<std::vector<std::string>> rows;
  for (const SystemScores& system : systems) {
    std::vector<std::string> row = {system.system};
    for (const MetricScore& score : system.scores) row.push_back(format_fixed(score.score, width));
    rows.push_back(std::move(row));
  }
  std::vector<std::pair<std::string, std::string>> named;
  for (size_t i = 0; i < signatures.size() && i + 1 < headers.size(); ++i) {
    named.emplace_back(headers[i + 1], signatures[i]);
  }
  return render_grid_table(headers, rows) + "\n" + signature_list(named);
}

std::string format_paired_report(const std::vector<PairedMetricResult>& results, int resamples,
                                 int width, bool short_signature) {
  std::vector<std::string> headers = {"System"};
  for (const PairedMetricResult& result : results) headers.push_back(result.metric_name + " (μ ± 95% CI)");
  std::vector<std::vector<std::string>> rows;
  std::string baseline_name;
  const size_t systems = results.empty() ? 0 : results.front().systems.size();
  for (size_t s = 0; s < systems; ++s) {
    std::string name = results.front().systems[s].system;
    if (s == 0) {
      name = "Baseline: " + name;
      baseline_name = name;
    }
    std::vector<std::string> row = {name};
    for (const PairedMetricResult& result : results) {
      const PairedSystemScore& entry = result.systems[s];
      std::string cell = format_fixed(entry.score, width) + " (" + format_fixed(entry.mean, width) +
                         " ± " + format_fixed(entry.half_width, width) + ")";
      if (entry.p_value) {
        cell += "\n(p = " + format_fixed(*entry.p_value, 4) + ")";
        if (*entry.p_value <= 0.05) cell += "*";
      }
      row.push_back(cell);
    }
    rows.push_back(std::move(row));
  }
  std::ostringstream out;
  out << render_grid_table(headers, rows) << "\n";
  const std::string message =
      "Paired bootstrap resampling test with " + std::to_string(resamples) + " resampling trials";
  const std::string rule(message.size(), '-');
  out << rule << "\n" << message << "\n" << rule << "\n";
  out << " - Each system is pairwise compared to " << baseline_name << ".\n"
      << "   Actual system score / bootstrap estimated true mean / 95% CI are provided for each metric.\n\n"
      << " - Null hypothesis: the system and the baseline translations are essentially\n"
      << "   generated by the same underlying process. For a given system and the baseline,\n"
      << "   the p-value is roughly the probability of the absolute score difference (delta)\n"
      << "   or higher occurring due to chance, under the assumption that the null hypothesis is correct.\n\n"
      << " - Assuming a significance threshold of 0.05, the null hypothesis can be rejected\n"
      << "   for p-values < 0.05 (marked with \"*\"). This means that the delta is unlikely to be attributed\n"
      << "   to chance, hence the system is significantly \"different\" than the baseline.\n"
      << "   Otherwise, the p-values are not marked.\n\n"
      << " - NOTE: Significance does not tell whether a system is \"better\" than the baseline but rather\n"
      << "   emphasizes the \"difference\" of the systems in terms of the replicability of the delta.\n\n";
  std::vector<std::pair<std::string, std::string>> named;
  for (const PairedMetricResult& result : results) {
    named.emplace_back(result.metric_name, result.signature.format(short_signature));
  }
  out << signature_list(named);
  return out.str();
}

nlohmann::json paired_results_json(const std::vector<PairedMetricResult>& results) {
  nlohmann::json out = nlohmann::json::array();
  const size_t systems = results.empty() ? 0 : results.front().systems.size();
  for (size_t s = 0; s < systems; ++s) {
    for (const PairedMetricResult& result : results) {
      const PairedSystemScore& entry = result.systems[s];
      out.push_back({{"system", entry.system},
                     {"baseline", s == 0},
                     {"name", result.metric_name},
                     {"score", entry.score},
                     {"mean", entry.mean},
                     {"ci", entry.half_width},
                     {"p_value", entry.p_value ? nlohmann::json(*entry.p_value) : nlohmann::json(nullptr)},
                     {"signature", result.signature.format()}});
    }
  }
  return out;
}

}  // namespace tessera::mt
