// The sweep's figure: held-out NMSE against latents on log-log axes, one colour per k, the
// measured points as dots and the fitted L(n, k) as lines.
#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "tessera/interp/sae_sweep.h"

namespace tessera::interp {

std::string sweep_svg(const SweepResult& result) {
  constexpr double W = 640, H = 420, left = 70, right = 130, top = 30, bottom = 50;
  static const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                  "#ff7f0e", "#8c564b", "#e377c2"};
  double n_lo = INFINITY, n_hi = 0, l_lo = INFINITY, l_hi = 0;
  std::set<int64_t> ks;
  for (const auto& p : result.points) {
    if (p.nmse <= 0) continue;
    n_lo = std::min(n_lo, static_cast<double>(p.latents));
    n_hi = std::max(n_hi, static_cast<double>(p.latents));
    l_lo = std::min(l_lo, p.nmse);
    l_hi = std::max(l_hi, p.nmse);
    ks.insert(p.k);
  }
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      W, H);
  if (ks.empty()) return svg + "<text x=\"20\" y=\"40\">no points</text></svg>\n";
  // Pad the ranges (in log space) so points do not sit on the frame.
  const double x0 = std::log10(n_lo) - 0.1, x1 = std::log10(n_hi) + 0.1;
  const double y0 = std::log10(l_lo) - 0.1, y1 = std::log10(l_hi) + 0.1;
  auto px = [&](double n) { return left + (std::log10(n) - x0) / (x1 - x0) * (W - left - right); };
  auto py = [&](double l) {
    return H - bottom - (std::log10(l) - y0) / (y1 - y0) * (H - top - bottom);
  };
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n", left,
      top, W - left - right, H - top - bottom);
  for (int e = static_cast<int>(std::ceil(x0)); e <= static_cast<int>(std::floor(x1)); ++e) {
    const double x = px(std::pow(10.0, e));
    svg += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#ddd\"/><text x=\"{:.1f}\" "
        "y=\"{}\" text-anchor=\"middle\">1e{}</text>\n",
        x, top, x, H - bottom, x, H - bottom + 16, e);
  }
  for (double v = std::pow(10.0, std::floor(y0)); v <= std::pow(10.0, y1); v *= 10) {
    for (double m : {1.0, 2.0, 5.0}) {
      const double l = v * m;
      if (std::log10(l) < y0 || std::log10(l) > y1) continue;
      const double y = py(l);
      svg += fmt::format(
          "<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#eee\"/><text x=\"{}\" "
          "y=\"{:.1f}\" text-anchor=\"end\">{:g}</text>\n",
          left, y, W - right, y, left - 6, y + 4, l);
    }
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">latents n</text>\n",
                     (left + W - right) / 2, H - 12);
  svg += fmt::format(
      "<text x=\"16\" y=\"{}\" transform=\"rotate(-90 16 {})\" text-anchor=\"middle\">held-out "
      "normalised MSE</text>\n",
      (top + H - bottom) / 2, (top + H - bottom) / 2);
  int series = 0;
  for (int64_t k : ks) {
    const char* colour = colours[series % 7];
    std::string line;
    for (int i = 0; i <= 40; ++i) {
      const double n =
          std::pow(10.0, std::log10(n_lo) + (std::log10(n_hi) - std::log10(n_lo)) * i / 40.0);
      const double l = result.joint.predict(n, static_cast<double>(k));
      if (!(l > 0) || std::log10(l) < y0 || std::log10(l) > y1) continue;
      line += fmt::format("{:.1f},{:.1f} ", px(n), py(l));
    }
    if (!line.empty()) {
      svg += fmt::format(
          "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"/>\n", line,
          colour);
    }
    for (const auto& p : result.points) {
      if (p.k != k || p.nmse <= 0) continue;
      svg += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"{}\"><title>n={} k={} "
          "nmse={:.5f}</title>"
          "</circle>\n",
          px(static_cast<double>(p.latents)), py(p.nmse), colour, p.latents, p.k, p.nmse);
    }
    svg += fmt::format(
        "<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">k = {}</text>\n",
        W - right + 16, top + 10 + 18 * series, colour, W - right + 26, top + 14 + 18 * series, k);
    ++series;
  }
  svg += fmt::format("<text x=\"{}\" y=\"18\">fit: rms error {:.3f} in ln L</text>\n", left,
                     result.joint.rms_log_error);
  return svg + "</svg>\n";
}

}  // namespace tessera::interp
