#include "capture/body/body_recorder.hpp"

#include "capture/text/ascii.hpp"

#include <openssl/evp.h>

#include <new>

namespace regtrace::capture {
namespace {

struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

std::string to_hex(unsigned char const* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 0x0f];
  }
  return out;
}

}  // namespace

bool is_text_media_type(std::string_view content_type) {
  // RFC 9110 §8.3.1: parameters follow ';' and the type/subtype is case-insensitive.
  auto const type = to_lower(trim_ows(content_type.substr(0, content_type.find(';'))));
  if (type.starts_with("text/")) return true;
  if (type.ends_with("+json") || type.ends_with("+xml")) return true;
  return type == "application/json" || type == "application/xml" ||
         type == "application/x-www-form-urlencoded" || type == "application/javascript";
}

struct body_recorder::state {
  md_ctx_ptr ctx;
  bool hash_ok = false;
  bool keep_text = false;
  std::size_t limit = 0;
  std::uint64_t bytes = 0;
  std::string text;
  bool truncated = false;
  bool finished = false;
  std::unique_ptr<body_store::writer> stored;
};

body_recorder::body_recorder(bool keep_text, std::size_t body_limit_bytes)
    : state_(std::make_unique<state>()) {
  state_->ctx.reset(EVP_MD_CTX_new());
  if (!state_->ctx) throw std::bad_alloc();
  state_->hash_ok = EVP_DigestInit_ex(state_->ctx.get(), EVP_sha256(), nullptr) == 1;
  state_->keep_text = keep_text;
  state_->limit = body_limit_bytes;
}

body_recorder::~body_recorder() = default;
body_recorder::body_recorder(body_recorder&&) noexcept = default;
body_recorder& body_recorder::operator=(body_recorder&&) noexcept = default;

void body_recorder::store_into(std::unique_ptr<body_store::writer> writer) noexcept {
  if (state_) state_->stored = std::move(writer);
}

void body_recorder::observe(std::string_view chunk) noexcept {
  if (!state_ || state_->finished || chunk.empty()) return;
  auto& s = *state_;
  s.bytes += chunk.size();
  if (s.stored) s.stored->write(chunk);
  if (s.hash_ok) s.hash_ok = EVP_DigestUpdate(s.ctx.get(), chunk.data(), chunk.size()) == 1;
  if (!s.keep_text || s.truncated) return;
  std::size_t const room = s.limit - s.text.size();
  std::size_t const take = chunk.size() < room ? chunk.size() : room;
  try {
    s.text.append(chunk.data(), take);
  } catch (std::bad_alloc const&) {
    // The relay must go on; a preview is not worth failing the transfer for.
    s.truncated = true;
    return;
  }
  if (take < chunk.size()) s.truncated = true;
}

body_record body_recorder::finish(bool complete) noexcept {
  body_record record;
  record.complete = complete;
  if (!state_) return record;
  auto& s = *state_;
  record.bytes = s.bytes;
  if (!s.finished && s.hash_ok && s.bytes > 0) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(s.ctx.get(), digest, &size) == 1) {
      try {
        record.sha256 = to_hex(digest, size);
      } catch (std::bad_alloc const&) {
        record.sha256.clear();
      }
    }
  }
  s.finished = true;
  if (s.stored) {
    s.stored->finish(complete && !record.sha256.empty(), record.sha256);
    s.stored.reset();
  }
  if (s.keep_text && s.bytes > 0) {
    record.text = std::move(s.text);
    record.text_kept = true;
    record.text_truncated = s.truncated;
  }
  return record;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1) return {};
  return to_hex(digest, size);
}

}  // namespace regtrace::capture
