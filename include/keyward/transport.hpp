// The Transport role: how keyward sends a request through the application's HTTP client.
//
// keyward never opens a socket itself. The application adapts its HTTP client (libcurl,
// cpp-httplib, its own) to the Transport concept: one synchronous call that sends a Request and
// returns either the Response, whatever its status, or a TransportFailure when no response came.
// A Transport used by a ResilientCredential is called from every thread that calls send(), so it
// must be safe to call concurrently.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/detail/ascii.hpp"
#include "keyward/result.hpp"

namespace keyward {

/// An ordered list of HTTP header fields whose names compare case-insensitively.
class Headers {
 public:
  using Field = std::pair<std::string, std::string>;  ///< One field: its name and its value.

  Headers() = default;
  /// Builds the list from name/value pairs, in order.
  Headers(std::initializer_list<Field> fields) : fields_(fields) {}

  /// The value of the first field named `name`, if any.
  [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const noexcept {
    for (const auto& [n, v] : fields_) {
      if (detail::iequals(n, name)) return std::string_view{v};
    }
    return std::nullopt;
  }
  /// True when a field named `name` is present.
  [[nodiscard]] bool contains(std::string_view name) const noexcept {
    return get(name).has_value();
  }
  /// Replaces every field named `name` with one field holding `value`.
  void set(std::string_view name, std::string value) {
    erase(name);
    fields_.emplace_back(std::string{name}, std::move(value));
  }
  /// Appends a field, keeping any existing fields of the same name.
  void add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }
  /// Removes every field named `name`.
  void erase(std::string_view name) {
    std::erase_if(fields_, [&](const Field& f) { return detail::iequals(f.first, name); });
  }
  /// The fields in order.
  [[nodiscard]] const std::vector<Field>& fields() const noexcept { return fields_; }
  /// The first field.
  [[nodiscard]] auto begin() const noexcept { return fields_.begin(); }
  /// One past the last field.
  [[nodiscard]] auto end() const noexcept { return fields_.end(); }
  /// The number of fields.
  [[nodiscard]] std::size_t size() const noexcept { return fields_.size(); }

 private:
  std::vector<Field> fields_;
};

/// An HTTP request as the application builds it, before keyward attaches the credential.
struct Request {
  std::string method = "GET";  ///< The request method.
  std::string url{};           ///< The absolute URL, scheme included.
  Headers headers{};           ///< Header fields; keyward adds the credential's fields.
  std::string body{};          ///< The body, possibly empty.
};

/// An HTTP response: any status, including 4xx and 5xx, is a response and not a failure.
struct Response {
  int status = 0;      ///< The status code.
  Headers headers{};   ///< Header fields.
  std::string body{};  ///< The body (for a stream, what was read of it).
};

/// Why no response came back.
enum class TransportErrc : std::uint8_t {
  connect,   ///< No connection could be made (refused, DNS, unreachable).
  timeout,   ///< The request or the connection timed out.
  tls,       ///< The TLS handshake or certificate check failed.
  protocol,  ///< The peer sent something that is not HTTP, or closed mid-response.
  other,     ///< Anything else the transport reports.
};

/// A request that got no HTTP response.
struct TransportFailure {
  TransportErrc kind = TransportErrc::other;  ///< What kind of failure.
  std::string message;                        ///< The transport's own description.
};

/// What a Transport returns: the response, or why there is none.
using TransportResult = Result<Response, TransportFailure>;

/// Sends one HTTP request synchronously; must be safe to call from several threads at once.
template <class T>
concept Transport = requires(T& transport, const Request& request) {
  { transport.send(request) } -> std::same_as<TransportResult>;
};

/// The least a Transport can be; shipped policies check their contracts against it.
struct TransportArchetype {
  /// Declared only: never called.
  TransportResult send(const Request& request);
};

static_assert(Transport<TransportArchetype>);

/// The name of a TransportErrc.
[[nodiscard]] constexpr std::string_view to_string(TransportErrc kind) noexcept {
  switch (kind) {
    case TransportErrc::connect:
      return "connect";
    case TransportErrc::timeout:
      return "timeout";
    case TransportErrc::tls:
      return "tls";
    case TransportErrc::protocol:
      return "protocol";
    case TransportErrc::other:
      break;
  }
  return "other";
}

}  // namespace keyward
