#include "tls/cert_cache.hpp"

#include "tls/x509_util.hpp"
#include "tests/support/tls_helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>
#include <vector>

using namespace regtrace::tls;
using regtrace::tls::test::temp_dir;

namespace {

struct test_ca {
  temp_dir tmp;
  std::shared_ptr<authority const> ca = authority::load_or_create(tmp.path()).value();
  evp_pkey_ptr leaf_key = generate_p256_key().value();
};

struct alt_names {
  std::vector<std::string> dns;
  std::vector<std::vector<unsigned char>> ip;
  bool critical = false;
};

alt_names alt_names_of(X509* cert) {
  alt_names found;
  int critical = 0;
  general_names_ptr names{
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nullptr))};
  found.critical = critical == 1;
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    GENERAL_NAME const* name = sk_GENERAL_NAME_value(names.get(), i);
    ASN1_STRING const* value = name->type == GEN_DNS ? name->d.dNSName : name->d.iPAddress;
    unsigned char const* data = ASN1_STRING_get0_data(value);
    int const size = ASN1_STRING_length(value);
    if (name->type == GEN_DNS) found.dns.emplace_back(reinterpret_cast<char const*>(data), size);
    if (name->type == GEN_IPADD) found.ip.emplace_back(data, data + size);
  }
  return found;
}

std::string common_name_of(X509* cert) {
  char text[256] = {};
  int const size = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, text, sizeof text);
  return size < 0 ? std::string{} : std::string{text, static_cast<std::size_t>(size)};
}

/// What a TLS client checks: chain to the CA, the sslserver purpose, and the name or address.
int verify_leaf(X509* ca, X509* leaf, char const* host, char const* ip) {
  x509_store_ptr store{X509_STORE_new()};
  REQUIRE(X509_STORE_add_cert(store.get(), ca) == 1);
  x509_store_ctx_ptr ctx{X509_STORE_CTX_new()};
  REQUIRE(X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr) == 1);
  REQUIRE(X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER) == 1);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
  if (host != nullptr) REQUIRE(X509_VERIFY_PARAM_set1_host(param, host, 0) == 1);
  if (ip != nullptr) REQUIRE(X509_VERIFY_PARAM_set1_ip_asc(param, ip) == 1);
  if (X509_verify_cert(ctx.get()) == 1) return X509_V_OK;
  return X509_STORE_CTX_get_error(ctx.get());
}

}  // namespace

TEST_CASE("a leaf for a DNS name is a lower-cased serverAuth leaf that verifies against the CA",
          "[tls][leaf]") {
  test_ca t;
  auto leaf = mint_leaf(*t.ca, t.leaf_key.get(), "Registry.Example.TEST");
  REQUIRE(leaf.has_value());
  X509* cert = leaf->get();

  alt_names const names = alt_names_of(cert);
  CHECK(names.dns == std::vector<std::string>{"registry.example.test"});
  CHECK(names.ip.empty());
  CHECK_FALSE(names.critical);
  CHECK(common_name_of(cert) == "registry.example.test");
  CHECK((X509_get_extended_key_usage(cert) & XKU_SSL_SERVER) != 0);
  CHECK(X509_get_key_usage(cert) == KU_DIGITAL_SIGNATURE);
  CHECK(X509_check_ca(cert) == 0);
  CHECK(X509_get_ext_by_NID(cert, NID_basic_constraints, -1) >= 0);
  REQUIRE(X509_get0_authority_key_id(cert) != nullptr);
  CHECK(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(cert),
                              X509_get0_subject_key_id(t.ca->certificate())) == 0);
  CHECK(X509_get0_subject_key_id(cert) != nullptr);

  CHECK(verify_leaf(t.ca->certificate(), cert, "registry.example.test", nullptr) == X509_V_OK);
  CHECK(verify_leaf(t.ca->certificate(), cert, "REGISTRY.example.test", nullptr) == X509_V_OK);
  CHECK(verify_leaf(t.ca->certificate(), cert, "other.example.test", nullptr) ==
        X509_V_ERR_HOSTNAME_MISMATCH);
}

TEST_CASE("IP literals get an IP SAN, never a DNS SAN", "[tls][leaf]") {
  test_ca t;

  auto v4 = mint_leaf(*t.ca, t.leaf_key.get(), "10.1.2.3");
  REQUIRE(v4.has_value());
  alt_names const v4_names = alt_names_of(v4->get());
  CHECK(v4_names.dns.empty());
  CHECK(v4_names.ip == std::vector<std::vector<unsigned char>>{{10, 1, 2, 3}});
  CHECK(verify_leaf(t.ca->certificate(), v4->get(), nullptr, "10.1.2.3") == X509_V_OK);
  CHECK(verify_leaf(t.ca->certificate(), v4->get(), nullptr, "10.1.2.4") == X509_V_ERR_IP_ADDRESS_MISMATCH);

  auto v6 = mint_leaf(*t.ca, t.leaf_key.get(), "[2001:DB8::1]");
  REQUIRE(v6.has_value());
  alt_names const v6_names = alt_names_of(v6->get());
  CHECK(v6_names.dns.empty());
  std::vector<unsigned char> expected(16, 0);
  expected[0] = 0x20, expected[1] = 0x01, expected[2] = 0x0d, expected[3] = 0xb8, expected[15] = 1;
  CHECK(v6_names.ip == std::vector<std::vector<unsigned char>>{expected});
  CHECK(common_name_of(v6->get()) == "2001:db8::1");
  CHECK(verify_leaf(t.ca->certificate(), v6->get(), nullptr, "2001:db8::1") == X509_V_OK);
}

