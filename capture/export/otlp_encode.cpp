// span_facts to the OTLP wire format, with the classes protoc generates from capture/export/proto
// (the only file outside the tests that includes them).
#include "capture/export/otlp_spans.hpp"

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace regtrace::capture::otlp {
namespace {

namespace common = opentelemetry::proto::common::v1;
namespace wire = opentelemetry::proto::trace::v1;

template <class Bytes>
std::string bytes_of(Bytes const& id) {
  return std::string(id.begin(), id.end());
}

void set_value(common::AnyValue& out, attribute_value const& value) {
  if (auto const* text = std::get_if<std::string>(&value)) {
    out.set_string_value(*text);
  } else if (auto const* number = std::get_if<std::int64_t>(&value)) {
    out.set_int_value(*number);
  } else if (auto const* flag = std::get_if<bool>(&value)) {
    out.set_bool_value(*flag);
  } else if (auto const* list = std::get_if<std::vector<std::string>>(&value)) {
    auto* array = out.mutable_array_value();
    for (auto const& item : *list) array->add_values()->set_string_value(item);
  }
}

template <class Repeated>
void add_attribute(Repeated& out, std::string const& key, attribute_value const& value) {
  auto* kv = out.Add();
  kv->set_key(key);
  set_value(*kv->mutable_value(), value);
}

// A finding as a span event at the span's end (when the exchange was judged): its catalog ID as the
// name, and what the catalog says of it when the rules have reported it.
void add_finding_event(wire::Span& span, std::string const& id, std::uint64_t at,
                       finding_notes const& notes) {
  auto* event = span.add_events();
  event->set_time_unix_nano(at);
  event->set_name(id);
  add_attribute(*event->mutable_attributes(), "regtrace.finding.id", id);
  auto const note = notes.find(id);
  if (note == notes.end()) return;
  add_attribute(*event->mutable_attributes(), "regtrace.finding.title", note->second.title);
  add_attribute(*event->mutable_attributes(), "regtrace.finding.severity",
                std::string(rules::to_string(note->second.level)));
}

void fill_span(wire::Span& out, span_facts const& facts, finding_notes const& notes) {
  out.set_trace_id(bytes_of(facts.trace));
  out.set_span_id(bytes_of(facts.span));
  if (facts.parent) out.set_parent_span_id(bytes_of(*facts.parent));
  out.set_trace_state(facts.trace_state);
  out.set_flags(facts.flags);
  out.set_name(facts.name);
  out.set_kind(wire::Span::SPAN_KIND_CLIENT);
  out.set_start_time_unix_nano(facts.start_unix_nano);
  out.set_end_time_unix_nano(facts.end_unix_nano);
  for (auto const& a : facts.attributes) add_attribute(*out.mutable_attributes(), a.key, a.value);
  for (auto const& id : facts.finding_ids) add_finding_event(out, id, facts.end_unix_nano, notes);
  if (facts.error) {
    out.mutable_status()->set_code(wire::Status::STATUS_CODE_ERROR);
    out.mutable_status()->set_message(facts.status_message);
  }
}

}  // namespace

std::string encode_request(std::span<span_facts const> spans, resource_info const& resource,
                           finding_notes const& notes) {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest request;
  auto* resource_spans = request.add_resource_spans();
  auto& resource_attributes = *resource_spans->mutable_resource()->mutable_attributes();
  add_attribute(resource_attributes, "service.name", std::string("regtrace"));
  if (!resource.service_version.empty())
    add_attribute(resource_attributes, "service.version", resource.service_version);
  if (!resource.host_name.empty()) add_attribute(resource_attributes, "host.name", resource.host_name);
  auto* scope_spans = resource_spans->add_scope_spans();
  scope_spans->mutable_scope()->set_name("regtrace");
  scope_spans->mutable_scope()->set_version(resource.service_version);
  for (auto const& facts : spans) fill_span(*scope_spans->add_spans(), facts, notes);
  return request.SerializeAsString();
}

std::int64_t rejected_spans(std::string_view response_body) {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse response;
  if (response_body.empty() ||
      !response.ParseFromArray(response_body.data(), static_cast<int>(response_body.size())))
    return 0;
  return response.partial_success().rejected_spans();
}

}  // namespace regtrace::capture::otlp
