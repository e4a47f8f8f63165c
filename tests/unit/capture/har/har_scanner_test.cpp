// har_scanner (issue 13): the byte range of each log.entries element, found in pieces of any size,
// with strings, escapes and nesting that would mislead a search for brackets.

#include "capture/har/har_scanner.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

using regtrace::capture::detail::har_scanner;
using regtrace::capture::detail::scan_limits;
using regtrace::capture::detail::scanned_entry;

namespace {

struct scan_result {
  std::vector<scanned_entry> entries;
  bool complete = false;
  bool found = false;
  std::string creator;
  std::string error;
  std::uint64_t error_offset = 0;
};

/// Scans text fed in pieces of `piece` bytes.
scan_result scan(std::string_view text, std::size_t piece, scan_limits limits = {}) {
  har_scanner scanner(limits);
  scan_result out;
  for (std::size_t at = 0; at < text.size(); at += piece) {
    bool const more = scanner.feed(text.substr(at, piece));
    for (auto& e : scanner.take_entries()) out.entries.push_back(std::move(e));
    if (!more) break;
  }
  scanner.finish();
  for (auto& e : scanner.take_entries()) out.entries.push_back(std::move(e));
  out.complete = scanner.complete();
  out.found = scanner.entries_found();
  out.creator = scanner.creator_json();
  if (auto const* e = scanner.error()) {
    out.error = e->reason;
    out.error_offset = e->offset;
  }
  return out;
}

// Entries after other members, strings holding brackets, escaped quotes and backslashes, a member
// named "entries" inside an entry and inside another log member, and log extras after the entries.
constexpr std::string_view tricky = R"({"log":{"version":"1.2","pages":[{"entries":[{"no":1}]}],
"creator":{"name":"x\"}]{[","version":"1"},
"entries":[ {"request":{"url":"https://a/\"{[}]\\"},"entries":[]} ,
{"s":"\\\\","t":["]","}"]},[1,2],{}
],"_findings":[{"id":"C-01","evidence":[{"entry":0}]}],"_regtrace":{"records_lost":0}},"x":null}
)";

}  // namespace

TEST_CASE("entries are found whole whatever the size of the pieces", "[capture][har][scanner]") {
  auto const whole = scan(tricky, tricky.size());
  REQUIRE(whole.error.empty());
  CHECK(whole.complete);
  CHECK(whole.found);
  CHECK(whole.creator == R"({"name":"x\"}]{[","version":"1"})");
  REQUIRE(whole.entries.size() == 4);
  std::vector<std::string> const expected{R"({"request":{"url":"https://a/\"{[}]\\"},"entries":[]})",
                                          R"({"s":"\\\\","t":["]","}"]})", "[1,2]", "{}"};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(whole.entries[i].index == i);
    CHECK(whole.entries[i].bytes == expected[i]);
    CHECK(tricky.substr(whole.entries[i].begin, whole.entries[i].end - whole.entries[i].begin) ==
          expected[i]);
  }
  CHECK(whole.entries[0].line == 3);

  for (std::size_t piece = 1; piece < 40; ++piece) {
    INFO("pieces of " << piece << " bytes");
    auto const split = scan(tricky, piece);
    CHECK(split.error.empty());
    CHECK(split.complete);
    CHECK(split.creator == whole.creator);
    REQUIRE(split.entries.size() == whole.entries.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      CHECK(split.entries[i].bytes == expected[i]);
      CHECK(split.entries[i].begin == whole.entries[i].begin);
      CHECK(split.entries[i].end == whole.entries[i].end);
    }
  }
}

TEST_CASE("an empty entries array, and scalars in it, keep their numbering", "[capture][har][scanner]") {
  auto const empty = scan(R"({"log":{"entries":[]}})", 3);
  CHECK(empty.complete);
  CHECK(empty.found);
  CHECK(empty.entries.empty());

  auto const scalars = scan(R"({"log":{"entries":[42,"x",{"a":1},null]}})", 2);
  CHECK(scalars.complete);
  REQUIRE(scalars.entries.size() == 4);
  CHECK(scalars.entries[0].trouble == scanned_entry::problem::not_object);
  CHECK(scalars.entries[1].trouble == scanned_entry::problem::not_object);
  CHECK(scalars.entries[2].trouble == scanned_entry::problem::none);
  CHECK(scalars.entries[2].index == 2);
  CHECK(scalars.entries[3].index == 3);
}

