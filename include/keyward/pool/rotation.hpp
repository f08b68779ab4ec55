// What a pool's call keeps once a profile failed it, and the call's one all-out error.
//
// CredentialPool's send() (pool.hpp) and its asynchronous face (async_pool.hpp) make a Rotation
// at a call's first failure: the common call, served by its first choice, makes none (a pool's
// send costs what a single credential's does: bench/RESULTS.md).
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "keyward/error.hpp"
#include "keyward/observer.hpp"
#include "keyward/pool/member.hpp"
#include "keyward/pool/selection.hpp"
#include "keyward/result.hpp"
#include "keyward/transport.hpp"

namespace keyward::detail {

/// The profiles a call tried, their errors (for the one error of a call none could serve) and
/// the one it fails over from.
struct Rotation {
  /// Nothing tried yet, of `n` profiles.
  explicit Rotation(std::size_t n) : tried(n) {}
  TriedSet tried;                                       ///< The profiles tried.
  std::vector<std::pair<std::size_t, Error>> failures;  ///< Each failed profile's error.
  std::optional<std::size_t> from;                      ///< The profile it fails over from.

  /// Profile `chosen` (of `n`) failed the call with the error in `answer`; `rotation` is made
  /// here at the first failure.
  [[gnu::noinline]] static void fail(std::unique_ptr<Rotation>& rotation, std::size_t n,
                                     std::size_t chosen, Result<Response>& answer) {
    if (!rotation) rotation = std::make_unique<Rotation>(n);
    rotation->tried.insert(chosen);
    rotation->from = chosen;
    rotation->failures.emplace_back(chosen, std::move(answer.error()));
  }
};

/// The index of the profile named `profile` in `members`, if there is one.
template <class Member>
[[nodiscard]] std::optional<std::size_t> find_profile(
    const std::vector<std::unique_ptr<Member>>& members, std::string_view profile) noexcept {
  const auto named = [&](const auto& m) { return m->options.profile == profile; };
  const auto it = std::find_if(members.begin(), members.end(), named);
  return it == members.end() ? std::nullopt : std::optional{std::size_t(it - members.begin())};
}

/// The error of a call that names a profile the pool does not have.
[[nodiscard]] inline Error unknown_profile(const std::string& prefix, std::string_view profile) {
  return make_error(Errc::invalid_credential,
                    prefix + "has no profile named '" + std::string{profile} + "'");
}

/// The one error of a call that no profile of `members` could serve (all_out(), with the last
/// verdict the call saw), told to `observer` as an all_out event of provider `provider`.
template <class Chooser, class Observer, class Member>
Error report_all_out(Observer& observer, const std::string& provider, const std::string& prefix,
                     const std::vector<std::unique_ptr<Member>>& members,
                     typename Chooser::Outage out, TimePoint at,
                     const std::vector<std::pair<std::size_t, Error>>& seen) {
  std::optional<Verdict> verdict;  // the last verdict this call saw
  for (auto it = seen.rbegin(); it != seen.rend() && !verdict; ++it) verdict = it->second.verdict;
  Error error = all_out<Chooser>(prefix, members, std::move(out), at, seen, std::move(verdict));
  if constexpr (!std::is_same_v<Observer, NoObserver>) {
    observer.on_event(Event{.kind = EventKind::all_out,
                            .profile = provider,
                            .fingerprint = {},
                            .generation = 0,
                            .verdict = error.verdict ? &*error.verdict : nullptr,
                            .until = error.until,
                            .detail = error.message});
  } else {
    static_cast<void>(observer);
    static_cast<void>(provider);
  }
  return error;
}

}  // namespace keyward::detail
