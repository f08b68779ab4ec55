// Definitions for keyward/classify/http_status.hpp: included by it when header-only, compiled once
// by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/classifier.hpp"
#include "keyward/classify/http_status.hpp"
#include "keyward/detail/ascii.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/retry_after.hpp"
#include "keyward/detail/www_authenticate.hpp"
#include "keyward/transport.hpp"

namespace keyward::classify {

KEYWARD_DECL std::optional<std::chrono::milliseconds> server_wait(const Headers& headers,
                                                                  TimePoint now,
                                                                  std::chrono::milliseconds cap) {
  std::optional<std::chrono::milliseconds> wait;
  if (auto ms = headers.get("retry-after-ms")) wait = detail::parse_retry_after_ms(*ms);
  if (!wait) {
    if (auto value = headers.get("retry-after")) wait = detail::parse_retry_after(*value, now);
  }
  if (wait && *wait > cap) wait = cap;
  return wait;
}

KEYWARD_DECL std::string request_id(const Headers& headers) {
  for (const std::string_view name : {"request-id", "x-request-id"}) {
    if (auto id = headers.get(name)) return std::string{id->substr(0, 128)};
  }
  return {};
}

KEYWARD_DECL void finish(Verdict& verdict, const Response& response, const ClassifyContext& context,
                         std::chrono::milliseconds cap) {
  verdict.status = response.status;
  verdict.scope = default_scope(verdict.kind);
  verdict.retryable = default_retryable(verdict.kind);
  if (auto should = response.headers.get("x-should-retry")) {
    const auto value = detail::trim_ows(*should);
    if (detail::iequals(value, "true")) verdict.retryable = true;
    if (detail::iequals(value, "false")) verdict.retryable = false;
  }
  // A success carries no text: its request id would be one more string to build (and scrub) on
  // every 2xx, for nobody who has to tell one failure from another.
  if (verdict.kind != VerdictKind::ok) {
    verdict.retry_after = server_wait(response.headers, context.now, cap);
    if (verdict.request_id.empty()) verdict.request_id = request_id(response.headers);
  }
  if (verdict.message.size() > kMaxMessageSize) verdict.message.resize(kMaxMessageSize);
}

KEYWARD_DECL std::optional<VerdictKind> kind_from_oauth_error(std::string_view code) {
  if (code == "invalid_grant") return VerdictKind::unauthenticated;
  if (code == "invalid_client" || code == "unauthorized_client" || code == "invalid_request" ||
      code == "unsupported_grant_type" || code == "invalid_scope") {
    return VerdictKind::misconfigured;
  }
  if (code == "temporarily_unavailable" || code == "server_error") return VerdictKind::transient;
  return std::nullopt;
}

KEYWARD_DECL std::optional<VerdictKind> kind_from_bearer_error(std::string_view code) {
  if (code == "invalid_token") return VerdictKind::unauthenticated;
  if (code == "insufficient_scope") return VerdictKind::forbidden;
  if (code == "invalid_request") return VerdictKind::request_error;
  return std::nullopt;
}

KEYWARD_DECL Verdict HttpStatus::classify(const Response& response,
                                          const ClassifyContext& context) const {
  Verdict verdict;
  verdict.kind = kind_from_status(response.status);
  // An API's 2xx is a success whatever its body says; reading a body that may be megabytes
  // long would cost more than the request did.
  if (verdict.kind == VerdictKind::ok && context.endpoint == Endpoint::api) {
    // Nor its headers: x-should-retry and the waits speak of failures.
    verdict.status = response.status;
    verdict.scope = default_scope(verdict.kind);
    verdict.retryable = default_retryable(verdict.kind);
    return verdict;
  }
  // An API's error body is read leniently: one broken escape in a message must not hide the
  // error type beside it. A token response is read exactly, as it carries the new credential.
  read_body(response.body, verdict,
            context.endpoint == Endpoint::token ? detail::json::Strictness::strict
                                                : detail::json::Strictness::lenient);
  // "overloaded_error" and kin: the provider says it is overloaded, not that this request failed.
  if (response.status >= 500 && verdict.provider_code.find("overloaded") != std::string::npos) {
    verdict.kind = VerdictKind::overloaded;
  }
  read_challenge(response, verdict);
  if (context.endpoint == Endpoint::token) classify_token_endpoint(response, verdict);
  finish(verdict, response, context, options_.max_wait);
  return verdict;
}

KEYWARD_DECL Verdict HttpStatus::classify(const TransportFailure& failure) const {
  Verdict verdict;
  verdict.kind = VerdictKind::transient;
  verdict.scope = Scope::provider;
  verdict.retryable = true;
  verdict.provider_code = std::string{to_string(failure.kind)};
  verdict.message = failure.message.substr(0, kMaxMessageSize);
  return verdict;
}

// Picks the message and code out of the common body shapes: RFC 6749 {"error": "code",
// "error_description": ...} and {"error": {"code"|"type"|"status": ..., "message": ...}}.
KEYWARD_DECL void HttpStatus::read_body(std::string_view body, Verdict& verdict,
                                        detail::json::Strictness strictness) {
  const auto json = detail::json::parse(body, strictness);
  if (!json || !json->is_object()) return;
  if (const auto* error = json->find("error")) {
    if (const auto* code = error->as_string()) {
      verdict.provider_code = *code;
      verdict.message = std::string{json->string_or("error_description")};
    } else if (error->is_object()) {
      for (const std::string_view key : {"code", "type", "status"}) {
        if (const auto* field = error->find(key);
            field != nullptr && field->as_string() != nullptr) {
          verdict.provider_code = *field->as_string();
          break;
        }
      }
      verdict.message = std::string{error->string_or("message")};
    }
  }
  if (verdict.message.empty()) verdict.message = std::string{json->string_or("message")};
  verdict.request_id = std::string{json->string_or("request_id").substr(0, 128)};
}

KEYWARD_DECL void HttpStatus::read_challenge(const Response& response, Verdict& verdict) {
  // A challenge explains a failure; on a success it changes nothing (found by fuzzing).
  const auto header = response.headers.get("www-authenticate");
  if (!header || response.status < 400) return;
  const auto challenges = detail::parse_www_authenticate(*header);
  if (!challenges) return;
  const auto* bearer = detail::find_challenge(*challenges, "Bearer");
  if (bearer == nullptr) return;
  const auto* code = bearer->param("error");
  if (code == nullptr) return;
  if (auto kind = kind_from_bearer_error(*code)) {
    verdict.kind = *kind;
    verdict.provider_code = *code;
    if (const auto* description = bearer->param("error_description")) {
      verdict.message = *description;
    }
  }
}

// A token endpoint speaks RFC 6749: its error codes decide, and a 2xx is a success only when it
// carries an access token (a captive portal's 200 is not a token).
KEYWARD_DECL void HttpStatus::classify_token_endpoint(const Response& response, Verdict& verdict) {
  if (verdict.kind == VerdictKind::ok) {
    const auto json = detail::json::parse(response.body);
    const bool has_token = json && json->is_object() && !json->string_or("access_token").empty();
    if (!has_token) verdict.kind = VerdictKind::transient;
    return;
  }
  if (auto kind = kind_from_oauth_error(verdict.provider_code)) {
    verdict.kind = *kind;
    return;
  }
  // Without a recognised code: server trouble and throttling pass, anything else is a
  // configuration problem that sending the same request again will not fix.
  if (response.status == 429 || response.status == 408 || response.status >= 500) {
    verdict.kind = VerdictKind::transient;
  } else {
    verdict.kind = VerdictKind::misconfigured;
  }
}

}  // namespace keyward::classify
