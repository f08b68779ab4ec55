// Definitions for keyward/detail/messages.hpp: included by it when header-only, compiled once by
// keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/classifier.hpp"
#include "keyward/credential_store.hpp"
#include "keyward/detail/messages.hpp"
#include "keyward/detail/scrub.hpp"
#include "keyward/detail/text.hpp"
#include "keyward/error.hpp"
#include "keyward/options.hpp"

namespace keyward::detail {

KEYWARD_DECL void scrub(Verdict& verdict, std::span<const std::string_view> secrets) {
  for (std::string* text : {&verdict.message, &verdict.provider_code, &verdict.request_id}) {
    if (!text->empty()) *text = clean_and_scrub(*text, secrets);
  }
}

KEYWARD_DECL void scrub(Error& error, std::span<const std::string_view> secrets) {
  error.message = clean_and_scrub(error.message, secrets, std::numeric_limits<std::size_t>::max());
  if (error.verdict) scrub(*error.verdict, secrets);
}

KEYWARD_DECL std::string describe(const Verdict& verdict) {
  std::string out;
  if (verdict.status != 0) out += "HTTP " + std::to_string(verdict.status);
  if (!verdict.provider_code.empty()) out += (out.empty() ? "" : " ") + verdict.provider_code;
  if (!verdict.message.empty()) out += (out.empty() ? "" : ": ") + verdict.message;
  if (!verdict.request_id.empty()) out += "; request id " + verdict.request_id;
  return out.empty() ? out : " (" + out + ")";
}

KEYWARD_DECL std::string describe_until(TimePoint until, TimePoint now) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now);
  return "for " + format_duration(std::max(left, std::chrono::milliseconds::zero())) + ", until " +
         format_deadline(until);
}

KEYWARD_DECL Error Messages::taken_out(const Verdict& verdict, std::string_view credential,
                                       std::string_view why, std::optional<TimePoint> until,
                                       TimePoint now, RefusedBy by) const {
  std::string text = prefix();
  Errc code = Errc::cooling_down;
  const std::string when = until ? describe_until(*until, now) : "until replaced";
  const std::string because = why.empty() ? std::string{} : " " + std::string{why};
  switch (verdict.kind) {
    case VerdictKind::unauthenticated:
      code = Errc::needs_reauth;
      text += by == RefusedBy::token_endpoint
                  ? "needs a new login. The token endpoint refused the refresh token of " +
                        std::string{credential} + because + describe(verdict) +
                        ", so the access token cannot be renewed"
                  : "needs a new credential. The provider rejected " + std::string{credential} +
                        because + describe(verdict);
      text +=
          ". This is an authentication failure, not a rate limit. Fix: " +
          fix_for(options_.fix.unauthenticated, verdict, "log in again to get a new credential") +
          ", then pass it to set_credential(); no restart is needed.";
      break;
    case VerdictKind::misconfigured:
      code = Errc::needs_reauth;
      if (by == RefusedBy::token_endpoint) {
        text += "cannot refresh " + std::string{credential} +
                ": the token endpoint rejected the client configuration" + because +
                describe(verdict) +
                ". Refreshing again or replacing the credential cannot help. Fix: check the "
                "refresh strategy's client id, client secret and client authentication method "
                "(client_auth) against what the provider registered for this client.";
        break;
      }
      text += "is misconfigured: the provider says " + std::string{credential} +
              " was sent wrongly or cannot be used for this API" +
              (why.empty() ? "" : " (" + std::string{why} + ")") + describe(verdict) +
              ". Refreshing cannot help. Fix: " +
              fix_for(options_.fix.misconfigured, verdict,
                      "check the credential's kind and how it is sent (header, prefix, the "
                      "provider's required headers)") +
              ", then pass the corrected credential to set_credential().";
      break;
    case VerdictKind::quota_exhausted:
      text += "has run out of quota or credits" + describe(verdict) + ": " +
              std::string{credential} + because + " is out " + when +
              ", when one probe request tests it. Fix: " +
              fix_for(options_.fix.quota_exhausted, verdict,
                      "add credits or raise the quota with the provider") +
              ".";
      break;
    default:
      text += "is rate limited" + describe(verdict) + ": " + std::string{credential} + because +
              " is cooling down " + when + (verdict.retry_after ? ", the server's wait" : "") +
              ". This is a rate limit, not an authentication failure; when the window ends one "
              "probe request tests the credential.";
      break;
  }
  if (code == Errc::needs_reauth && until) {
    text += " In case the rejection was transient, one probe request will be let through at " +
            format_deadline(*until) + ".";
  }
  Error error = make_error(code, std::move(text));
  error.verdict = verdict;
  error.until = until;
  return error;
}

