// The providers `keyward` knows by name, each with its classifier and pre-flight checks: the
// same types a ResilientCredential<Transport, provider::X> uses, so the tool answers as the
// library would.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/classify/http_status.hpp"
#include "keyward/credential.hpp"
#include "keyward/preflight.hpp"
#include "keyward/provider/anthropic.hpp"
#include "keyward/provider/google.hpp"
#include "keyward/provider/openai.hpp"
#include "keyward/provider/rfc6750.hpp"

namespace keyward::cli {

/// Calls `use` with a default-constructed policy bundle for `provider`; false if unknown.
template <class Use>
bool with_provider(std::string_view provider, Use&& use) {
  if (provider == "anthropic") return use(provider::Anthropic{}), true;
  if (provider == "openai") return use(provider::OpenAI{}), true;
  if (provider == "google") return use(provider::Google{}), true;
  if (provider == "rfc6750") return use(provider::Rfc6750{}), true;
  if (provider == "generic") return use(DefaultPolicies{}), true;
  return false;
}

/// Whether `provider` is a name with_provider() knows.
[[nodiscard]] inline bool known_provider(std::string_view provider) {
  return with_provider(provider, [](auto /*bundle*/) {});
}

/// The verdict `provider`'s classifier gives, or nothing for an unknown provider.
[[nodiscard]] inline std::optional<Verdict> classify(std::string_view provider,
                                                     const Response& response,
                                                     const ClassifyContext& context) {
  std::optional<Verdict> verdict;
  with_provider(provider, [&]<class Bundle>(Bundle /*bundle*/) {
    verdict = typename Bundle::Classifier{}.classify(response, context);
  });
  return verdict;
}

/// The pre-flight findings of `provider` (the generic checks for "generic"), or nothing for an
/// unknown provider.
[[nodiscard]] inline std::optional<std::vector<Finding>> validate(std::string_view provider,
                                                                  const Credential& credential,
                                                                  TimePoint now) {
  std::optional<std::vector<Finding>> findings;
  with_provider(provider, [&]<class Bundle>(Bundle /*bundle*/) {
    if constexpr (requires { typename Bundle::Preflight; }) {
      findings = typename Bundle::Preflight{}.validate(credential, now);
    } else {
      findings = preflight::Generic{}.validate(credential, now);
    }
  });
  return findings;
}

}  // namespace keyward::cli
