// Making text from outside keyward safe to keep and show: secrets the caller knows are replaced by
// "[redacted]", invalid UTF-8 and control characters are repaired, and long text is cut. Provider
// messages, error descriptions, transport failures and request ids all pass through here before
// they reach a Verdict, a status report or an observer.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "keyward/detail/config.hpp"

namespace keyward::detail {

/// Replaces with "[redacted]" each secret of 8 bytes or more in `text`, in every form keyward
/// writes it in (as given, form-encoded, percent-encoded, JSON-escaped), without regard to ASCII
/// case or to whitespace and line breaks inserted into it: every run of 12 bytes or more of a
/// form (a prefix, a suffix, a middle part; not one inside the provider's published prefix
/// alone), a whole form shorter than that, and a first part of 8 bytes or more left at the end
/// of a text cut short.
[[nodiscard]] KEYWARD_DECL std::string scrub_secrets(std::string_view text,
                                                     std::span<const std::string_view> given);

/// Repairs outside text into one line of valid UTF-8, C0 and C1 controls, DEL and bidirectional
/// formatting characters replaced by spaces, of at most `max_bytes` plus an ellipsis.
[[nodiscard]] KEYWARD_DECL std::string clean_outside_text(std::string_view text,
                                                          std::size_t max_bytes = 1024);

/// Scrubs `secrets` from outside text, then cleans and cuts it like clean_outside_text.
[[nodiscard]] KEYWARD_DECL std::string clean_and_scrub(std::string_view text,
                                                       std::span<const std::string_view> secrets,
                                                       std::size_t max_bytes = 1024);

}  // namespace keyward::detail

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/detail/impl/scrub.ipp"
#endif
