// The scripted cloud registry: TLS listener, virtual hosts by Host header, scripted routes first,
// then the built-in services. Synchronous Beast, a thread per connection.
#include "tests/support/cloud_registry_detail.hpp"

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <thread>

namespace regtrace::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using cloud::clock_type;
using cloud::lower;

namespace {

std::optional<reply> scripted(cloud_registry::state& s, received_request const& r) {
  std::lock_guard lock(s.mutex);
  for (auto& route : s.routes) {
    if (route.host != r.host || route.method != r.method) continue;
    bool const prefix = route.target.ends_with('*');
    if (prefix ? !r.target.starts_with(route.target.substr(0, route.target.size() - 1))
               : route.target != r.target)
      continue;
    auto const& answer = route.answers[std::min(route.next, route.answers.size() - 1)];
    ++route.next;
    return answer;
  }
  return std::nullopt;
}

// Writes the head and the first answer.body_stops_after bytes of the body, then, for a stall, waits
// silently until the peer closes the connection, or for a reset, closes it at once with a TCP RST.
template <class Stream>
void write_cut(Stream& stream, http::response<http::string_body>& response, reply const& answer) {
  beast::error_code ec;
  http::response_serializer<http::string_body> serializer{response};
  http::write_header(stream, serializer, ec);
  auto const sent = std::min(*answer.body_stops_after, answer.body.size());
  if (!ec) net::write(stream, net::buffer(answer.body.data(), sent), ec);
  char byte = 0;
  while (!ec && answer.stall) stream.read_some(net::buffer(&byte, 1), ec);
  if (answer.reset) {
    // Closed here, before the listener's shutdown could send a FIN first.
    beast::get_lowest_layer(stream).set_option(net::socket_base::linger(true, 0), ec);
    beast::get_lowest_layer(stream).close(ec);
  }
}

// Serves requests until the client closes; false when an answer was cut short on purpose (the
// connection then ends without close_notify, as a server that died mid-body).
template <class Stream>
bool serve(Stream& stream, cloud_registry const& self, cloud_registry::state& s) {
  beast::flat_buffer buffer;
  for (;;) {
    beast::error_code ec;
    http::request_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    http::read(stream, buffer, parser, ec);
    if (ec) return true;
    auto const& request = parser.get();
    received_request r{lower(request[http::field::host]),
                       std::string(request.method_string()),
                       std::string(request.target()),
                       {},
                       request.body()};
    r.host = r.host.substr(0, r.host.find(':'));
    for (auto const& field : request) r.headers[lower(field.name_string())] = std::string(field.value());
    {
      std::lock_guard lock(s.mutex);
      s.requests.push_back(r);
    }
    reply answer;
    if (auto script = scripted(s, r))
      answer = *script;
    else if (r.host == cloud_registry::auth_host)
      answer = cloud::token_service(s, r);
    else if (r.host == cloud_registry::storage_host)
      answer = cloud::storage_service(s, r);
    else if (r.host == cloud_registry::registry_host)
      answer = cloud::registry_service(self, s, r);
    else
      answer = {404, {{"Content-Type", "text/plain"}}, "no such virtual host", {}};

    if (answer.delay.count() > 0) std::this_thread::sleep_for(answer.delay);
    http::response<http::string_body> response{static_cast<http::status>(answer.status), 11};
    for (auto const& [name, value] : answer.headers) response.insert(name, value);
    if (response.find(http::field::date) == response.end())
      response.set(http::field::date, http_date(clock_type::now()));
    response.body() = answer.body;
    response.prepare_payload();
    bool const close = !request.keep_alive() || response[http::field::connection] == "close";
    if (answer.body_stops_after) {
      write_cut(stream, response, answer);
      return false;
    }
    if (request.method() == http::verb::head) {
      http::response_serializer<http::string_body> serializer{response};
      http::write_header(stream, serializer, ec);
    } else {
      http::write(stream, response, ec);
    }
    if (ec || close) return true;
  }
}

}  // namespace

std::vector<std::string> cloud_registry::host_names() {
  return {registry_host, auth_host, storage_host, foreign_host, acr_host, gcr_host};
}

