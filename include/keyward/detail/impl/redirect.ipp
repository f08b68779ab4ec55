// Definitions for keyward/detail/redirect.hpp: included by it when header-only, compiled once by
// keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/detail/ascii.hpp"
#include "keyward/detail/redirect.hpp"
#include "keyward/detail/scrub.hpp"
#include "keyward/detail/url.hpp"
#include "keyward/detail/url_parts.hpp"
#include "keyward/transport.hpp"

namespace keyward::detail {

KEYWARD_DECL std::optional<std::string> resolve_location(std::string_view base,
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

KEYWARD_DECL std::optional<Request> next_hop(const Request& request, const Response& response,
                                             bool& same) {
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

KEYWARD_DECL std::optional<std::string> leave_origin(Request& next, const Request& from, int status,
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

KEYWARD_DECL std::optional<std::string> refused_location(const Request& from,
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

KEYWARD_DECL RedirectChain::RedirectChain(const Request& request, TransportResult first,
                                          std::span<const std::string> placed,
                                          const RedirectOptions& options)
    : request_(request),
      placed_(placed),
      out_{std::move(first)},
      hops_left_(options.max_hops),
      over_(!out_.credentialed || !is_redirect(out_.credentialed->status)) {}

KEYWARD_DECL const Request* RedirectChain::next() {
  if (over_ || hops_left_ == 0) return nullptr;
  const Request& from = current_ ? *current_ : request_;
  const Response& answer = carries_ ? *out_.credentialed : **out_.foreign;
  bool same = false;
  auto hop = next_hop(from, answer, same);
  if (!hop) {
    out_.refused = refused_location(from, answer);
    over_ = true;
    return nullptr;
  }
  if (carries_ && !same) {
    out_.refused = leave_origin(*hop, from, answer.status, placed_);
    if (out_.refused) {
      over_ = true;
      return nullptr;
    }
    carries_ = false;
  }
  current_ = std::move(hop);
  --hops_left_;
  return &*current_;
}

KEYWARD_DECL void RedirectChain::answered(TransportResult result) {
  if (carries_) {
    out_.credentialed = std::move(result);
  } else {
    out_.foreign = std::move(result);
  }
  const TransportResult& last = carries_ ? out_.credentialed : *out_.foreign;
  if (!last || !is_redirect(last->status)) over_ = true;
}

}  // namespace keyward::detail
