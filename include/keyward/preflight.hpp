// The Preflight role: what can be known to be wrong with a credential before it is first sent.
//
// Pasted tokens get cut, pick up a line break, quotes or a "Bearer " prefix; a JWT may have
// expired already; a key of one kind gets configured as another. A Preflight policy reports such
// problems as Findings: a stable code for programs and a message for people that names the
// problem and where it is, never the secret (only the public prefixes providers put on their
// secrets are ever named). preflight::Generic holds the checks that hold for every provider;
// each provider policy (provider/*.hpp) adds its prefix rules on top (preflight/prefix.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
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

namespace keyward {

/// One problem found in a credential before it was used.
struct Finding {
  std::string code{};     ///< A stable identifier: "line_break", "wrong_prefix", "expired_jwt"...
  std::string message{};  ///< What is wrong and what to do; never contains the secret.
};

/// Checks a credential before its first use and reports every problem it finds.
template <class P>
concept Preflight = requires(const P& preflight, const Credential& credential, TimePoint now) {
  { preflight.validate(credential, now) } -> std::same_as<std::vector<Finding>>;
};

namespace preflight {

namespace preflight_internal {

/// Concatenates pieces of text without the temporaries of operator+.
template <class... Parts>
std::string join(const Parts&... parts) {
  std::string out;
  out.reserve((std::string_view{parts}.size() + ...));
  (out.append(std::string_view{parts}), ...);
  return out;
}

}  // namespace preflight_internal

/// How a credential of `kind` is described in messages: "an API key", "an OAuth token"...
[[nodiscard]] constexpr std::string_view describe(CredentialKind kind) noexcept {
  switch (kind) {
    case CredentialKind::api_key:
      return "an API key";
    case CredentialKind::bearer_token:
      return "a bearer token";
    case CredentialKind::oauth:
      break;
  }
  return "an OAuth token";
}

/// The checks that hold for every credential: the text of its secrets, their length, expiry.
class Generic {
 public:
  /// Tuning.
  struct Options {
    std::size_t min_length = 20;  ///< Secrets shorter than this were cut (no provider's are).
  };

  Generic() = default;
  /// Uses `options`.
  explicit Generic(Options options) : options_(options) {}

  /// Every problem found in `credential` at `now`; an empty refresh token is no problem.
  [[nodiscard]] std::vector<Finding> validate(const Credential& credential, TimePoint now) const {
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

  /// The options in use.
  [[nodiscard]] const Options& options() const noexcept { return options_; }

 private:
  // One kind of damage a pasted secret shows, and what to do about it.
  struct Damage {
    std::string_view code;
    std::string_view what;
    std::string_view inside;   // the advice when it is inside the secret
    std::string_view at_edge;  // the advice when only whitespace follows or precedes it
  };
  static constexpr std::array<Damage, 4> kDamage{{
      {"line_break", "a line break", ": it was probably cut when pasted", ": trim it"},
      {"whitespace", "whitespace", ": it was probably pasted with the text around it", ": trim it"},
      {"control_character", "a control character", "", ""},
      {"non_ascii", "a non-ASCII character",
       " (a typographic quote or a non-breaking space?): tokens are plain ASCII",
       " (a typographic quote or a non-breaking space?): tokens are plain ASCII"},
  }};

  static constexpr std::size_t kNoDamage = kDamage.size();

  static constexpr std::size_t damage_of(unsigned char byte) noexcept {
    if (byte == '\n' || byte == '\r') return 0;
    if (byte == ' ' || byte == '\t') return 1;
    if (byte < 0x20U || byte == 0x7FU) return 2;
    return byte >= 0x80U ? 3 : kNoDamage;
  }

  // One finding per kind of damage, at its first occurrence, so that a pasted paragraph does not
  // bury the reader in findings. Positions count characters, not bytes, from 1.
  void check_text(std::vector<Finding>& findings, std::string_view subject,
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

  void check_shape(std::vector<Finding>& findings, std::string_view subject, std::string_view text,
                   std::size_t characters) const {
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
      findings.push_back(
          {"too_short",
           join(subject, " is ", std::to_string(characters),
                " characters long, shorter than any real one (at least ",
                std::to_string(options_.min_length), "): it was probably cut when pasted")});
    }
  }

  // An expired token is only a problem when nothing will refresh it first.
  static void check_expiry(std::vector<Finding>& findings, const Credential& credential,
                           TimePoint now) {
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
      findings.push_back(
          {"expired_refresh_token",
           join("the refresh token is a JWT that expired at ", when(*at), ": log in again")});
    }
  }

  Options options_;
};

static_assert(Preflight<Generic>);

}  // namespace preflight
}  // namespace keyward
