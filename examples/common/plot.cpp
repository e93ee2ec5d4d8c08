#include "plot.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace voxgrad::examples {
namespace {

bool usable(double v) {
  return std::isfinite(v) && v > 0;
}

// Tick labels: 10^k as "0.01" ... "1000", then "1e4"; steps as integers.
std::string decade_label(int k) {
  if (k < -2 || k > 3)
    return "1e" + std::to_string(k);
  std::ostringstream os;
  os << std::pow(10.0, k);
  return os.str();
}

std::string integer_label(double v) {
  return std::to_string(static_cast<long long>(std::llround(v)));
}

}  // namespace

std::vector<std::pair<double, double>> smoothed(
    const std::vector<std::pair<double, double>>& points, double beta) {
  std::vector<std::pair<double, double>> out;
  double avg = 0, weight = 0;
  for (const auto& [x, y] : points) {
    if (!std::isfinite(y))
      continue;
    avg = beta * avg + (1 - beta) * y;
    weight = beta * weight + (1 - beta);
    out.emplace_back(x, avg / weight);
  }
  return out;
}

std::string loss_curve_svg(
    const std::vector<Series>& series,
    const std::string& title,
    int width,
    int height) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const Series& s : series)
    for (const auto& [x, y] : s.points)
      if (usable(y)) {
        x0 = std::min(x0, x);
        x1 = std::max(x1, x);
        y0 = std::min(y0, y);
        y1 = std::max(y1, y);
      }
  if (!(x0 <= x1)) {  // nothing to plot: an empty frame still renders
    x0 = 0, x1 = 1, y0 = 0.1, y1 = 1;
  }
  if (x1 == x0)
    x1 = x0 + 1;
  // Whole decades bound the log axis so ticks land on 10^k.
  const double d0 = std::floor(std::log10(y0)), d1 = std::ceil(std::log10(y1));
  const double decades = std::max(d1 - d0, 1.0);
  const double left = 70, right = 160, top = 40, bottom = 50;
  const double pw = width - left - right, ph = height - top - bottom;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) {
    return top + ph - (std::log10(y) - d0) / decades * ph;
  };
  std::ostringstream os;
  os.precision(4);
  os << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width
     << "' height='" << height << "' font-family='sans-serif' font-size='12'>\n"
     << "<rect width='100%' height='100%' fill='white'/>\n"
     << "<text x='" << left << "' y='24' font-size='15'>" << title
     << "</text>\n";
  for (int k = 0; k <= static_cast<int>(decades); ++k) {
    const double v = std::pow(10.0, d0 + k), y = py(v);
    os << "<line x1='" << left << "' x2='" << left + pw << "' y1='" << y
       << "' y2='" << y << "' stroke='#ddd'/>\n"
       << "<text x='" << left - 6 << "' y='" << y + 4 << "' text-anchor='end'>"
       << decade_label(static_cast<int>(d0) + k) << "</text>\n";
  }
  for (int k = 0; k <= 5; ++k) {
    const double v = x0 + (x1 - x0) * k / 5, x = px(v);
    os << "<line x1='" << x << "' x2='" << x << "' y1='" << top << "' y2='"
       << top + ph << "' stroke='#eee'/>\n"
       << "<text x='" << x << "' y='" << top + ph + 18
       << "' text-anchor='middle'>" << integer_label(v) << "</text>\n";
  }
  os << "<text x='" << left + pw / 2 << "' y='" << height - 10
     << "' text-anchor='middle'>step</text>\n"
     << "<rect x='" << left << "' y='" << top << "' width='" << pw
     << "' height='" << ph << "' fill='none' stroke='#444'/>\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    os << "<polyline fill='none' stroke='" << s.color
       << "' stroke-width='1.5' points='";
    // At most ~1000 vertices per line: more would not show at this width
    // and only make the file large.
    const size_t stride = s.points.size() / 1000 + 1;
    for (size_t k = 0; k < s.points.size(); k += stride) {
      const auto& [x, y] = s.points[k];
      if (usable(y))
        os << px(x) << ',' << py(y) << ' ';
    }
    os << "'/>\n";
    const double ly = top + 14 + 20 * static_cast<double>(i);
    os << "<line x1='" << left + pw + 12 << "' x2='" << left + pw + 36
       << "' y1='" << ly - 4 << "' y2='" << ly - 4 << "' stroke='" << s.color
       << "' stroke-width='2'/>\n"
       << "<text x='" << left + pw + 42 << "' y='" << ly << "'>" << s.name
       << "</text>\n";
  }
  os << "</svg>\n";
  return os.str();
}

}  // namespace voxgrad::examples
