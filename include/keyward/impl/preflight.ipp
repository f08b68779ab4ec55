// Definitions for keyward/preflight.hpp: included by it when header-only, compiled once
// by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/credential.hpp"
#include "keyward/credential_kind.hpp"
#include "keyward/detail/ascii.hpp"
#include "keyward/detail/jwt.hpp"
#include "keyward/detail/text.hpp"
#include "keyward/preflight.hpp"

namespace keyward::preflight {

KEYWARD_DECL std::vector<Finding> Generic::validate(const Credential& credential,
                                                    TimePoint now) const {
  using preflight_internal::join;
  std::vector<Finding> findings;
  const std::string_view token = credential.token.reveal();
  const std::string_view refresh = credential.refresh_token.reveal();
  check_text(findings, "the token", token);
  if (!refresh.empty()) {
    check_text(findings, "the refresh token", refresh);
    if (credential.kind != CredentialKind::oauth) {
      findings.push_back({"unused_refresh_token",
                          join("a refresh token is set, but the credential is configured as ",
                               describe(credential.kind),
                               ", which never refreshes: configure it with Credential::oauth")});
    }
    if (refresh == token) {
      findings.push_back({"same_tokens",
                          "the refresh token is the same as the token: one of them was pasted "
                          "into the wrong place"});
    }
  }
  check_expiry(findings, credential, now);
  return findings;
}

// One finding per kind of damage, at its first occurrence, so that a pasted paragraph does not
// bury the reader in findings. Positions count characters, not bytes, from 1.
KEYWARD_DECL void Generic::check_text(std::vector<Finding>& findings, std::string_view subject,
                                      std::string_view text) const {
  using preflight_internal::join;
  if (text.empty()) {
    findings.push_back({"empty", join(subject, " is empty")});
    return;
  }
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  const std::size_t last = text.find_last_not_of(" \t\r\n");
  std::array<bool, kDamage.size()> seen{};
  std::size_t character = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte & 0xC0U) != 0x80U) ++character;  // UTF-8 continuation bytes are not characters
    const std::size_t kind = damage_of(byte);
    if (kind == kNoDamage || std::exchange(seen.at(kind), true)) continue;
    const Damage& damage = kDamage.at(kind);
    const bool edge = first == std::string_view::npos || i < first || i > last;
    findings.push_back({std::string{damage.code},
                        join(subject, " contains ", damage.what, " at character ",
                             std::to_string(character), edge ? damage.at_edge : damage.inside)});
  }
  check_shape(findings, subject, text, character);
}

KEYWARD_DECL void Generic::check_shape(std::vector<Finding>& findings, std::string_view subject,
                                       std::string_view text, std::size_t characters) const {
  using preflight_internal::join;
  if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') &&
      text.back() == text.front()) {
    findings.push_back({"quoted", join(subject, " is wrapped in quotes: remove them")});
  }
  const std::size_t first = std::min(text.find_first_not_of(" \t\r\n"), text.size());
  if (detail::iequals(text.substr(first, 7), "Bearer ")) {
    findings.push_back({"doubled_bearer", join(subject,
                                               " starts with \"Bearer \": give the token "
                                               "alone, keyward adds the scheme")});
  }
  if (characters < options_.min_length) {
    findings.push_back({"too_short", join(subject, " is ", std::to_string(characters),
                                          " characters long, shorter than any real one (at least ",
                                          std::to_string(options_.min_length),
                                          "): it was probably cut when pasted")});
  }
}

// An expired token is only a problem when nothing will refresh it first.
KEYWARD_DECL void Generic::check_expiry(std::vector<Finding>& findings,
                                        const Credential& credential, TimePoint now) {
  using preflight_internal::join;
  using std::chrono::floor;
  using std::chrono::seconds;
  const std::string_view refresh = credential.refresh_token.reveal();
  const bool refreshable = credential.kind == CredentialKind::oauth && !refresh.empty();
  const auto expired_at = [now](std::string_view jwt) -> std::optional<TimePoint> {
    const auto exp = detail::jwt_expiry(jwt);
    // Compared in seconds: exp may be far outside the range of the clock's own unit.
    if (!exp || *exp > floor<seconds>(now)) return std::nullopt;
    return TimePoint{*exp};
  };
  const auto when = [now](TimePoint at) {
    // In milliseconds the difference of any two clock values fits; in nanoseconds it may not.
    using std::chrono::milliseconds;
    const milliseconds ago =
        floor<milliseconds>(now.time_since_epoch()) - floor<milliseconds>(at.time_since_epoch());
    return join(detail::format_rfc3339(at), ", ", detail::format_duration(ago), " ago");
  };
  if (!refreshable) {
    if (const auto at = expired_at(credential.token.reveal())) {
      findings.push_back({"expired_jwt", join("the token is a JWT that expired at ", when(*at),
                                              ", and nothing can refresh it: get a new one")});
    } else if (credential.expires_at && *credential.expires_at <= now) {
      findings.push_back(
          {"expired", join("the credential expired at ", when(*credential.expires_at),
                           ", and nothing can refresh it: get a new one")});
    }
  }
  if (const auto at = expired_at(refresh)) {
    findings.push_back({"expired_refresh_token", join("the refresh token is a JWT that expired at ",
                                                      when(*at), ": log in again")});
  }
}

}  // namespace keyward::preflight
