// The streaming reader (issue 13, SPEC §8): the same result from any chunk size, entries handed over
// one at a time with their byte ranges, and hostile files (deep nesting, huge entries, invalid
// UTF-8, broken JSON) answered with a sentence while the rest of the file is still read.

#include "capture/har/har_reader.hpp"
#include "capture/har/har_writer.hpp"
#include "tests/support/sample_exchanges.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <stdexcept>

using namespace regtrace::capture;

namespace {

std::vector<exchange> samples() {
  return {test::manifest_get(), test::broken_blob_get(), test::token_post(), test::refused()};
}

/// A trace as regtrace writes it: entries, then log extras (_findings, counters) after them.
std::filesystem::path write_trace(std::filesystem::path const& dir) {
  auto const path = dir / "trace.har";
  har_file file(path);
  for (auto const& x : samples()) REQUIRE(file.append(to_har_entry(x)));
  REQUIRE(file.set_log_extras(
      nlohmann::json{{"_findings", nlohmann::json::array({{{"id", "C-01"}, {"evidence", {{{"entry", 1}}}}}})},
                     {"_regtrace", {{"records_lost", 0}}}}));
  return path;
}

/// A minimal entry for url, as foreign HARs have them.
std::string entry(std::string const& url, std::string const& extra = {}) {
  return R"({"startedDateTime":"2024-01-02T03:04:05.006Z","request":{"method":"GET","url":")" + url +
         R"("},"response":{"status":200)" + extra + "}}";
}

std::string har(std::vector<std::string> const& entries, std::string const& before = R"("version":"1.2",)",
                std::string const& after = {}) {
  std::string text = R"({"log":{)" + before + R"("entries":[)";
  for (std::size_t i = 0; i < entries.size(); ++i) text += (i ? "," : "") + entries[i];
  return text + "]" + after + "}}";
}

}  // namespace

TEST_CASE("a trace read in chunks of any size gives the same exchanges", "[capture][reader][stream]") {
  auto const dir = test::scratch_dir("stream-chunks");
  auto const path = write_trace(dir);
  auto const whole = read_har_file(path);
  REQUIRE(whole.ok);
  CHECK(whole.warnings.empty());
  CHECK(whole.creator == "regtrace");
  REQUIRE(whole.exchanges.size() == samples().size());
  for (std::size_t chunk : {1, 2, 3, 7, 64, 100, 1000, 4096}) {
    INFO("chunks of " << chunk << " bytes");
    auto const read = read_har_file(path, {.chunk_bytes = chunk});
    REQUIRE(read.ok);
    CHECK_FALSE(read.truncated);
    CHECK(read.warnings.empty());
    CHECK(read.creator == "regtrace");
    REQUIRE(read.exchanges.size() == whole.exchanges.size());
    CHECK(read.entry_indexes == whole.entry_indexes);
    for (std::size_t i = 0; i < read.exchanges.size(); ++i) {
      CHECK(read.exchanges[i].url() == whole.exchanges[i].url());
      CHECK(read.exchanges[i].response_body.text == whole.exchanges[i].response_body.text);
      CHECK(read.exchanges[i].response_headers == whole.exchanges[i].response_headers);
    }
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("for_each_har_entry hands over each entry with the bytes it came from",
          "[capture][reader][stream]") {
  auto const dir = test::scratch_dir("stream-visit");
  auto const path = write_trace(dir);
  auto const text = test::slurp(path);
  std::vector<har_entry> seen;
  auto const result =
      for_each_har_entry(path, [&](har_entry&& e) { seen.push_back(std::move(e)); }, {.chunk_bytes = 5});
  REQUIRE(result.ok);
  CHECK(result.exchanges.empty());
  CHECK(result.creator == "regtrace");
  REQUIRE(seen.size() == samples().size());
  for (std::size_t i = 0; i < seen.size(); ++i) {
    CHECK(seen[i].index == i);
    auto const bytes = text.substr(seen[i].offset, seen[i].size);
    CHECK(bytes.front() == '{');
    CHECK(bytes.back() == '}');
    std::vector<std::string> warnings;
    auto const again = read_har_entry(bytes, seen[i].index, seen[i].offset, warnings);
    REQUIRE(again);
    CHECK(warnings.empty());
    CHECK(again->url() == seen[i].x.url());
    CHECK(again->status == seen[i].x.status);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("entries anywhere in log, log members after them, and an empty list", "[capture][reader][stream]") {
  auto const late = read_har_text(
      har({entry("https://r.example/v2/")}, R"("pages":[{"id":"p","entries":[1]}],)",
          R"(,"creator":{"name":"late-creator","version":"1"},"_findings":[{"id":"x"}],"comment":"]}")"),
      {.chunk_bytes = 3});
  REQUIRE(late.ok);
  CHECK(late.creator == "late-creator");
  REQUIRE(late.exchanges.size() == 1);
  CHECK(late.exchanges[0].host == "r.example");
  CHECK(late.warnings.empty());

  auto const empty = read_har_text(har({}), {.chunk_bytes = 2});
  CHECK(empty.ok);
  CHECK_FALSE(empty.truncated);
  CHECK(empty.exchanges.empty());
  CHECK(empty.warnings.empty());
}

TEST_CASE("strings with brackets and escaped quotes do not end an entry early", "[capture][reader][stream]") {
  auto const text = har({entry(R"(https://r.example/v2/a?q=\"}]{[\\)", R"(,"statusText":"}]\"\\\"")"),
                         entry("https://r.example/v2/b")});
  for (std::size_t chunk = 1; chunk < 16; ++chunk) {
    auto const read = read_har_text(text, {.chunk_bytes = chunk});
    REQUIRE(read.ok);
    REQUIRE(read.exchanges.size() == 2);
    CHECK(read.exchanges[0].target == R"(/v2/a?q="}]{[\)");
    CHECK(read.exchanges[0].reason == R"(}]"\")");
    CHECK(read.exchanges[1].target == "/v2/b");
  }
}

