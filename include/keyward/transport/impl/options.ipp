// Definitions for keyward/transport/options.hpp: included by it when header-only, compiled once
// by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>
#include <system_error>

#include "keyward/detail/url.hpp"
#include "keyward/detail/url_parts.hpp"
#include "keyward/transport.hpp"
#include "keyward/transport/options.hpp"

namespace keyward::transport::detail {

KEYWARD_DECL std::string first_env(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read only
    if (value != nullptr && *value != '\0') return value;
  }
  return {};
}

KEYWARD_DECL ProxyChoice choose_proxy(const Proxy& proxy, bool https) {
  ProxyChoice choice;
  if (proxy.kind == Proxy::Kind::none) return choice;
  if (proxy.kind == Proxy::Kind::url) {
    choice.url = proxy.url;
  } else {
    choice.url = https ? first_env({"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"})
                       : first_env({"http_proxy", "all_proxy", "ALL_PROXY"});
    choice.bypass = first_env({"no_proxy", "NO_PROXY"});
  }
  if (choice.url.empty() || https) return choice;
  std::string full = choice.url;
  if (full.find("://") == std::string::npos) full = "http://" + full;
  const auto parts = keyward::detail::split_url(full);
  if (!parts || !keyward::detail::is_loopback_host(parts->host)) {
    choice.problem =
        "a plain http request is not sent through a proxy that is not on loopback "
        "(the credential would cross the network in clear)";
  }
  return choice;
}

KEYWARD_DECL bool Exchange::declared_fits(std::string_view content_length) {
  std::uint64_t length = 0;
  const char* const end = content_length.data() + content_length.size();
  const auto [last, error] = std::from_chars(content_length.data(), end, length);
  if (error != std::errc{} || last != end || length <= max_body_) return true;
  return stop(Stop::too_large);
}

KEYWARD_DECL TransportFailure Exchange::failure(TransportFailure library) const {
  switch (stop_) {
    case Stop::deadline:
      return {TransportErrc::timeout,
              "the exchange took longer than " + std::to_string(total_.count()) + " ms"};
    case Stop::too_large:
      return {TransportErrc::protocol,
              "the response body exceeded " + std::to_string(max_body_) + " bytes"};
    case Stop::handler:  // the transports return the response instead
    case Stop::none:
      break;
  }
  if (library.kind == TransportErrc::timeout) {
    library.message += " (limit " + std::to_string(total_.count()) + " ms)";
  }
  return library;
}

}  // namespace keyward::transport::detail
