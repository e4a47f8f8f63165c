#include "tls/openssl_ptr.hpp"

#include <openssl/err.h>

namespace regtrace::tls {

std::string drain_openssl_errors() {
  std::string text;
  char const* data = nullptr;
  int flags = 0;
  while (unsigned long const code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
    // The detail string ("calling fopen(/x, r)", "Verify error:...") is often the useful part.
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      text += " (";
      text += data;
      text += ')';
    }
  }
  return text;
}

}  // namespace regtrace::tls