TEST_CASE("deep nesting is refused with a sentence naming the byte", "[capture][reader][stream]") {
  // 100,000 levels around everything: not a HAR, said without reading further.
  auto const around = read_har_text(std::string(100000, '[') + std::string(100000, ']'));
  CHECK_FALSE(around.ok);
  CHECK(around.error ==
        "not a HAR: it nests deeper than 64 levels at byte 65 (line 1, column 65), which no HAR does");

  // 100,000 levels inside one entry: that entry is skipped, the others are read.
  std::string const deep = std::string(100000, '[') + std::string(100000, ']');
  auto const text = har({entry("https://r.example/v2/a"), entry("https://r.example/v2/b", R"(,"x":)" + deep),
                         entry("https://r.example/v2/c")});
  auto const inside = read_har_text(text);
  REQUIRE(inside.ok);
  CHECK(inside.exchanges.size() == 2);
  CHECK(inside.entry_indexes == std::vector<std::size_t>{0, 2});
  auto const second = text.find(R"({"startedDateTime")", 40);
  // The entry's object is level 1, its response level 2: the 63rd bracket of the run is level 65.
  auto const too_deep_at = text.find(std::string(64, '[')) + 62;
  INFO(inside.warnings.front());
  CHECK(inside.warnings == std::vector<std::string>{"entry 2 (from byte " + std::to_string(second + 1) +
                                                    ") nests deeper than 64 levels at byte " +
                                                    std::to_string(too_deep_at + 1) + "; skipped it"});
}

TEST_CASE("an entry larger than the limit is skipped with a warning", "[capture][reader][stream]") {
  std::string const huge(200000, 'x');
  auto const text = har(
      {entry("https://r.example/v2/a", R"(,"statusText":")" + huge + "\""), entry("https://r.example/v2/b")},
      R"("comment":")" + huge + R"(",)");
  auto const read = read_har_text(text, {.chunk_bytes = 4096, .max_entry_bytes = 64 * 1024});
  REQUIRE(read.ok);
  REQUIRE(read.exchanges.size() == 1);
  CHECK(read.entry_indexes == std::vector<std::size_t>{1});
  REQUIRE(read.warnings.size() == 1);
  CHECK(read.warnings[0].starts_with("entry 1 (bytes "));
  CHECK(read.warnings[0].ends_with(", more than the 64.0 KiB an entry may; skipped it"));

  // Within the default limit the same entry is read, its 200 kB status text and all.
  auto const roomy = read_har_text(text);
  REQUIRE(roomy.exchanges.size() == 2);
  CHECK(roomy.exchanges[0].reason.size() == huge.size());
}

