// read_har_text (capture/har/har_reader.cpp) on a whole file: regtrace's own HARs, browsers',
// files cut short by a crash, and anything else. Properties: it never reports more exchanges than
// the file has entries (counted here independently: log.entries' length for a JSON document, and at
// most one per '{' for text that is not JSON), each exchange's entry index is one of the file's,
// in increasing order, and a file it refuses yields no exchange.

#include "capture/har/har_reader.hpp"
#include "tests/fuzz/fuzz_support.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace {

using namespace regtrace;
using namespace regtrace::fuzz;

// How many entries the text can hold at most, without the reader's code.
std::size_t entry_bound(std::string_view text) {
  auto const doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) return static_cast<std::size_t>(std::ranges::count(text, '{'));
  if (!doc.is_object() || !doc.contains("log") || !doc["log"].is_object()) return 0;
  auto const& log = doc["log"];
  if (!log.contains("entries") || !log["entries"].is_array()) return 0;
  return log["entries"].size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  exact_bytes const input(data, size);
  auto const result = capture::read_har_text(input.view());
  auto const bound = entry_bound(input.view());
  require(result.exchanges.size() <= bound,
          "the HAR reader reports no more exchanges than the file has entries");
  require(result.entry_indexes.size() == result.exchanges.size(), "one entry index per exchange");
  require(std::ranges::is_sorted(result.entry_indexes) &&
              std::ranges::adjacent_find(result.entry_indexes) == result.entry_indexes.end(),
          "entry indexes increase");
  require(result.entry_indexes.empty() || result.entry_indexes.back() < bound,
          "entry indexes are the file's");
  require(result.ok || result.exchanges.empty(), "a refused file yields no exchange");
  require(result.ok || !result.error.empty(), "a refused file says why");
  return 0;
}
