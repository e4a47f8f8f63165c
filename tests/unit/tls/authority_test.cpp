#include "tls/authority.hpp"

#include "tests/support/tls_helpers.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <ctime>

using regtrace::tls::authority;
using regtrace::tls::test::read_text;
using regtrace::tls::test::temp_dir;
using regtrace::tls::test::write_text;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(fs::path const& path) {
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return info.st_mode & 0777;
}

bool is_critical(X509* cert, int nid) {
  int const index = X509_get_ext_by_NID(cert, nid, -1);
  return index >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, index)) == 1;
}

}  // namespace

TEST_CASE("a missing CA is created with private files and loads back unchanged", "[tls][authority]") {
  temp_dir tmp;
  fs::path const dir = tmp.path() / "nested" / "ca";
  bool created = false;
  auto ca = authority::load_or_create(dir, &created);
  REQUIRE(ca.has_value());
  CHECK(created);
  REQUIRE(fs::exists(dir / "ca.crt"));
  REQUIRE(fs::exists(dir / "ca.key"));
  CHECK(mode_of(dir / "ca.key") == 0600);
  CHECK(mode_of(dir / "ca.crt") == 0644);
  CHECK(mode_of(dir) == 0700);
  CHECK((*ca)->certificate_path() == dir / "ca.crt");
  CHECK(read_text(dir / "ca.key").starts_with("-----BEGIN PRIVATE KEY-----"));

  auto again = authority::load_or_create(dir, &created);
  REQUIRE(again.has_value());
  CHECK_FALSE(created);
  CHECK((*again)->sha256_fingerprint() == (*ca)->sha256_fingerprint());
  CHECK((*again)->certificate_der() == (*ca)->certificate_der());
  CHECK(EVP_PKEY_eq((*again)->key(), (*ca)->key()) == 1);

  auto loaded = authority::load(dir);
  REQUIRE(loaded.has_value());
  CHECK((*loaded)->sha256_fingerprint() == (*ca)->sha256_fingerprint());
  CHECK((*loaded)->certificate_pem() == read_text(dir / "ca.crt"));
}

TEST_CASE("the CA is a self-signed P-256 CA that can only sign leaves, for ten years", "[tls][authority]") {
  temp_dir tmp;
  auto ca = authority::load_or_create(tmp.path());
  REQUIRE(ca.has_value());
  X509* cert = (*ca)->certificate();

  CHECK(X509_self_signed(cert, 1) == 1);
  CHECK(X509_check_ca(cert) == 1);
  CHECK(is_critical(cert, NID_basic_constraints));
  CHECK(X509_get_pathlen(cert) == 0);
  CHECK(is_critical(cert, NID_key_usage));
  CHECK(X509_get_key_usage(cert) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  CHECK(X509_get0_subject_key_id(cert) != nullptr);
  CHECK(EVP_PKEY_is_a((*ca)->key(), "EC") == 1);
  char group[64] = {};
  REQUIRE(EVP_PKEY_get_group_name((*ca)->key(), group, sizeof group, nullptr) == 1);
  CHECK(std::string{group} == "prime256v1");

  int days = 0;
  int seconds = 0;
  REQUIRE(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(cert), X509_get0_notAfter(cert)) == 1);
  CHECK(days >= 3650);
  CHECK(days <= 3654);
  CHECK(X509_cmp_current_time(X509_get0_notBefore(cert)) < 0);

  CHECK((*ca)->subject().starts_with("CN=regtrace CA "));
  std::string const fingerprint = (*ca)->sha256_fingerprint();
  CHECK(fingerprint.size() == 32 * 3 - 1);
  CHECK(fingerprint[2] == ':');
  std::time_t const now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  CHECK((*ca)->not_after().starts_with(std::to_string(parts.tm_year + 1900 + 10) + "-"));
  CHECK((*ca)->not_after().ends_with(" UTC"));
  CHECK((*ca)->certificate_pem().starts_with("-----BEGIN CERTIFICATE-----"));
}

TEST_CASE("loading a directory without a CA says how to create one", "[tls][authority]") {
  temp_dir tmp;
  auto empty = authority::load(tmp.path());
  REQUIRE_FALSE(empty.has_value());
  CHECK_THAT(empty.error().message, Catch::Contains(tmp.path().string()));
  CHECK_THAT(empty.error().message, Catch::Contains("regtrace ca init"));

  auto missing = authority::load(tmp.path() / "nowhere");
  REQUIRE_FALSE(missing.has_value());
  CHECK_THAT(missing.error().message, Catch::Contains("nowhere"));
}

TEST_CASE("a half-present CA is an error naming the missing file, and nothing is overwritten",
          "[tls][authority]") {
  temp_dir tmp;
  REQUIRE(authority::load_or_create(tmp.path()).has_value());
  std::string const key_before = read_text(tmp.path() / "ca.key");

  SECTION("certificate missing") {
    fs::remove(tmp.path() / "ca.crt");
    auto ca = authority::load_or_create(tmp.path());
    REQUIRE_FALSE(ca.has_value());
    CHECK_THAT(ca.error().message, Catch::Contains("ca.crt is missing"));
    CHECK_THAT(ca.error().message, Catch::Contains(tmp.path().string()));
    CHECK(read_text(tmp.path() / "ca.key") == key_before);
    CHECK_FALSE(fs::exists(tmp.path() / "ca.crt"));
  }
  SECTION("key missing") {
    fs::remove(tmp.path() / "ca.key");
    auto ca = authority::load(tmp.path());
    REQUIRE_FALSE(ca.has_value());
    CHECK_THAT(ca.error().message, Catch::Contains("ca.key is missing"));
  }
}

TEST_CASE("a damaged or mismatched CA is refused with a sentence naming the file", "[tls][authority]") {
  temp_dir tmp;
  fs::path const first = tmp.path() / "first";
  fs::path const second = tmp.path() / "second";
  REQUIRE(authority::load_or_create(first).has_value());
  REQUIRE(authority::load_or_create(second).has_value());

  SECTION("certificate not PEM") {
    write_text(first / "ca.crt", "not a certificate\n");
    auto ca = authority::load(first);
    REQUIRE_FALSE(ca.has_value());
    CHECK_THAT(ca.error().message,
               Catch::Contains((first / "ca.crt").string() + " is not a PEM certificate"));
  }
  SECTION("key of another CA") {
    fs::copy_file(second / "ca.key", first / "ca.key", fs::copy_options::overwrite_existing);
    auto ca = authority::load(first);
    REQUIRE_FALSE(ca.has_value());
    CHECK_THAT(ca.error().message, Catch::Contains("is not the key of"));
    CHECK_THAT(ca.error().message, !Catch::Contains("PRIVATE KEY"));
  }
}
