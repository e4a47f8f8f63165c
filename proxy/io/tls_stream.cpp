#include "proxy/io/tls_stream.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace regtrace::proxy {

namespace {

// The ciphertext buffer starts at two records and doubles, up to its ceiling, each time a socket read
// fills it: small exchanges keep connections small, a bulk transfer gets big reads.
constexpr std::size_t initial_input_bytes = 2 * (16 * 1024 + 512);
constexpr std::size_t max_input_bytes = 512 * 1024;

}  // namespace

struct tls_stream::state {
  state(beast::tcp_stream stream, SSL* ssl_object)
      : next(std::move(stream)), ssl(ssl_object), write_gate(next.get_executor()) {}
  ~state() { SSL_free(ssl); }
  state(state const&) = delete;
  state& operator=(state const&) = delete;

  beast::tcp_stream next;
  SSL* ssl;
  std::vector<unsigned char> input = std::vector<unsigned char>(initial_input_bytes);  // from the peer
  std::size_t input_begin = 0;                  // input[input_begin, input_end) is not yet given to OpenSSL
  std::size_t input_end = 0;
  std::vector<unsigned char> output;            // ciphertext OpenSSL wrote, waiting to be sent
  std::vector<unsigned char> sending;           // ciphertext being sent
  bool writing = false;                         // an operation is sending; others wait at write_gate
  net::steady_timer write_gate;
  beast::error_code deferred_read_error;        // met after some plaintext was returned: the next read's
};

