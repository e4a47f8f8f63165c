#include "capture/model/failure.hpp"

#include "capture/model/name_table.hpp"

namespace regtrace::capture {
namespace {

constexpr name_table<phase, 9> phase_names{{
    {phase::accept, "accept"},
    {phase::connect_request, "connect_request"},
    {phase::client_tls, "client_tls"},
    {phase::resolve, "resolve"},
    {phase::upstream_connect, "upstream_connect"},
    {phase::upstream_tls, "upstream_tls"},
    {phase::request_relay, "request_relay"},
    {phase::response_relay, "response_relay"},
    {phase::capture, "capture"},
}};

// failing_peer::unknown has no name: the trace leaves the field out.
constexpr name_table<failing_peer, 2> peer_names{{
    {failing_peer::client, "client"},
    {failing_peer::upstream, "upstream"},
}};

class regtrace_category final : public boost::system::error_category {
 public:
  char const* name() const noexcept override { return "regtrace"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::malformed_request:
        return "The request line or a header could not be parsed.";
      case errc::header_too_large:
        return "The header is larger than the limit.";
      case errc::bad_connect_target:
        return "The CONNECT target is not host:port.";
      case errc::proxy_auth_required:
        return "The client did not send the required proxy credentials.";
      case errc::client_rejected_certificate:
        return "The client rejected regtrace's certificate.";
      case errc::client_tls_failed:
        return "The TLS handshake with the client failed.";
      case errc::upstream_unverified:
        return "The upstream certificate could not be verified.";
      case errc::upstream_closed:
        return "The upstream closed the connection before a complete response.";
      case errc::upstream_timeout:
        return "The upstream did not send anything within the idle timeout.";
      case errc::client_timeout:
        return "The client did not send anything within the idle timeout.";
      case errc::unsupported_upgrade:
        return "Protocol upgrades are not relayed.";
      case errc::replay_no_match:
        return "The replayed trace has no matching answer for this request.";
      case errc::replay_body_missing:
        return "The replayed trace does not hold the body of the recorded answer.";
      case errc::upstream_proxy_refused:
        return "The upstream proxy refused to open a tunnel (CONNECT).";
      case errc::tls_version_too_low:
        return "The peer offered only TLS 1.1 or older; regtrace requires TLS 1.2 or newer.";
      case errc::client_abandoned:
        return "The client closed the connection before the exchange ended.";
      case errc::proxy_stopped:
        return "regtrace was stopped while the exchange was in flight.";
      case errc::tls_to_proxy_port:
        return "The client began a TLS handshake on regtrace's plain-HTTP proxy port.";
      case errc::upstream_not_tls:
        return "The upstream answered the TLS handshake in plain HTTP.";
    }
    return "Unknown regtrace error " + std::to_string(value) + ".";
  }
};

}  // namespace

std::string_view to_string(phase p) {
  return name_of(phase_names, p, "unknown");
}

std::optional<phase> phase_from_string(std::string_view name) {
  return value_of(phase_names, name);
}

boost::system::error_category const& category() noexcept {
  static regtrace_category const instance;
  return instance;
}

failure_record make_failure(phase where, boost::system::error_code const& ec, std::string detail,
                            failing_peer peer) {
  return failure_record{
      .where = where,
      .code_category = ec.category().name(),
      .code_value = ec.value(),
      .message = ec.message(),
      .detail = std::move(detail),
      .peer = peer,
  };
}

std::string_view to_string(failing_peer peer) {
  return name_of(peer_names, peer, "");
}

failing_peer failing_peer_from_string(std::string_view name) {
  return value_of(peer_names, name).value_or(failing_peer::unknown);
}

}  // namespace regtrace::capture
