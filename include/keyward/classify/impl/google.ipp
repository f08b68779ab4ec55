// Definitions for keyward/classify/google.hpp: included by it when header-only, compiled once
// by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/classifier.hpp"
#include "keyward/classify/google.hpp"
#include "keyward/classify/http_status.hpp"
#include "keyward/classify/provider_support.hpp"
#include "keyward/credential_kind.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/wait_formats.hpp"
#include "keyward/transport.hpp"

namespace keyward::classify {

KEYWARD_DECL Verdict Google::classify_token(const Response& response,
                                            const ClassifyContext& context) const {
  Verdict verdict = HttpStatus{options_}.classify(response, context);
  if (verdict.kind == VerdictKind::misconfigured) verdict.fix = kTokenEndpointFix;
  return verdict;
}

KEYWARD_DECL Verdict Google::classify_api(const Response& response,
                                          const ClassifyContext& context) const {
  std::optional<std::chrono::milliseconds> retry_delay;
  Verdict verdict = classify_api_response(
      response, context, options_.max_wait, [&](const detail::json::Value& document, Verdict& out) {
        return read_error(document, context.credential, out, retry_delay);
      });
  // A daily quota's RetryInfo is known to name seconds although nothing resets before the day
  // ends; the cooldown policy's long quota window serves better than retrying every few seconds.
  if (verdict.kind != VerdictKind::ok && verdict.kind != VerdictKind::quota_exhausted &&
      !verdict.retry_after && retry_delay) {
    verdict.retry_after = std::min(*retry_delay, options_.max_wait);
  }
  return verdict;
}

KEYWARD_DECL bool Google::read_error(const detail::json::Value& document,
                                     std::optional<CredentialKind> credential, Verdict& verdict,
                                     std::optional<std::chrono::milliseconds>& retry_delay) {
  const auto* error = error_object(document);
  if (error == nullptr) return false;
  const Details details = read_details(*error);
  retry_delay = details.retry_delay;
  const std::string_view status = error->string_or("status");
  verdict.message = error->string_or("message");
  verdict.provider_code = details.reason.empty() ? status : details.reason;
  if (verdict.provider_code.empty()) return false;
  verdict.kind = kind_of(details, status, verdict.message, credential, verdict.kind, verdict.fix);
  if (details.reason == "SERVICE_DISABLED" && !details.activation_url.empty()) {
    verdict.fix.append(" (").append(details.activation_url.substr(0, 256)).append(")");
  }
  return true;
}

KEYWARD_DECL Google::Details Google::read_details(const detail::json::Value& error) {
  Details out;
  const auto* list = error.find("details");
  if (list == nullptr || !list->is_array()) return out;
  for (const auto& item : *list->as_array()) {
    const std::string_view type = item.string_or("@type");
    if (type.ends_with("google.rpc.ErrorInfo") && out.reason.empty()) {
      out.reason = item.string_or("reason");
      if (const auto* metadata = item.find("metadata")) {
        out.activation_url = metadata->string_or("activationUrl");
      }
    } else if (type.ends_with("google.rpc.RetryInfo")) {
      out.retry_delay = detail::parse_protobuf_duration(item.string_or("retryDelay"));
    } else if (type.ends_with("google.rpc.QuotaFailure")) {
      const auto* violations = item.find("violations");
      if (violations == nullptr || !violations->is_array()) continue;
      for (const auto& violation : *violations->as_array()) {
        out.daily_quota = out.daily_quota || icontains(violation.string_or("quotaId"), "PerDay");
      }
    }
  }
  return out;
}

KEYWARD_DECL VerdictKind Google::kind_of(const Details& details, std::string_view status,
                                         std::string_view message,
                                         std::optional<CredentialKind> credential,
                                         VerdictKind fallback, std::string& fix) {
  using K = VerdictKind;
  const auto with_fix = [&fix](K kind, std::string_view text) {
    fix = text;
    return kind;
  };
  const bool oauth =
      credential == CredentialKind::oauth || credential == CredentialKind::bearer_token;
  const std::string_view reason = details.reason;
  if (reason == "API_KEY_INVALID" || (reason.empty() && icontains(message, "API key not valid"))) {
    return oauth ? with_fix(K::misconfigured, kOAuthAsKeyFix) : K::unauthenticated;
  }
  if (icontains(message, "reported as leaked")) return with_fix(K::unauthenticated, kLeakedFix);
  if (icontains(message, "API keys are not supported by this API")) {
    return with_fix(K::misconfigured, kKeysNotSupportedFix);
  }
  if (reason == "CREDENTIALS_MISSING" || icontains(message, "unregistered callers")) {
    return with_fix(K::misconfigured, kNoCredentialFix);
  }
  if (reason == "ACCESS_TOKEN_EXPIRED" || reason == "ACCESS_TOKEN_INVALID") {
    return K::unauthenticated;
  }
  if (reason == "ACCESS_TOKEN_TYPE_UNSUPPORTED") {
    return with_fix(K::misconfigured, kKeysNotSupportedFix);
  }
  if (reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT") return with_fix(K::forbidden, kScopeFix);
  if (reason.starts_with("API_KEY_") && reason.ends_with("_BLOCKED")) {
    return with_fix(K::misconfigured, kKeyRestrictedFix);
  }
  if (reason == "SERVICE_DISABLED") return with_fix(K::misconfigured, kServiceDisabledFix);
  if (reason == "CONSUMER_SUSPENDED" || reason == "CONSUMER_INVALID") {
    return with_fix(K::misconfigured, kProjectFix);
  }
  if (reason == "BILLING_DISABLED") return with_fix(K::quota_exhausted, kBillingFix);
  if (status == "RESOURCE_EXHAUSTED" || reason == "RATE_LIMIT_EXCEEDED") {
    return details.daily_quota ? with_fix(K::quota_exhausted, kDailyQuotaFix) : K::rate_limited;
  }
  return kind_of_status(status, message, fallback);
}

// The canonical codes of google.rpc.Code, for errors whose reason did not decide.
KEYWARD_DECL VerdictKind Google::kind_of_status(std::string_view status, std::string_view message,
                                                VerdictKind fallback) {
  using K = VerdictKind;
  if (status == "UNAUTHENTICATED") return K::unauthenticated;
  if (status == "PERMISSION_DENIED") return K::forbidden;
  if (status == "INVALID_ARGUMENT" || status == "FAILED_PRECONDITION" || status == "OUT_OF_RANGE" ||
      status == "NOT_FOUND" || status == "ALREADY_EXISTS" || status == "UNIMPLEMENTED") {
    return K::request_error;
  }
  // "The model is overloaded. Please try again later." comes as UNAVAILABLE.
  if (status == "UNAVAILABLE") {
    return icontains(message, "overloaded") ? K::overloaded : K::transient;
  }
  if (status == "INTERNAL" || status == "UNKNOWN" || status == "DEADLINE_EXCEEDED" ||
      status == "ABORTED" || status == "DATA_LOSS" || status == "CANCELLED") {
    return K::transient;
  }
  return fallback;
}

}  // namespace keyward::classify
