// Built by CMakeLists.txt for each transport target an installed keyward offers: the transport's
// header compiles and its library links.
#if defined(KEYWARD_IMPORT_ASYNC_CURL)
#include <asio/io_context.hpp>
#include <keyward/transport/async_curl.hpp>
#elif defined(KEYWARD_IMPORT_CURL)
#include <keyward/transport/curl.hpp>
using Transport = keyward::transport::Curl;
#else
#include <keyward/transport/httplib.hpp>
using Transport = keyward::transport::Httplib;
#endif

int main() {
#ifdef KEYWARD_IMPORT_ASYNC_CURL
  asio::io_context io;
  keyward::transport::AsyncCurl transport{io.get_executor(), {.max_idle_connections = 1}};
#else
  Transport transport{{.max_idle_connections = 1}};
#endif
  return transport.options().max_idle_connections == 1 ? 0 : 1;
}
