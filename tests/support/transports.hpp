// The shipped transports the real-HTTP tests run against (those whose library was found), with
// the short timeouts those tests use.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "keyward/transport/options.hpp"
#ifdef KEYWARD_TEST_CURL
#include "keyward/transport/curl.hpp"
#endif
#ifdef KEYWARD_TEST_HTTPLIB
#include "keyward/transport/httplib.hpp"
#endif

namespace keyward::testing {

/// Timeouts of a few hundred milliseconds and a 1 MiB body bound: a fault costs little time.
inline transport::HttpOptions test_http_options() {
  return {.connect_timeout = std::chrono::milliseconds{300},
          .timeout = std::chrono::milliseconds{400},
          .max_body_bytes = std::size_t{1} << 20U};
}

/// A transport of type T with test_http_options().
template <class T>
T make_transport(transport::HttpOptions options = test_http_options()) {
  return T{std::move(options)};
}

/// Every transport built here.
using TransportTypes = ::testing::Types<
#ifdef KEYWARD_TEST_CURL
    transport::Curl,
#endif
#ifdef KEYWARD_TEST_HTTPLIB
    transport::Httplib
#endif
    >;

/// "curl" and "httplib" as test names.
struct TransportNames {
  template <class T>
  static std::string GetName(int /*index*/) {
#ifdef KEYWARD_TEST_CURL
    if constexpr (std::is_same_v<T, transport::Curl>) return "curl";
#endif
    return "httplib";
  }
};

}  // namespace keyward::testing
