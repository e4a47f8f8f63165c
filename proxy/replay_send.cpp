#include "proxy/replay_send.hpp"

#include "capture/body_recorder.hpp"
#include "capture/har_reader.hpp"
#include "capture/har_writer.hpp"
#include "capture/redaction.hpp"
#include "capture/registry/challenge.hpp"
#include "capture/registry/classifier.hpp"
#include "capture/registry/rules.hpp"
#include "capture/replay/diff.hpp"
#include "proxy/connect_request.hpp"
#include "proxy/host_rules.hpp"
#include "proxy/http_fields.hpp"
#include "proxy/timing.hpp"
#include "proxy/upstream.hpp"
#include "proxy/upstream_proxy.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>
#include <stdexcept>

namespace regtrace::proxy {
namespace {

using capture::exchange;
using capture::registry::request_kind;

// Recorded headers that belong to the recorded connection or credentials, not to the request.
bool is_resent(std::string_view name) {
  for (std::string_view dropped : {"Authorization", "Host", "Content-Length", "Connection", "Keep-Alive",
                                   "Proxy-Authorization", "Proxy-Connection", "Cookie", "Transfer-Encoding"})
    if (boost::iequals(name, dropped)) return false;
  return true;
}

/// Sends requests one connection each (as dockerd does) and answers registry challenges the way a
/// client would: Basic with the credentials, or a token from the Bearer realm.
class sender {
 public:
  sender(replay_send_options const& options, net::ssl::context& tls) : options_(options), tls_(tls) {
    config_.resolve_rules = options.resolve_rules;
    config_.upstream_ca_files = options.upstream_ca_files;
    config_.insecure_upstream = options.insecure;
    config_.upstream_proxy = options.upstream_proxy;
  }

  /// Sends x's request and fills in its response. A request recorded with credentials is sent with
  /// fresh ones (the recorded ones are redacted): Basic, or a token from the challenge's realm. One
  /// recorded without them is sent without, so an anonymous 401 stays a 401.
  net::awaitable<void> send(exchange& x, bool authorized) {
    auto& auth = auth_by_host_[x.authority()];
    std::string const first_try = authorized ? auth : std::string{};  // named: GCC 12 and co_await temporaries
    co_await send_once(x, first_try);
    if (x.status != 401 || !authorized) co_return;
    auto const* challenge_header = capture::find_header(x.response_headers, "WWW-Authenticate");
    if (!challenge_header) co_return;
    auto challenges = capture::registry::parse_www_authenticate(*challenge_header);
    if (challenges.empty()) co_return;
    auto const& c = challenges.front();
    if (c.scheme == "basic") {
      if (options_.credentials.empty()) co_return;
      auth = basic_authorization(options_.credentials);
    } else if (c.scheme == "bearer") {
      auto token = co_await fetch_token(c);
      if (token.empty()) co_return;
      auth = "Bearer " + token;
    } else {
      co_return;
    }
    co_await send_once(x, auth);
  }

 private:
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
      token.target += separator + std::string(name) + "=" + percent_encode(value);
      separator = '&';
    }
    std::string auth =
        options_.credentials.empty() ? std::string{} : basic_authorization(options_.credentials);
    co_await send_once(token, auth);
    if (token.status != 200) co_return std::string{};
    auto body = nlohmann::json::parse(token.response_body.text, nullptr, false);
    if (!body.is_object()) co_return std::string{};
    for (char const* key : {"token", "access_token"})
      if (auto it = body.find(key); it != body.end() && it->is_string()) co_return it->get<std::string>();
    co_return std::string{};
  }

