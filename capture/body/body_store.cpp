#include "capture/body/body_store.hpp"

#include <stdexcept>
#include <system_error>
#include <unistd.h>

namespace regtrace::capture {
namespace {

bool is_sha256_hex(std::string_view hex) {
  if (hex.size() != 64) return false;
  for (char c : hex)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

body_store::body_store(std::filesystem::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_ / "sha256", ec);
  if (!ec) std::filesystem::create_directories(dir_ / "tmp", ec);
  if (ec) throw std::runtime_error("cannot use " + dir_.string() + " to store bodies: " + ec.message());
}

std::unique_ptr<body_store::writer> body_store::begin() noexcept {
  try {
    auto temp = dir_ / "tmp" /
                (std::to_string(::getpid()) + "-" + std::to_string(next_temp_.fetch_add(1)) + ".part");
    std::FILE* file = std::fopen(temp.c_str(), "wb");
    if (!file) {
      ++failures_;
      return nullptr;
    }
    return std::unique_ptr<writer>(new writer(*this, std::move(temp), file));
  } catch (...) {
    ++failures_;
    return nullptr;
  }
}

std::filesystem::path body_store::path_for(std::string_view sha256_hex) const {
  return dir_ / "sha256" / std::string(sha256_hex);
}

std::int64_t body_store::size_of(std::string_view sha256_hex) const noexcept {
  if (!is_sha256_hex(sha256_hex)) return -1;
  std::error_code ec;
  auto size = std::filesystem::file_size(path_for(sha256_hex), ec);
  return ec ? -1 : static_cast<std::int64_t>(size);
}

body_store::writer::~writer() {
  if (file_) std::fclose(file_);
  std::error_code ignored;
  std::filesystem::remove(temp_, ignored);
}

void body_store::writer::write(std::string_view chunk) noexcept {
  if (failed_ || !file_ || chunk.empty()) return;
  if (std::fwrite(chunk.data(), 1, chunk.size(), file_) != chunk.size()) failed_ = true;
}

bool body_store::writer::finish(bool complete, std::string_view sha256_hex) noexcept {
  if (!file_) return false;
  bool const closed = std::fclose(file_) == 0;
  file_ = nullptr;
  std::error_code ec;
  if (!complete || failed_ || !closed || !is_sha256_hex(sha256_hex)) {
    if (complete) ++store_.failures_;
    std::filesystem::remove(temp_, ec);
    return false;
  }
  try {
    auto const target = store_.path_for(sha256_hex);
    // Content-addressed: a body already there is the same bytes; keep the first.
    if (std::filesystem::exists(target, ec)) {
      std::filesystem::remove(temp_, ec);
      return true;
    }
    std::filesystem::rename(temp_, target, ec);
    if (ec) {
      ++store_.failures_;
      std::filesystem::remove(temp_, ec);
      return false;
    }
    ++store_.stored_;
    return true;
  } catch (...) {
    ++store_.failures_;
    return false;
  }
}

}  // namespace regtrace::capture
