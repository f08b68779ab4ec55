// Definitions for keyward/classify/anthropic.hpp: included by it when header-only, compiled once
// by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/classify/anthropic.hpp"
#include "keyward/classify/http_status.hpp"
#include "keyward/classify/provider_support.hpp"
#include "keyward/credential_kind.hpp"
#include "keyward/detail/ascii.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/retry_after.hpp"
#include "keyward/detail/wait_formats.hpp"
#include "keyward/transport.hpp"

namespace keyward::classify {

KEYWARD_DECL bool Anthropic::read_error(const detail::json::Value& document,
                                        std::optional<CredentialKind> credential,
                                        Verdict& verdict) {
  const auto* error = error_object(document);
  if (error == nullptr) return false;
  const std::string_view type = error->string_or("type");
  if (type.empty()) return false;
  verdict.provider_code = type;
  verdict.message = error->string_or("message");
  verdict.request_id = document.string_or("request_id").substr(0, 128);
  verdict.kind = kind_of(type, verdict.message, credential, verdict.kind, verdict.fix);
  return true;
}

// The messages that name how the credential was sent decide before the type, which is
// authentication_error or invalid_request_error for all of them.
KEYWARD_DECL VerdictKind Anthropic::kind_of(std::string_view type, std::string_view message,
                                            std::optional<CredentialKind> credential,
                                            VerdictKind fallback, std::string& fix) {
  using K = VerdictKind;
  const bool oauth =
      credential == CredentialKind::oauth || credential == CredentialKind::bearer_token;
  const bool api_key = credential == CredentialKind::api_key;
  const auto misconfigured = [&fix](std::string_view text) {
    fix = text;
    return K::misconfigured;
  };
  if (icontains(message, "OAuth authentication is currently not supported")) {
    return misconfigured(api_key ? kApiKeyPlacementFix : kOAuthBetaFix);
  }
  if (icontains(message, "x-api-key header is required")) {
    return misconfigured(oauth ? kOAuthPlacementFix : kApiKeyPlacementFix);
  }
  if (oauth && icontains(message, "invalid x-api-key")) return misconfigured(kOAuthPlacementFix);
  if (api_key && icontains(message, "invalid bearer token")) {
    return misconfigured(kApiKeyPlacementFix);
  }
  if (icontains(message, "only authorized for use with Claude Code")) {
    return misconfigured(kClaudeCodeOnlyFix);
  }
  if (icontains(message, "organization has been disabled")) return misconfigured(kDisabledFix);
  if (icontains(message, "credit balance is too low")) {
    fix = kCreditsFix;
    return K::quota_exhausted;
  }
  if (type == "authentication_error") return K::unauthenticated;
  if (type == "permission_error") return K::forbidden;
  if (type == "invalid_request_error" || type == "not_found_error" || type == "request_too_large") {
    return K::request_error;
  }
  if (type == "rate_limit_error") return K::rate_limited;
  if (type == "billing_error") {
    fix = kBillingFix;
    return K::quota_exhausted;
  }
  if (type == "overloaded_error") return K::overloaded;
  if (type == "api_error" || type == "timeout_error") return K::transient;
  return fallback;
}

KEYWARD_DECL Verdict Anthropic::classify_api(const Response& response,
                                             const ClassifyContext& context) const {
  Verdict verdict =
      classify_api_response(response, context, options_.max_wait,
                            [&context](const detail::json::Value& document, Verdict& out) {
                              return read_error(document, context.credential, out);
                            });
  if (verdict.kind == VerdictKind::rate_limited && !verdict.retry_after) {
    verdict.retry_after = reset_wait(response.headers, context.now, options_.max_wait);
  }
  return verdict;
}

// The token endpoint speaks RFC 6749, which HttpStatus reads.
KEYWARD_DECL Verdict Anthropic::classify_token(const Response& response,
                                               const ClassifyContext& context) const {
  Verdict verdict = HttpStatus{options_}.classify(response, context);
  if (verdict.kind == VerdictKind::misconfigured) verdict.fix = kTokenEndpointFix;
  return verdict;
}

// anthropic-ratelimit-<window>-reset is RFC 3339 for the requests/tokens windows and Unix
// seconds for the subscription's unified windows; a window is exhausted when its -remaining
// is 0 or its -status is "rejected".
KEYWARD_DECL std::optional<std::chrono::milliseconds> Anthropic::reset_wait(
    const Headers& headers, TimePoint now, std::chrono::milliseconds cap) {
  constexpr std::string_view kPrefix = "anthropic-ratelimit-";
  constexpr std::string_view kSuffix = "-reset";
  constexpr std::size_t kMaxWindows = 16;  // bounds the lookups a hostile response can cause
  std::vector<RateLimitWindow> windows;
  for (const auto& [name, value] : headers) {
    if (windows.size() == kMaxWindows) break;
    if (name.size() <= kPrefix.size() + kSuffix.size() ||
        !detail::iequals(std::string_view{name}.substr(0, kPrefix.size()), kPrefix) ||
        !detail::iequals(std::string_view{name}.substr(name.size() - kSuffix.size()), kSuffix)) {
      continue;
    }
    const std::string stem = name.substr(0, name.size() - kSuffix.size());
    RateLimitWindow window;
    window.reset = reset_time(value, now);
    const auto remaining = headers.get(stem + "-remaining");
    const auto status = headers.get(stem + "-status");
    window.exhausted = (remaining && is_zero_count(*remaining)) ||
                       (status && detail::iequals(detail::trim_ows(*status), "rejected"));
    windows.push_back(window);
  }
  return window_wait(windows, cap);
}

KEYWARD_DECL std::optional<std::chrono::milliseconds> Anthropic::reset_time(std::string_view value,
                                                                            TimePoint now) {
  using namespace std::chrono;
  if (auto when = detail::parse_rfc3339(value)) return wait_until(*when, now);
  // Unix seconds; anything past the year 9999 is garbage, not a time.
  const auto seconds_since_epoch = detail::parse_delta_seconds(value);
  constexpr milliseconds kLatest{sys_days{year{9999} / December / 31}.time_since_epoch()};
  if (!seconds_since_epoch || *seconds_since_epoch > kLatest) return std::nullopt;
  return wait_until(sys_time<milliseconds>{*seconds_since_epoch}, now);
}

}  // namespace keyward::classify
