// Definitions for keyward/classify/provider_support.hpp: included by it when header-only, compiled
// once by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/classify/http_status.hpp"
#include "keyward/classify/provider_support.hpp"
#include "keyward/detail/ascii.hpp"
#include "keyward/detail/www_authenticate.hpp"
#include "keyward/transport.hpp"

namespace keyward::classify {

KEYWARD_DECL std::vector<detail::Challenge> all_challenges(const Headers& headers) {
  std::vector<detail::Challenge> out;
  for (const auto& [name, value] : headers) {
    if (!detail::iequals(name, "www-authenticate")) continue;
    if (auto parsed = detail::parse_www_authenticate(value)) {
      for (auto& challenge : *parsed) out.push_back(std::move(challenge));
    }
  }
  return out;
}

KEYWARD_DECL const detail::Challenge* error_challenge(
    const std::vector<detail::Challenge>& challenges) noexcept {
  for (const auto& challenge : challenges) {
    const bool bearer =
        detail::iequals(challenge.scheme, "Bearer") || detail::iequals(challenge.scheme, "DPoP");
    if (bearer && challenge.param("error") != nullptr) return &challenge;
  }
  return nullptr;
}

KEYWARD_DECL bool apply_challenge(const Headers& headers, Verdict& verdict) {
  const auto challenges = all_challenges(headers);
  const auto* challenge = error_challenge(challenges);
  if (challenge == nullptr) return false;
  const auto kind = kind_from_bearer_error(*challenge->param("error"));
  if (!kind) return false;
  verdict.kind = *kind;
  verdict.provider_code = *challenge->param("error");
  if (const auto* description = challenge->param("error_description")) {
    verdict.message = *description;
  }
  return true;
}

KEYWARD_DECL std::optional<std::chrono::milliseconds> window_wait(
    std::span<const RateLimitWindow> windows, std::chrono::milliseconds cap) noexcept {
  std::optional<std::chrono::milliseconds> exhausted;
  std::optional<std::chrono::milliseconds> any;
  for (const auto& window : windows) {
    if (!window.reset) continue;
    if (!any || *window.reset > *any) any = window.reset;
    if (window.exhausted && (!exhausted || *window.reset > *exhausted)) exhausted = window.reset;
  }
  auto wait = exhausted ? exhausted : any;
  if (wait && *wait > cap) wait = cap;
  return wait;
}

KEYWARD_DECL std::optional<std::chrono::milliseconds> wait_until(
    std::chrono::sys_time<std::chrono::milliseconds> when, TimePoint now) noexcept {
  using namespace std::chrono;
  // RFC 3339 times lie in years 0..9999, so bounding `now` keeps the subtraction in range.
  constexpr sys_time<milliseconds> kEarliest{sys_days{year{-1000} / January / 1}};
  const auto now_ms = std::max(floor<milliseconds>(now), kEarliest);
  if (when <= now_ms) return std::nullopt;
  return when - now_ms;
}

KEYWARD_DECL void redact_key_echoes(std::string& message) {
  constexpr std::string_view kRedacted = "[redacted]";
  constexpr std::string_view kPunctuation = ".,;:!?()[]\"'";
  if (message.find("***") == std::string::npos) return;
  // One pass into a new string: replacing in place moves the whole tail once per key, which
  // made a 1 MB message full of masked keys take a second.
  std::string out;
  out.reserve(message.size());
  std::string_view rest = message;
  while (true) {
    const std::size_t space = rest.find(' ');
    const std::string_view token = rest.substr(0, space);
    // Punctuation around the key is kept: "(sk-***x)." becomes "([redacted]).".
    const std::size_t word_start = token.find_first_not_of(kPunctuation);
    const std::size_t word_end =
        word_start == std::string_view::npos ? 0 : token.find_last_not_of(kPunctuation) + 1;
    if (word_start != std::string_view::npos &&
        token.substr(word_start, word_end - word_start).find("***") != std::string_view::npos) {
      out.append(token.substr(0, word_start));
      out.append(kRedacted);
      out.append(token.substr(word_end));
    } else {
      out.append(token);
    }
    if (space == std::string_view::npos) break;
    out.push_back(' ');
    rest.remove_prefix(space + 1);
  }
  message = std::move(out);
}

}  // namespace keyward::classify
