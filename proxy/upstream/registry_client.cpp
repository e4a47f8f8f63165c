#include "proxy/upstream/registry_client.hpp"

#include "capture/body/body_recorder.hpp"
#include "capture/registry/challenge.hpp"
#include "capture/text/percent.hpp"
#include "proxy/config/connect_target.hpp"
#include "proxy/config/host_rules.hpp"
#include "proxy/config/upstream_proxy.hpp"
#include "proxy/io/body_relay.hpp"
#include "proxy/io/http_fields.hpp"
#include "proxy/io/timing.hpp"
#include "proxy/upstream/connect.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <stdexcept>

namespace regtrace::proxy {
namespace {

using capture::exchange;

// Recorded headers that belong to the recorded connection or credentials, not to the request.
bool is_resent(std::string_view name) {
  for (std::string_view dropped :
       {"Authorization", "Host", "Content-Length", "Connection", "Keep-Alive", "Proxy-Authorization",
        "Proxy-Connection", "Cookie", "Transfer-Encoding", "User-Agent"})
    if (capture::iequals(name, dropped)) return false;
  return true;
}

}  // namespace

struct registry_client::impl {
  registry_client_options options;
  proxy_config config;
  std::unique_ptr<net::ssl::context> tls;
  net::io_context io;
  std::vector<exchange> transcript;
  std::map<std::string, std::string> auth_by_host;  ///< Authorization value that worked last, per host

  net::awaitable<void> send(exchange& x, bool authenticate) {
    auto& auth = auth_by_host[x.authority()];
    std::string const first_try =
        authenticate ? auth : std::string{};  // named: GCC 12 and co_await temporaries
    co_await send_once(x, first_try);
    if (x.status != 401 || !authenticate) co_return;
    auto const* challenge_header = capture::find_header(x.response_headers, "WWW-Authenticate");
    if (!challenge_header) co_return;
    auto challenges = capture::registry::parse_www_authenticate(*challenge_header);
    if (challenges.empty()) co_return;
    auto const& c = challenges.front();
    if (c.scheme == "basic") {
      if (options.credentials.empty()) co_return;
      auth = basic_authorization(options.credentials);
    } else if (c.scheme == "bearer") {
      auto token = co_await fetch_token(c);
      if (token.empty()) co_return;
      auth = "Bearer " + token;
    } else {
      co_return;
    }
    co_await send_once(x, auth);
  }

  // GET realm?service=&scope= with Basic credentials when given (catalog §4.3).
  net::awaitable<std::string> fetch_token(capture::registry::auth_challenge const& c) {
    auto target = parse_absolute_target(c.param("realm"));
    if (!target) co_return std::string{};
    exchange token;
    token.method = "GET";
    token.scheme = target->scheme;
    token.host = target->destination.host;
    token.port = target->destination.port;
    token.target = target->origin_form;
    char separator = token.target.find('?') == std::string::npos ? '?' : '&';
    for (char const* name : {"service", "scope"}) {
      auto value = c.param(name);
      if (value.empty()) continue;
      token.target += separator + std::string(name) + "=" + capture::percent_encode(value);
      separator = '&';
    }
    std::string auth = options.credentials.empty() ? std::string{} : basic_authorization(options.credentials);
    co_await send_once(token, auth);
    if (token.status != 200) co_return std::string{};
    auto body = nlohmann::json::parse(token.response_body.text, nullptr, false);
    if (!body.is_object()) co_return std::string{};
    for (char const* key : {"token", "access_token"})
      if (auto it = body.find(key); it != body.end() && it->is_string()) co_return it->get<std::string>();
    co_return std::string{};
  }

  // One request on a new connection; the response is recorded into x (body hashed, text kept), and a
  // copy of the finished exchange goes to the transcript.
  net::awaitable<void> send_once(exchange& x, std::string const& authorization) {
    x.kind = capture::entry_kind::exchange;
    x.status = 0;
    x.reason.clear();
    x.response_headers.clear();
    x.response_body = {};
    x.failure.reset();
    x.upstream_tls.reset();
    x.server_ip.clear();
    x.timings = {};
    x.connection_id = x.upstream_connection_id = transcript.size() + 1;
    x.request_index = 1;
    x.started = std::chrono::system_clock::now();
    co_await exchange_once(x, authorization);
    transcript.push_back(x);
  }

