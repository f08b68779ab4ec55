// Definitions for keyward/provider_guard.hpp: included by it when header-only, compiled once by
// keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <string>
#include <string_view>

#include "keyward/detail/messages.hpp"
#include "keyward/error.hpp"
#include "keyward/provider_guard.hpp"
#include "keyward/retry.hpp"

namespace keyward {

KEYWARD_DECL ProviderGuard::Hold ProviderGuard::hold(const Request& request,
                                                     const TransportResult& sent,
                                                     const Verdict& verdict,
                                                     const Recorded& recorded) const noexcept {
  if (!may_resend(request, sent, verdict)) return Hold::unsafe;
  if (breaker_.state() != BreakerState::closed) return Hold::breaker;
  if (!recorded.retry_allowed) return Hold::budget;
  return Hold::none;
}

KEYWARD_DECL Error provider_unavailable(std::string_view profile, TimePoint until, TimePoint now) {
  Error error = make_error(
      Errc::provider_unavailable,
      "keyward: profile '" + std::string{profile} +
          "': not sent: the provider failed several times in a row (overloaded or server "
          "errors), so requests to it are paused " +
          detail::describe_until(until, now) +
          "; then one request is let through to see whether it has recovered. This is a "
          "provider problem, not a credential problem: the credential stays ready.");
  error.until = until;
  return error;
}

}  // namespace keyward
