#include "tls/cert_cache.hpp"

#include "tls/host_name.hpp"
#include "tls/x509_util.hpp"

#include <ctime>
#include <utility>

namespace regtrace::tls {

namespace {

constexpr long leaf_lifetime_days = 365;  // under the 398 days Apple and browsers accept for leaves
constexpr long clock_skew_seconds = 3600;
constexpr std::size_t max_common_name_chars = 64;  // ub-common-name, RFC 5280 appendix A

using general_name_ptr = std::unique_ptr<GENERAL_NAME, openssl_deleter<GENERAL_NAME_free>>;

/// One leaf's validity: from an hour ago (clients with a slow clock) for a year, inside the CA's.
bool set_validity(X509* leaf, X509 const* ca) {
  std::time_t now = std::time(nullptr);  // one reading, so the lifetime is exact
  ASN1_TIME* not_before = X509_time_adj_ex(X509_getm_notBefore(leaf), 0, -clock_skew_seconds, &now);
  ASN1_TIME* not_after = X509_time_adj_ex(X509_getm_notAfter(leaf), leaf_lifetime_days, 0, &now);
  if (not_before == nullptr || not_after == nullptr) return false;
  if (ASN1_TIME_compare(not_before, X509_get0_notBefore(ca)) < 0 &&
      X509_set1_notBefore(leaf, X509_get0_notBefore(ca)) != 1) {
    return false;
  }
  return ASN1_TIME_compare(not_after, X509_get0_notAfter(ca)) <= 0 ||
         X509_set1_notAfter(leaf, X509_get0_notAfter(ca)) == 1;
}

/// subjectAltName built from typed values: the host comes from a CONNECT line and must not be able
/// to add names through openssl.cnf syntax ("a.test,DNS:b.test"). critical when the subject is empty
/// (RFC 5280 §4.2.1.6).
bool add_subject_alt_name(X509* leaf, host_name host, bool critical) {
  general_name_ptr name{GENERAL_NAME_new()};
  if (!name) return false;
  if (host.ip) {
    GENERAL_NAME_set0_value(name.get(), GEN_IPADD, host.ip.release());
  } else {
    ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
    if (dns == nullptr || ASN1_STRING_set(dns, host.text.data(), static_cast<int>(host.text.size())) != 1) {
      ASN1_IA5STRING_free(dns);
      return false;
    }
    GENERAL_NAME_set0_value(name.get(), GEN_DNS, dns);
  }
  general_names_ptr names{sk_GENERAL_NAME_new_null()};
  if (!names || sk_GENERAL_NAME_push(names.get(), name.get()) == 0) return false;
  name.release();  // owned by names now
  return X509_add1_ext_i2d(leaf, NID_subject_alt_name, names.get(), critical ? 1 : 0, X509V3_ADD_DEFAULT) ==
         1;
}

}  // namespace

result<x509_ptr> mint_leaf(authority const& ca, EVP_PKEY* leaf_key, std::string_view host) {
  auto parsed = parse_host(host);
  if (!parsed) return parsed.error();
  if (X509_cmp_current_time(X509_get0_notAfter(ca.certificate())) <= 0) {
    return error{"the CA " + ca.certificate_path().string() + " expired on " + ca.not_after() +
                 "; remove ca.crt and ca.key to create a new CA, and trust the new one"};
  }

  x509_ptr leaf{X509_new()};
  x509_name_ptr subject{X509_NAME_new()};
  // A CN over 64 characters is invalid; clients match the SAN anyway (RFC 6125 §6.4.4).
  bool const has_cn = parsed->text.size() <= max_common_name_chars;
  bool ok = leaf && subject && X509_set_version(leaf.get(), X509_VERSION_3) == 1 &&
            set_random_serial(leaf.get()) && set_validity(leaf.get(), ca.certificate()) &&
            (!has_cn || X509_NAME_add_entry_by_NID(
                            subject.get(), NID_commonName, MBSTRING_UTF8,
                            reinterpret_cast<unsigned char const*>(parsed->text.c_str()), -1, -1, 0) == 1) &&
            X509_set_subject_name(leaf.get(), subject.get()) == 1 &&
            X509_set_issuer_name(leaf.get(), X509_get_subject_name(ca.certificate())) == 1 &&
            X509_set_pubkey(leaf.get(), leaf_key) == 1;
  if (ok) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca.certificate(), leaf.get(), nullptr, nullptr, 0);
    ok = add_extension(leaf.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
         add_extension(leaf.get(), &ctx, NID_key_usage, "critical,digitalSignature") &&
         add_extension(leaf.get(), &ctx, NID_ext_key_usage, "serverAuth") &&
         add_extension(leaf.get(), &ctx, NID_subject_key_identifier, "hash") &&
         add_extension(leaf.get(), &ctx, NID_authority_key_identifier, "keyid:always") &&
         add_subject_alt_name(leaf.get(), std::move(*parsed), !has_cn) &&
         X509_sign(leaf.get(), ca.key(), EVP_sha256()) > 0;
  }
  if (!ok) {
    return error{"cannot make a certificate for host '" + std::string{host} + "': " + drain_openssl_errors()};
  }
  return leaf;
}

cert_cache::cert_cache(std::shared_ptr<authority const> ca, evp_pkey_ptr leaf_key)
    : ca_{std::move(ca)}, leaf_key_{std::move(leaf_key)} {}

result<std::shared_ptr<cert_cache>> cert_cache::create(std::shared_ptr<authority const> ca) {
  auto key = generate_p256_key();
  if (!key) return key.error();
  return std::make_shared<cert_cache>(std::move(ca), std::move(*key));
}

result<std::shared_ptr<server_identity const>> cert_cache::identity_for(std::string_view host) {
  auto parsed = parse_host(host);
  if (!parsed) return parsed.error();
  std::string const& name = parsed->text;
  {
    std::lock_guard lock{mutex_};
    if (auto found = identities_.find(name); found != identities_.end()) return found->second;
  }
  // Minted outside the lock so different hosts mint in parallel on the proxy's threads. Two threads
  // racing on one new host both mint; the first insert wins and both return it, so a host always
  // has one identity and the loser only spent one signature.
  auto leaf = mint_leaf(*ca_, leaf_key_.get(), name);
  if (!leaf) return leaf.error();
  EVP_PKEY_up_ref(leaf_key_.get());
  auto identity = std::make_shared<server_identity const>(
      server_identity{std::move(*leaf), evp_pkey_ptr{leaf_key_.get()}});
  std::lock_guard lock{mutex_};
  return identities_.try_emplace(name, std::move(identity)).first->second;
}

std::size_t cert_cache::size() const {
  std::lock_guard lock{mutex_};
  return identities_.size();
}

}  // namespace regtrace::tls
