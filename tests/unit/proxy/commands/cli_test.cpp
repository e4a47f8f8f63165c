// The command line's pure helpers: --body-limit sizes and the default CA and trace paths.

#include "proxy/commands/cli.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>

using namespace regtrace::proxy;

namespace {

/// Sets or unsets one environment variable for a scope and restores what was there before.
class scoped_env {
 public:
  scoped_env(char const* name, std::optional<std::string> const& value) : name_(name) {
    if (char const* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  scoped_env(scoped_env const&) = delete;
  scoped_env& operator=(scoped_env const&) = delete;
  ~scoped_env() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  char const* name_;
  std::optional<std::string> old_;
};

std::string local_stamp() {
  auto const now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d-%H%M%S", &local);
  return text;
}

}  // namespace

TEST_CASE("parse_byte_size reads bytes and k/m/g suffixes", "[proxy][cli]") {
  CHECK(parse_byte_size("65536") == 65536);
  CHECK(parse_byte_size("0") == 0);
  CHECK(parse_byte_size("64k") == 64 * 1024);
  CHECK(parse_byte_size("64K") == 64 * 1024);
  CHECK(parse_byte_size("1m") == 1024 * 1024);
  CHECK(parse_byte_size("1MB") == 1024 * 1024);
  CHECK(parse_byte_size("2g") == std::size_t{2} * 1024 * 1024 * 1024);
  CHECK(parse_byte_size("2GiB") == std::size_t{2} * 1024 * 1024 * 1024);
  CHECK(parse_byte_size("10KiB") == 10 * 1024);
  CHECK(parse_byte_size("512b") == 512);
}

TEST_CASE("parse_byte_size refuses what is not a size with a sentence", "[proxy][cli]") {
  auto const text = GENERATE(as<std::string>{}, "abc", "5x", "", "k", "64kk", "1.5m", "64 k", "64k ");
  CAPTURE(text);
  CHECK_THROWS_AS(parse_byte_size(text), std::invalid_argument);
  try {
    parse_byte_size(text);
  } catch (std::invalid_argument const& e) {
    std::string const message = e.what();
    CAPTURE(message);
    CHECK(message.find("\"" + text + "\"") != std::string::npos);
    CHECK(message.find("is not a size") != std::string::npos);
    CHECK(message.find("64k") != std::string::npos);
  }
}

// Regression (found by these tests): std::stoull accepts a leading '-' and negates in unsigned arithmetic, so
// parse_byte_size("-1") returns 18446744073709551615 (and "-64k" returns 2^64 - 65536) instead of throwing;
// "--body-limit -1" silently means "keep every text body whole".
TEST_CASE("parse_byte_size refuses negative sizes", "[proxy][cli]") {
  CHECK_THROWS_AS(parse_byte_size("-1"), std::invalid_argument);
  CHECK_THROWS_AS(parse_byte_size("-64k"), std::invalid_argument);
}

// Regression (found by these tests): the suffix is applied with an unchecked shift, so
// parse_byte_size("17179869184g") (2^34 GiB) returns 0 instead of throwing std::invalid_argument. (A bare
// number too large for unsigned long long is already refused, because stoull's out_of_range is caught.)
TEST_CASE("parse_byte_size refuses sizes that overflow", "[proxy][cli]") {
  CHECK_THROWS_AS(parse_byte_size("17179869184g"), std::invalid_argument);
  CHECK_THROWS_AS(parse_byte_size("99999999999999999999"), std::invalid_argument);
}

TEST_CASE("default_ca_dir honours XDG_DATA_HOME, then HOME", "[proxy][cli]") {
  SECTION("XDG_DATA_HOME set") {
    scoped_env xdg("XDG_DATA_HOME", "/tmp/regtrace-xdg");
    scoped_env home("HOME", "/tmp/regtrace-home");
    CHECK(default_ca_dir() == std::filesystem::path("/tmp/regtrace-xdg/regtrace"));
  }
  SECTION("XDG_DATA_HOME empty") {
    scoped_env xdg("XDG_DATA_HOME", "");
    scoped_env home("HOME", "/tmp/regtrace-home");
    CHECK(default_ca_dir() == std::filesystem::path("/tmp/regtrace-home/.local/share/regtrace"));
  }
  SECTION("XDG_DATA_HOME unset") {
    scoped_env xdg("XDG_DATA_HOME", std::nullopt);
    scoped_env home("HOME", "/tmp/regtrace-home");
    CHECK(default_ca_dir() == std::filesystem::path("/tmp/regtrace-home/.local/share/regtrace"));
  }
  SECTION("neither set") {
    scoped_env xdg("XDG_DATA_HOME", std::nullopt);
    scoped_env home("HOME", std::nullopt);
    auto const dir = default_ca_dir();
    CHECK_FALSE(dir.empty());
    CHECK(dir.filename().string().find("regtrace") != std::string::npos);
  }
}

TEST_CASE("default_har_path names a timestamped trace in the given folder", "[proxy][cli]") {
  std::regex const pattern(R"(regtrace-(\d{8}-\d{6})\.har)");
  std::filesystem::path const dir = "/tmp/regtrace-traces";

  auto const before = local_stamp();
  auto const path = default_har_path(dir);
  auto const after = local_stamp();

  CAPTURE(path.string());
  CHECK(path.parent_path() == dir);
  std::smatch match;
  auto const name = path.filename().string();
  REQUIRE(std::regex_match(name, match, pattern));
  // The fixed-width stamp sorts like the time it names.
  CHECK(match[1].str() >= before);
  CHECK(match[1].str() <= after);
}

TEST_CASE("default_har_path uses the current folder when none is given", "[proxy][cli]") {
  auto const path = default_har_path({});
  CAPTURE(path.string());
  CHECK(path.parent_path() == std::filesystem::current_path());
  CHECK(std::regex_match(path.filename().string(), std::regex(R"(regtrace-\d{8}-\d{6}\.har)")));
}
