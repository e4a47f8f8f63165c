// --upstream-proxy: the URL it takes, the CONNECT request regtrace sends, and the command line's
// refusals as sentences that never repeat the password.

#include "proxy/commands/cli.hpp"
#include "proxy/config/upstream_proxy.hpp"

#include <catch2/catch.hpp>

#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace regtrace::proxy;

namespace {

/// Runs the command line with standard error captured; returns the exit code.
int run(std::vector<std::string> args, std::string& errors) {
  args.insert(args.begin(), "regtrace");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream captured;
  auto* old = std::cerr.rdbuf(captured.rdbuf());
  int const code = run_command_line(static_cast<int>(argv.size()), argv.data());
  std::cerr.rdbuf(old);
  errors = captured.str();
  return code;
}

std::string refusal(std::string const& url) {
  try {
    parse_upstream_proxy(url);
  } catch (std::invalid_argument const& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("parse_upstream_proxy reads http://[USER:PASS@]HOST:PORT", "[proxy][upstream_proxy]") {
  auto plain = parse_upstream_proxy("http://proxy.corp.example:3128");
  CHECK(plain.host == "proxy.corp.example");
  CHECK(plain.port == 3128);
  CHECK(plain.credentials.empty());
  CHECK(plain.enabled());

  auto with_user = parse_upstream_proxy("HTTP://alice:s3cret@10.0.0.1:8080/");
  CHECK(with_user.host == "10.0.0.1");
  CHECK(with_user.port == 8080);
  CHECK(with_user.credentials == "alice:s3cret");

  // Percent-encoded ':' and '@' in the password (RFC 3986 §2.1), and a user without a password.
  CHECK(parse_upstream_proxy("http://dom%5Calice:p%40ss%3Aword@proxy:3128").credentials ==
        "dom\\alice:p@ss:word");
  CHECK(parse_upstream_proxy("http://bob@proxy:3128").credentials == "bob:");

  auto v6 = parse_upstream_proxy("http://[::1]:3128");
  CHECK(v6.host == "::1");
  CHECK(display_url(v6) == "http://[::1]:3128");

  CHECK_FALSE(chained_proxy{}.enabled());
  CHECK(display_url(chained_proxy{}).empty());
}

TEST_CASE("parse_upstream_proxy refuses what is not an http:// proxy, without echoing the password",
          "[proxy][upstream_proxy]") {
  CHECK_THAT(refusal("https://alice:s3cret@proxy:3128"), Catch::Contains("only http://"));
  CHECK_THAT(refusal("socks5://proxy:1080"), Catch::Contains("not socks5://"));
  CHECK_THAT(refusal("proxy:3128"), Catch::Contains("needs a URL"));
  CHECK_THAT(refusal("http://alice:s3cret@proxy"), Catch::Contains("add the proxy's port"));
  CHECK_THAT(refusal("http://proxy:99999"), Catch::Contains("not HOST:PORT"));
  CHECK_THAT(refusal("http://proxy:3128/path"), Catch::Contains("no path"));
  CHECK_THAT(refusal("http://alice:50%@proxy:3128"), Catch::Contains("%25"));
  CHECK_THAT(refusal("http://:3128"), Catch::Contains("not HOST:PORT"));
  for (auto const* url : {"https://alice:s3cret@proxy:3128", "http://alice:s3cret@proxy",
                          "http://alice:s3cret@x y:1", "http://alice:s3cret@proxy:3128/p"})
    CHECK_THAT(refusal(url), !Catch::Contains("s3cret"));
}

TEST_CASE("connect_request_text: CONNECT, Host and Basic proxy credentials", "[proxy][upstream_proxy]") {
  auto proxy = parse_upstream_proxy("http://alice:s3cret@proxy:3128");
  // base64("alice:s3cret") == "YWxpY2U6czNjcmV0"
  CHECK(connect_request_text({"registry.test", 443}, proxy) ==
        "CONNECT registry.test:443 HTTP/1.1\r\nHost: registry.test:443\r\n"
        "Proxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n\r\n");
  CHECK(connect_request_text({"2001:db8::7", 5443}, parse_upstream_proxy("http://proxy:3128")) ==
        "CONNECT [2001:db8::7]:5443 HTTP/1.1\r\nHost: [2001:db8::7]:5443\r\n\r\n");
}

TEST_CASE("--upstream-proxy errors are usage errors: a sentence and exit 1", "[proxy][upstream_proxy][cli]") {
  std::string errors;
  CHECK(run({"proxy", "--upstream-proxy", "https://alice:s3cret@proxy:3128"}, errors) == 1);
  CHECK_THAT(errors, Catch::StartsWith("regtrace: --upstream-proxy supports only http:// proxies"));
  CHECK_THAT(errors, !Catch::Contains("s3cret"));

  CHECK(run({"replay", "send", "no-such.har", "--upstream-proxy", "socks5://proxy:1080"}, errors) == 1);
  CHECK_THAT(errors, Catch::Contains("only http://"));
}
