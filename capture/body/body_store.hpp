#pragma once
// Bodies kept beside the trace, content-addressed by SHA-256 (`--store-bodies DIR`, SPEC §6): a HAR
// keeps text bodies only, so a whole pull can be replayed only from here. Written while streaming,
// never held in memory; deduplicated; a body appears under its name only once complete (temp file,
// then rename), so a crash leaves no half body behind a real name. Digests come from a trace, which is
// hostile input (SPEC §8): only a well-formed SHA-256 ever names a file, and only a regular file in
// DIR/sha256 is read, so nothing outside DIR is read or written.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace regtrace::capture {

/// The 64 lowercase hex digits of a SHA-256 digest written bare or as "sha256:<hex>"; nullopt for
/// anything else (another algorithm, another length, "../", NUL), so no path is built from it.
std::optional<std::string_view> sha256_hex_of(std::string_view digest);

/// An open stored body; closed when dropped.
using file_ptr = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

/// Thread-safe: many writers at once, each on its own temp file.
class body_store {
 public:
  /// Creates DIR/sha256 and DIR/tmp; either one being a symbolic link is refused, since it could send
  /// bodies anywhere. Throws std::runtime_error with a sentence naming DIR (start-up).
  explicit body_store(std::filesystem::path dir);

  /// One body being written. Not thread-safe; owned by one relay.
  class writer {
   public:
    ~writer();
    writer(writer const&) = delete;
    writer& operator=(writer const&) = delete;
    /// Appends a chunk; after a failure the body is simply not stored.
    void write(std::string_view chunk) noexcept;
    /// Files the body as DIR/sha256/<hex> (kept when already there), or drops it when !complete, a
    /// write failed or sha256 is no digest (sha256_hex_of). Returns true when the store holds the body.
    bool finish(bool complete, std::string_view sha256) noexcept;

   private:
    friend class body_store;
    writer(body_store& store, std::filesystem::path temp, std::FILE* file) noexcept
        : store_(store), temp_(std::move(temp)), file_(file) {}
    body_store& store_;
    std::filesystem::path temp_;
    std::FILE* file_ = nullptr;
    bool failed_ = false;
  };

  /// A new body; nullptr when its temp file cannot be created (counted in failures()).
  std::unique_ptr<writer> begin() noexcept;
  /// Where the body with this digest lives (whether or not it is there); nullopt when sha256 is no
  /// digest (sha256_hex_of).
  std::optional<std::filesystem::path> path_for(std::string_view sha256) const;
  /// The stored body's size, or -1 when the store holds no regular file of that digest.
  std::int64_t size_of(std::string_view sha256) const noexcept;
  /// The stored body opened for reading; empty when sha256 is no digest or the store holds no regular
  /// file of that name (a symbolic link is refused: it could point anywhere).
  file_ptr open(std::string_view sha256) const noexcept;

  std::filesystem::path const& dir() const { return dir_; }
  std::uint64_t stored() const { return stored_; }
  std::uint64_t failures() const { return failures_; }

 private:
  std::filesystem::path dir_;
  std::atomic<std::uint64_t> next_temp_{0};
  std::atomic<std::uint64_t> stored_{0};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace regtrace::capture
