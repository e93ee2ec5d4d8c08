#pragma once
// Training curves as SVG: a few named series of (step, value) on a shared
// step axis and a log-scaled value axis (losses span decades), with tick
// labels. SVG is plain text, so this needs no library and the file opens in
// any browser.

#include <string>
#include <utility>
#include <vector>

namespace voxgrad::examples {

struct Series {
  std::string name;
  std::string color;  // any SVG colour, e.g. "#1f77b4"
  std::vector<std::pair<double, double>> points;  // (step, value > 0)
};

/// An SVG document of width x height pixels plotting every series (values
/// <= 0 or non-finite are skipped, being off a log axis).
std::string loss_curve_svg(
    const std::vector<Series>& series,
    const std::string& title,
    int width = 720,
    int height = 420);

/// Exponential moving average (bias-corrected, like Adam's), for a readable
/// trend line over noisy per-step losses.
std::vector<std::pair<double, double>> smoothed(
    const std::vector<std::pair<double, double>>& points, double beta = 0.95);

}  // namespace voxgrad::examples