  // x's request as regtrace sends it: the recorded headers less those of the recorded connection and
  // credentials, with this client's own.
  http::request<http::empty_body> request_for(exchange const& x, std::string const& authorization) const {
    http::request<http::empty_body> request{http::string_to_verb(x.method), x.target, 11};
    request.set(http::field::host, x.authority());
    for (auto const& h : x.request_headers)
      if (is_resent(h.name)) request.insert(h.name, h.value);
    if (!authorization.empty()) request.set(http::field::authorization, authorization);
    request.set(http::field::user_agent, options.user_agent);
    request.keep_alive(false);
    return request;
  }

  net::awaitable<void> exchange_once(exchange& x, std::string const& authorization) {
    auto request = request_for(x, authorization);
    x.request_headers = header_list_of(request);
    x.upstream_proxy = display_url(config.upstream_proxy);

    // A named target: GCC 12 miscompiles braced temporaries inside co_await expressions.
    upstream_target target{x.scheme, x.host, x.port};
    auto opened = co_await open_upstream(target, config, *tls, x.connection_id);
    if (!record_connection_attempt(x, opened)) co_return;
    auto& connection = *opened.connection;
    x.server_ip = connection.server_ip;
    x.upstream_tls = connection.tls;

    connection.stream.tcp().expires_after(config.idle_timeout);
    auto const send_started = steady_clock::now();
    auto [write_ec, written] = co_await http::async_write(connection.stream, request, use_nothrow);
    if (write_ec) {
      x.failure = capture::make_failure(capture::phase::request_relay, write_ec, "sending the request");
      co_return;
    }
    auto const wait_started = steady_clock::now();
    x.timings.send = ms_between(send_started, wait_started);
    co_await read_response(connection, x, wait_started);
  }

  // The response into x: its header, and its body hashed as it streams (layers are gigabytes, never
  // kept), its text kept.
  net::awaitable<void> read_response(upstream_connection& connection, exchange& x,
                                     steady_clock::time_point wait_started) {
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    if (x.method == "HEAD") parser.skip(true);
    connection.stream.tcp().expires_after(config.idle_timeout);
    auto [head_ec, head_n] =
        co_await http::async_read_header(connection.stream, connection.buffer, parser, use_nothrow);
    x.timings.wait = ms_between(wait_started, steady_clock::now());
    if (head_ec) {
      x.failure = capture::make_failure(capture::phase::response_relay, head_ec, "waiting for the response");
      co_return;
    }
    record_response_head(x, parser.get());

    std::vector<char> chunk(64 * 1024);
    capture::body_recorder recorder(keeps_text(parser.get()), 64 * 1024);
    auto const receive_started = steady_clock::now();
    auto ec = co_await read_body(connection.stream, connection.buffer, parser, chunk, recorder,
                                 config.idle_timeout);
    x.response_body = recorder.finish(!ec);
    if (ec) {
      x.failure = capture::make_failure(capture::phase::response_relay, ec, "reading the response body");
      co_return;
    }
    x.timings.receive = ms_between(receive_started, steady_clock::now());
  }
};

registry_client::registry_client(registry_client_options options) : impl_(std::make_unique<impl>()) {
  impl_->options = std::move(options);
  impl_->config.resolve_rules = impl_->options.resolve_rules;
  impl_->config.upstream_ca_files = impl_->options.upstream_ca_files;
  impl_->config.insecure_upstream = impl_->options.insecure;
  impl_->config.upstream_proxy = impl_->options.upstream_proxy;
  auto context = tls::make_upstream_context(
      {.extra_ca_files = impl_->options.upstream_ca_files, .insecure = impl_->options.insecure});
  if (!context) throw std::runtime_error(context.error().message);
  impl_->tls = std::make_unique<net::ssl::context>(context.value().release());
}

registry_client::~registry_client() = default;

void registry_client::send(exchange& x, bool authenticate) {
  std::exception_ptr failed;
  impl_->io.restart();
  net::co_spawn(impl_->io, impl_->send(x, authenticate), [&](std::exception_ptr e) { failed = e; });
  impl_->io.run();
  if (failed) std::rethrow_exception(failed);
}

std::vector<exchange> const& registry_client::transcript() const {
  return impl_->transcript;
}

}  // namespace regtrace::proxy
