// The failure vocabulary: phase names, regtrace's error category, make_failure.

#include "capture/model/failure.hpp"

#include <catch2/catch.hpp>

#include <boost/system/errc.hpp>

using namespace regtrace::capture;

TEST_CASE("phases round-trip through their names", "[capture][failure]") {
  for (auto p :
       {phase::accept, phase::connect_request, phase::client_tls, phase::resolve, phase::upstream_connect,
        phase::upstream_tls, phase::request_relay, phase::response_relay, phase::capture}) {
    auto const name = to_string(p);
    CHECK(name != "unknown");
    CHECK(phase_from_string(name) == p);
  }
  CHECK(to_string(phase::upstream_tls) == "upstream_tls");
  CHECK_FALSE(phase_from_string("nonsense").has_value());
}

TEST_CASE("regtrace errors have their own category and a sentence each", "[capture][failure]") {
  for (int v = static_cast<int>(errc::malformed_request); v <= static_cast<int>(errc::replay_no_match); ++v) {
    boost::system::error_code const ec = static_cast<errc>(v);
    CHECK(std::string(ec.category().name()) == "regtrace");
    auto const message = ec.message();
    CHECK_FALSE(message.starts_with("Unknown"));
    CHECK(message.ends_with("."));
  }
  boost::system::error_code const ec = errc::upstream_timeout;
  CHECK(ec == errc::upstream_timeout);
  CHECK(ec != errc::client_timeout);
}

TEST_CASE("make_failure keeps category name, value and message", "[capture][failure]") {
  auto const own =
      make_failure(phase::response_relay, make_error_code(errc::upstream_closed), "reading body");
  CHECK(own.where == phase::response_relay);
  CHECK(own.code_category == "regtrace");
  CHECK(own.code_value == static_cast<int>(errc::upstream_closed));
  CHECK(own.message == make_error_code(errc::upstream_closed).message());
  CHECK(own.detail == "reading body");

  auto const sys =
      make_failure(phase::upstream_connect,
                   boost::system::errc::make_error_code(boost::system::errc::connection_refused), "");
  CHECK(sys.code_category == "generic");
  CHECK(sys.code_value == ECONNREFUSED);
  CHECK(sys.message == "Connection refused");
}
