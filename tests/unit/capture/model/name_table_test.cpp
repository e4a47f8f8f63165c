// One table per enum, read both ways (capture/model/name_table.hpp).
#include "capture/model/name_table.hpp"

#include <catch2/catch.hpp>

namespace regtrace::capture {
namespace {

enum class colour { red, green, blue };

constexpr name_table<colour, 2> colour_names{{
    {colour::red, "red"},
    {colour::green, "green"},
}};

TEST_CASE("name_table reads a listed value both ways, and falls back for the rest", "[model]") {
  STATIC_REQUIRE(name_of(colour_names, colour::green, "?") == "green");
  CHECK(name_of(colour_names, colour::blue, "?") == "?");
  CHECK(value_of(colour_names, "red") == colour::red);
  CHECK_FALSE(value_of(colour_names, "Red").has_value());
  CHECK_FALSE(value_of(colour_names, "").has_value());
}

}  // namespace
}  // namespace regtrace::capture