  static std::string percent_encode(std::string_view value) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char ch : value) {
      if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
        out += static_cast<char>(ch);
      } else {
        out += '%';
        out += hex[ch >> 4];
        out += hex[ch & 15];
      }
    }
    return out;
  }

  // One request on a new connection; the response is recorded into x (body hashed, text kept).
  net::awaitable<void> send_once(exchange& x, std::string const& authorization) {
    x.status = 0;
    x.response_headers.clear();
    x.failure.reset();
    x.started = std::chrono::system_clock::now();
    // A named target: GCC 12 miscompiles braced temporaries inside co_await expressions.
    upstream_target target{x.scheme, x.host, x.port};
    x.upstream_proxy = display_url(config_.upstream_proxy);
    auto opened = co_await open_upstream(target, config_, tls_, ++next_id_);
    x.timings.dns = opened.timings.dns;
    x.timings.connect = opened.timings.connect;
    x.timings.ssl = opened.timings.ssl;
    if (opened.failure) {
      x.failure = std::move(opened.failure);
      co_return;
    }
    auto& connection = *opened.connection;
    x.server_ip = connection.server_ip;
    x.upstream_tls = connection.tls;

    http::request<http::empty_body> request{http::string_to_verb(x.method), x.target, 11};
    request.set(http::field::host, x.authority());
    for (auto const& h : x.request_headers)
      if (is_resent(h.name)) request.insert(h.name, h.value);
    if (!authorization.empty()) request.set(http::field::authorization, authorization);
    request.set(http::field::user_agent, "regtrace-replay/" REGTRACE_VERSION);
    request.keep_alive(false);
    x.request_headers = header_list_of(request);

    connection.stream.tcp().expires_after(config_.idle_timeout);
    auto const send_started = steady_clock::now();
    auto [write_ec, written] = co_await http::async_write(connection.stream, request, use_nothrow);
    if (write_ec) {
      x.failure = capture::make_failure(capture::phase::request_relay, write_ec, "sending the request");
      co_return;
    }
    auto const wait_started = steady_clock::now();
    x.timings.send = ms_between(send_started, wait_started);

    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    if (x.method == "HEAD") parser.skip(true);
    connection.stream.tcp().expires_after(config_.idle_timeout);
    auto [head_ec, head_n] =
        co_await http::async_read_header(connection.stream, connection.buffer, parser, use_nothrow);
    x.timings.wait = ms_between(wait_started, steady_clock::now());
    if (head_ec) {
      x.failure = capture::make_failure(capture::phase::response_relay, head_ec, "waiting for the response");
      co_return;
    }
    auto const& answer = parser.get();
    x.status = answer.result_int();
    x.reason = std::string(answer.reason());
    x.response_headers = header_list_of(answer);

    // Layers are gigabytes: hashed as they stream, never kept.
    std::vector<char> chunk(64 * 1024);
    capture::body_recorder recorder(keeps_text(answer), 64 * 1024);
    auto const receive_started = steady_clock::now();
    while (!parser.is_done()) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      connection.stream.tcp().expires_after(config_.idle_timeout);
      auto [ec, n] = co_await http::async_read(connection.stream, connection.buffer, parser, use_nothrow);
      if (ec == http::error::need_buffer) ec = {};
      recorder.observe({chunk.data(), chunk.size() - parser.get().body().size});
      if (ec) {
        x.response_body = recorder.finish(false);
        x.failure = capture::make_failure(capture::phase::response_relay, ec, "reading the response body");
        co_return;
      }
    }
    x.response_body = recorder.finish(true);
    x.timings.receive = ms_between(receive_started, steady_clock::now());
  }

  replay_send_options const& options_;
  net::ssl::context& tls_;
  proxy_config config_;
  std::uint64_t next_id_ = 0;
  std::map<std::string, std::string> auth_by_host_;  ///< Authorization value that worked last, per host
};

// Reads only: re-issuing uploads or deletes would change the registry. Token requests are replaced
// by a fresh exchange (recorded tokens are redacted); storage URLs carry expired, redacted signatures.
bool worth_resending(exchange const& x, std::vector<std::string> const& only) {
  if (x.kind != capture::entry_kind::exchange || (x.method != "GET" && x.method != "HEAD")) return false;
  auto const kind = capture::registry::classify(x.method, x.host, x.target).kind;
  if (kind == request_kind::token || kind == request_kind::storage) return false;
  if (only.empty()) return true;
  auto const path = x.target.substr(0, x.target.find('?'));
  for (auto const& glob : only)
    if (host_matches(glob, path) || host_matches(glob, x.url())) return true;
  return false;
}

net::awaitable<void> resend_all(sender& client, std::vector<exchange>& now) {
  for (auto& x : now) {
    bool const authorized = capture::find_header(x.request_headers, "Authorization") != nullptr;
    co_await client.send(x, authorized);
  }
}

}  // namespace

