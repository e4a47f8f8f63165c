#pragma once
// Watches a body go by in chunks: counts bytes, hashes them, keeps a text preview. Runs inline on the
// relay path, so it never allocates per chunk beyond the preview's growth and never throws.

#include "capture/body/body_store.hpp"
#include "capture/model/exchange.hpp"

#include <cstddef>
#include <memory>
#include <string_view>

namespace regtrace::capture {

/// True for media types whose bodies are kept as text: JSON (incl. +json), XML, HTML, text/*, forms.
bool is_text_media_type(std::string_view content_type);

/// Incremental observer of one body. Not thread-safe; one per message.
class body_recorder {
 public:
  /// keep_text: whether the body's media type is text (is_text_media_type) and not content-encoded.
  body_recorder(bool keep_text, std::size_t body_limit_bytes);
  ~body_recorder();
  body_recorder(body_recorder&&) noexcept;
  body_recorder& operator=(body_recorder&&) noexcept;

  /// Also writes the body into a body store (--store-bodies), filed by its SHA-256 when complete.
  void store_into(std::unique_ptr<body_store::writer> writer) noexcept;
  /// Feeds the next chunk of payload bytes.
  void observe(std::string_view chunk) noexcept;
  /// Finishes the hash and returns the record; complete says whether the whole body went through.
  body_record finish(bool complete) noexcept;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

/// SHA-256 of a whole buffer as lowercase hex (tests, fingerprints).
std::string sha256_hex(std::string_view data);

}  // namespace regtrace::capture
