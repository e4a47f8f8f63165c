#pragma once
// Bodies kept beside the trace, content-addressed by SHA-256 (`--store-bodies DIR`, SPEC §6): a HAR
// keeps text bodies only, so a whole pull can be replayed only from here. Written while streaming,
// never held in memory; deduplicated; a body appears under its name only once complete (temp file,
// then rename), so a crash leaves no half body behind a real name.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace regtrace::capture {

/// Thread-safe: many writers at once, each on its own temp file.
class body_store {
 public:
  /// Creates DIR/sha256 and DIR/tmp. Throws std::runtime_error with a sentence naming DIR (start-up).
  explicit body_store(std::filesystem::path dir);

  /// One body being written. Not thread-safe; owned by one relay.
  class writer {
   public:
    ~writer();
    writer(writer const&) = delete;
    writer& operator=(writer const&) = delete;
    /// Appends a chunk; after a failure the body is simply not stored.
    void write(std::string_view chunk) noexcept;
    /// Files the body as DIR/sha256/<sha256_hex> (kept when already there), or drops it when
    /// !complete or a write failed. Returns true when the store holds the body afterwards.
    bool finish(bool complete, std::string_view sha256_hex) noexcept;

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
  /// Where the body with this SHA-256 lives (whether or not it is there).
  std::filesystem::path path_for(std::string_view sha256_hex) const;
  /// The stored body's size, or -1 when the store does not hold it.
  std::int64_t size_of(std::string_view sha256_hex) const noexcept;

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
