#include "capture/replay/replay_source.hpp"

#include "capture/har/har_reader.hpp"

#include <stdexcept>

namespace regtrace::capture::replay {

std::unique_ptr<replay_source> replay_source::load(std::filesystem::path const& har,
                                                   std::vector<std::string>& warnings) {
  auto trace = read_har_file(har);
  if (!trace.ok) throw std::runtime_error("cannot replay " + har.string() + ": " + trace.error);
  warnings = std::move(trace.warnings);
  std::unique_ptr<replay_source> source(
      new replay_source(har, std::move(trace.exchanges), std::move(trace.entry_indexes)));
  if (source->answers() == 0)
    throw std::runtime_error("cannot replay " + har.string() + ": it holds no recorded response");
  return source;
}

std::optional<replay_source::answer> replay_source::next(std::string const& key) {
  std::lock_guard lock(mutex_);
  auto found = matcher_.next(key);
  if (!found) return std::nullopt;
  auto const entry = found->index < positions_.size() ? positions_[found->index] : found->index;
  return answer{*found->recorded, entry, found->repeated};
}

}  // namespace regtrace::capture::replay
