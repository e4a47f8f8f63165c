// The HTML page around a report, shared by the single-trace and the fleet reports: the head with its
// Content-Security-Policy and inline style, severity badges and verdict colours.
#include "capture/report/render_detail.hpp"

namespace regtrace::capture::report::detail {
namespace {

constexpr char const* style = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;
padding:16px 24px;color:#1d1d1f;background:#fff}
h1{font-size:22px;margin:8px 0 2px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:0 0 4px}h4{font-size:13px;margin:10px 0 2px;color:#555}
code,pre,td.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#f6f8fa;border:1px solid #e1e4e8;border-radius:4px;padding:8px;white-space:pre-wrap;
word-break:break-all;margin:4px 0}
.source{color:#666;margin:0}
.verdict{border-radius:6px;padding:12px 16px;margin:14px 0;font-size:16px;font-weight:600}
.v-ok{background:#e6f4ea;border:1px solid #34a853}.v-warning{background:#fef7e0;border:1px solid #f9ab00}
.v-error{background:#fce8e6;border:1px solid #d93025}
.badge{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;font-weight:700;color:#fff;
margin-right:6px}
.s-critical{background:#8b0000}.s-error{background:#d93025}.s-warning{background:#e37400}.s-info{background:#1a73e8}
.warnings{background:#fff8e1;border-left:4px solid #f9ab00;padding:8px 8px 8px 28px;margin:8px 0}
.finding{border:1px solid #ddd;border-left-width:6px;border-radius:4px;padding:10px 14px;margin:10px 0}
.f-critical{border-left-color:#8b0000}.f-error{border-left-color:#d93025}.f-warning{border-left-color:#e37400}
.f-info{border-left-color:#1a73e8}
.finding .title{font-weight:600;margin:2px 0 6px}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #eee;padding:3px 6px;text-align:left;
vertical-align:top}th{background:#fafafa;position:sticky;top:0}td.num{text-align:right;white-space:nowrap}
td.path{word-break:break-all}tr.hit td{background:#fff4f2}tr:target td{outline:2px solid #1a73e8}
.st-bad{color:#d93025;font-weight:600}
details summary{cursor:pointer;color:#1a73e8;white-space:nowrap}dl{margin:4px 0}dt{font-weight:600;margin-top:6px}
.waterfall{overflow-x:auto;border:1px solid #eee;border-radius:4px}
.waterfall text{font:11px ui-monospace,"DejaVu Sans Mono",monospace}.waterfall .axis{fill:#777}
.waterfall .tick{stroke:#eee}.label.hit,.label.bad{fill:#d93025}.label.ok{fill:#333}
.legend span{margin-right:12px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;
margin-right:4px;vertical-align:middle}
.operation{border:1px solid #ddd;border-left-width:6px;border-radius:4px;padding:8px 14px;margin:10px 0}
.op-succeeded{border-left-color:#34a853}.op-failed{border-left-color:#d93025}.op-incomplete{border-left-color:#e37400}
.o-succeeded{background:#188038}.o-failed{background:#d93025}.o-incomplete{background:#e37400}
.operation .facts,.operation .stopped{margin:2px 0}table.steps{width:auto;margin-top:4px}
footer{color:#888;font-size:12px;margin:30px 0 10px}
)";

}  // namespace

std::string html_page_start(std::string_view title, std::string_view extra_style) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         // Nothing may be fetched: the page must open offline and the trace's strings must stay text.
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
         "'unsafe-inline'; "
         "img-src data:\"><link rel=\"icon\" href=\"data:,\">"
         "<title>" +
         html_escape(title) + "</title><style>" + style + std::string(extra_style) +
         "</style></head>\n<body>\n";
}

std::string badge(rules::severity s, std::string const& prefix) {
  return "<span class=\"badge s-" + std::string(rules::to_string(s)) + "\">" + prefix + severity_label(s) +
         "</span>";
}

std::string counts_badges(severity_counts const& counts) {
  std::string out = "<div class=\"counts\">";
  for (std::size_t level = counts.size(); level-- > 0;)
    if (counts[level] > 0)
      out += badge(static_cast<rules::severity>(level), std::to_string(counts[level]) + " ");
  return out + "</div>";
}

std::string verdict_class(std::optional<rules::severity> worst) {
  if (!worst || *worst == rules::severity::info) return "v-ok";
  return *worst == rules::severity::warning ? "v-warning" : "v-error";
}

}  // namespace regtrace::capture::report::detail
