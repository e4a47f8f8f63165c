// Sorting a trace's exchanges into client operations. A pass in start order keeps, per client, the
// drafts it has open (one per registry and repository) and a prelude: the ping and token requests a
// client sends before it names a repository (catalog §2: dockerd and containers/image ping, then ask
// for a token, then read the manifest; containerd asks for the token only after a 401). A request
// that follows a 30x's Location joins the operation of the redirect (catalog §7.3: the layer's
// storage GET belongs to the layer).
#include "capture/report/operations_detail.hpp"
#include "capture/report/report.hpp"

#include <algorithm>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

namespace regtrace::capture::report::ops {
namespace {

using registry::request_kind;

// Catalog §0: a session is one client's requests within a sliding window of about 120 s.
constexpr double session_gap_ms = 120'000;

bool is_read(exchange const& x) {
  return x.method == "GET" || x.method == "HEAD";
}

/// The ping and token requests of one client before it names a repository.
struct prelude {
  std::string client;
  std::string host;  ///< the pinged registry; "" when only token requests came
  std::vector<draft_step> steps;
  bool has_ping = false;  ///< holds a ping no operation has taken yet: the next request starts a new one
};

struct open_draft {
  std::string client;
  draft d;
  double last_end_ms = 0;
  std::string tag_read;     ///< the tag whose manifest it read
  bool blob_reads = false;  ///< it fetched blobs: a later manifest read by tag is another pull
  bool tag_pushed = false;  ///< it PUT a manifest by tag: the push is over
  bool open = true;         ///< false for a closed prelude
};

class grouper {
 public:
  explicit grouper(report const& r) : r_(r) {}
  std::vector<draft> run();

 private:
  double start_of(std::size_t i) const { return r_.entries[i].start_ms; }
  double end_of(std::size_t i) const { return start_of(i) + std::max(0.0, r_.entries[i].time_ms); }
  void add(std::size_t i);
  void add_ping(draft_step step);
  void add_token(draft_step step);
  void add_storage(draft_step step);
  void add_repository_request(draft_step step);
  void add_to(std::size_t d, draft_step step);
  bool continues(open_draft const& o, draft_step const& step) const;
  std::optional<std::size_t> latest_draft(std::string const& client, double now, auto&& fits) const;
  std::optional<std::size_t> prelude_of(std::string const& client, std::string const* host) const;
  void absorb_preludes(std::size_t d);
  void close_prelude(std::size_t p);
  void close_stale_preludes(std::string const& client, double now);

