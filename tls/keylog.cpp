#include "tls/contexts.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace regtrace::tls {

namespace {

/// The open key log. Thread-safe: handshakes on every proxy thread append through one mutex.
class keylog_file {
 public:
  /// Opens path for appending; a later call with another path moves every context's lines there
  /// (one key log per process, as with SSLKEYLOGFILE; tests start several proxies in one process).
  result<void> open(std::filesystem::path const& path) {
    std::lock_guard lock{mutex_};
    if (fd_ >= 0 && path == path_) return {};
    // 0600: the file holds every session's secrets (SPEC §8). O_APPEND keeps lines whole when
    // Wireshark or another program appends to the same file, as SSLKEYLOGFILE users expect.
    int const fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
      return error{"cannot open the key log " + path.string() + ": " + std::strerror(errno) +
                   "; check that its directory exists and is writable"};
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
    path_ = path;
    return {};
  }

  /// Appends one line; a failed write cannot be reported from inside a handshake, so it is dropped.
  void append(char const* line) {
    std::string text = line;
    text += '\n';
    std::lock_guard lock{mutex_};
    std::size_t written = 0;
    while (fd_ >= 0 && written < text.size()) {
      ssize_t const n = ::write(fd_, text.data() + written, text.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      written += static_cast<std::size_t>(n);
    }
  }

 private:
  std::mutex mutex_;
  int fd_ = -1;
  std::filesystem::path path_;
};

// The keylog callback has no user pointer, and a key log is process-wide by nature (SSLKEYLOGFILE);
// leaked so handshakes still running during exit never see it destroyed.
keylog_file& process_keylog() {
  static keylog_file* const file = new keylog_file;
  return *file;
}

void write_keylog_line(SSL const*, char const* line) {
  process_keylog().append(line);
}

}  // namespace

result<void> enable_keylog(SSL_CTX* ctx, std::filesystem::path const& file) {
  if (auto opened = process_keylog().open(file); !opened) return opened.error();
  SSL_CTX_set_keylog_callback(ctx, write_keylog_line);
  return {};
}

}  // namespace regtrace::tls