TEST_CASE("a leaf carries the shared P-256 key, a fresh serial, and a validity inside the CA's",
          "[tls][leaf]") {
  test_ca t;
  auto first = mint_leaf(*t.ca, t.leaf_key.get(), "registry.test");
  auto second = mint_leaf(*t.ca, t.leaf_key.get(), "registry.test");
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  X509* cert = first->get();

  EVP_PKEY* public_key = X509_get0_pubkey(cert);
  CHECK(EVP_PKEY_is_a(public_key, "EC") == 1);
  char group[64] = {};
  REQUIRE(EVP_PKEY_get_group_name(public_key, group, sizeof group, nullptr) == 1);
  CHECK(std::string{group} == "prime256v1");
  CHECK(EVP_PKEY_eq(public_key, t.leaf_key.get()) == 1);

  CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(cert), X509_get0_serialNumber(second->get())) != 0);
  CHECK(X509_get0_serialNumber(cert)->type == V_ASN1_INTEGER);  // not V_ASN1_NEG_INTEGER

  X509* ca = t.ca->certificate();
  CHECK(ASN1_TIME_compare(X509_get0_notBefore(cert), X509_get0_notBefore(ca)) >= 0);
  CHECK(ASN1_TIME_compare(X509_get0_notAfter(cert), X509_get0_notAfter(ca)) <= 0);
  CHECK(X509_cmp_current_time(X509_get0_notBefore(cert)) < 0);
  int days = 0;
  int seconds = 0;
  REQUIRE(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(cert), X509_get0_notAfter(cert)) == 1);
  CHECK(days == 365);
  CHECK(seconds == 3600);
}

TEST_CASE("a host too long for a CN gets an empty subject and a critical SAN", "[tls][leaf]") {
  test_ca t;
  std::string const host = std::string(60, 'a') + ".registry.test";
  auto leaf = mint_leaf(*t.ca, t.leaf_key.get(), host);
  REQUIRE(leaf.has_value());
  CHECK(common_name_of(leaf->get()).empty());
  alt_names const names = alt_names_of(leaf->get());
  CHECK(names.critical);
  CHECK(names.dns == std::vector<std::string>{host});
  CHECK(verify_leaf(t.ca->certificate(), leaf->get(), host.c_str(), nullptr) == X509_V_OK);
}

TEST_CASE("hosts that are no host are refused instead of being written into a SAN", "[tls][leaf]") {
  test_ca t;
  for (char const* host : {"", "a.test,DNS:b.test", "a test", "[registry.test]", "a..test", "[10.0.0.1]"}) {
    INFO("host: '" << host << "'");
    auto leaf = mint_leaf(*t.ca, t.leaf_key.get(), host);
    REQUIRE_FALSE(leaf.has_value());
    CHECK_THAT(leaf.error().message, Catch::StartsWith("cannot make a certificate for host"));
  }
  CHECK(mint_leaf(*t.ca, t.leaf_key.get(), "registry.test.").has_value());
}

TEST_CASE("the cache mints once per host, whatever its case", "[tls][cache]") {
  test_ca t;
  auto cache = cert_cache::create(t.ca);
  REQUIRE(cache.has_value());
  auto& c = **cache;

  auto first = c.identity_for("registry.test");
  auto again = c.identity_for("REGISTRY.Test");
  auto other = c.identity_for("mirror.test");
  auto v6 = c.identity_for("[::1]");
  auto v6_bare = c.identity_for("::1");
  REQUIRE(first.has_value());
  REQUIRE(again.has_value());
  REQUIRE(other.has_value());
  REQUIRE(v6.has_value());
  REQUIRE(v6_bare.has_value());
  CHECK(first->get() == again->get());
  CHECK(first->get() != other->get());
  CHECK(v6->get() == v6_bare->get());
  CHECK(c.size() == 3);
  // One key shared by every leaf: minting is then one signature (SPEC §7, ≤ 5 ms per new host).
  CHECK((*first)->key.get() == (*other)->key.get());
  CHECK(X509_check_private_key((*other)->certificate.get(), (*other)->key.get()) == 1);
  CHECK_FALSE(c.identity_for("bad host").has_value());
  CHECK(c.size() == 3);
}

TEST_CASE("concurrent first requests for one host share one identity", "[tls][cache]") {
  test_ca t;
  auto cache = cert_cache::create(t.ca).value();
  constexpr int thread_count = 8;
  std::vector<std::shared_ptr<server_identity const>> seen(thread_count);
  std::vector<std::thread> threads;
  for (int i = 0; i < thread_count; ++i) {
    threads.emplace_back([&cache, &seen, i] {
      auto identity = cache->identity_for(i % 2 == 0 ? "registry.test" : "Registry.Test");
      if (identity) seen[static_cast<std::size_t>(i)] = *identity;
    });
  }
  for (auto& thread : threads) thread.join();
  REQUIRE(seen[0] != nullptr);
  CHECK(std::all_of(seen.begin(), seen.end(), [&](auto const& identity) { return identity == seen[0]; }));
  CHECK(cache->size() == 1);
}