  report const& r_;
  std::vector<std::string> clients_;                  ///< per exchange
  std::vector<std::optional<std::size_t>> origin_;    ///< per exchange: the redirect it followed
  std::vector<std::optional<std::size_t>> draft_of_;  ///< per exchange: its draft in drafts_
  std::vector<open_draft> drafts_;
  std::vector<prelude> preludes_;
};

std::vector<draft> grouper::run() {
  auto const n = r_.exchanges.size();
  if (r_.entries.size() != n) return {};
  clients_.resize(n);
  draft_of_.assign(n, std::nullopt);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  // regtrace writes an exchange when it ends; the story is told in the order requests started.
  std::ranges::stable_sort(order, {}, [&](std::size_t i) { return start_of(i); });
  for (auto i : order) clients_[i] = client_key(r_.exchanges[i]);
  origin_ = redirect_origins(r_, order, clients_);
  for (auto i : order)
    if (r_.exchanges[i].kind == entry_kind::exchange) add(i);
  while (!preludes_.empty()) close_prelude(0);

  std::vector<draft> out;
  for (auto& o : drafts_) {
    std::ranges::stable_sort(o.d.steps, {}, [&](draft_step const& s) { return start_of(s.exchange); });
    out.push_back(std::move(o.d));
  }
  std::ranges::stable_sort(out, {}, [&](draft const& d) { return start_of(d.steps.front().exchange); });
  return out;
}

void grouper::add(std::size_t i) {
  exchange const& x = r_.exchanges[i];
  draft_step step{i, registry::classify(x.method, x.host, x.target), origin_[i]};
  if (step.origin && draft_of_[*step.origin]) return add_to(*draft_of_[*step.origin], std::move(step));
  switch (step.cls.kind) {
    case request_kind::ping:
      return add_ping(std::move(step));
    case request_kind::token:
      return add_token(std::move(step));
    case request_kind::storage:
      return add_storage(std::move(step));
    case request_kind::other:
      return;  // not registry traffic
    default:
      return add_repository_request(std::move(step));
  }
}

void grouper::add_ping(draft_step step) {
  exchange const& x = r_.exchanges[step.exchange];
  auto const& client = clients_[step.exchange];
  auto const host = x.authority();
  close_stale_preludes(client, start_of(step.exchange));
  auto const p = prelude_of(client, &host);
  // A ping with credentials is the Basic retry or the check after a token: the same login. One
  // without starts whatever the client does next (dockerd pings once per pull, push and login).
  if (p && find_header(x.request_headers, "Authorization") != nullptr) {
    auto& pre = preludes_[*p];
    if (pre.host.empty()) pre.host = host;  // it held only token requests so far
    pre.steps.push_back(std::move(step));
    pre.has_ping = true;
    return;
  }
  if (p) close_prelude(*p);
  preludes_.push_back(prelude{client, host, {std::move(step)}, true});
}

void grouper::add_token(draft_step step) {
  auto const i = step.exchange;
  auto const& client = clients_[i];
  close_stale_preludes(client, start_of(i));
  // Before a repository request (dockerd, containers/image): the prelude. During one (containerd's
  // HEAD → 401 → token → HEAD; a token refreshed mid-pull): that operation.
  if (auto const p = prelude_of(client, nullptr)) return preludes_[*p].steps.push_back(std::move(step));
  auto const repository = token_scope(r_.exchanges[i]).first;
  auto const d = latest_draft(client, start_of(i), [&](open_draft const& o) {
    return repository.empty() || o.d.repository == repository;
  });
  if (d) return add_to(*d, std::move(step));
  preludes_.push_back(prelude{client, "", {std::move(step)}, false});
}

void grouper::add_storage(draft_step step) {
  // A storage request whose redirect the trace does not hold (or could not match): the client's
  // latest pull that fetched blobs.
  auto const d = latest_draft(clients_[step.exchange], start_of(step.exchange),
                              [](open_draft const& o) { return o.blob_reads; });
  if (d) add_to(*d, std::move(step));
}

void grouper::add_repository_request(draft_step step) {
  auto const i = step.exchange;
  exchange const& x = r_.exchanges[i];
  auto const& client = clients_[i];
  auto const host = x.authority();
  close_stale_preludes(client, start_of(i));
  auto const p = prelude_of(client, &host);
  std::optional<std::size_t> d;
  if (!p || !preludes_[*p].has_ping) {
    d = latest_draft(client, start_of(i), [&](open_draft const& o) {
      return o.d.registry == host && o.d.repository == step.cls.repository;
    });
    if (d && !continues(drafts_[*d], step)) d.reset();
  }
  if (!d) {
    d = drafts_.size();
    drafts_.emplace_back().client = client;
    drafts_.back().d.registry = host;
    drafts_.back().d.repository = step.cls.repository;
  }
  absorb_preludes(*d);
  add_to(*d, std::move(step));
}

void grouper::add_to(std::size_t d, draft_step step) {
  auto& o = drafts_[d];
  exchange const& x = r_.exchanges[step.exchange];
  auto const& c = step.cls;
  bool const by_tag = c.kind == request_kind::manifest && c.digest.empty();
  if (by_tag && is_read(x)) o.tag_read = c.reference;
  if (by_tag && x.method == "PUT") o.tag_pushed = true;
  if ((c.kind == request_kind::blob && x.method == "GET") || step.origin) o.blob_reads = true;
  o.last_end_ms = std::max(o.last_end_ms, end_of(step.exchange));
  draft_of_[step.exchange] = d;
  o.d.steps.push_back(std::move(step));
}

// Whether a repository request continues the client's open operation on that repository or starts
// another: a second tag, a manifest read after the layers, anything after the tag was pushed.
bool grouper::continues(open_draft const& o, draft_step const& step) const {
  if (start_of(step.exchange) - o.last_end_ms > session_gap_ms) return false;
  exchange const& x = r_.exchanges[step.exchange];
  auto const& c = step.cls;
  bool const by_tag = c.kind == request_kind::manifest && c.digest.empty();
  if (by_tag && is_read(x))
    return !o.tag_pushed && !o.blob_reads && (o.tag_read.empty() || o.tag_read == c.reference);
  bool const transfer = c.kind == request_kind::upload || c.kind == request_kind::blob ||
                        (c.kind == request_kind::manifest && x.method == "PUT");
  return !(transfer && o.tag_pushed);
}

std::optional<std::size_t> grouper::latest_draft(std::string const& client, double now, auto&& fits) const {
  for (std::size_t d = drafts_.size(); d-- > 0;) {
    auto const& o = drafts_[d];
    if (o.open && o.client == client && now - o.last_end_ms <= session_gap_ms && fits(o)) return d;
  }
  return std::nullopt;
}

/// The client's latest prelude, for this registry (or one without a ping yet) when host is given.
std::optional<std::size_t> grouper::prelude_of(std::string const& client, std::string const* host) const {
  for (std::size_t p = preludes_.size(); p-- > 0;)
    if (preludes_[p].client == client && (!host || preludes_[p].host == *host || preludes_[p].host.empty()))
      return p;
  return std::nullopt;
}

// The operation takes the client's ping and token requests for its registry, but not a token asked
// for another repository (which stays for the operation on that one).
void grouper::absorb_preludes(std::size_t d) {
  auto const& target = drafts_[d].d;
  for (std::size_t p = preludes_.size(); p-- > 0;) {
    auto& pre = preludes_[p];
    if (pre.client != drafts_[d].client || (!pre.host.empty() && pre.host != target.registry)) continue;
    std::vector<draft_step> kept;
    for (auto& step : pre.steps) {
      auto const repository = step.cls.kind == request_kind::token
                                  ? token_scope(r_.exchanges[step.exchange]).first
                                  : std::string();
      if (!repository.empty() && repository != target.repository)
        kept.push_back(std::move(step));
      else
        add_to(d, std::move(step));
    }
    pre.steps = std::move(kept);
    pre.has_ping = false;
    if (pre.steps.empty()) preludes_.erase(preludes_.begin() + static_cast<std::ptrdiff_t>(p));
  }
}

// A prelude no repository request took: a login when it asked for a token or sent credentials; a
// pull or push the trace shows only the start of when its token names a repository; nothing when
// it is only a ping.
void grouper::close_prelude(std::size_t p) {
  prelude pre = std::move(preludes_[p]);
  preludes_.erase(preludes_.begin() + static_cast<std::ptrdiff_t>(p));
  draft d;
  d.registry = pre.host;
  d.prelude = true;
  bool login = false;
  for (auto const& step : pre.steps) {
    exchange const& x = r_.exchanges[step.exchange];
    if (step.cls.kind != request_kind::token) {
      login = login || find_header(x.request_headers, "Authorization") != nullptr;
      continue;
    }
    login = true;
    auto [repository, actions] = token_scope(x);
    if (d.repository.empty() && !repository.empty()) {
      d.repository = std::move(repository);
      d.scope_actions = std::move(actions);
    }
    if (d.registry.empty()) {
      d.registry = query_value(x, "service");
      if (d.registry.empty()) d.registry = x.authority();
    }
  }
  if (!login) return;
  double last_end = 0;
  for (auto const& step : pre.steps) {
    last_end = std::max(last_end, end_of(step.exchange));
    draft_of_[step.exchange] = drafts_.size();
  }
  d.steps = std::move(pre.steps);
  auto& closed = drafts_.emplace_back();
  closed.client = pre.client;
  closed.d = std::move(d);
  closed.last_end_ms = last_end;
  closed.open = false;
}

void grouper::close_stale_preludes(std::string const& client, double now) {
  for (std::size_t p = preludes_.size(); p-- > 0;) {
    auto const& pre = preludes_[p];
    if (pre.client != client || pre.steps.empty()) continue;
    if (now - end_of(pre.steps.back().exchange) > session_gap_ms) close_prelude(p);
  }
}

}  // namespace

std::vector<draft> group_exchanges(report const& r) {
  return grouper(r).run();
}

}  // namespace regtrace::capture::report::ops