namespace {

using io_result = std::tuple<beast::error_code, std::size_t>;

// --- The BIO between OpenSSL and the buffers: reads take from `input`, writes append to `output`.

tls_stream::state& state_of(BIO* bio) { return *static_cast<tls_stream::state*>(BIO_get_data(bio)); }

int bio_read(BIO* bio, char* data, std::size_t size, std::size_t* read) {
  auto& s = state_of(bio);
  BIO_clear_retry_flags(bio);
  auto const n = std::min(size, s.input_end - s.input_begin);
  *read = n;
  if (n == 0) {
    BIO_set_retry_read(bio);  // more will come from the socket: never an end of file to OpenSSL
    return 0;
  }
  std::memcpy(data, s.input.data() + s.input_begin, n);
  s.input_begin += n;
  return 1;
}

int bio_write(BIO* bio, char const* data, std::size_t size, std::size_t* written) {
  auto& s = state_of(bio);
  BIO_clear_retry_flags(bio);
  auto const* bytes = reinterpret_cast<unsigned char const*>(data);
  s.output.insert(s.output.end(), bytes, bytes + size);
  *written = size;
  return 1;
}

long bio_ctrl(BIO*, int command, long, void*) { return command == BIO_CTRL_FLUSH ? 1 : 0; }

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

BIO_METHOD const* buffers_bio_method() {
  static BIO_METHOD* const method = [] {
    auto* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "regtrace tls_stream buffers");
    BIO_meth_set_read_ex(m, bio_read);
    BIO_meth_set_write_ex(m, bio_write);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

// --- Errors, as Asio's ssl::stream reports them.

// The error of the OpenSSL call that just returned. Read it before any co_await: the error queue is
// per thread, and other connections' operations run on this thread meanwhile.
beast::error_code error_after(SSL* ssl, int ssl_error) {
  switch (ssl_error) {
    case SSL_ERROR_NONE:
    case SSL_ERROR_WANT_READ:
      return {};
    case SSL_ERROR_ZERO_RETURN:
      return net::error::eof;  // the peer's close_notify
    case SSL_ERROR_SSL:
      if (auto const code = ERR_get_error(); code != 0)
        return {static_cast<int>(code), net::error::get_ssl_category()};
      break;
    default:
      break;
  }
  return (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN) ? beast::error_code(net::error::eof)
                                                         : beast::error_code(net::ssl::error::stream_truncated);
}

// What a read got: plaintext bytes, and the OpenSSL error that stopped it.
struct decrypted {
  std::size_t bytes = 0;
  int ssl_error = SSL_ERROR_NONE;
  beast::error_code ec;
};

// Decrypts every complete record received so far into `into`, until it is full.
decrypted decrypt(tls_stream::state& s, net::mutable_buffer into) {
  ERR_clear_error();
  decrypted d;
  auto* data = static_cast<unsigned char*>(into.data());
  while (d.bytes < into.size()) {
    std::size_t n = 0;
    if (SSL_read_ex(s.ssl, data + d.bytes, into.size() - d.bytes, &n) == 1) {
      d.bytes += n;
      continue;
    }
    d.ssl_error = SSL_get_error(s.ssl, 0);
    d.ec = error_after(s.ssl, d.ssl_error);
    break;
  }
  return d;
}

// Sends all pending ciphertext, one operation at a time (a read may have to send an alert while a
// write is under way: it waits for that write, which sends it anyway).
net::awaitable<beast::error_code> flush(tls_stream::state& s) {
  while (s.writing) {
    s.write_gate.expires_at(net::steady_timer::time_point::max());
    auto [woken] = co_await s.write_gate.async_wait(use_nothrow);  // by cancel(): operation_aborted
    (void)woken;
  }
  s.writing = true;
  beast::error_code ec;
  while (!ec && !s.output.empty()) {
    std::swap(s.output, s.sending);
    auto [write_ec, n] = co_await net::async_write(s.next, net::buffer(s.sending), use_nothrow);
    ec = write_ec;
    s.sending.clear();
  }
  if (ec) s.output.clear();  // the connection is lost: nothing more will be sent
  s.writing = false;
  s.write_gate.cancel();
  co_return ec;
}

// Reads what the socket has into `input`, after the bytes OpenSSL has not taken yet.
net::awaitable<beast::error_code> receive(tls_stream::state& s) {
  if (s.input_begin > 0) {
    std::memmove(s.input.data(), s.input.data() + s.input_begin, s.input_end - s.input_begin);
    s.input_end -= s.input_begin;
    s.input_begin = 0;
  }
  auto const room = s.input.size() - s.input_end;
  auto [ec, n] = co_await s.next.async_read_some(net::buffer(s.input.data() + s.input_end, room), use_nothrow);
  s.input_end += n;
  if (n == room && s.input.size() < max_input_bytes) s.input.resize(std::min(2 * s.input.size(), max_input_bytes));
  if (ec == net::error::eof) co_return net::ssl::error::stream_truncated;  // OpenSSL still wanted a record
  co_return ec;
}

net::awaitable<io_result> read_some(tls_stream::state& s, net::mutable_buffer into) {
  if (auto ec = std::exchange(s.deferred_read_error, {})) co_return io_result{ec, 0};
  if (into.size() == 0) co_return io_result{};
  for (;;) {
    auto d = decrypt(s, into);
    // A read makes output only in rare cases (an alert on a failure, a TLS 1.2 renegotiation reply).
    if (!s.output.empty() && !s.writing) {
      auto sent = co_await flush(s);
      if (!d.ec && d.ssl_error == SSL_ERROR_WANT_READ && sent) d.ec = sent;
    }
    if (d.bytes > 0) {
      s.deferred_read_error = d.ec;
      co_return io_result{beast::error_code{}, d.bytes};
    }
    if (d.ec) co_return io_result{d.ec, 0};
    if (auto ec = co_await receive(s)) co_return io_result{ec, 0};
  }
}

net::awaitable<io_result> handshake(tls_stream::state& s, net::ssl::stream_base::handshake_type type,
                                    net::const_buffer already_read) {
  if (s.input.size() < already_read.size()) s.input.resize(already_read.size());
  if (already_read.size() > 0)  // an empty buffer may have no address: memcpy must not see it
    std::memcpy(s.input.data(), already_read.data(), already_read.size());
  s.input_end = already_read.size();
  if (type == net::ssl::stream_base::client)
    SSL_set_connect_state(s.ssl);
  else
    SSL_set_accept_state(s.ssl);
  for (;;) {
    ERR_clear_error();
    int const done = SSL_do_handshake(s.ssl);
    int const ssl_error = done == 1 ? SSL_ERROR_NONE : SSL_get_error(s.ssl, done);
    auto const failure = error_after(s.ssl, ssl_error);
    // Send what this step wrote: the next flight, the server's session tickets, or our alert.
    auto const sent = co_await flush(s);
    if (done == 1) co_return io_result{sent, already_read.size()};
    if (ssl_error != SSL_ERROR_WANT_READ) co_return io_result{failure, already_read.size()};
    if (sent) co_return io_result{sent, already_read.size()};
    if (auto ec = co_await receive(s)) co_return io_result{ec, already_read.size()};
  }
}

net::awaitable<io_result> shutdown(tls_stream::state& s) {
  ERR_clear_error();
  SSL_shutdown(s.ssl);  // writes close_notify; a second call would wait for the peer's
  co_return io_result{co_await flush(s), 0};
}

net::awaitable<io_result> sent(tls_stream::state& s, std::size_t taken, beast::error_code ec) {
  auto sent_ec = co_await flush(s);
  co_return io_result{ec ? ec : sent_ec, taken};
}

// Runs an operation's coroutine and completes its handler, on the handler's own executor.
template <class Handler>
void launch(tls_stream::state& s, net::awaitable<io_result> operation, Handler handler) {
  auto executor = net::get_associated_executor(handler, s.next.get_executor());
  net::co_spawn(s.next.get_executor(), std::move(operation),
                net::bind_executor(executor, [h = std::move(handler)](std::exception_ptr, io_result r) mutable {
                  if constexpr (std::is_invocable_v<Handler, beast::error_code, std::size_t>)
                    std::move(h)(std::get<0>(r), std::get<1>(r));
                  else
                    std::move(h)(std::get<0>(r));
                }));
}

}  // namespace

tls_stream::tls_stream(beast::tcp_stream next, net::ssl::context& context)
    : state_(std::make_unique<state>(std::move(next), SSL_new(context.native_handle()))) {
  auto* bio = BIO_new(buffers_bio_method());
  BIO_set_data(bio, state_.get());
  SSL_set_bio(state_->ssl, bio, bio);  // one BIO both ways; the SSL owns it
}

tls_stream::tls_stream(tls_stream&&) noexcept = default;
tls_stream& tls_stream::operator=(tls_stream&&) noexcept = default;
tls_stream::~tls_stream() = default;

tls_stream::executor_type tls_stream::get_executor() { return state_->next.get_executor(); }
beast::tcp_stream& tls_stream::next_layer() { return state_->next; }
SSL* tls_stream::native_handle() { return state_->ssl; }

bool tls_stream::peer_spoke_plain_http() const {
  // A failed handshake leaves the peer's first bytes at the start of input: nothing moved them yet.
  std::string_view const received(reinterpret_cast<char const*>(state_->input.data()), state_->input_end);
  return received.starts_with("HTTP/");
}

void tls_stream::start_handshake(net::ssl::stream_base::handshake_type type, net::const_buffer already_read,
                                 handshake_handler handler) {
  launch(*state_, handshake(*state_, type, already_read), std::move(handler));
}

void tls_stream::start_handshake(net::ssl::stream_base::handshake_type type, net::const_buffer already_read,
                                 io_handler handler) {
  launch(*state_, handshake(*state_, type, already_read), std::move(handler));
}

void tls_stream::start_shutdown(handshake_handler handler) {
  launch(*state_, shutdown(*state_), std::move(handler));
}

void tls_stream::start_read(net::mutable_buffer into, io_handler handler) {
  launch(*state_, read_some(*state_, into), std::move(handler));
}

void tls_stream::start_write(std::size_t taken, beast::error_code ec, io_handler handler) {
  launch(*state_, sent(*state_, taken, ec), std::move(handler));
}

std::size_t tls_stream::encrypt(net::const_buffer plaintext, beast::error_code& ec) {
  if (plaintext.size() == 0) return 0;
  ERR_clear_error();
  std::size_t written = 0;
  if (SSL_write_ex(state_->ssl, plaintext.data(), plaintext.size(), &written) == 1) return written;
  ec = error_after(state_->ssl, SSL_get_error(state_->ssl, 0));
  if (!ec) ec = net::ssl::error::stream_truncated;  // a write cannot want input once established
  return written;
}

}  // namespace regtrace::proxy
