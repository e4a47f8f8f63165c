// printable (SPEC §8): text from a trace or a peer reaches a terminal without anything that could
// drive it: C0 controls, DEL, C1 controls in UTF-8 and bytes that are not UTF-8.

#include "capture/text/display.hpp"

#include <catch2/catch.hpp>

#include <string>

using regtrace::capture::printable;

TEST_CASE("printable replaces C0 controls and DEL", "[capture][text]") {
  CHECK(printable("GET /v2/\x1b]0;pwned\x07 x") == "GET /v2/?]0;pwned? x");
  CHECK(printable("a\x1b[2Jb") == "a?[2Jb");
  CHECK(printable(std::string("a\0b\x7f", 4)) == "a?b?");
  CHECK(printable("a\r\nb\tc") == "a? b c");
}

TEST_CASE("printable keeps newlines only when asked, never a CR", "[capture][text]") {
  CHECK(printable("line 1\nline 2\r\n\x1b[1m", true) == "line 1\nline 2?\n?[1m");
}

TEST_CASE("printable replaces C1 controls and bytes that are not UTF-8", "[capture][text]") {
  CHECK(printable("a\xc2\x9b"
                  "2Jb") == "a?2Jb");  // U+009B, CSI on xterm
  CHECK(printable("a\xc2\x80z\xc2\x9f") == "a?z?");
  CHECK(printable("a\x9b"
                  "2J") == "a?2J");      // a lone C1 byte, CSI on an 8-bit terminal
  CHECK(printable("a\xc2") == "a?");     // cut short
  CHECK(printable("\xc0\x9b") == "??");  // overlong ESC-like forms are no UTF-8
  CHECK(printable("\xe0\x80\x9b") == "???");
  CHECK(printable("\xed\xa0\x80") == "???");       // a surrogate
  CHECK(printable("\xf4\x90\x80\x80") == "????");  // past U+10FFFF
  CHECK(printable("\xff\xfe") == "??");
}

TEST_CASE("printable keeps UTF-8 text whole", "[capture][text]") {
  for (std::string text : {"café", "digest sha256:1a2b…", "→ ✓", "\xc2\xa0nbsp", "𝄞 clef", "日本語"}) {
    INFO(text);
    CHECK(printable(text) == text);
  }
}
