#include "tls/authority.hpp"

#include "tls/x509_util.hpp"

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <utility>

namespace regtrace::tls {

namespace fs = std::filesystem;

namespace {

constexpr char const* cert_file_name = "ca.crt";
constexpr char const* key_file_name = "ca.key";
constexpr long ca_lifetime_days = 3652;  // 10 years, leap days included
constexpr long clock_skew_seconds = 3600;
constexpr std::size_t max_common_name_chars = 64;  // ub-common-name, RFC 5280 appendix A

std::string errno_text(int code) {
  return std::strerror(code);
}

/// Reads a whole file, or a sentence naming it. what says which file it is to the user.
result<std::string> read_file(fs::path const& path, std::string_view what) {
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    return error{"cannot read the " + std::string{what} + " " + path.string() + ": " + errno_text(errno) +
                 "; check that it exists and that regtrace may read it"};
  }
  std::ostringstream content;
  content << in.rdbuf();
  // in_place_value: error is constructible from a string too, so the conversion must be named.
  return result<std::string>{boost::system::in_place_value, std::move(content).str()};
}

/// Never prompts on a terminal for an encrypted key: regtrace writes its key unencrypted.
int no_password(char*, int, int, void*) {
  return -1;
}

result<std::pair<x509_ptr, evp_pkey_ptr>> parse_pair(fs::path const& dir) {
  fs::path const cert_path = dir / cert_file_name;
  fs::path const key_path = dir / key_file_name;
  auto cert_pem = read_file(cert_path, "CA certificate");
  if (!cert_pem) return cert_pem.error();
  auto key_pem = read_file(key_path, "CA key");
  if (!key_pem) return key_pem.error();

  bio_ptr cert_bio{BIO_new_mem_buf(cert_pem->data(), static_cast<int>(cert_pem->size()))};
  x509_ptr cert{cert_bio ? PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr) : nullptr};
  bio_ptr key_bio{BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size()))};
  evp_pkey_ptr key{key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_password, nullptr) : nullptr};
  OPENSSL_cleanse(key_pem->data(), key_pem->size());
  // The sentences below say more than OpenSSL's parse errors; clear them so the next caller's
  // drain_openssl_errors() does not report them.
  drain_openssl_errors();

  std::string const recreate = "; restore it from a backup, or remove both ca.crt and ca.key from " +
                               dir.string() + " to create a new CA (clients must then trust the new one)";
  if (!cert) return error{cert_path.string() + " is not a PEM certificate" + recreate};
  if (!key) return error{key_path.string() + " is not an unencrypted PEM private key" + recreate};
  if (X509_check_ca(cert.get()) == 0) {
    return error{cert_path.string() + " is not a CA certificate" + recreate};
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    drain_openssl_errors();
    return error{key_path.string() + " is not the key of " + cert_path.string() + recreate};
  }
  return std::pair{std::move(cert), std::move(key)};
}

/// "regtrace CA <hostname> <date>": says which machine made the CA when a user finds it in a trust store.
std::string common_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "localhost");
  std::time_t const now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char date[16];
  std::strftime(date, sizeof date, "%Y-%m-%d", &parts);
  std::string const prefix = "regtrace CA ";
  std::string const suffix = std::string{" "} + date;
  std::string name = host;
  name.resize(std::min(name.size(), max_common_name_chars - prefix.size() - suffix.size()));
  return prefix + name + suffix;
}

result<x509_ptr> build_ca_certificate(EVP_PKEY* key) {
  x509_ptr cert{X509_new()};
  x509_name_ptr name{X509_NAME_new()};
  std::string const cn = common_name();
  X509V3_CTX ctx;
  std::time_t now = std::time(nullptr);
  bool ok = cert && name && X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
            set_random_serial(cert.get()) &&
            X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -clock_skew_seconds, &now) != nullptr &&
            X509_time_adj_ex(X509_getm_notAfter(cert.get()), ca_lifetime_days, 0, &now) != nullptr &&
            X509_NAME_add_entry_by_NID(name.get(), NID_commonName, MBSTRING_UTF8,
                                       reinterpret_cast<unsigned char const*>(cn.c_str()), -1, -1, 0) == 1 &&
            X509_set_subject_name(cert.get(), name.get()) == 1 &&
            X509_set_issuer_name(cert.get(), name.get()) == 1 && X509_set_pubkey(cert.get(), key) == 1;
  if (ok) {
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    // pathlen 0: this CA signs leaves only, so a leaked leaf key can never act as a CA.
    ok = add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
         add_extension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") &&
         add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash") &&
         add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always") &&
         X509_sign(cert.get(), key, EVP_sha256()) > 0;
  }
  if (!ok) return error{"cannot build the CA certificate: " + drain_openssl_errors()};
  return cert;
}

