// Redirects, followed by keyward and never by the HTTP library, so that a credential goes only
// where it was meant to go.
//
// HTTP libraries decide for themselves what a redirect carries: libcurl and recent cpp-httplib
// drop `Authorization` when the host changes but forward every other field, so an `x-api-key` or
// `x-goog-api-key` goes to whatever host a redirect names; older cpp-httplib forwards everything.
// The shipped transports therefore never follow redirects, and the driver follows them here:
//
// - at most RedirectOptions::max_hops hops (301, 302, 303, 307, 308 with a Location);
// - to the same origin (scheme, host, port) the request goes again as it was, credential and all;
// - to another origin (scheme, host or port) nothing secret goes: every field the attacher placed
//   is removed first, whatever its name (placed_names()), and so are Authorization,
//   Proxy-Authorization and Cookie, whoever set them; no later hop carries them again;
// - a redirect to another origin is refused, with an error naming what it would carry, when the
//   request holds a header the application marked sensitive (Request::sensitive), or a body that
//   a 307 or 308 would send again (unless Request::body_to_other_origin allows it);
// - an https request is never followed to http;
// - 303, and 301/302 after a POST, continue as a GET without the body (as browsers and libcurl do).
//
// follow_redirects() returns the last response that answered a request carrying the credential
// (which is what keyward classifies and records against it) and, when the chain left the origin,
// what the chain ended with (which is what the caller gets).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/attacher.hpp"
#include "keyward/credential.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/transport.hpp"

namespace keyward::detail {

/// How far redirects are followed.
struct RedirectOptions {
  std::uint32_t max_hops = 5;  ///< Redirects followed per request; the next 3xx is returned.
};

/// The fields no redirect to another origin carries, whoever placed them.
inline constexpr std::array<std::string_view, 3> kOriginBoundFields{
    "authorization", "proxy-authorization", "cookie"};

/// The names of the fields `attacher` places for `credential`: those lent to the request
/// (`lent`, a PreparingAttacher's prepared fields) and whatever attach() puts on an empty request.
template <class Attach>
[[nodiscard]] std::vector<std::string> placed_names(const Attach& attacher,
                                                    const Credential& credential,
                                                    std::span<const Headers::Field> lent) {
  std::vector<std::string> names;
  for (const auto& field : lent) names.push_back(field.first);
  Request scratch;
  attacher.attach(scratch, credential);
  for (const auto& field : scratch.headers) names.push_back(field.first);
  return names;
}

/// True for the statuses that redirect with a Location.
[[nodiscard]] constexpr bool is_redirect(int status) noexcept {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/// `location` resolved against `base` (RFC 3986 section 5.2, for the forms servers send:
/// absolute, scheme-relative, absolute-path, and path-relative), or nothing when it cannot be.
[[nodiscard]] KEYWARD_DECL std::optional<std::string> resolve_location(std::string_view base,
                                                                       std::string_view location);

/// The request for the next hop of `request` answered by `response`, or nothing when it is not
/// to be followed (not a redirect, no usable Location, or a downgrade from https to http).
/// `same_origin` tells whether the hop stays on the origin of `request`.
[[nodiscard]] KEYWARD_DECL std::optional<Request> next_hop(const Request& request,
                                                           const Response& response, bool& same);

/// Makes `next`, a hop from `from` (answered with `status`) to another origin, carry nothing
/// secret: removes the fields named in `placed` and kOriginBoundFields. Returns why the hop is
/// refused instead, when it would need what must stay: a header named in Request::sensitive, or
/// a body (which only a 307 or 308 keeps) that Request::body_to_other_origin does not let go.
/// The reason names the origins and the header, never a value or a path.
[[nodiscard]] KEYWARD_DECL std::optional<std::string> leave_origin(
    Request& next, const Request& from, int status, std::span<const std::string> placed);

/// Why a redirect is refused rather than followed when its Location is an absolute (or
/// scheme-relative) http(s) URL whose authority keyward will not read (url_problem()): the
/// backslash of `https://host\@evil/`, which libcurl would read as the end of a user name. The
/// reason names the origin and the problem, never the Location. Nothing for any other Location.
[[nodiscard]] KEYWARD_DECL std::optional<std::string> refused_location(const Request& from,
                                                                       const Response& answer);

/// What a chain of redirects came to.
struct Followed {
  /// The last answer to a request that carried the credential: what keyward records.
  TransportResult credentialed;
  /// What the chain ended with once it left the origin (without the credential); the caller's.
  std::optional<TransportResult> foreign{};
  /// Why the chain stopped instead of going to another origin (leave_origin()), when it did:
  /// the caller gets an error saying so, not a response.
  std::optional<std::string> refused{};
};

/// A chain of redirects followed one hop at a time: follow_redirects() sends each hop and waits
/// for it, the asynchronous face (async.hpp) starts it and goes on when it is answered; both go
/// through the same steps. `request` and `placed` must outlive the chain.
class RedirectChain {
 public:
  /// The chain that `first`, the answer to `request`, starts (none when it is no redirect).
  /// `placed` names the credential's fields.
  KEYWARD_DECL RedirectChain(const Request& request, TransportResult first,
                             std::span<const std::string> placed, const RedirectOptions& options);
  /// The next hop to send, or nullptr when the chain is over. The hop that leaves the request's
  /// origin goes through leave_origin(), which may refuse it (the chain is then over).
  KEYWARD_DECL const Request* next();
  /// Takes the answer to the hop next() returned.
  KEYWARD_DECL void answered(TransportResult result);
  /// What the chain came to.
  [[nodiscard]] Followed finish() && { return std::move(out_); }

 private:
  const Request& request_;
  std::span<const std::string> placed_;
  Followed out_;
  std::optional<Request> current_;  // the hop being sent, once there is one
  std::uint32_t hops_left_;
  bool carries_ = true;  // the hop being sent carries the credential
  bool over_ = false;
};

/// Follows the redirects of `first`, the answer to `request`, through `send` (a callable taking
/// a const Request& and returning a TransportResult): a RedirectChain's hops, one after another.
template <class Send>
[[nodiscard]] Followed follow_redirects(const Request& request, TransportResult first,
                                        std::span<const std::string> placed,
                                        const RedirectOptions& options, Send&& send) {
  RedirectChain chain{request, std::move(first), placed, options};
  while (const Request* hop = chain.next()) chain.answered(send(*hop));
  return std::move(chain).finish();
}

}  // namespace keyward::detail

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/detail/impl/redirect.ipp"
#endif
