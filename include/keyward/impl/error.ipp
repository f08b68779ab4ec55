// Definitions for keyward/error.hpp: included by it when header-only, compiled once by
// keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <string>

#include "keyward/error.hpp"

namespace keyward {

KEYWARD_DECL std::string ErrorCategory::message(int code) const {
  switch (static_cast<Errc>(code)) {
    case Errc::needs_reauth:
      return "the credential needs a person to replace or fix it";
    case Errc::cooling_down:
      return "the credential is cooling down";
    case Errc::refresh_failed:
      return "the token expired and could not be refreshed";
    case Errc::refresh_timeout:
      return "timed out waiting for a token refresh";
    case Errc::persist_failed:
      return "the refreshed credential could not be persisted";
    case Errc::transport_failed:
      return "the request got no response";
    case Errc::insecure_transport:
      return "refused to send a credential over plain HTTP";
    case Errc::invalid_credential:
      return "the credential is not usable";
    case Errc::store_conflict:
      return "the stored credential changed since it was read";
    case Errc::store_unavailable:
      return "the credential store cannot be read";
    case Errc::provider_unavailable:
      return "the provider keeps failing; requests to it are paused";
    case Errc::no_usable_credential:
      return "no credential of the pool can serve now";
    case Errc::redirect_refused:
      return "refused a redirect that would carry a secret to another origin";
    case Errc::cancelled:
      return "the asynchronous send was cancelled";
  }
  return "unknown keyward error";
}

}  // namespace keyward