TEST_CASE("only log.entries counts: not entries elsewhere, not a log that is not the root's",
          "[capture][har][scanner]") {
  auto const nested =
      scan(R"({"x":{"log":{"entries":[{}]}},"log":{"y":{"entries":[{}]},"entries":[{"n":1}]}})", 5);
  CHECK(nested.complete);
  REQUIRE(nested.entries.size() == 1);
  CHECK(nested.entries[0].bytes == R"({"n":1})");

  auto const array_root = scan(R"([{"log":{"entries":[{}]}}])", 4);
  CHECK(array_root.complete);
  CHECK_FALSE(array_root.found);
  CHECK(array_root.entries.empty());
}

TEST_CASE("nesting past the limit is refused without recursion, naming the byte", "[capture][har][scanner]") {
  // 100,000 levels around everything: refused at the bracket one past the limit.
  std::string const deep = std::string(100000, '[') + std::string(100000, ']');
  auto const around = scan(deep, 4096);
  CHECK(around.error == "it nests deeper than 64 levels");
  CHECK(around.error_offset == 64);

  // Inside an entry: the entry is counted as refused, its bytes dropped, and the next one read.
  std::string const inside =
      R"({"log":{"entries":[{"a":)" + std::string(100000, '[') + std::string(100000, ']') + R"(},{"b":1}]}})";
  auto const entry = scan(inside, 1000);
  CHECK(entry.error.empty());
  CHECK(entry.complete);
  REQUIRE(entry.entries.size() == 2);
  CHECK(entry.entries[0].trouble == scanned_entry::problem::too_deep);
  CHECK(entry.entries[0].trouble_at == std::string_view(R"({"log":{"entries":[{"a":)").size() + 63);
  CHECK(entry.entries[0].bytes.empty());
  CHECK(entry.entries[1].bytes == R"({"b":1})");

  // Exactly at the limit is fine.
  std::string const at_limit = R"({"log":{"entries":[)" + std::string(64, '[') + std::string(64, ']') + "]}}";
  auto const limit = scan(at_limit, 7);
  REQUIRE(limit.entries.size() == 1);
  CHECK(limit.entries[0].trouble == scanned_entry::problem::none);
}

TEST_CASE("an entry larger than the limit is counted, not kept", "[capture][har][scanner]") {
  std::string const big = R"({"log":{"entries":[{"text":")" + std::string(5000, 'x') + R"("},{"b":1}]}})";
  auto const result = scan(big, 512, {.max_depth = 64, .max_entry_bytes = 1024, .max_creator_bytes = 1024});
  CHECK(result.complete);
  REQUIRE(result.entries.size() == 2);
  CHECK(result.entries[0].trouble == scanned_entry::problem::too_big);
  CHECK(result.entries[0].bytes.empty());
  CHECK(result.entries[0].end - result.entries[0].begin == 5011);
  CHECK(result.entries[1].bytes == R"({"b":1})");
}

TEST_CASE("the JSON around the entries is checked", "[capture][har][scanner]") {
  auto const error_of = [](std::string_view text) { return scan(text, 3).error; };
  CHECK(error_of(R"({"log":{"version":1.2,oops}})") == "unexpected 'o'; expected a member name in quotes");
  CHECK(error_of(R"({"log" {}})") == "unexpected '{'; expected ':' after a member name");
  CHECK(error_of(R"({"log":{"a":tru}})") == "invalid literal: '}' where \"true\" was expected");
  CHECK(error_of(R"({"log":{"a":01}})") == "unexpected '1'; expected ',' or '}'");
  CHECK(error_of(R"({"log":{"a":1.}})") == "invalid number: '}' cannot follow what came before");
  CHECK(error_of(R"({"log":{"a":"\q"}})") == "invalid escape \\q in a string");
  CHECK(error_of("{\"log\":{\"a\":\"x\ny\"}}") ==
        "control character byte 0x0A in a string; it must be escaped");
  CHECK(error_of(R"({"log":{"entries":[{}}]}})") == "unexpected '}'; expected ',' or ']'");
  CHECK(error_of(R"({"log":{}} x)") == "unexpected 'x' after the end of the JSON");
  CHECK(error_of(R"({"a":[1,-2.5e+3,true,false,null,"\u00e9"]})").empty());
  CHECK(error_of("\xEF\xBB\xBF{}").empty());
  CHECK(scan("-12", 1).complete);
  CHECK_FALSE(scan(R"({"log":{"entries":[{}])", 3).complete);
}
