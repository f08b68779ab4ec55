// The Preflight role: what can be known to be wrong with a credential before it is first sent.
//
// Pasted tokens get cut, pick up a line break, quotes or a "Bearer " prefix; a JWT may have
// expired already; a key of one kind gets configured as another. A Preflight policy reports such
// problems as Findings: a stable code for programs and a message for people that names the
// problem and where it is, never the secret (only the public prefixes providers put on their
// secrets are ever named). preflight::Generic holds the checks that hold for every provider;
// each provider policy (provider/*.hpp) adds its prefix rules on top (preflight/prefix.hpp).
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/credential.hpp"
#include "keyward/credential_kind.hpp"
#include "keyward/detail/config.hpp"

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
  [[nodiscard]] KEYWARD_DECL std::vector<Finding> validate(const Credential& credential,
                                                           TimePoint now) const;

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
  KEYWARD_DECL void check_text(std::vector<Finding>& findings, std::string_view subject,
                               std::string_view text) const;

  KEYWARD_DECL void check_shape(std::vector<Finding>& findings, std::string_view subject,
                                std::string_view text, std::size_t characters) const;

  // An expired token is only a problem when nothing will refresh it first.
  KEYWARD_DECL static void check_expiry(std::vector<Finding>& findings,
                                        const Credential& credential, TimePoint now);

  Options options_;
};

static_assert(Preflight<Generic>);

}  // namespace preflight
}  // namespace keyward

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/impl/preflight.ipp"
#endif
