// What `keyward get`, `status` and `login-import` say instead of the library's words.
//
// The library's messages speak to a C++ program ("pass it to set_credential()", "give the policy
// a refresh strategy"); a person at a shell needs the command or flag to run. Where the library
// takes a fix text (CredentialOptions::fix), the tool gives one naming its own commands
// (renew_fix); the few sentences it does not take are rewritten here (for_people), so every
// line the tool prints names a command or a flag.
#pragma once

#include <cctype>
#include <chrono>
#include <regex>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/clock.hpp"
#include "keyward/credential.hpp"
#include "keyward/detail/text.hpp"

namespace keyward::cli {

/// Where a profile lives, as the flags that name it: `--credentials FILE --profile ID` or
/// `--redis URL --profile ID`.
struct ProfilePlace {
  std::string flags;  ///< The flags, as typed.
  std::string where;  ///< In words: "FILE" or "Redis at URL".
  std::string doc;    ///< The document that describes the store's format.
};

/// `at` seen from `now`: "in 2 h 5 min", "3 days ago", "now".
[[nodiscard]] inline std::string relative(TimePoint at, TimePoint now) {
  using std::chrono::floor;
  using std::chrono::milliseconds;
  // In milliseconds the difference of any two clock values fits; in nanoseconds it may not.
  const milliseconds gap =
      floor<milliseconds>(at.time_since_epoch()) - floor<milliseconds>(now.time_since_epoch());
  if (gap.count() == 0) return "now";
  return gap.count() > 0 ? "in " + detail::format_duration(gap)
                         : detail::format_duration(gap) + " ago";
}

/// A Redis URL as it may be shown: its password, if any, replaced by "PASSWORD".
[[nodiscard]] inline std::string shown_redis(const std::string& url) {
  const auto start = url.find("://");
  const auto at = url.rfind('@');
  if (start == std::string::npos || at == std::string::npos || at < start) return url;
  return url.substr(0, start + 3) + ":PASSWORD" + url.substr(at);
}

/// The flags that name `profile` in a credentials file or in Redis.
[[nodiscard]] inline ProfilePlace place_of(const std::string& credentials, const std::string& redis,
                                           const std::string& profile) {
  if (!credentials.empty()) {
    return {"--credentials " + credentials + " --profile " + profile, credentials,
            "docs/credentials-file.md"};
  }
  return {"--redis " + shown_redis(redis) + " --profile " + profile,
          "Redis at " + shown_redis(redis), "docs/redis-store.md"};
}

/// What a person does when `provider` rejects a credential of `kind` at `place` for good: the
/// exact `keyward login-import` that stores a new one (docs/credentials-file.md).
[[nodiscard]] inline std::string renew_fix(const ProfilePlace& place, std::string_view provider,
                                           CredentialKind kind) {
  if (kind != CredentialKind::oauth) {
    return "replace the key: put the new one in an environment variable and run `keyward "
           "login-import " +
           place.flags + " --provider " + std::string{provider} + " --api-key-env VAR`";
  }
  if (provider == "anthropic") {
    return "log in to Claude Code again, then run `keyward login-import " + place.flags +
           " --claude-code`";
  }
  return "log in again with the provider, then store the new tokens in " + place.where + " (" +
         place.doc + ") and run `keyward status " + place.flags + "` to check them";
}

/// The flags that configure `provider`'s refresh, as a person is told to pass them.
[[nodiscard]] inline std::string refresh_flags(std::string_view provider) {
  if (provider == "rfc6750") return "pass `--token-url URL` or add `token_url` to the profile";
  if (provider == "generic") {
    return "pass `--provider rfc6750 --token-url URL`, or add `\"provider\": \"rfc6750\"` and "
           "`token_url` to the profile";
  }
  return "pass `--client-id ID` or add `client_id` to the profile";
}

/// `text`, a library message, with each sentence that names C++ rewritten to name the tool's
/// commands and flags; `provider` is the provider the tool was run with.
[[nodiscard]] inline std::string for_people(std::string text, std::string_view provider) {
  const std::string flags = refresh_flags(provider);
  const std::pair<std::string_view, std::string> rewrites[] = {
      {", then pass it to set_credential(); no restart is needed.", "."},
      {", then pass the corrected credential to set_credential().", "."},
      {" and pass the new credential to set_credential().", "."},
      {"(give the policy a refresh strategy, e.g. the provider bundle's or "
       "refresh::OAuth2RefreshToken)",
       "(" + flags + ")"},
      {"the refresh strategy has no token endpoint configured (give it OAuth2Options with "
       "token_url and client_id, or use the provider bundle's oauth_refresh())",
       "no token endpoint is configured: " + flags},
      {"check the refresh strategy's client id, client secret and client authentication method "
       "(client_auth)",
       "check `--client-id` and `--token-url` (or the profile's `client_id` and `token_url`)"},
      {"keyward::refresh::OAuth2RefreshToken: token_url", "keyward: --token-url"},
      {"keyward::refresh::OAuth2RefreshToken: ", "keyward: "},
      {"configure it with Credential::oauth",
       "give the profile `\"type\": \"oauth\"` (docs/credentials-file.md)"},
      {" (refresh::BodyFormat::json)", ""},
      {"marked sensitive (Request::sensitive)", "marked sensitive"},
      {"set Request::body_to_other_origin to allow that",
       "send the request to the redirect's target with --data instead"},
      {" for Credential::api_key)", ")"},
      {" for Credential::oauth)", ")"},
      {"Give keyward a file of its own, or set FileOptions::write_where_openclaw_uses_sqlite",
       "Give keyward a file of its own (--credentials FILE outside that directory)"},
  };
  for (const auto& [from, to] : rewrites) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
  }
  // A pool's fix ends with ', then set_credential("a", ...)': the profile it is about.
  static const std::regex kPoolNamed{
      R"re(NAME being the profile named above, then set_credential\("([^"]*)", \.\.\.\))re"};
  static const std::regex kPoolSet{R"re(, then set_credential\("([^"]*)", \.\.\.\))re"};
  text = std::regex_replace(text, kPoolNamed, "NAME being '$1'");
  text = std::regex_replace(text, kPoolSet, " (profile '$1')");
  // "(provider::Anthropic's attacher does this)": the tool's --provider does it.
  constexpr std::string_view kAttacher = "(provider::";
  for (auto at = text.find(kAttacher); at != std::string::npos; at = text.find(kAttacher, at)) {
    const auto name_end = text.find('\'', at);
    const auto close = text.find(')', at);
    if (name_end == std::string::npos || close == std::string::npos || close < name_end) break;
    std::string name = text.substr(at + kAttacher.size(), name_end - at - kAttacher.size());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    text.replace(at, close + 1 - at, "(`keyward get --provider " + name + "` sends it so)");
  }
  return text;
}

}  // namespace keyward::cli
