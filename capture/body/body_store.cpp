#include "capture/body/body_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>
#include <system_error>

namespace regtrace::capture {
namespace {

// A store folder must be a real folder: a link in a store received with a trace could lead anywhere.
void require_folder(std::filesystem::path const& folder, std::filesystem::path const& dir) {
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) throw std::runtime_error("cannot use " + dir.string() + " to store bodies: " + ec.message());
  if (std::filesystem::symlink_status(folder, ec).type() != std::filesystem::file_type::directory)
    throw std::runtime_error(
        "cannot use " + dir.string() + " to store bodies: " + folder.string() +
        " is not a folder (a symbolic link is refused); remove it or choose another DIR");
}

}  // namespace

std::optional<std::string_view> sha256_hex_of(std::string_view digest) {
  if (digest.starts_with("sha256:")) digest.remove_prefix(7);
  if (digest.size() != 64) return std::nullopt;
  for (char c : digest)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  return digest;
}

body_store::body_store(std::filesystem::path dir) : dir_(std::move(dir)) {
  require_folder(dir_ / "sha256", dir_);
  require_folder(dir_ / "tmp", dir_);
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

std::optional<std::filesystem::path> body_store::path_for(std::string_view sha256) const {
  auto const hex = sha256_hex_of(sha256);
  if (!hex) return std::nullopt;
  return dir_ / "sha256" / std::string(*hex);
}

std::int64_t body_store::size_of(std::string_view sha256) const noexcept {
  try {
    auto const path = path_for(sha256);
    if (!path) return -1;
    std::error_code ec;
    auto const status = std::filesystem::symlink_status(*path, ec);
    if (ec || status.type() != std::filesystem::file_type::regular) return -1;
    auto const size = std::filesystem::file_size(*path, ec);
    return ec ? -1 : static_cast<std::int64_t>(size);
  } catch (...) {  // a path allocation
    return -1;
  }
}

file_ptr body_store::open(std::string_view sha256) const noexcept {
  file_ptr none(nullptr, &std::fclose);
  try {
    auto const path = path_for(sha256);
    if (!path) return none;
    // O_NOFOLLOW: the name itself must not be a link; fstat: nor a FIFO or a device that would hang.
    int const fd = ::open(path->c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return none;
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
      ::close(fd);
      return none;
    }
    std::FILE* file = ::fdopen(fd, "rb");
    if (!file) ::close(fd);
    return file_ptr(file, &std::fclose);
  } catch (...) {  // a path allocation
    return none;
  }
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

bool body_store::writer::finish(bool complete, std::string_view sha256) noexcept {
  if (!file_) return false;
  bool const closed = std::fclose(file_) == 0;
  file_ = nullptr;
  std::error_code ec;
  if (!complete || failed_ || !closed || !sha256_hex_of(sha256)) {
    if (complete) ++store_.failures_;
    std::filesystem::remove(temp_, ec);
    return false;
  }
  try {
    auto const target = store_.path_for(sha256);
    // Content-addressed: a body already there is the same bytes; keep the first. A link of that name
    // is no body: the rename replaces the link itself, never what it points at.
    if (std::filesystem::symlink_status(*target, ec).type() == std::filesystem::file_type::regular) {
      std::filesystem::remove(temp_, ec);
      return true;
    }
    std::filesystem::rename(temp_, *target, ec);
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
