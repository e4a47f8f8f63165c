#pragma once
// Error response bodies: registry JSON, Docker Hub auth JSON, object-store XML, proxy HTML, text
// (catalog §1, §1.3, §7.2).

#include "capture/model/exchange.hpp"
#include "capture/registry/classifier.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace regtrace::capture::registry {

/// One entry of a distribution/OCI `{"errors":[...]}` body (catalog §1).
struct registry_error {
  std::string code;     ///< e.g. "MANIFEST_UNKNOWN", "REGISTRY_DISALLOWED_OPERATION"
  std::string message;  ///< "" when absent
  std::string detail;   ///< compact JSON of "detail"; "" when absent or null
};

/// What an error body says, whichever of the catalog §7.2 shapes it has.
struct error_body {
  /// The shape recognised; none for an empty body.
  enum class format { none, registry_json, details_json, xml, html, text } kind = format::none;
  std::vector<registry_error> errors;  ///< registry_json only; may be empty (`"errors":[]`)
  std::string vendor_code;  ///< XML <Code>; the caller may fill it from Azure's x-ms-error-code header
  std::string message;      ///< XML <Message>, HTML <title>, "details" text, or first line of text

  /// The first errors[].code, else the vendor code; "" when the body names none.
  std::string const& code() const;
};

/// Parses a (possibly truncated) error body in the catalog §7.2 order: JSON errors[], JSON details,
/// XML <Error>, HTML <title>, then plain text. Never throws.
error_body parse_error_body(std::string_view body, std::string_view content_type);

/// The error a recorded answer carries: its body parsed when the status is an error or the answer is a
/// token's (kind, as classify() found it), and Azure's x-ms-error-code header as the vendor code
/// (catalog §7.2). An empty error_body for any other answer.
error_body error_of(exchange const& x, request_kind kind);

}  // namespace regtrace::capture::registry
