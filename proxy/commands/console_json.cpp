// The live console as JSON Lines (--log-format json, SPEC §2): what the text console says, as
// objects a log collector can index. Printed exchanges are already redacted (the trace writer
// redacts before the console sees them); a transfer in progress is not, so its query is left out.
#include "capture/har/har_writer.hpp"
#include "proxy/commands/console.hpp"

#include <nlohmann/json.hpp>

namespace regtrace::proxy {
namespace {

nlohmann::json event(char const* name) {
  return {{"event", name}, {"time", capture::iso8601_utc(std::chrono::system_clock::now())}};
}

std::string line_of(nlohmann::json const& object) {
  // Trace text may hold any bytes: replace invalid UTF-8 rather than throw.
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void add_exchange_identity(nlohmann::json& out, capture::exchange const& x) {
  out["connection"] = x.connection_id;
  out["request"] = x.request_index;
  out["kind"] = std::string(capture::to_string(x.kind));
  if (!x.method.empty()) out["method"] = x.method;
}

}  // namespace

std::string json_listening_event(std::string const& proxy_url, std::filesystem::path const& ca_certificate,
                                 std::filesystem::path const& trace, std::filesystem::path const& replay,
                                 std::string const& upstream_proxy, std::string const& metrics) {
  auto out = event("listening");
  out["version"] = REGTRACE_VERSION;
  out["proxy"] = proxy_url;
  out["ca_certificate"] = ca_certificate.string();
  out["trace"] = trace.string();
  if (!replay.empty()) out["replay"] = replay.string();
  if (!upstream_proxy.empty()) out["upstream_proxy"] = upstream_proxy;
  if (!metrics.empty()) out["metrics"] = metrics;
  return line_of(out);
}

std::string json_exchange_event(capture::exchange const& x) {
  auto out = event("exchange");
  add_exchange_identity(out, x);
  out["started"] = capture::iso8601_utc(x.started);
  out["url"] = x.kind == capture::entry_kind::exchange ? x.url() : x.authority();
  out["status"] = x.status;
  out["request_bytes"] = x.request_body.bytes;
  out["response_bytes"] = x.response_body.bytes;
  out["time_ms"] = x.total_ms();
  if (x.failure)
    out["failure"] = {{"phase", std::string(capture::to_string(x.failure->where))},
                      {"message", x.failure->message},
                      {"detail", x.failure->detail}};
  out["findings"] = x.finding_ids;
  return line_of(out);
}

std::string json_progress_event(capture::exchange const& x, std::uint64_t bytes, std::uint64_t total,
                                double seconds) {
  auto out = event("progress");
  add_exchange_identity(out, x);
  out["url"] = x.scheme + "://" + x.authority() + x.target.substr(0, x.target.find('?'));
  out["bytes"] = bytes;
  if (total > 0) out["total_bytes"] = total;
  out["seconds"] = seconds;
  return line_of(out);
}

std::string json_finding_event(capture::rules::finding const& f) {
  auto out = event("finding");
  out["finding"] = capture::rules::to_json(f);
  out["count"] = capture::rules::times_seen(f);
  return line_of(out);
}

std::string json_summary_event(console_totals const& totals, std::filesystem::path const& trace,
                               std::uint64_t entries_written, std::uint64_t entries_lost) {
  auto out = event("summary");
  out["exchanges"] = totals.exchanges;
  out["failed"] = totals.failed;
  out["in_flight_at_stop"] = totals.cut_by_stop;
  out["bytes_sent"] = totals.bytes_up;
  out["bytes_received"] = totals.bytes_down;
  out["findings"] = {{"info", totals.findings[0]},
                     {"warning", totals.findings[1]},
                     {"error", totals.findings[2]},
                     {"critical", totals.findings[3]}};
  auto seen = nlohmann::json::array();
  for (auto const& s : totals.seen)
    seen.push_back({{"id", s.id},
                    {"name", s.name},
                    {"severity", std::string(capture::rules::to_string(s.level))},
                    {"title", s.title},
                    {"count", s.count}});
  out["seen"] = std::move(seen);
  out["trace"] = trace.string();
  out["entries"] = entries_written;
  out["entries_lost"] = entries_lost;
  return line_of(out);
}

}  // namespace regtrace::proxy
