// The error document of a response, as the provider classifiers read it: the JSON body of an
// error status, or the error event of a server-sent event stream that failed after a 2xx.
//
// A 2xx is the common case and must cost next to nothing: its body is not read at all unless it
// is an event stream, and a stream is read in one pass (event_stream.hpp) that parses nothing
// but an event that may be an error. A healthy stream of any size builds no string and parses no
// JSON.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "keyward/detail/ascii.hpp"
#include "keyward/detail/config.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/transport.hpp"

namespace keyward::classify {

/// True when `needle` occurs in `text`, ignoring ASCII case.
[[nodiscard]] constexpr bool icontains(std::string_view text, std::string_view needle) noexcept {
  if (needle.size() > text.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= text.size(); ++i) {
    if (detail::iequals(text.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

/// The error object inside a provider's error document: `error`, OpenAI's `response.error`, or
/// the document itself when its `type` is "error" and it has no `error` member; else nullptr.
[[nodiscard]] KEYWARD_DECL const detail::json::Value* error_object(
    const detail::json::Value& document) noexcept;

/// True when the response says it is a server-sent event stream: its media type (RFC 9110
/// section 8.3.1: `type/subtype`, then parameters after a ';') is `text/event-stream`, in any case.
[[nodiscard]] KEYWARD_DECL bool is_event_stream(const Response& response) noexcept;

/// The data of the first error event of a server-sent event stream (WHATWG HTML section
/// 9.2.6): an event named `error`, or one whose data is a JSON document with an error object.
[[nodiscard]] KEYWARD_DECL std::optional<std::string> sse_error_data(std::string_view stream);

/// A response's error document and where it came from.
struct ErrorDocument {
  std::optional<detail::json::Value> json;  ///< The parsed document, when there is one.
  bool streamed = false;  ///< True when it is the error event of a stream that began with a 2xx.
};

/// The error document of an API response, read leniently: the JSON body of an error status (the
/// first element when the body is an array, as Google's streaming endpoints send it), or the
/// error event of a 2xx event stream. The body of any other 2xx is not read.
[[nodiscard]] KEYWARD_DECL ErrorDocument error_document(const Response& response);

}  // namespace keyward::classify

#if defined(KEYWARD_HEADER_ONLY)
#include "keyward/classify/impl/error_document.ipp"
#endif
