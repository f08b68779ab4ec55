// The response-file format of `keyward classify` and of tests/fixtures: one JSON object with the
// response (status, headers, body), the context it came in (provider, endpoint, credential kind,
// `now`), and optionally the verdict it must get. Shared by the tool and the fixture tests, so
// both read fixtures the same way. Malformed input gets an error saying which field is wrong.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/classifier.hpp"
#include "keyward/credential_kind.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/text.hpp"
#include "keyward/detail/wait_formats.hpp"
#include "keyward/result.hpp"
#include "keyward/transport.hpp"

namespace keyward::cli {

/// The verdict a response file says its response must get (the fixture's `expect`).
struct Expected {
  std::string kind;
  std::string scope;
  bool retryable = false;
  std::optional<std::int64_t> retry_after_ms;
  std::optional<std::string> provider_code;
};

/// One response file.
struct ResponseFile {
  std::string provider = "generic";          ///< anthropic, openai, google or generic.
  Endpoint endpoint = Endpoint::api;         ///< api or token.
  std::optional<CredentialKind> credential;  ///< The kind of credential that was sent.
  std::optional<TimePoint> now;              ///< The time the response was received.
  Response response;                         ///< The response.
  std::optional<Expected> expect;            ///< The verdict it must get, if the file says.
};

/// Parses an RFC 3339 time such as "2026-02-04T12:00:00Z".
[[nodiscard]] inline std::optional<TimePoint> parse_time(std::string_view text) {
  const auto parsed = detail::parse_rfc3339(text);
  if (!parsed) return std::nullopt;
  return std::chrono::time_point_cast<TimePoint::duration>(*parsed);
}

/// Parses a response file; the error names the field that is missing or malformed.
[[nodiscard]] inline Result<ResponseFile, std::string> parse_response_file(std::string_view text) {
  const auto json = detail::json::parse(text);
  if (!json || !json->is_object()) return unexpected(std::string{"not a JSON object"});
  ResponseFile file;
  if (const auto provider = json->string_or("provider"); !provider.empty()) {
    file.provider = std::string{provider};
  }
  const auto endpoint = json->string_or("endpoint", "api");
  if (endpoint != "api" && endpoint != "token") {
    return unexpected(std::string{"\"endpoint\" must be \"api\" or \"token\""});
  }
  file.endpoint = endpoint == "token" ? Endpoint::token : Endpoint::api;
  const auto credential = json->string_or("credential");
  if (credential == "oauth") file.credential = CredentialKind::oauth;
  if (credential == "api_key") file.credential = CredentialKind::api_key;
  if (credential == "bearer_token") file.credential = CredentialKind::bearer_token;
  if (!credential.empty() && !file.credential) {
    return unexpected(std::string{"\"credential\" must be api_key, bearer_token or oauth"});
  }
  if (const auto now = json->string_or("now"); !now.empty()) {
    file.now = parse_time(now);
    if (!file.now) return unexpected(std::string{"\"now\" is not an RFC 3339 time"});
  }
  const auto* response = json->find("response");
  if (response == nullptr || !response->is_object()) {
    return unexpected(std::string{"missing object \"response\""});
  }
  const auto* status = response->find("status");
  const auto number = status != nullptr ? status->as_number() : std::nullopt;
  if (!number || *number < 100 || *number > 999 || *number != static_cast<int>(*number)) {
    return unexpected(std::string{"\"response.status\" must be an integer from 100 to 999"});
  }
  file.response.status = static_cast<int>(*number);
  if (const auto* headers = response->find("headers"); headers != nullptr) {
    if (!headers->is_object())
      return unexpected(std::string{"\"response.headers\" must be an object"});
    for (const auto& [name, value] : *headers->as_object()) {
      if (value.as_string() == nullptr) {
        return unexpected("header \"" + name + "\" must have a string value");
      }
      file.response.headers.add(name, *value.as_string());
    }
  }
  file.response.body = std::string{response->string_or("body")};
  if (const auto* expect = json->find("expect"); expect != nullptr && expect->is_object()) {
    Expected e;
    e.kind = std::string{expect->string_or("kind")};
    e.scope = std::string{expect->string_or("scope")};
    const auto* retryable = expect->find("retryable");
    e.retryable = retryable != nullptr && retryable->as_bool().value_or(false);
    if (const auto* wait = expect->find("retry_after_ms"); wait != nullptr && wait->as_number()) {
      e.retry_after_ms = static_cast<std::int64_t>(*wait->as_number());
    }
    if (const auto* code = expect->find("provider_code"); code != nullptr && code->as_string()) {
      e.provider_code = *code->as_string();
    }
    file.expect = std::move(e);
  }
  return file;
}

/// The context production traffic would classify the file's response in.
[[nodiscard]] inline ClassifyContext context_of(const ResponseFile& file, TimePoint fallback_now) {
  return {.endpoint = file.endpoint,
          .now = file.now.value_or(fallback_now),
          .credential = file.credential};
}

/// A verdict as one JSON object with the field names of the fixtures' `expect`.
[[nodiscard]] inline std::string verdict_json(const Verdict& verdict) {
  std::string out = "{\"kind\":";
  detail::append_json_string(out, to_string(verdict.kind));
  out += ",\"scope\":";
  detail::append_json_string(out, to_string(verdict.scope));
  out += verdict.retryable ? ",\"retryable\":true" : ",\"retryable\":false";
  out += ",\"retry_after_ms\":";
  out += verdict.retry_after ? std::to_string(verdict.retry_after->count()) : "null";
  out += ",\"provider_code\":";
  if (verdict.provider_code.empty()) {
    out += "null";
  } else {
    detail::append_json_string(out, verdict.provider_code);
  }
  out += ",\"message\":";
  detail::append_json_string(out, verdict.message);
  out += ",\"request_id\":";
  detail::append_json_string(out, verdict.request_id);
  out += ",\"fix\":";
  detail::append_json_string(out, verdict.fix);
  out += '}';
  return out;
}

}  // namespace keyward::cli