TEST_CASE("bytes that are not UTF-8 cost the entry nothing but a warning", "[capture][reader][stream]") {
  auto const text = har({entry("https://r.example/v2/a", R"(,"headers":[{"name":"X-Odd","value":"caf)"
                                                         "\xE9\xFF"
                                                         R"("}])"),
                         entry("https://r.example/v2/b")});
  auto const read = read_har_text(text, {.chunk_bytes = 3});
  REQUIRE(read.ok);
  REQUIRE(read.exchanges.size() == 2);
  REQUIRE(read.exchanges[0].response_headers.size() == 1);
  CHECK(read.exchanges[0].response_headers[0].value == "caf\xEF\xBF\xBD\xEF\xBF\xBD");
  auto const bad_at = text.find('\xE9');
  CHECK(read.warnings ==
        std::vector<std::string>{"entry 1 holds bytes that are not UTF-8 (the first at byte " +
                                 std::to_string(bad_at + 1) + "); read each as U+FFFD"});
}

TEST_CASE("an entry that is not JSON is skipped; the JSON after the entries is checked",
          "[capture][reader][stream]") {
  auto const text =
      har({entry("https://r.example/v2/a"), R"({"request":{"url":"x\q"}})", entry("https://r.example/v2/c")});
  auto const read = read_har_text(text, {.chunk_bytes = 4});
  REQUIRE(read.ok);
  CHECK(read.entry_indexes == std::vector<std::size_t>{0, 2});
  REQUIRE(read.warnings.size() == 1);
  CHECK(read.warnings[0].starts_with("entry 2 (from byte "));
  CHECK(read.warnings[0].find(") is not valid JSON (") != std::string::npos);
  CHECK(read.warnings[0].ends_with("; skipped it"));

  auto const valid = har({entry("https://r.example/v2/a")});
  auto const garbage = read_har_text(valid + "\n!");
  REQUIRE(garbage.ok);
  CHECK_FALSE(garbage.truncated);
  CHECK(garbage.exchanges.size() == 1);
  CHECK(garbage.warnings ==
        std::vector<std::string>{"the file is not valid JSON (unexpected '!' after the end of "
                                 "the JSON) at byte " +
                                 std::to_string(valid.size() + 2) +
                                 " (line 2, column 1); kept 1 complete entry before that point"});
}

TEST_CASE("a file cut by a crash keeps its complete entries, whatever the chunk size",
          "[capture][reader][stream]") {
  auto const dir = test::scratch_dir("stream-cut");
  auto const text = test::slurp(write_trace(dir));
  auto const cut = text.substr(0, text.find("\n{", text.find("\n{") + 1) + 40);  // inside entry 2
  for (std::size_t chunk : {1, 3, 16, 65536}) {
    INFO("chunks of " << chunk << " bytes");
    std::size_t visits = 0;
    auto const read = for_each_har_entry_in_text(cut, [&](har_entry&&) { ++visits; }, {.chunk_bytes = chunk});
    REQUIRE(read.ok);
    CHECK(read.truncated);
    CHECK(visits == 1);
    CHECK(read.creator == "regtrace");
    REQUIRE(read.warnings.size() == 1);
    CHECK(read.warnings[0].starts_with("the file ends at byte " + std::to_string(cut.size()) + " (line 3)"));
    CHECK(read.warnings[0].ends_with("kept 1 complete entry before the cut"));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("what the visitor throws ends the read as a sentence", "[capture][reader][stream]") {
  auto const read = for_each_har_entry_in_text(har({entry("https://r.example/")}),
                                               [](har_entry&&) { throw std::runtime_error("no room"); });
  CHECK_FALSE(read.ok);
  CHECK(read.error == "cannot read the HAR: no room");
}

TEST_CASE("a date system_clock cannot hold is no date", "[capture][reader][stream]") {
  // Found by mutating traces under UBSan: year 225 overflowed the nanosecond clock.
  std::string const text =
      har({R"({"startedDateTime":"0225-01-01T00:00:00Z","request":{"method":"GET","url":"https://a/"}})",
           R"({"startedDateTime":"9999-12-31T23:59:59Z","request":{"method":"GET","url":"https://a/"}})"});
  auto const read = read_har_text(text);
  REQUIRE(read.exchanges.size() == 2);
  CHECK(read.exchanges[0].started == std::chrono::system_clock::time_point{});
  CHECK(read.warnings == std::vector<std::string>{"entry 1 has no readable startedDateTime",
                                                  "entry 1 has no response; kept the request",
                                                  "entry 2 has no readable startedDateTime",
                                                  "entry 2 has no response; kept the request"});
}
