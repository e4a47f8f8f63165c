#include "tls/x509_util.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <ctime>

namespace regtrace::tls {

result<evp_pkey_ptr> generate_p256_key() {
  evp_pkey_ptr key{EVP_EC_gen("P-256")};
  if (!key) return error{"cannot generate an ECDSA P-256 key: " + drain_openssl_errors()};
  return key;
}

bool set_random_serial(X509* cert) {
  bignum_ptr serial{BN_new()};
  if (!serial || BN_rand(serial.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) return false;
  asn1_integer_ptr integer{BN_to_ASN1_INTEGER(serial.get(), nullptr)};
  return integer && X509_set_serialNumber(cert, integer.get()) == 1;
}

bool add_extension(X509* cert, X509V3_CTX* ctx, int nid, char const* value) {
  x509_extension_ptr extension{X509V3_EXT_nconf_nid(nullptr, ctx, nid, value)};
  return extension && X509_add_ext(cert, extension.get(), -1) == 1;
}

std::string name_text(X509_NAME const* name) {
  if (name == nullptr) return {};
  bio_ptr out{BIO_new(BIO_s_mem())};
  // XN_FLAG_RFC2253 escapes but keeps UTF-8 as hex; printing UTF-8 as is reads better in a report.
  unsigned long const flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
  if (!out || X509_NAME_print_ex(out.get(), name, 0, flags) < 0) return {};
  char* data = nullptr;
  long const size = BIO_get_mem_data(out.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string{};
}

std::string time_text(ASN1_TIME const* time, char const* format) {
  std::tm parts{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) return {};
  char buffer[64];
  std::size_t const size = std::strftime(buffer, sizeof buffer, format, &parts);
  return std::string(buffer, size);
}

std::string sha256_fingerprint(X509 const* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &size) != 1) return {};
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string text;
  text.reserve(size * 3);
  for (unsigned int i = 0; i < size; ++i) {
    if (i != 0) text += ':';
    text += hex[digest[i] >> 4];
    text += hex[digest[i] & 0x0f];
  }
  return text;
}

}  // namespace regtrace::tls
