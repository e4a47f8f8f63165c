#pragma once
// Helpers for the tls/ unit tests: temporary directories and handshakes over an in-memory BIO pair
// (no sockets, STYLE rule 14).

#include "tls/contexts.hpp"

#include <openssl/err.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace regtrace::tls::test {

/// A fresh directory under the system temp dir, removed with its contents at scope exit.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "regtrace-tls-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(temp_dir const&) = delete;
  temp_dir& operator=(temp_dir const&) = delete;

  std::filesystem::path const& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string read_text(std::filesystem::path const& file) {
  std::ifstream in{file, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

inline void write_text(std::filesystem::path const& file, std::string const& text) {
  std::ofstream{file, std::ios::binary} << text;
}

/// How each end of a handshake finished; *_error is that end's last OpenSSL error code, 0 if none.
struct handshake_result {
  bool client_ok = false;
  bool server_ok = false;
  unsigned long client_error = 0;
  unsigned long server_error = 0;
};

/// Drives client and server over one BIO pair until both finished or failed. Both ends share this
/// thread's error queue, so each end's error is taken and cleared right after its failing call.
inline handshake_result run_handshake(SSL* client, SSL* server) {
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  if (BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) != 1) throw std::runtime_error("BIO pair");
  SSL_set_bio(client, client_bio, client_bio);
  SSL_set_bio(server, server_bio, server_bio);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);

  handshake_result result;
  bool client_failed = false;
  bool server_failed = false;
  auto step = [](SSL* ssl, bool& ok, bool& failed, unsigned long& error) {
    if (ok || failed) return;
    int const rc = SSL_do_handshake(ssl);
    if (rc == 1) {
      ok = true;
      return;
    }
    int const reason = SSL_get_error(ssl, rc);
    if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) return;
    failed = true;
    error = ERR_peek_last_error();
    ERR_clear_error();
  };
  for (int round = 0; round < 50; ++round) {
    step(client, result.client_ok, client_failed, result.client_error);
    step(server, result.server_ok, server_failed, result.server_error);
    if ((result.client_ok || client_failed) && (result.server_ok || server_failed)) break;
  }
  return result;
}

}  // namespace regtrace::tls::test
