// Every text a person reads about a credential, in one place.
//
// Each message names the profile, the credential by fingerprint, what happened, what the
// provider said and the fix. Text from outside (a provider's message, an error_description, a
// transport's failure text, a request id) reaches these messages only through scrub(), which
// removes every secret the credential knows, makes the text valid single-line UTF-8 and cuts it
// at a character boundary: a provider that echoes a key back cannot make keyward print it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "keyward/classifier.hpp"
#include "keyward/credential_store.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/error.hpp"
#include "keyward/options.hpp"

namespace keyward::detail {

/// Removes secrets from every outside text a verdict carries and cleans it for showing.
KEYWARD_DECL void scrub(Verdict& verdict, std::span<const std::string_view> secrets);

/// Removes secrets from an error's message and verdict, and cleans the message for showing
/// (C0 and C1 controls and bidi formatting characters replaced by spaces), uncut.
KEYWARD_DECL void scrub(Error& error, std::span<const std::string_view> secrets);

/// " (HTTP 401 authentication_error: Invalid bearer token; request id req_1)" or "".
[[nodiscard]] KEYWARD_DECL std::string describe(const Verdict& verdict);

/// "for 20 s, until 2026-02-04T12:00:20Z": stays true however much later it is read.
[[nodiscard]] KEYWARD_DECL std::string describe_until(TimePoint until, TimePoint now);

/// Who refused the credential: the API it was sent to, or the token endpoint that renews it.
enum class RefusedBy : std::uint8_t { api, token_endpoint };

/// The texts of one credential's messages.
class Messages {
 public:
  /// Uses the profile name and fix texts of `options`, which must outlive this object.
  explicit Messages(const CredentialOptions& options) noexcept : options_(options) {}

  /// "keyward: profile 'x': ".
  [[nodiscard]] std::string prefix() const {
    return "keyward: profile '" + options_.profile + "': ";
  }

  /// The error for a credential taken out by `verdict`: needs_reauth, quota or rate limit.
  [[nodiscard]] KEYWARD_DECL Error taken_out(const Verdict& verdict, std::string_view credential,
                                             std::string_view why, std::optional<TimePoint> until,
                                             TimePoint now, RefusedBy by = RefusedBy::api) const;

  /// Appended to the error of a request refused while the credential is out.
  [[nodiscard]] KEYWARD_DECL static std::string refusal_note(bool probing, bool window_over);

  /// A URL the credential must not be sent to.
  [[nodiscard]] KEYWARD_DECL Error insecure_url(std::string_view scheme) const;

  /// Provider-scoped failures outlasted the retries.
  [[nodiscard]] KEYWARD_DECL Error no_response(std::uint32_t attempts, Verdict verdict) const;

  /// A refresh that failed for now; `next` is the next attempt.
  [[nodiscard]] KEYWARD_DECL Error refresh_failed(Error cause, std::string_view credential,
                                                  TimePoint next, std::optional<TimePoint> expiry,
                                                  TimePoint now) const;

  /// Another thread's refresh did not finish in time.
  [[nodiscard]] KEYWARD_DECL Error refresh_timeout() const;

  /// A token that needed renewing and did not get a new one.
  [[nodiscard]] KEYWARD_DECL Error no_new_token(bool expired) const;

  /// The refresh token was refused while the access token still serves.
  [[nodiscard]] KEYWARD_DECL std::string refresh_token_refused(
      const Verdict& verdict, std::string_view credential, std::optional<TimePoint> expiry) const;

  /// Why a refresh token may be refused: a refresh that began at `since` never stored its
  /// result, so a token the endpoint rotated then was lost.
  [[nodiscard]] KEYWARD_DECL static std::string interrupted_refresh(TimePoint since);

  /// Why a refresh token was not presented: another holder of the login had it refused.
  [[nodiscard]] KEYWARD_DECL static std::string recorded_refusal(const RefreshRefusal& refusal);

  /// A credential the token endpoint returned that fails pre-flight.
  [[nodiscard]] KEYWARD_DECL Error unusable_refresh(std::string_view problems) const;

  /// A credential refused before first use.
  [[nodiscard]] KEYWARD_DECL std::string unusable(std::string_view problems) const;

  /// A replacement that the store would not take.
  [[nodiscard]] KEYWARD_DECL Error replacement_not_stored(Error cause) const;

  /// A replacement refused by set_credential().
  [[nodiscard]] KEYWARD_DECL Error replacement_refused(std::string_view problems) const;

 private:
  // The application's text first, then the classifier's, then a generic one.
  [[nodiscard]] static std::string fix_for(const std::string& configured, const Verdict& verdict,
                                           std::string_view generic) {
    if (!configured.empty()) return configured;
    if (!verdict.fix.empty()) return verdict.fix;
    return std::string{generic};
  }

  const CredentialOptions& options_;
};

}  // namespace keyward::detail

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/detail/impl/messages.ipp"
#endif