cloud_registry::cloud_registry(test_pki const& pki, tls_versions versions)
    : state_(std::make_shared<state>()) {
  auto& tls = state_->tls;
  tls.use_certificate_chain_file(pki.cert_file.string());
  tls.use_private_key_file(pki.key_file.string(), net::ssl::context::pem);
  if (versions == tls_versions::legacy_only) {
    // OpenSSL 3 refuses TLS 1.0/1.1 above security level 0 (their handshake signatures use SHA-1).
    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_VERSION);
    SSL_CTX_set_max_proto_version(tls.native_handle(), TLS1_1_VERSION);
    SSL_CTX_set_cipher_list(tls.native_handle(), "DEFAULT:@SECLEVEL=0");
  } else {
    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
  }
  state_->listener = std::make_unique<loopback_listener>([this, s = state_.get()](tcp::socket& socket) {
    beast::ssl_stream<tcp::socket&> stream(socket, s->tls);
    beast::error_code ec;
    stream.handshake(net::ssl::stream_base::server, ec);
    if (!ec && !serve(stream, *this, *s)) return;  // cut: closed without close_notify
    stream.shutdown(ec);                           // close_notify, as real servers send it
  });
  state_->port = state_->listener->port();
}

cloud_registry::~cloud_registry() {
  state_->listener.reset();
}

std::uint16_t cloud_registry::port() const {
  return state_->port;
}

std::string cloud_registry::authority(std::string const& host) const {
  return host + ":" + std::to_string(state_->port);
}

std::string cloud_registry::url(std::string const& host, std::string const& path_and_query) const {
  return "https://" + authority(host) + path_and_query;
}

void cloud_registry::on(std::string const& host, std::string const& method, std::string const& target,
                        std::vector<reply> answers) {
  std::lock_guard lock(state_->mutex);
  state_->routes.push_back({host, method, target, std::move(answers), 0});
}

void cloud_registry::use_bearer_auth() {
  std::lock_guard lock(state_->mutex);
  state_->bearer = true;
}

void cloud_registry::add_user(std::string const& name, std::string const& password,
                              std::vector<std::string> scopes) {
  std::lock_guard lock(state_->mutex);
  state_->users[name] = {password, std::move(scopes)};
}

void cloud_registry::allow_anonymous(std::vector<std::string> scopes) {
  std::lock_guard lock(state_->mutex);
  state_->anonymous_scopes = std::move(scopes);
}

void cloud_registry::set_token_clock_skew(std::chrono::seconds skew) {
  std::lock_guard lock(state_->mutex);
  state_->token_skew = skew;
}

std::string cloud_registry::challenge(std::string const& scope, std::string const& error) const {
  std::string text = "Bearer realm=\"" + url(auth_host, "/token") + "\",service=\"" + registry_host + "\"";
  if (!scope.empty()) text += ",scope=\"" + scope + "\"";
  if (!error.empty()) text += ",error=\"" + error + "\"";
  return text;
}

std::string cloud_registry::add_manifest(std::string const& name, std::string const& reference,
                                         std::string const& media_type, std::string const& body) {
  std::string digest = digest_of(body);
  std::lock_guard lock(state_->mutex);
  state_->manifests[name + ":" + reference] = {media_type, body, digest};
  state_->manifests[name + ":" + digest] = {media_type, body, digest};
  return digest;
}

std::string cloud_registry::add_blob(std::string const& content) {
  std::string digest = digest_of(content);
  std::lock_guard lock(state_->mutex);
  state_->blobs[digest] = content;
  return digest;
}

std::string cloud_registry::presigned_url(std::string const& digest, clock_type::time_point expiry,
                                          bool valid_signature) const {
  std::string const se = iso8601(expiry), path = cloud::blob_path(digest);
  std::string const sig =
      cloud::sas_signature(valid_signature ? cloud::storage_key : cloud::rotated_key, path, se, "r");
  return url(storage_host, path + "?sv=2020-10-02&se=" + cloud::percent_encode(se) +
                               "&sr=b&sp=r&sig=" + cloud::percent_encode(sig));
}

void cloud_registry::set_presign_lifetime(std::chrono::seconds lifetime) {
  std::lock_guard lock(state_->mutex);
  state_->presign_lifetime = lifetime;
}

void cloud_registry::sign_with_wrong_key() {
  std::lock_guard lock(state_->mutex);
  state_->wrong_key = true;
}

std::vector<received_request> cloud_registry::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

}  // namespace regtrace::test
