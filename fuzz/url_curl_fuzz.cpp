// libFuzzer target comparing keyward's URL grammar (detail/url_parts.hpp) with libcurl's own
// parser: wherever keyward accepts a URL, libcurl's curl_url reads the same scheme, host and port
// from the same text (docs/http.md, "How URLs are judged").
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "support/curl_origin.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view url = keyward::fuzz::as_text(data, size);
  // keyward refuses any control character, NUL included, before libcurl's C-string API is used.
  keyward::fuzz::require(keyward::testing::curl_agrees(url));
  return 0;
}
