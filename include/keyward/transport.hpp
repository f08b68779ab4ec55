// The Transport role: how keyward sends a request through the application's HTTP client.
//
// keyward never opens a socket itself. The application adapts its HTTP client (libcurl,
// cpp-httplib, its own) to the Transport concept: one synchronous call that sends a Request and
// returns either the Response, whatever its status, or a TransportFailure when no response came.
// A Transport used by a ResilientCredential is called from every thread that calls send(), so it
// must be safe to call concurrently.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keyward/detail/ascii.hpp"
#include "keyward/result.hpp"

namespace keyward {

/// An ordered list of HTTP header fields whose names compare case-insensitively.
///
/// Besides the fields it owns, a Headers can borrow fields that live elsewhere (lend()): keyward
/// lends the credential's fields, built once per token, to the request it sends, so attaching a
/// credential allocates nothing. Iteration, get() and size() see the borrowed fields after the
/// owned ones; a copy owns copies of them all. keyward takes the loan back before send() returns.
class Headers {
 public:
  using Field = std::pair<std::string, std::string>;  ///< One field: its name and its value.

  /// Iterates the owned fields, then the borrowed ones.
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;  ///< A forward iterator.
    using value_type = Field;                             ///< A name and a value.
    using difference_type = std::ptrdiff_t;               ///< A distance between positions.
    using pointer = const Field*;                         ///< Points to a field.
    using reference = const Field&;                       ///< Refers to a field.
    const_iterator() = default;
    /// The field at this position.
    reference operator*() const noexcept { return headers_->at(index_); }
    /// The field at this position.
    pointer operator->() const noexcept { return &headers_->at(index_); }
    /// Moves to the next field.
    const_iterator& operator++() noexcept {
      ++index_;
      return *this;
    }
    /// Moves to the next field, returning the position before.
    const_iterator operator++(int) noexcept {
      const_iterator before = *this;
      ++index_;
      return before;
    }
    /// True at the same position of the same list.
    friend bool operator==(const const_iterator&, const const_iterator&) = default;

   private:
    friend class Headers;
    const_iterator(const Headers* headers, std::size_t index) : headers_(headers), index_(index) {}
    const Headers* headers_ = nullptr;
    std::size_t index_ = 0;
  };

  Headers() = default;
  /// Builds the list from name/value pairs, in order.
  Headers(std::initializer_list<Field> fields) : fields_(fields) {}
  /// Copies every field, owned and borrowed; the copy owns them all.
  Headers(const Headers& other) : fields_(other.begin(), other.end()) {}
  /// Copies every field, owned and borrowed; the copy owns them all.
  Headers& operator=(const Headers& other) {
    if (this != &other) {
      fields_.assign(other.begin(), other.end());
      borrowed_ = {};
    }
    return *this;
  }
  /// Takes over the owned fields and the loan.
  Headers(Headers&& other) noexcept
      : fields_(std::move(other.fields_)), borrowed_(std::exchange(other.borrowed_, {})) {}
  /// Takes over the owned fields and the loan.
  Headers& operator=(Headers&& other) noexcept {
    fields_ = std::move(other.fields_);
    borrowed_ = std::exchange(other.borrowed_, {});
    return *this;
  }
  ~Headers() = default;

  /// The value of the first field named `name`, if any.
  [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const noexcept {
    for (const auto& [n, v] : *this) {
      if (detail::iequals(n, name)) return std::string_view{v};
    }
    return std::nullopt;
  }
  /// True when a field named `name` is present.
  [[nodiscard]] bool contains(std::string_view name) const noexcept {
    return get(name).has_value();
  }
  /// Replaces every owned field named `name` with one field holding `value`.
  void set(std::string_view name, std::string value) {
    erase(name);
    fields_.emplace_back(std::string{name}, std::move(value));
  }
  /// Appends a field, keeping any existing fields of the same name.
  void add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }
  /// Removes every owned field named `name`.
  void erase(std::string_view name) {
    std::erase_if(fields_, [&](const Field& f) { return detail::iequals(f.first, name); });
  }
  /// Borrows `fields`, which must outlive every use of this list until the next lend(); an
  /// empty span ends the loan.
  void lend(std::span<const Field> fields) noexcept { borrowed_ = fields; }
  /// The borrowed fields: those a credential's attacher lent (what a redirect to another origin
  /// must not carry).
  [[nodiscard]] std::span<const Field> lent() const noexcept { return borrowed_; }
  /// The first field.
  [[nodiscard]] const_iterator begin() const noexcept { return {this, 0}; }
  /// One past the last field.
  [[nodiscard]] const_iterator end() const noexcept { return {this, size()}; }
  /// The number of fields, owned and borrowed.
  [[nodiscard]] std::size_t size() const noexcept { return fields_.size() + borrowed_.size(); }

 private:
  [[nodiscard]] const Field& at(std::size_t i) const noexcept {
    return i < fields_.size() ? fields_[i] : borrowed_[i - fields_.size()];
  }

  std::vector<Field> fields_;
  std::span<const Field> borrowed_;
};

/// An HTTP request as the application builds it, before keyward attaches the credential.
struct Request {
  std::string method = "GET";  ///< The request method.
  std::string url{};           ///< The absolute URL, scheme included.
  Headers headers{};           ///< Header fields; keyward adds the credential's fields.
  std::string body{};          ///< The body, possibly empty.
  /// The most the whole exchange may take, for transports that honour it (the shipped ones do);
  /// zero leaves the transport's own total timeout.
  std::chrono::milliseconds timeout{0};
  /// Names of header fields that carry the application's own secrets (compared without regard
  /// to case). A redirect to another origin (scheme, host or port) that would carry one of them
  /// is refused with an error naming it: it is sent neither with the field nor without it.
  /// The credential's fields, `Authorization`, `Proxy-Authorization` and `Cookie` need no mark:
  /// they are removed on a change of origin and the redirect is followed (docs/http.md).
  std::vector<std::string> sensitive{};
  /// Whether a redirect to another origin may send the body again: a 307 or 308 keeps the method
  /// and body (RFC 9110), as does a 301 or 302 of a method other than POST; a 303, and a 301 or
  /// 302 after a POST, continue as a GET without it. False, the default: a redirect that would
  /// send the body to another origin is refused with an error saying so.
  bool body_to_other_origin = false;
};

/// An HTTP response: any status, including 4xx and 5xx, is a response and not a failure.
struct Response {
  int status = 0;      ///< The status code.
  Headers headers{};   ///< Header fields.
  std::string body{};  ///< The body (for a stream, what was read of it).
};

/// Why no response came back.
enum class TransportErrc : std::uint8_t {
  connect,    ///< No connection could be made (refused, DNS, unreachable).
  timeout,    ///< The request or the connection timed out.
  tls,        ///< The TLS handshake or certificate check failed.
  protocol,   ///< The peer sent something that is not HTTP, or closed mid-response.
  other,      ///< Anything else the transport reports.
  cancelled,  ///< The caller cancelled the exchange (an AsyncTransport, async_transport.hpp).
};

/// A request that got no HTTP response.
struct TransportFailure {
  TransportErrc kind = TransportErrc::other;  ///< What kind of failure.
  std::string message{};                      ///< The transport's own description.
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
    case TransportErrc::cancelled:
      return "cancelled";
    case TransportErrc::other:
      break;
  }
  return "other";
}

}  // namespace keyward
