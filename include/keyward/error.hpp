// keyward::Errc, its std::error_category, and Error: why keyward refused or could not act.
//
// Every Error carries a message written for the person who has to fix things: it names the
// profile, the credential's fingerprint (never the secret), the verdict, the provider's message
// and request id, and the fix. Programs branch on `code` (compare with keyward::Errc values) and
// on `verdict`; people read `message`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/detail/config.hpp"

namespace keyward {

/// Why keyward refused to send a request or could not complete it.
enum class Errc {
  needs_reauth = 1,    ///< The credential was rejected or is misconfigured; a person must act.
  cooling_down,        ///< The credential is cooling down (rate limit or quota) or being probed.
  refresh_failed,      ///< The token has expired and refreshing it failed for now.
  refresh_timeout,     ///< Another thread's refresh did not finish within the wait deadline.
  persist_failed,      ///< A refreshed credential could not be persisted, so it was not used.
  transport_failed,    ///< No response came back, after the retries the budget allows.
  insecure_transport,  ///< The credential would have been sent over plain HTTP to a remote host.
  invalid_credential,  ///< The credential given is unusable (empty, or has forbidden characters).
  store_conflict,      ///< The stored credential changed since it was read; nothing was written.
  store_unavailable,   ///< The credential store cannot be read, locked or parsed.
  /// The provider keeps failing, so nothing was sent until `until`; not the credential's fault.
  provider_unavailable,
  /// No profile of a pool can serve now; Error::profiles says why each is out.
  no_usable_credential,
  /// A redirect to another origin would have carried a header marked sensitive or the body.
  redirect_refused,
  /// The caller cancelled an asynchronous send (async.hpp); the credential was left as it was.
  cancelled,
};

/// The enumerator's name, as written in the code ("needs_reauth", "no_usable_credential", ...):
/// the stable identifier for logs and JSON. "unknown" for a value outside the enumeration.
[[nodiscard]] constexpr std::string_view to_string(Errc code) noexcept {
  switch (code) {
    case Errc::needs_reauth:
      return "needs_reauth";
    case Errc::cooling_down:
      return "cooling_down";
    case Errc::refresh_failed:
      return "refresh_failed";
    case Errc::refresh_timeout:
      return "refresh_timeout";
    case Errc::persist_failed:
      return "persist_failed";
    case Errc::transport_failed:
      return "transport_failed";
    case Errc::insecure_transport:
      return "insecure_transport";
    case Errc::invalid_credential:
      return "invalid_credential";
    case Errc::store_conflict:
      return "store_conflict";
    case Errc::store_unavailable:
      return "store_unavailable";
    case Errc::provider_unavailable:
      return "provider_unavailable";
    case Errc::no_usable_credential:
      return "no_usable_credential";
    case Errc::redirect_refused:
      return "redirect_refused";
    case Errc::cancelled:
      return "cancelled";
  }
  return "unknown";
}

/// The error category of keyward::Errc.
class ErrorCategory final : public std::error_category {
 public:
  /// "keyward".
  [[nodiscard]] const char* name() const noexcept override { return "keyward"; }
  /// A short description of the code.
  [[nodiscard]] KEYWARD_DECL std::string message(int code) const override;
};

/// The one instance of keyward's error category.
[[nodiscard]] inline const std::error_category& error_category() noexcept {
  static const ErrorCategory category;
  return category;
}

/// Makes a std::error_code from a keyward::Errc.
[[nodiscard]] inline std::error_code make_error_code(Errc code) noexcept {
  return {static_cast<int>(code), error_category()};
}

/// Why one profile of a pool could not serve, in Error::profiles.
struct ProfileOutage {
  std::string profile{};                ///< The profile's name.
  std::string state{};                  ///< Its state ("cooling", "needs_reauth", ...).
  std::optional<VerdictKind> reason{};  ///< The verdict that took it out.
  std::string model{};                  ///< The model, when only that model is out.
  std::optional<TimePoint> until{};     ///< When it may serve or be probed, if ever.
  std::string fix{};                    ///< What a person should do, or "wait".
};

/// Why keyward refused or could not act, with a message a person can act on.
struct Error {
  std::error_code code{};            ///< What went wrong, as a keyward::Errc.
  std::string message{};             ///< The whole story and the fix, free of secrets.
  std::optional<Verdict> verdict{};  ///< The verdict behind the error, when a response caused it.
  std::optional<TimePoint> until{};  ///< When the credential may be used again, if known.
  /// For Errc::no_usable_credential: each profile of the pool and why it is out.
  std::vector<ProfileOutage> profiles{};
};

/// Makes an Error from a code and a message.
[[nodiscard]] inline Error make_error(Errc code, std::string message) {
  return Error{make_error_code(code), std::move(message), std::nullopt, std::nullopt};
}

}  // namespace keyward

template <>
struct std::is_error_code_enum<keyward::Errc> : std::true_type {};

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/impl/error.ipp"
#endif
