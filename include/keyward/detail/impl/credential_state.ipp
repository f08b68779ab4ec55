// Definitions for keyward/detail/credential_state.hpp: included by it when header-only, compiled
// once by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "keyward/credential.hpp"
#include "keyward/detail/credential_state.hpp"
#include "keyward/detail/time.hpp"
#include "keyward/options.hpp"
#include "keyward/status.hpp"

namespace keyward::detail {

KEYWARD_DECL Status describe(const Snapshot& snapshot, const std::string& profile) {
  Status status;
  status.profile = profile;
  status.state = snapshot.state;
  status.reason = snapshot.reason;
  status.since = snapshot.since;
  status.until = snapshot.until;
  status.consecutive_failures = snapshot.failures;
  status.fingerprint = snapshot.token->fingerprint;
  status.generation = snapshot.token->generation;
  status.expires_at = snapshot.token->credential.expires_at;
  if (snapshot.error) status.last_error = snapshot.error->message;
  return status;
}

KEYWARD_DECL std::shared_ptr<const Token> make_token(Credential credential, TokenTraits traits,
                                                     std::uint64_t generation, bool from_refresh,
                                                     TimePoint obtained,
                                                     std::optional<std::chrono::seconds> refresh_in,
                                                     const Token* previous,
                                                     const RefreshOptions& options, double spread) {
  using std::chrono::milliseconds;
  auto token = std::make_shared<Token>();
  token->fingerprint = fingerprint(credential);
  token->refreshable = traits.refreshable;
  token->not_refreshable = std::move(traits.not_refreshable);
  token->placement = std::move(traits.placement);
  token->generation = generation;
  token->from_refresh = from_refresh;
  if (previous != nullptr) {
    for (const Secret* s : {&previous->credential.token, &previous->credential.refresh_token}) {
      if (!s->empty() && *s != credential.token && *s != credential.refresh_token) {
        token->retired.push_back(*s);
      }
    }
  }
  if (token->refreshable && credential.expires_at) {
    const TimePoint expiry = *credential.expires_at;
    const milliseconds lifetime = saturating_diff(expiry, obtained);
    milliseconds soft_margin = options.soft_margin;
    milliseconds hard_margin = options.hard_margin;
    if (from_refresh && lifetime > milliseconds::zero() && soft_margin > lifetime / 2) {
      const double scale =
          static_cast<double>((lifetime / 2).count()) / static_cast<double>(soft_margin.count());
      hard_margin = milliseconds{
          static_cast<milliseconds::rep>(static_cast<double>(hard_margin.count()) * scale)};
      soft_margin = lifetime / 2;
    }
    TimePoint soft = saturating_sub(expiry, soft_margin);
    if (refresh_in) {
      soft = saturating_add(obtained, *refresh_in);
    } else if (lifetime >= options.long_lived) {
      soft = saturating_add(obtained, lifetime / 2);
    }
    token->hard_at = saturating_sub(expiry, hard_margin);
    soft = std::min(soft, *token->hard_at);
    // This instance's place in the fleet's spread (`spread` is drawn once per instance): later by
    // up to soft_spread of the time left before the hard threshold.
    const auto later = milliseconds{static_cast<milliseconds::rep>(
        static_cast<double>(saturating_diff(*token->hard_at, soft).count()) *
        std::clamp(options.soft_spread, 0.0, 1.0) * std::clamp(spread, 0.0, 1.0))};
    token->soft_at = saturating_add(soft, later);
  }
  token->credential = std::move(credential);
  return token;
}

}  // namespace keyward::detail