int run_replay_send(replay_send_options const& options) {
  auto trace = capture::read_har_file(options.trace);
  if (!trace.ok) throw std::runtime_error(trace.error);
  for (auto const& warning : trace.warnings) std::fprintf(stderr, "regtrace: warning: %s\n", warning.c_str());

  std::vector<std::size_t> picked;  // positions in trace.exchanges
  std::vector<exchange> now;
  for (std::size_t i = 0; i < trace.exchanges.size(); ++i) {
    auto const& recorded = trace.exchanges[i];
    if (!worth_resending(recorded, options.only)) continue;
    picked.push_back(i);
    exchange x;
    x.method = recorded.method;
    x.scheme = recorded.scheme;
    x.host = recorded.host;
    x.port = recorded.port;
    x.target = recorded.target;
    x.request_headers = recorded.request_headers;
    x.connection_id = now.size() + 1;
    x.request_index = 1;
    now.push_back(std::move(x));
  }
  if (picked.empty()) throw std::runtime_error(options.trace.string() + " has no registry read (GET or HEAD) to re-send");

  auto tls_context = tls::make_upstream_context({.extra_ca_files = options.upstream_ca_files, .insecure = options.insecure});
  if (!tls_context) throw std::runtime_error(tls_context.error().message);
  net::ssl::context tls(tls_context.value().release());
  net::io_context io;
  sender client(options, tls);
  std::exception_ptr failed;
  net::co_spawn(io, resend_all(client, now), [&](std::exception_ptr e) { failed = e; });
  io.run();
  if (failed) std::rethrow_exception(failed);

  // What changed, request by request, then in the findings of both traces.
  std::vector<capture::replay::request_diff> diffs;
  std::size_t changed = 0;
  for (std::size_t k = 0; k < picked.size(); ++k) {
    auto const entry = trace.entry_indexes.empty() ? picked[k] : trace.entry_indexes[picked[k]];
    diffs.push_back(capture::replay::compare(trace.exchanges[picked[k]], entry, now[k]));
    if (!diffs.back().changes.empty()) ++changed;
  }
  std::vector<exchange> recorded_reads;
  for (auto i : picked) recorded_reads.push_back(trace.exchanges[i]);
  auto const findings = capture::replay::compare_findings(capture::registry::diagnose(recorded_reads),
                                                          capture::registry::diagnose(now));
  bool const anything = changed > 0 || !findings.appeared.empty() || !findings.disappeared.empty();

  if (!options.output_har.empty()) {
    capture::har_file out(options.output_har);
    for (auto x : now) {
      capture::redact(x);
      out.append(capture::to_har_entry(x));
    }
  }

  if (options.json) {
    auto requests = nlohmann::json::array();
    for (auto const& d : diffs)
      requests.push_back({{"entry", d.recorded_entry}, {"method", d.method}, {"url", d.url},
                          {"recorded_status", d.recorded_status}, {"status_now", d.status_now},
                          {"changes", d.changes}});
    auto ids = [](auto const& list) {
      auto out = nlohmann::json::array();
      for (auto const& f : list) out.push_back(f.id);
      return out;
    };
    nlohmann::json report{{"schema", "regtrace.replay-send/1"}, {"trace", options.trace.string()},
                          {"resent", picked.size()}, {"changed", changed}, {"requests", requests},
                          {"findings_appeared", ids(findings.appeared)},
                          {"findings_disappeared", ids(findings.disappeared)}};
    std::printf("%s\n", report.dump(2).c_str());
  } else {
    std::printf("regtrace replay send: %s — %zu registry reads re-sent, %zu changed\n\n",
                options.trace.filename().c_str(), picked.size(), changed);
    for (auto const& d : diffs) {
      std::printf("#%zu %s %s: %s\n", d.recorded_entry + 1, d.method.c_str(), d.url.c_str(),
                  d.changes.empty() ? "same" : "CHANGED");
      for (auto const& change : d.changes) std::printf("    %s\n", change.c_str());
    }
    for (auto const& f : findings.appeared)
      std::printf("\nnew finding %s %s: %s\n", f.id.c_str(), f.name.c_str(), f.title.c_str());
    for (auto const& f : findings.disappeared)
      std::printf("\ngone: finding %s %s (%s) no longer shows\n", f.id.c_str(), f.name.c_str(), f.title.c_str());
    if (!anything) std::printf("\nThe registry answers as it did when the trace was recorded.\n");
  }
  return anything ? 2 : 0;
}

}  // namespace regtrace::proxy