/// Creates path with mode (O_EXCL: never overwrites a CA another process just made) and writes
/// through write_pem. The mode is given to open() itself so the key is never readable by others.
template <class Write>
result<void> write_new_file(fs::path const& path, mode_t mode, std::string_view what, Write write_pem) {
  int const fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return error{"cannot create the " + std::string{what} + " " + path.string() + ": " + errno_text(errno) +
                 "; check that the CA directory is writable"};
  }
  errno = 0;
  bool ok = ::fchmod(fd, mode) == 0;  // the umask may have narrowed it; make the mode exact
  if (ok) {
    bio_ptr out{BIO_new_fd(fd, BIO_NOCLOSE)};
    ok = out && write_pem(out.get()) == 1 && BIO_flush(out.get()) == 1;
  }
  int const saved_errno = errno;
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok) {
    drain_openssl_errors();
    std::error_code ignored;
    fs::remove(path, ignored);
    return error{"cannot write the " + std::string{what} + " " + path.string() + ": " +
                 errno_text(saved_errno != 0 ? saved_errno : errno) + "; check the free space on that disk"};
  }
  return {};
}

result<void> ensure_directory(fs::path const& dir) {
  std::error_code ec;
  if (dir.has_parent_path()) fs::create_directories(dir.parent_path(), ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return error{"cannot create the CA directory " + dir.string() + ": " + errno_text(errno) +
                 "; create it or choose another CA directory"};
  }
  if (!fs::is_directory(dir, ec)) {
    return error{dir.string() + " is not a directory; choose another CA directory"};
  }
  return {};
}

enum class presence { none, both, cert_only, key_only, unknown };

presence files_present(fs::path const& dir, std::error_code& ec) {
  bool const cert = fs::exists(dir / cert_file_name, ec);
  if (ec) return presence::unknown;
  bool const key = fs::exists(dir / key_file_name, ec);
  if (ec) return presence::unknown;
  if (cert && key) return presence::both;
  if (cert) return presence::cert_only;
  return key ? presence::key_only : presence::none;
}

error partial_ca(fs::path const& dir, presence state) {
  std::string const have = state == presence::cert_only ? cert_file_name : key_file_name;
  std::string const missing = state == presence::cert_only ? key_file_name : cert_file_name;
  return error{"the CA in " + dir.string() + " is incomplete: " + have + " exists but " + missing +
               " is missing; restore " + missing + " from a backup, or remove " + have +
               " to create a new CA (clients must then trust the new one)"};
}

}  // namespace

authority::authority(x509_ptr cert, evp_pkey_ptr key, fs::path cert_path)
    : cert_{std::move(cert)}, key_{std::move(key)}, cert_path_{std::move(cert_path)} {}

result<std::shared_ptr<authority const>> authority::load(fs::path const& dir) {
  std::error_code ec;
  presence const state = files_present(dir, ec);
  if (state == presence::unknown) {
    return error{"cannot look into the CA directory " + dir.string() + ": " + ec.message()};
  }
  if (state == presence::none) {
    return error{"there is no CA in " + dir.string() +
                 " (ca.crt and ca.key are missing); run `regtrace ca init` to create one"};
  }
  if (state != presence::both) return partial_ca(dir, state);
  auto pair = parse_pair(dir);
  if (!pair) return pair.error();
  return std::make_shared<authority const>(std::move(pair->first), std::move(pair->second),
                                           dir / cert_file_name);
}

result<std::shared_ptr<authority const>> authority::load_or_create(fs::path const& dir, bool* created) {
  if (created != nullptr) *created = false;
  std::error_code ec;
  presence const state = files_present(dir, ec);
  if (state != presence::none) return load(dir);

  if (auto made = ensure_directory(dir); !made) return made.error();
  auto key = generate_p256_key();
  if (!key) return key.error();
  auto cert = build_ca_certificate(key->get());
  if (!cert) return cert.error();

  fs::path const key_path = dir / key_file_name;
  fs::path const cert_path = dir / cert_file_name;
  // The key first: a crash between the two writes leaves a CA that no client can have trusted yet.
  auto wrote_key = write_new_file(key_path, 0600, "CA key", [&](BIO* out) {
    return PEM_write_bio_PrivateKey(out, key->get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  if (!wrote_key) return wrote_key.error();
  auto wrote_cert = write_new_file(cert_path, 0644, "CA certificate",
                                   [&](BIO* out) { return PEM_write_bio_X509(out, cert->get()); });
  if (!wrote_cert) {
    fs::remove(key_path, ec);
    return wrote_cert.error();
  }
  if (created != nullptr) *created = true;
  return std::make_shared<authority const>(std::move(*cert), std::move(*key), cert_path);
}

std::string authority::certificate_pem() const {
  bio_ptr out{BIO_new(BIO_s_mem())};
  if (!out || PEM_write_bio_X509(out.get(), cert_.get()) != 1) return {};
  char* data = nullptr;
  long const size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::vector<std::uint8_t> authority::certificate_der() const {
  int const size = i2d_X509(cert_.get(), nullptr);
  if (size <= 0) return {};
  std::vector<std::uint8_t> der(static_cast<std::size_t>(size));
  unsigned char* cursor = der.data();
  i2d_X509(cert_.get(), &cursor);
  return der;
}

std::string authority::subject() const {
  return name_text(X509_get_subject_name(cert_.get()));
}

std::string authority::not_after() const {
  return time_text(X509_get0_notAfter(cert_.get()), "%Y-%m-%d %H:%M:%S UTC");
}

std::string authority::sha256_fingerprint() const {
  return tls::sha256_fingerprint(cert_.get());
}

}  // namespace regtrace::tls
