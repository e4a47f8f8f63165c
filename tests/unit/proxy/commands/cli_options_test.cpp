// build_proxy_config's listener addresses: --listen and --metrics (issue 15), and their loopback rule.

#include "proxy/commands/cli_options.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

using namespace regtrace::proxy;

namespace {

proxy_options options_with(std::string listen, std::string metrics) {
  proxy_options o;
  o.listen = std::move(listen);
  o.metrics = std::move(metrics);
  o.har = "/tmp/regtrace-cli-options-test.har";  // never opened by build_proxy_config
  o.ca_dir = "/tmp/regtrace-cli-options-test-ca";
  return o;
}

// The sentence build_proxy_config refuses o with, or "" when it accepts it.
std::string refusal(proxy_options const& o) {
  try {
    build_proxy_config(o);
    return "";
  } catch (std::invalid_argument const& e) {
    return e.what();
  }
}

}  // namespace

TEST_CASE("--metrics takes HOST:PORT, a bare port, and port 0", "[proxy][cli]") {
  auto config = build_proxy_config(options_with("127.0.0.1:8888", "127.0.0.1:9888"));
  CHECK(config.metrics_host == "127.0.0.1");
  CHECK(config.metrics_port == 9888);

  config = build_proxy_config(options_with("127.0.0.1:8888", "9999"));
  CHECK(config.metrics_host == "127.0.0.1");
  CHECK(config.metrics_port == 9999);

  config = build_proxy_config(options_with("127.0.0.1:8888", "localhost:0"));
  CHECK(config.metrics_host == "127.0.0.1");
  CHECK(config.metrics_port == 0);

  config = build_proxy_config(options_with("127.0.0.1:8888", "[::1]:9888"));
  CHECK(config.metrics_host == "::1");

  config = build_proxy_config(options_with("127.0.0.1:8888", ""));
  CHECK(config.metrics_host.empty());
}

TEST_CASE("--metrics that is not HOST:PORT is refused with a sentence", "[proxy][cli]") {
  for (auto const* bad : {"metrics", "127.0.0.1:99999", "127.0.0.1:", ":0", "127.0.0.1:x"}) {
    INFO(bad);
    auto const sentence = refusal(options_with("127.0.0.1:8888", bad));
    CHECK(sentence == std::string("--metrics \"") + bad + "\" is not HOST:PORT (for example 127.0.0.1:9888)");
  }
}

TEST_CASE("--metrics on a non-loopback address needs --allow-remote, as --listen does", "[proxy][cli]") {
  auto o = options_with("127.0.0.1:8888", "0.0.0.0:9888");
  auto const sentence = refusal(o);
  CHECK(sentence.starts_with("--metrics 0.0.0.0:9888 would let other machines read the metrics"));
  CHECK(sentence.find("--allow-remote") != std::string::npos);

  o.allow_remote = true;
  o.proxy_auth = "user:pass";
  auto const config = build_proxy_config(o);
  CHECK(config.metrics_host == "0.0.0.0");
  CHECK(config.metrics_port == 9888);
}

TEST_CASE("--listen still takes a bare port and port 0", "[proxy][cli]") {
  auto config = build_proxy_config(options_with("9000", ""));
  CHECK(config.listen_host == "127.0.0.1");
  CHECK(config.listen_port == 9000);
  config = build_proxy_config(options_with("localhost:0", ""));
  CHECK(config.listen_host == "127.0.0.1");
  CHECK(config.listen_port == 0);
  CHECK(refusal(options_with("0.0.0.0:8888", "")).find("--allow-remote") != std::string::npos);
}
