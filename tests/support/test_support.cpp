// Test support that needs no sockets: temp dirs, the byte pattern, SHA-256, test PKI, the proxy fixture.
#include "tests/support/test_support.hpp"

#include "capture/har/har_reader.hpp"
#include "tls/cert_cache.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <stdexcept>

namespace regtrace::test {

temp_dir::temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "regtrace-test-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void fill_pattern(std::uint64_t offset, std::span<char> out) {
  // A cheap position hash: every byte differs from its neighbours, so a shifted or dropped chunk
  // changes the digest.
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::uint64_t x = offset + i;
    out[i] = static_cast<char>((x * 2654435761u) >> 13 ^ (x >> 7));
  }
}

std::string pattern_sha256(std::uint64_t size) {
  sha256_stream hash;
  std::vector<char> chunk(1 << 20);
  for (std::uint64_t done = 0; done < size;) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - done));
    fill_pattern(done, {chunk.data(), n});
    hash.update({chunk.data(), n});
    done += n;
  }
  return hash.hex();
}

sha256_stream::sha256_stream() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}
sha256_stream::~sha256_stream() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
}
void sha256_stream::update(std::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}
std::string sha256_stream::hex() {
  unsigned char digest[32];
  unsigned int length = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), digest, &length);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < length; ++i) {
    out += digits[digest[i] >> 4];
    out += digits[digest[i] & 15];
  }
  return out;
}

std::string run_command(std::string const& command, int* status) {
  std::string out;
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  *status = ::pclose(pipe);
  return out;
}

namespace {

// Replaces the leaf's subjectAltName with DNS names for all hosts and signs it again with the CA, so
// one upstream can answer for several virtual hosts (registry, token realm, storage).
void set_dns_names(X509* leaf, EVP_PKEY* ca_key, std::vector<std::string> const& hosts) {
  int const at = X509_get_ext_by_NID(leaf, NID_subject_alt_name, -1);
  if (at >= 0) X509_EXTENSION_free(X509_delete_ext(leaf, at));
  GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
  for (auto const& host : hosts) {
    ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
    ASN1_STRING_set(dns, host.data(), static_cast<int>(host.size()));
    GENERAL_NAME* name = GENERAL_NAME_new();
    GENERAL_NAME_set0_value(name, GEN_DNS, dns);
    sk_GENERAL_NAME_push(names, name);
  }
  bool const ok = X509_add1_ext_i2d(leaf, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1 &&
                  X509_sign(leaf, ca_key, EVP_sha256()) > 0;
  GENERAL_NAMES_free(names);
  if (!ok) throw std::runtime_error("cannot add subjectAltNames to the test leaf");
}

}  // namespace

test_pki make_test_pki(std::filesystem::path const& dir, std::string const& host,
                       std::vector<std::string> const& more_hosts) {
  auto ca = tls::authority::load_or_create(dir / "pki");
  if (!ca) throw std::runtime_error(ca.error().message);
  auto cache = tls::cert_cache::create(ca.value());
  if (!cache) throw std::runtime_error(cache.error().message);
  auto identity = cache.value()->identity_for(host);
  if (!identity) throw std::runtime_error(identity.error().message);
  tls::x509_ptr leaf{X509_dup(identity.value()->certificate.get())};
  if (!more_hosts.empty()) {
    std::vector<std::string> hosts{host};
    hosts.insert(hosts.end(), more_hosts.begin(), more_hosts.end());
    set_dns_names(leaf.get(), ca.value()->key(), hosts);
  }
  test_pki pki{ca.value()->certificate_path(), dir / "pki" / "server.crt", dir / "pki" / "server.key"};
  std::FILE* cert = std::fopen(pki.cert_file.c_str(), "w");
  PEM_write_X509(cert, leaf.get());
  std::fclose(cert);
  std::FILE* key = std::fopen(pki.key_file.c_str(), "w");
  PEM_write_PrivateKey(key, identity.value()->key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(key);
  return pki;
}

proxy_fixture::proxy_fixture(std::function<void(proxy::proxy_config&)> adjust) {
  proxy::proxy_config config;
  config.listen_port = 0;
  config.ca_dir = dir_ / "ca";
  config.har_path = dir_ / "trace.har";
  config.threads = 2;
  config.console_exchanges = false;
  if (adjust) adjust(config);
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto log = std::make_shared<spdlog::logger>("test", sink);
  log->set_level(spdlog::level::warn);
  server_ = proxy::server::create(config, log);
  server_->start();
}

proxy_fixture::~proxy_fixture() {
  server_->stop();
}

std::vector<capture::exchange> wait_for_trace_entries(std::filesystem::path const& har, std::size_t n) {
  capture::har_read_result read;
  for (int tries = 0; tries < 6000; ++tries) {
    read = capture::read_har_file(har);
    if (read.ok && read.exchanges.size() >= n) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return read.exchanges;
}

std::vector<capture::exchange> proxy_fixture::stop_and_read() {
  server_->stop();
  auto read = capture::read_har_file(har_file());
  if (!read.ok) throw std::runtime_error("trace unreadable: " + read.error);
  return read.exchanges;
}

}  // namespace regtrace::test
