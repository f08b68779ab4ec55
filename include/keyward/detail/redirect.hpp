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

#include <algorithm>
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
#include "keyward/detail/ascii.hpp"
#include "keyward/detail/scrub.hpp"
#include "keyward/detail/url_parts.hpp"
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
[[nodiscard]] inline std::optional<std::string> resolve_location(std::string_view base,
                                                                 std::string_view location) {
  location = trim_ows(location);
  if (location.empty()) return std::nullopt;
  if (split_url(location)) return std::string{location};
  const auto parts = split_url(base);
  if (!parts) return std::nullopt;
  const std::string scheme = parts->https ? "https:" : "http:";
  if (location.starts_with("//")) {
    std::string url = scheme + std::string{location};
    return split_url(url) ? std::optional<std::string>{std::move(url)} : std::nullopt;
  }
  if (location.find("://") != std::string_view::npos) return std::nullopt;  // another scheme
  // The base up to its target (split_url() returns views into `base`).
  const std::string_view prefix =
      base.substr(0, static_cast<std::size_t>(parts->target.data() - base.data()));
  std::string url{prefix};
  if (location.front() == '/') return url + std::string{location};
  std::string_view path = parts->target.substr(0, parts->target.find('?'));
  if (location.front() == '?') {
    return url + std::string{path.empty() ? "/" : path} + std::string{location};
  }
  path = path.substr(0, path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  return url + (path.empty() ? std::string{"/"} : std::string{path}) + std::string{location};
}

/// The request for the next hop of `request` answered by `response`, or nothing when it is not
/// to be followed (not a redirect, no usable Location, or a downgrade from https to http).
/// `same_origin` tells whether the hop stays on the origin of `request`.
[[nodiscard]] inline std::optional<Request> next_hop(const Request& request,
                                                     const Response& response, bool& same) {
  if (!is_redirect(response.status)) return std::nullopt;
  const auto location = response.headers.get("location");
  if (!location) return std::nullopt;
  auto url = resolve_location(request.url, *location);
  if (!url) return std::nullopt;
  const auto from = split_url(request.url);
  const auto to = split_url(*url);
  if (!from || !to || (from->https && !to->https)) return std::nullopt;
  same = from->https == to->https && from->port == to->port && iequals(from->host, to->host);
  Request next = request;  // a copy owns every field, the lent ones included
  next.url = std::move(*url);
  const bool post = iequals(request.method, "POST");
  if (response.status == 303 || ((response.status == 301 || response.status == 302) && post)) {
    if (!iequals(next.method, "HEAD")) next.method = "GET";
    next.body.clear();
    next.headers.erase("content-type");
    next.headers.erase("content-length");
  }
  return next;
}

/// Makes `next`, a hop from `from` (answered with `status`) to another origin, carry nothing
/// secret: removes the fields named in `placed` and kOriginBoundFields. Returns why the hop is
/// refused instead, when it would need what must stay: a header named in Request::sensitive, or
/// a body (which only a 307 or 308 keeps) that Request::body_to_other_origin does not let go.
/// The reason names the origins and the header, never a value or a path.
[[nodiscard]] inline std::optional<std::string> leave_origin(Request& next, const Request& from,
                                                             int status,
                                                             std::span<const std::string> placed) {
  const auto refusal = [&](const std::string& what) {
    const auto origin = [](std::string_view url) {
      const auto parts = split_url(url);
      return parts ? parts->origin() : std::string{"?"};
    };
    return clean_outside_text("refused to follow a " + std::to_string(status) + " redirect from " +
                              origin(from.url) + " to another origin, " + origin(next.url) + ": " +
                              what);
  };
  for (const auto& name : next.sensitive) {
    if (next.headers.contains(name)) {
      return refusal("the request carries the header '" + name +
                     "', marked sensitive (Request::sensitive), which never leaves its origin");
    }
  }
  if (!next.body.empty() && !next.body_to_other_origin) {
    return refusal(
        "it would send the request's body there; set "
        "Request::body_to_other_origin to allow that");
  }
  for (const auto& name : placed) next.headers.erase(name);
  for (const auto name : kOriginBoundFields) next.headers.erase(name);
  return std::nullopt;
}

/// Why a redirect is refused rather than followed when its Location is an absolute (or
/// scheme-relative) http(s) URL whose authority keyward will not read (url_problem()): the
/// backslash of `https://host\@evil/`, which libcurl would read as the end of a user name. The
/// reason names the origin and the problem, never the Location. Nothing for any other Location.
[[nodiscard]] inline std::optional<std::string> refused_location(const Request& from,
                                                                 const Response& answer) {
  if (!is_redirect(answer.status)) return std::nullopt;
  const auto location = answer.headers.get("location");
  if (!location) return std::nullopt;
  std::string url{trim_ows(*location)};
  const auto base = split_url(from.url);
  if (url.starts_with("//") && base) url.insert(0, base->https ? "https:" : "http:");
  if (!url_internal::has_scheme(url, "https") && !url_internal::has_scheme(url, "http")) {
    return std::nullopt;
  }
  const std::string_view problem = url_problem(url);
  if (problem.empty()) return std::nullopt;
  return clean_outside_text("refused to follow a " + std::to_string(answer.status) +
                            " redirect from " + (base ? base->origin() : std::string{"?"}) +
                            ": its Location has " + std::string{problem});
}

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

/// Follows the redirects of `first`, the answer to `request`, through `send` (a callable taking
/// a const Request& and returning a TransportResult). `placed` names the credential's fields.
/// The hop that leaves the request's origin goes through leave_origin(), which may refuse it.
template <class Send>
[[nodiscard]] Followed follow_redirects(const Request& request, TransportResult first,
                                        std::span<const std::string> placed,
                                        const RedirectOptions& options, Send&& send) {
  Followed out{std::move(first)};
  if (!out.credentialed || !is_redirect(out.credentialed->status)) return out;
  std::optional<Request> current;  // the hop being sent, once there is one
  bool carries = true;
  for (std::uint32_t hop = 0; hop < options.max_hops; ++hop) {
    const Request& from = current ? *current : request;
    const Response& answer = carries ? *out.credentialed : **out.foreign;
    bool same = false;
    auto next = next_hop(from, answer, same);
    if (!next) {
      out.refused = refused_location(from, answer);
      break;
    }
    if (carries && !same) {
      out.refused = leave_origin(*next, from, answer.status, placed);
      if (out.refused) break;
      carries = false;
    }
    current = std::move(next);
    TransportResult result = send(std::as_const(*current));
    if (carries) {
      out.credentialed = std::move(result);
    } else {
      out.foreign = std::move(result);
    }
    const TransportResult& last = carries ? out.credentialed : *out.foreign;
    if (!last || !is_redirect(last->status)) break;
  }
  return out;
}

}  // namespace keyward::detail
