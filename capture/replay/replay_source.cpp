#include "capture/replay/replay_source.hpp"

#include "capture/har/har_reader.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace regtrace::capture::replay {

std::unique_ptr<replay_source> replay_source::load(std::filesystem::path const& har,
                                                   std::vector<std::string>& warnings) {
  std::unique_ptr<std::FILE, file_closer> file(std::fopen(har.c_str(), "rb"));
  if (!file)
    throw std::runtime_error("cannot replay " + har.string() + ": cannot read " + har.string() + ": " +
                             std::strerror(errno));
  std::unique_ptr<replay_source> source(new replay_source(har, std::move(file)));
  auto const keep = [&source](har_entry&& entry) {
    if (source->matcher_.add(entry.x, entry.index)) source->ranges_.push_back({entry.offset, entry.size});
  };
  auto trace = for_each_har_entry(har, keep);
  if (!trace.ok) throw std::runtime_error("cannot replay " + har.string() + ": " + trace.error);
  warnings = std::move(trace.warnings);
  if (source->answers() == 0)
    throw std::runtime_error("cannot replay " + har.string() + ": it holds no recorded response");
  return source;
}

std::optional<std::string> replay_source::read_range(entry_range range) const {
  std::string bytes(range.size, '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    auto const n = ::pread(::fileno(file_.get()), bytes.data() + done, bytes.size() - done,
                           static_cast<off_t>(range.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;  // an I/O error, or the file is shorter than it was
    done += static_cast<std::size_t>(n);
  }
  return bytes;
}

std::optional<replay_source::answer> replay_source::next(std::string const& key) {
  std::optional<matcher::match> found;
  {
    std::lock_guard lock(mutex_);
    found = matcher_.next(key);
  }
  if (!found) return std::nullopt;
  auto const range = ranges_[found->answer];
  auto bytes = read_range(range);
  if (!bytes) return std::nullopt;
  std::vector<std::string> warnings;  // said once already, when the trace was loaded
  auto recorded = read_har_entry(std::move(*bytes), found->index, range.offset, warnings);
  // The key was made from this entry at load: another answer means the file changed under us.
  if (!recorded || match_key(*recorded) != key) return std::nullopt;
  return answer{std::move(*recorded), found->index, found->repeated};
}

}  // namespace regtrace::capture::replay
