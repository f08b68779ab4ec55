// What the tests of the asynchronous transport on real servers share (tests/async/
// async_real_test.cpp, tests/transport/async_curl_test.cpp): a provider server on 127.0.0.1
// (support/http_servers.hpp) and the io_context the transport runs on.
#pragma once

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <functional>

#include "support/http_servers.hpp"

namespace keyward::testing {

/// A ProviderServer and an io_context, with a way to run the loop until something happened.
class ServerLoopTest : public ::testing::Test {
 protected:
  // Declared first: outlives the io_context and the transports' connections.
  ProviderServer server;
  asio::io_context io;

  /// Runs the loop until `done` holds (or 3 s pass, which fails the test that waits).
  void run_until(const std::function<bool()>& done) {
    using namespace std::chrono_literals;
    const auto give_up = std::chrono::steady_clock::now() + 3s;
    while (!done() && std::chrono::steady_clock::now() < give_up) io.run_one_for(50ms);
    io.restart();
  }
};

}  // namespace keyward::testing
