// Streaming: a response decided on its status line and headers before its body is read.
//
// A StreamingTransport takes, besides the request, a StreamHandler. It calls on_head() once, with
// the status and the header fields, before it reads a byte of the body; on_head() answers whether
// the body is to flow to on_body() as it arrives (a success the caller wants to see now) or to be
// collected into the returned Response's body (an error document, which keyward classifies, or a
// response it will not deliver). The returned Response then holds the status, the headers and the
// collected body, or no body when it flowed to on_body().
//
// Both shipped transports (transport/curl.hpp, transport/httplib.hpp) are streaming transports.
#pragma once

#include <concepts>
#include <string_view>

#include "keyward/transport.hpp"

namespace keyward {

/// Receives a streamed response: its head first, then, if asked for, its body as it arrives.
class StreamHandler {
 public:
  StreamHandler() = default;
  StreamHandler(const StreamHandler&) = delete;
  StreamHandler& operator=(const StreamHandler&) = delete;
  StreamHandler(StreamHandler&&) = delete;
  StreamHandler& operator=(StreamHandler&&) = delete;
  virtual ~StreamHandler() = default;

  /// Called once with the status and headers (`head.body` is empty) before any byte of the body:
  /// true to receive the body through on_body(), false to have it collected into the Response.
  virtual bool on_head(const Response& head) = 0;
  /// A piece of the body, as it arrived; false stops the transfer: send() then returns the
  /// response (status and headers) and closes its connection.
  virtual bool on_body(std::string_view bytes) = 0;
};

/// A Transport that can also send a request whose response is decided before its body is read.
template <class T>
concept StreamingTransport = Transport<T> &&
    requires(T& transport, const Request& request, StreamHandler& handler) {
  { transport.send(request, handler) } -> std::same_as<TransportResult>;
};

}  // namespace keyward
