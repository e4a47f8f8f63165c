// replay_source (SPEC §6, issue 13): answers read again from the trace file when they are needed,
// consumed in order, and refused when the file no longer holds what was loaded.

#include "capture/replay/replay_source.hpp"

#include "capture/har/har_writer.hpp"
#include "tests/support/exchanges.hpp"
#include "tests/support/files.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <stdexcept>

namespace regtrace::capture::replay {
namespace {

using test::registry_exchange;
using test::with_response;

std::filesystem::path write_trace(std::filesystem::path const& dir, std::vector<exchange> const& trace) {
  auto const path = dir / "trace.har";
  har_file file(path);
  for (auto const& x : trace) REQUIRE(file.append(to_har_entry(x)));
  return path;
}

std::vector<exchange> login_then_pull() {
  return {with_response(registry_exchange("GET", "/v2/", 401), R"({"errors":[{"code":"UNAUTHORIZED"}]})"),
          registry_exchange("GET", "/v2/app/manifests/v2", 0),  // no answer: cannot replay
          with_response(registry_exchange("GET", "/v2/", 200), "{}"),
          with_response(registry_exchange("GET", "/v2/app/manifests/v1", 200), R"({"schemaVersion":2})",
                        "application/vnd.oci.image.manifest.v1+json")};
}

std::string key_of(std::string_view target) {
  return match_key("GET", "https", "registry.test", 5443, target, "");
}

}  // namespace

TEST_CASE("replay_source answers from entries it reads again from the file", "[replay][source]") {
  auto const dir = test::scratch_dir("replay-source");
  auto const path = write_trace(dir, login_then_pull());
  std::vector<std::string> warnings;
  auto const source = replay_source::load(path, warnings);
  CHECK(warnings.empty());
  CHECK(source->answers() == 3);

  auto const first = source->next(key_of("/v2/"));
  REQUIRE(first);
  CHECK(first->index == 0);
  CHECK(first->recorded.status == 401);
  CHECK(first->recorded.response_body.text == R"({"errors":[{"code":"UNAUTHORIZED"}]})");
  CHECK_FALSE(first->repeated);
  auto const second = source->next(key_of("/v2/"));
  REQUIRE(second);
  CHECK(second->index == 2);
  CHECK(second->recorded.status == 200);
  auto const manifest = source->next(key_of("/v2/app/manifests/v1"));
  REQUIRE(manifest);
  CHECK(manifest->index == 3);
  CHECK(manifest->recorded.response_body.text == R"({"schemaVersion":2})");
  CHECK(manifest->recorded.url() == "https://registry.test:5443/v2/app/manifests/v1");
  auto const again = source->next(key_of("/v2/app/manifests/v1"));
  REQUIRE(again);
  CHECK(again->repeated);
  CHECK_FALSE(source->next(key_of("/v2/app/manifests/v2")));
  std::filesystem::remove_all(dir);
}

TEST_CASE("replay_source gives no answer once the file no longer holds the entry", "[replay][source]") {
  auto const dir = test::scratch_dir("replay-source-changed");
  auto const path = write_trace(dir, login_then_pull());
  std::vector<std::string> warnings;
  auto const source = replay_source::load(path, warnings);
  REQUIRE(source->next(key_of("/v2/")));

  // Same length, another repository: the bytes at the recorded range no longer make the same key.
  auto text = test::slurp(path);
  auto const at = text.find("/v2/app/manifests/v1");
  REQUIRE(at != std::string::npos);
  text.replace(at, 7, "/v2/xyz");
  std::ofstream(path, std::ios::binary | std::ios::in | std::ios::out) << text;
  CHECK_FALSE(source->next(key_of("/v2/app/manifests/v1")));

  // Cut short: the range cannot be read at all.
  std::filesystem::resize_file(path, 10);
  CHECK_FALSE(source->next(key_of("/v2/")));
  std::filesystem::remove_all(dir);
}

TEST_CASE("replay_source refuses a trace it cannot answer from, with a sentence", "[replay][source]") {
  auto const dir = test::scratch_dir("replay-source-refused");
  std::vector<std::string> warnings;
  CHECK_THROWS_WITH(replay_source::load(dir / "missing.har", warnings),
                    "cannot replay " + (dir / "missing.har").string() + ": cannot read " +
                        (dir / "missing.har").string() + ": No such file or directory");
  auto const silent = write_trace(dir, {registry_exchange("GET", "/v2/", 0)});
  CHECK_THROWS_WITH(replay_source::load(silent, warnings),
                    "cannot replay " + silent.string() + ": it holds no recorded response");
  std::ofstream(dir / "deep.har") << std::string(100000, '[');
  CHECK_THROWS_WITH(replay_source::load(dir / "deep.har", warnings),
                    Catch::Contains("it nests deeper than 64 levels at byte 65"));
  std::filesystem::remove_all(dir);
}

}  // namespace regtrace::capture::replay
