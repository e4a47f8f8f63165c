// The JSON report: a stable schema ("regtrace.report/1", documented in docs/report-json-schema.md).
// Members are only ever added within a schema version; entry numbers are 0-based log.entries indexes.
#include "capture/report/render.hpp"

#include <nlohmann/json.hpp>

namespace regtrace::capture::report {
namespace {

using nlohmann::json;
using rules::severity;

std::string result_of(report const& r) {
  if (r.entries.empty()) return "empty";
  auto const worst = worst_severity(r);
  if (!worst || *worst == severity::info) return "passed";
  return *worst == severity::warning ? "warnings" : "failed";
}

json timings_json(timings_ms const& t) {
  return {{"blocked", t.blocked}, {"dns", t.dns},   {"connect", t.connect}, {"ssl", t.ssl},
          {"send", t.send},       {"wait", t.wait}, {"receive", t.receive}};
}

json or_null(std::string const& text) {
  return text.empty() ? json(nullptr) : json(text);
}

json entry_json(report const& r, entry_row const& row) {
  return {{"entry", row.index},
          {"started", or_null(row.started)},
          {"start_ms", row.start_ms},
          {"method", row.method},
          {"url", row.url},
          {"host", row.host},
          {"target", r.exchanges[row.exchange].target},
          {"status", row.status},
          {"status_text", row.reason},
          {"error_code", or_null(row.error_code)},
          {"failure", or_null(row.failure)},
          {"request_bytes", row.request_bytes},
          {"response_bytes", row.response_bytes},
          {"time_ms", row.time_ms},
          {"timings", timings_json(row.timings)},
          {"findings", row.finding_ids}};
}

json failing_request_json(report const& r, std::size_t exchange) {
  auto const& row = r.entries[exchange];
  return {{"entry", row.index},
          {"method", row.method},
          {"url", row.url},
          {"target", r.exchanges[row.exchange].target},
          {"status", row.status},
          {"error_code", or_null(row.error_code)},
          {"failure", or_null(row.failure)}};
}

json operation_json(report const& r, operation const& op) {
  auto steps = json::array();
  for (auto const& step : op.steps) steps.push_back({{"entry", step.entry}, {"role", step.role}});
  bool const failed_at = op.first_failure && *op.first_failure < r.entries.size();
  return {{"kind", to_string(op.kind)},
          {"title", op.title},
          {"registry", op.registry},
          {"repository", or_null(op.repository)},
          {"reference", or_null(op.reference)},
          {"user", or_null(op.user)},
          {"client", or_null(op.client)},
          {"user_agent", or_null(op.user_agent)},
          {"outcome", to_string(op.outcome)},
          {"note", or_null(op.note)},
          {"first_failure", failed_at ? failing_request_json(r, *op.first_failure) : json(nullptr)},
          {"start_ms", op.start_ms},
          {"duration_ms", op.duration_ms},
          {"bytes", op.bytes},
          {"blobs", op.blobs},
          {"blobs_completed", op.blobs_completed},
          {"layers", op.layers},
          {"layers_completed", op.layers_completed},
          {"findings", op.finding_ids},
          {"entries", std::move(steps)}};
}

}  // namespace

json to_json(report const& r) {
  auto findings = json::array();
  for (auto const& f : r.findings) findings.push_back(rules::to_json(f));
  auto entries = json::array();
  for (auto const& row : r.entries) entries.push_back(entry_json(r, row));
  auto const worst = worst_severity(r);
  json document = {
      {"schema", json_schema},
      {"generator", {{"name", "regtrace"}, {"version", REGTRACE_VERSION}}},
      {"verdict", r.verdict},
      {"result", result_of(r)},
      {"worst_severity", worst ? json(rules::to_string(*worst)) : json(nullptr)},
      {"counts",
       {{"critical", r.counts[3]}, {"error", r.counts[2]}, {"warning", r.counts[1]}, {"info", r.counts[0]}}},
      {"client_error", r.client_error},
      {"remediation", r.remediation},
      {"findings", std::move(findings)},
      {"entries", std::move(entries)},
      {"warnings", r.warnings},
      {"source",
       {{"file", r.source.file},
        {"creator", r.source.creator},
        {"entries", r.source.entries},
        {"truncated", r.source.truncated},
        {"by_regtrace", r.source.by_regtrace}}}};
  document["clients"] = registry::clients_json(r.clients);
  // Only when there are operations: a report without them keeps exactly the members it always had.
  if (!r.operations.empty()) {
    auto& operations = document["operations"] = json::array();
    for (auto const& op : r.operations) operations.push_back(operation_json(r, op));
  }
  return document;
}

std::string render_json(report const& r) {
  // Invalid UTF-8 from a foreign HAR must not make the dump throw: replace it.
  return to_json(r).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::optional<format> format_from_string(std::string_view name) {
  if (name == "text") return format::text;
  if (name == "markdown" || name == "md") return format::markdown;
  if (name == "json") return format::json;
  if (name == "html") return format::html;
  return std::nullopt;
}

std::string render(report const& r, format f, bool colour) {
  switch (f) {
    case format::text:
      return render_text(r, colour);
    case format::markdown:
      return render_markdown(r);
    case format::json:
      return render_json(r);
    case format::html:
      return render_html(r);
  }
  return {};
}

}  // namespace regtrace::capture::report
