// libFuzzer target for the URL check (detail/url.hpp): a credential may be sent to the URL exactly
// when the implementation it replaced said so, whether plain HTTP is allowed or not; and the
// scheme and host agree with it wherever the URL begins with a whole "scheme://" (a '/', '?', '#'
// or lone ':' before a later "://" no longer makes that "://" the end of a scheme).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "detail/url_reference.hpp"
#include "fuzz_check.hpp"
#include "keyward/detail/url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace detail = keyward::detail;
  using keyward::fuzz::require;
  const std::string_view url = keyward::fuzz::as_text(data, size);
  for (const bool insecure : {false, true}) {
    require(detail::url_allows_credentials(url, insecure) ==
            detail::url_reference::url_allows_credentials(url, insecure));
  }
  const std::string_view scheme = detail::url_scheme(url);
  if (!scheme.empty() || url.starts_with("://")) {
    require(scheme == detail::url_reference::url_scheme(url));
    require(detail::url_host(url) == detail::url_reference::url_host(url));
  }
  return 0;
}
