#include "tls/contexts.hpp"

#include "tests/support/tls_helpers.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <sstream>

using namespace regtrace::tls;
using regtrace::tls::test::read_text;
using regtrace::tls::test::run_handshake;
using regtrace::tls::test::temp_dir;

namespace {

/// The labels of an NSS key log, checking each line's shape on the way.
std::vector<std::string> labels_in(std::filesystem::path const& file) {
  std::istringstream lines{read_text(file)};
  std::vector<std::string> labels;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields{line};
    std::string label, client_random, secret;
    fields >> label >> client_random >> secret;
    CHECK(client_random.size() == 64);
    CHECK_FALSE(secret.empty());
    labels.push_back(label);
  }
  return labels;
}

bool contains(std::vector<std::string> const& labels, char const* label) {
  return std::find(labels.begin(), labels.end(), label) != labels.end();
}

}  // namespace

TEST_CASE("the key log records NSS lines for the handshakes of an enabled context", "[tls][keylog]") {
  temp_dir tmp;
  auto const ca = authority::load_or_create(tmp.path() / "ca").value();
  auto const cache = cert_cache::create(ca).value();
  auto const client_facing = make_client_facing_context().value();
  auto const upstream = make_upstream_context({.extra_ca_files = {ca->certificate_path()}}).value();
  auto handshake = [&] {
    ssl_ptr server{SSL_new(client_facing.get())};
    REQUIRE(use_identity(server.get(), *cache->identity_for("registry.test").value()));
    ssl_ptr client{SSL_new(upstream.get())};
    REQUIRE(prepare_upstream(client.get(), "registry.test"));
    REQUIRE(run_handshake(client.get(), server.get()).client_ok);
  };

  std::filesystem::path const file = tmp.path() / "keys.log";
  REQUIRE(enable_keylog(client_facing.get(), file).has_value());
  struct stat info {};
  REQUIRE(::stat(file.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  handshake();
  auto const labels = labels_in(file);
  CHECK(contains(labels, "CLIENT_HANDSHAKE_TRAFFIC_SECRET"));
  CHECK(contains(labels, "SERVER_HANDSHAKE_TRAFFIC_SECRET"));
  CHECK(contains(labels, "CLIENT_TRAFFIC_SECRET_0"));
  CHECK(contains(labels, "SERVER_TRAFFIC_SECRET_0"));

  // The same file again (both contexts of one proxy) appends to the one already open.
  REQUIRE(enable_keylog(client_facing.get(), file).has_value());
  handshake();
  CHECK(labels_in(file).size() == 2 * labels.size());

  auto unopenable = enable_keylog(client_facing.get(), tmp.path() / "missing" / "keys.log");
  REQUIRE_FALSE(unopenable.has_value());
  CHECK_THAT(unopenable.error().message, Catch::Contains((tmp.path() / "missing" / "keys.log").string()));

  // The key log is process-wide: another file takes every context's lines from now on.
  std::filesystem::path const next = tmp.path() / "next.log";
  REQUIRE(enable_keylog(client_facing.get(), next).has_value());
  handshake();
  CHECK(labels_in(file).size() == 2 * labels.size());
  CHECK(labels_in(next).size() == labels.size());
}
