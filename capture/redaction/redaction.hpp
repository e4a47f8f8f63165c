#pragma once
// Redaction of secrets per catalog.md §5, applied before anything reaches the disk or the console.
// Each secret is replaced by a marker carrying a short fingerprint, so requests stay correlatable:
//   Authorization: Bearer <redacted sha256:3f9a12bc>
//   Authorization: Basic <redacted user=alice sha256:77aa01de>

#include "capture/model/exchange.hpp"

#include <string>
#include <string_view>

namespace regtrace::capture {

/// "<redacted sha256:XXXXXXXX>" for a secret value (first 8 hex digits of its SHA-256).
std::string redaction_marker(std::string_view secret);

/// True when value (as written, or percent-encoded inside a URL) is a whole redaction marker: it
/// stands for a secret whose original regtrace never kept.
bool is_redaction_marker(std::string_view value);

/// Redacts one URL query string ("a=1&sig=x"), keeping keys and the values catalog §5 says to keep.
/// storage_target: the URL is a redirect target / pre-signed storage URL, where every value is redacted
/// except the non-secret ones (se, sp, sv, sr, Expires, X-Amz-Date, X-Amz-Expires, X-Amz-Algorithm, ...).
std::string redact_query(std::string_view query, bool storage_target);

/// Redacts a request target or absolute URL: its query per redact_query, path untouched.
std::string redact_url(std::string_view url, bool storage_target);

/// Redacts JWTs, "Bearer x"/"Basic x" and the password of "scheme://user:password@host" found anywhere
/// in free text (error bodies, HTML, failure details).
std::string redact_text(std::string_view text);

/// Redacts every secret of catalog §5 in place: headers, target query, Location, cookies, form and
/// JSON token bodies, JWTs in text bodies.
void redact(exchange& x);

}  // namespace regtrace::capture