KEYWARD_DECL std::string Messages::refusal_note(bool probing, bool window_over) {
  if (probing) return " One probe request is testing the credential now; try again shortly.";
  if (window_over) return " Its window has ended; the next request probes it.";
  return {};
}

KEYWARD_DECL Error Messages::insecure_url(std::string_view scheme) const {
  return make_error(Errc::insecure_transport,
                    prefix() +
                        "refused to send the credential to a URL that is neither https nor "
                        "http to a loopback host (scheme '" +
                        std::string{scheme} + "')");
}

KEYWARD_DECL Error Messages::no_response(std::uint32_t attempts, Verdict verdict) const {
  Error error = make_error(Errc::transport_failed,
                           prefix() + "no response after " + std::to_string(attempts) +
                               " attempt(s)" + describe(verdict) +
                               ". This is a network or provider problem, not a credential "
                               "problem.");
  error.verdict = std::move(verdict);
  return error;
}

KEYWARD_DECL Error Messages::refresh_failed(Error cause, std::string_view credential,
                                            TimePoint next, std::optional<TimePoint> expiry,
                                            TimePoint now) const {
  cause.message = prefix() + "could not refresh " + std::string{credential} + ": " + cause.message +
                  ". The next attempt is at " + format_deadline(next) +
                  (expiry && now < *expiry ? "; until then the current token, valid until " +
                                                 format_rfc3339(*expiry) + ", is used."
                                           : "; the current token has expired.");
  cause.code = make_error_code(cause.code == Errc::persist_failed ? Errc::persist_failed
                                                                  : Errc::refresh_failed);
  cause.until = next;
  return cause;
}

KEYWARD_DECL Error Messages::refresh_timeout() const {
  return make_error(Errc::refresh_timeout,
                    prefix() + "waited " + format_duration(options_.refresh.wait_timeout) +
                        " for another thread's token refresh, which has not finished; the "
                        "token endpoint may be hanging");
}

KEYWARD_DECL Error Messages::no_new_token(bool expired) const {
  return make_error(Errc::refresh_failed, prefix() + "the token " +
                                              (expired ? "has expired" : "was rejected") +
                                              " and no refresh produced a new one");
}

KEYWARD_DECL std::string Messages::refresh_token_refused(const Verdict& verdict,
                                                         std::string_view credential,
                                                         std::optional<TimePoint> expiry) const {
  return prefix() + "the token endpoint refused the refresh token of " + std::string{credential} +
         describe(verdict) + ". The access token keeps serving" +
         (expiry ? " until it expires at " + format_rfc3339(*expiry) : "") +
         "; before then, a person must " +
         fix_for(options_.fix.unauthenticated, verdict, "log in again") +
         " and pass the new credential to set_credential().";
}

KEYWARD_DECL std::string Messages::interrupted_refresh(TimePoint since) {
  return "(a refresh of it began at " + format_rfc3339(since) +
         " and never stored its result: the process making it stopped, or its answer was lost; "
         "if the token endpoint rotated the refresh token then, the new one was lost with it "
         "and this one is spent)";
}

KEYWARD_DECL std::string Messages::recorded_refusal(const RefreshRefusal& refusal) {
  return "(another holder of this login presented it at " + format_rfc3339(refusal.at) + " and " +
         refusal.reason + "; it is not presented again)";
}

KEYWARD_DECL Error Messages::unusable_refresh(std::string_view problems) const {
  return make_error(
      Errc::refresh_failed,
      prefix() + "the token endpoint returned an access token that fails pre-flight (" +
          std::string{problems} + "), so it was not installed; a rotated refresh token was kept");
}

KEYWARD_DECL std::string Messages::unusable(std::string_view problems) const {
  return prefix() + "the credential is unusable: " + std::string{problems};
}

KEYWARD_DECL Error Messages::replacement_not_stored(Error cause) const {
  cause.message = prefix() + "the new credential could not be stored, and the current one was " +
                  "kept: " + cause.message;
  return cause;
}

KEYWARD_DECL Error Messages::replacement_refused(std::string_view problems) const {
  return make_error(Errc::invalid_credential,
                    prefix() + "the new credential was refused and the current one kept: " +
                        std::string{problems});
}

}  // namespace keyward::detail
