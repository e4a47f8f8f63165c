// The waterfall: one row per entry, its HAR timing phases drawn as adjacent bars from its start offset.
// Inline SVG with <title> tooltips, so it needs neither script nor network.
#include "capture/text/display.hpp"
#include "capture/report/render_detail.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace regtrace::capture::report::detail {
namespace {

constexpr double label_width = 300;
constexpr double chart_width = 680;
constexpr double row_height = 16;
constexpr double axis_height = 20;

struct phase_style {
  char const* name;
  char const* colour;
};
// HAR timing phases in order; "ssl" is drawn as the tail of "connect", which includes it (HAR 1.2).
constexpr std::array<phase_style, 7> phases{{{"blocked", "#b0b0b0"},
                                             {"dns", "#1b9e77"},
                                             {"connect", "#d95f02"},
                                             {"ssl", "#7570b3"},
                                             {"send", "#e7298a"},
                                             {"wait", "#66a61e"},
                                             {"receive", "#1f78b4"}}};

std::array<double, 7> phase_ms(timings_ms const& t) {
  auto positive = [](double v) { return v > 0 ? v : 0.0; };
  double const ssl = positive(t.ssl);
  double const connect = std::max(0.0, positive(t.connect) - ssl);
  return {positive(t.blocked), positive(t.dns),    connect, ssl, positive(t.send),
          positive(t.wait),    positive(t.receive)};
}

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", v);
  return text;
}

std::string tooltip(entry_row const& row, std::array<double, 7> const& ms) {
  std::string text = entry_label(row.index) + " " + row.method + " " + row.url + " → " + status_text(row) +
                     ", " + format_duration_ms(row.time_ms) + " at " + offset_text(row.start_ms);
  for (std::size_t p = 0; p < phases.size(); ++p)
    if (ms[p] > 0) text += std::string("\n") + phases[p].name + ": " + format_duration_ms(ms[p]);
  return text;
}

/// Label text of one row, cut so that it fits the label column.
std::string label(entry_row const& row) {
  std::string text = entry_label(row.index) + " " + row.method + " " + row.path;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (++chars > 46) return text.substr(0, i) + "…";
  }
  return text;
}

}  // namespace

std::string html_timeline(report const& r) {
  double span = 0;
  for (auto const& row : r.entries) span = std::max(span, row.start_ms + std::max(0.0, row.time_ms));
  if (span <= 0) span = 1;
  double const scale = chart_width / span;
  double const height = axis_height + row_height * static_cast<double>(r.entries.size()) + 4;
  std::string out = "<div class=\"waterfall\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    number(label_width + chart_width + 10) + "\" height=\"" + number(height) +
                    "\" role=\"img\" aria-label=\"Waterfall timeline of the requests\">\n";
  for (int tick = 0; tick <= 4; ++tick) {
    double const x = label_width + chart_width * tick / 4;
    out += "<line x1=\"" + number(x) + "\" y1=\"" + number(axis_height - 4) + "\" x2=\"" + number(x) +
           "\" y2=\"" + number(height) + "\" class=\"tick\"/><text x=\"" + number(x) +
           "\" y=\"12\" class=\"axis\" text-anchor=\"" +
           (tick == 0   ? "start"
            : tick == 4 ? "end"
                        : "middle") +
           "\">" + html_escape(offset_text(span * tick / 4)) + "</text>\n";
  }
  for (std::size_t i = 0; i < r.entries.size(); ++i) {
    auto const& row = r.entries[i];
    auto const ms = phase_ms(row.timings);
    double const y = axis_height + row_height * static_cast<double>(i);
    std::string const css =
        row.finding_ids.empty() ? (row.status >= 400 || row.status == 0 ? "bad" : "ok") : "hit";
    out += "<g><title>" + html_escape(tooltip(row, ms)) + "</title>";
    out += "<text x=\"4\" y=\"" + number(y + 12) + "\" class=\"label " + css + "\">" +
           html_escape(label(row)) + "</text>";
    double x = label_width + row.start_ms * scale;
    bool drawn = false;
    for (std::size_t p = 0; p < phases.size(); ++p) {
      if (ms[p] <= 0) continue;
      double const w = std::max(0.5, ms[p] * scale);
      out += "<rect x=\"" + number(x) + "\" y=\"" + number(y + 3) + "\" width=\"" + number(w) +
             "\" height=\"" + number(row_height - 6) + "\" fill=\"" + phases[p].colour + "\"/>";
      x += ms[p] * scale;
      drawn = true;
    }
    if (!drawn)  // no timings at all: a tick marks when the entry started
      out += "<rect x=\"" + number(x) + "\" y=\"" + number(y + 3) + "\" width=\"1.5\" height=\"" +
             number(row_height - 6) + "\" fill=\"#555\"/>";
    out += "</g>\n";
  }
  out += "</svg></div>\n<p class=\"legend\">";
  for (auto const& p : phases)
    out += std::string("<span><i style=\"background:") + p.colour + "\"></i>" + p.name + "</span> ";
  out += "</p>\n";
  return out;
}

}  // namespace regtrace::capture::report::detail
