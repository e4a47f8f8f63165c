#pragma once
// In-memory streams for the fuzz targets that drive Beast's parser and serializer as the proxy does:
// a source that hands out the client's bytes in reads of fuzz-chosen sizes (as TCP does), and a sink
// that keeps what the relay writes.

#include "proxy/io/net.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace regtrace::fuzz {

namespace net = proxy::net;
namespace beast = proxy::beast;

/// A SyncReadStream over bytes, each read returning at most the next of the given piece sizes.
class piecewise_source {
 public:
  using executor_type = net::any_io_executor;

  piecewise_source(std::string_view bytes, std::vector<std::size_t> pieces)
      : rest_(bytes), pieces_(std::move(pieces)) {}

  template <class MutableBuffers>
  std::size_t read_some(MutableBuffers const& buffers, beast::error_code& ec) {
    ec = {};
    if (rest_.empty()) {
      ec = net::error::eof;
      return 0;
    }
    auto const piece =
        pieces_.empty() ? rest_.size() : std::max<std::size_t>(1, pieces_[next_++ % pieces_.size()]);
    auto const n = net::buffer_copy(buffers, net::buffer(rest_.data(), std::min(piece, rest_.size())));
    rest_.remove_prefix(n);
    return n;
  }
  template <class MutableBuffers>
  std::size_t read_some(MutableBuffers const& buffers) {
    beast::error_code ec;
    auto const n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

  std::size_t remaining() const { return rest_.size(); }

 private:
  std::string_view rest_;
  std::vector<std::size_t> pieces_;
  std::size_t next_ = 0;
};

/// A SyncWriteStream that keeps everything written to it.
class string_sink {
 public:
  template <class ConstBuffers>
  std::size_t write_some(ConstBuffers const& buffers, beast::error_code& ec) {
    ec = {};
    std::size_t n = 0;
    for (auto const buffer : beast::buffers_range_ref(buffers)) {
      written.append(static_cast<char const*>(buffer.data()), buffer.size());
      n += buffer.size();
    }
    return n;
  }
  template <class ConstBuffers>
  std::size_t write_some(ConstBuffers const& buffers) {
    beast::error_code ec;
    return write_some(buffers, ec);
  }

  std::string written;
};

}  // namespace regtrace::fuzz
