// One HAR entry (capture/har/har_entry_reader.cpp, through the public read_har_text): the fuzz input
// is the text of log.entries' elements, so every shape of entry — fields missing, of the wrong type,
// numbers as strings, base64 bodies — reaches the entry reader. Property: no more exchanges than
// the array has elements (counted here by parsing it independently), and every exchange's entry
// index is one of them.

#include "capture/har/har_reader.hpp"
#include "tests/fuzz/fuzz_support.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  using namespace regtrace;
  using namespace regtrace::fuzz;
  std::string_view const entries(reinterpret_cast<char const*>(data), size);
  // Only JSON goes in: the whole-file target covers text that is not.
  auto const doc = nlohmann::json::parse("[" + std::string(entries) + "]", nullptr, false);
  if (doc.is_discarded()) return 0;
  std::string const text =
      R"({"log":{"version":"1.2","creator":{"name":"fuzz"},"entries":[)" + std::string(entries) + "]}}";
  exact_bytes const input(text);
  auto const result = capture::read_har_text(input.view());
  require(result.ok, "a HAR whose entries are any JSON values is read");
  require(result.exchanges.size() <= doc.size(), "no more exchanges than entries");
  require(result.entry_indexes.size() == result.exchanges.size(), "one entry index per exchange");
  require(std::ranges::all_of(result.entry_indexes, [&](std::size_t i) { return i < doc.size(); }),
          "entry indexes are the array's");
  return 0;
}
