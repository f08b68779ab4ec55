// Definitions for keyward/classify/openai.hpp: included by it when header-only, compiled once
// by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/classify/http_status.hpp"
#include "keyward/classify/openai.hpp"
#include "keyward/classify/provider_support.hpp"
#include "keyward/detail/ascii.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/wait_formats.hpp"
#include "keyward/transport.hpp"

namespace keyward::classify {

KEYWARD_DECL bool OpenAI::read_error(const detail::json::Value& document, Verdict& verdict) {
  const auto* error = error_object(document);
  if (error == nullptr) return false;
  const std::string_view code = error->string_or("code");
  const std::string_view type = error->string_or("type");
  verdict.message = error->string_or("message");
  redact_key_echoes(verdict.message);
  // The Responses API's stream errors say type "error" for every error: that names nothing.
  verdict.provider_code = !code.empty() ? code : (type == "error" ? std::string_view{} : type);
  const VerdictKind from_status = verdict.kind;
  verdict.kind = kind_of(code, type, verdict.message, from_status, verdict.fix);
  // A body with neither code nor type decides only when its message did.
  return !verdict.provider_code.empty() || verdict.kind != from_status;
}

KEYWARD_DECL VerdictKind OpenAI::kind_of(std::string_view code, std::string_view type,
                                         std::string_view message, VerdictKind fallback,
                                         std::string& fix) {
  using K = VerdictKind;
  if (code == "insufficient_quota" || code == "billing_hard_limit_reached" ||
      code == "billing_not_active" || type == "insufficient_quota" ||
      (fallback == K::rate_limited && icontains(message, "exceeded your current quota"))) {
    fix = kQuotaFix;
    return K::quota_exhausted;
  }
  if (code == "invalid_api_key" || code == "token_expired" || code == "token_revoked" ||
      code == "invalid_token") {
    return K::unauthenticated;
  }
  if (code == "mismatched_organization" || code == "invalid_organization" ||
      code == "mismatched_project" || code == "invalid_project") {
    fix = kOrganizationFix;
    return K::misconfigured;
  }
  if (icontains(message, "You didn't provide an API key") ||
      icontains(message, "Missing bearer or basic authentication")) {
    fix = kMissingKeyFix;
    return K::misconfigured;
  }
  if (code == "rate_limit_exceeded" || type == "tokens" || type == "requests" ||
      type == "rate_limit_error") {
    return K::rate_limited;
  }
  // "The engine is currently overloaded": the provider's state, not this request's.
  if ((type == "server_error" || fallback == K::transient) &&
      (icontains(message, "overloaded") || icontains(code, "overloaded"))) {
    return K::overloaded;
  }
  if (type == "server_error") return K::transient;
  return fallback;
}

KEYWARD_DECL Verdict OpenAI::classify_api(const Response& response,
                                          const ClassifyContext& context) const {
  Verdict verdict = classify_api_response(response, context, options_.max_wait, read_error);
  if (verdict.kind == VerdictKind::rate_limited && !verdict.retry_after) {
    verdict.retry_after = reset_wait(response.headers, options_.max_wait);
  }
  return verdict;
}

// The token endpoint answers RFC 6749 errors, or {"error": {"code": "refresh_token_reused"}}
// when a rotated refresh token is redeemed again, expired or revoked: a person must log in.
KEYWARD_DECL Verdict OpenAI::classify_token(const Response& response,
                                            const ClassifyContext& context) const {
  Verdict verdict = HttpStatus{options_}.classify(response, context);
  const std::string_view code = verdict.provider_code;
  if (code == "refresh_token_reused" || code == "refresh_token_expired" ||
      code == "refresh_token_invalidated" || code == "refresh_token_revoked") {
    verdict.kind = VerdictKind::unauthenticated;
    finish(verdict, response, context, options_.max_wait);
  } else if (verdict.kind == VerdictKind::misconfigured) {
    verdict.fix = kTokenEndpointFix;
  }
  return verdict;
}

// x-ratelimit-reset-<dimension> holds a Go duration (6m0s, 644ms); the dimension is exhausted
// when x-ratelimit-remaining-<dimension> is 0.
KEYWARD_DECL std::optional<std::chrono::milliseconds> OpenAI::reset_wait(
    const Headers& headers, std::chrono::milliseconds cap) {
  constexpr std::string_view kPrefix = "x-ratelimit-reset-";
  constexpr std::size_t kMaxWindows = 16;  // bounds the lookups a hostile response can cause
  std::vector<RateLimitWindow> windows;
  for (const auto& [name, value] : headers) {
    if (windows.size() == kMaxWindows) break;
    if (name.size() <= kPrefix.size() ||
        !detail::iequals(std::string_view{name}.substr(0, kPrefix.size()), kPrefix)) {
      continue;
    }
    RateLimitWindow window;
    window.reset = detail::parse_go_duration(value);
    const auto remaining = headers.get("x-ratelimit-remaining-" + name.substr(kPrefix.size()));
    window.exhausted = remaining && is_zero_count(*remaining);
    windows.push_back(window);
  }
  return window_wait(windows, cap);
}

}  // namespace keyward::classify
