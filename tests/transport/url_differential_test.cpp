// keyward's URL grammar against libcurl's own parser (docs/http.md, "How URLs are judged"):
// wherever keyward accepts a URL, libcurl's curl_url reads the same scheme, host and port from the
// same text, so the origin keyward judged is the one libcurl would connect to.
#if defined(KEYWARD_TEST_CURL)

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "keyward/detail/url_parts.hpp"
#include "support/curl_origin.hpp"

namespace keyward::testing {
namespace {

// The tricky URLs: backslashes, controls, userinfo, IPv6 literals, percent-encoding in the host,
// non-ASCII hosts, edge ports, dots, '@' after the authority, '#' and '?' right after the host,
// upper case, empty ports.
constexpr std::string_view kCorpus[] = {
    "https://api.example.com/v1",
    "https://api.example.com\\@evil.example/",
    "http://127.0.0.1\\@evil.example/v1",
    "https://api.example.com\\evil.example/",
    "https:\\\\api.example.com/",
    "https://api.example.com/\\@evil.example/",
    "https://\\api.example.com/",
    "https://api.example.com\t/v1",
    "https://api.exa\tmple.com/v1",
    "https://api.example.com\n@evil.example/",
    "https://api.example.com\r/v1",
    "https://api.example.com /v1",
    " https://api.example.com/",
    "https://api.example.com/ ",
    "https://user@api.example.com/",
    "https://user:pass@api.example.com/",
    "https://@api.example.com/",
    "https://api.example.com@evil.example/",
    "https://api.example.com:443@evil.example/",
    "https://a@b@evil.example/",
    "https://[::1]/v1",
    "http://[::1]:8080/v1",
    "https://[::1]",
    "https://[::1/v1",
    "https://::1/v1",
    "https://[fe80::1%25eth0]/",
    "https://[::ffff:127.0.0.1]/",
    "http://[0:0:0:0:0:0:0:1]:80/",
    "https://[v1.x]/",
    "https://%2e/",
    "https://api%2eexample.com/",
    "https://api.example.com%40evil.example/",
    "https://api.example.com%2F@evil.example/",
    "https://%61pi.example.com/",
    "https://api.ex%00ample.com/",
    "https://b\xc3\xbc"
    "cher.example/",
    "https://xn--bcher-kva.example/",
    "https://\xef\xbc\xa1pi.example.com/",
    "https://api.example.com:0/",
    "https://api.example.com:1/",
    "https://api.example.com:65535/",
    "https://api.example.com:65536/",
    "https://api.example.com:99999999999999999999/",
    "https://api.example.com:-1/",
    "https://api.example.com:+443/",
    "https://api.example.com:0443/",
    "https://api.example.com: 443/",
    "https://api.example.com:443a/",
    "https://api.example.com:/",
    "https://api.example.com:",
    "http://127.0.0.1:/v1",
    "https://api.example.com./",
    "https://.api.example.com/",
    "https://api..example.com/",
    "https://./",
    "https://../",
    "https://api.example.com/a@evil.example",
    "https://api.example.com/?@evil.example",
    "https://api.example.com?@evil.example/",
    "https://api.example.com#@evil.example/",
    "https://api.example.com/#@evil.example",
    "https://api.example.com?x=1",
    "https://api.example.com#frag",
    "https://api.example.com?",
    "https://api.example.com#",
    "HTTPS://API.EXAMPLE.COM/v1",
    "HtTp://LocalHost:8080/v1",
    "HTTP://127.0.0.1/v1",
    "https://API.Example.Com:443/",
    "https:///api.example.com/",
    "https:/api.example.com/",
    "https:api.example.com/",
    "https://",
    "https:///",
    "http://127.0.0.1:8080/token",
    "http://127.1/",
    "http://0x7f.0.0.1/",
    "http://2130706433/",
    "http://127.0.0.1.evil.example/",
    "http://localhost.evil.example/",
    "https://api.example.com;evil.example/",
    "https://api.example.com,evil.example/",
    "https://api_example.com/",
    "https://api.example.com\x7f/",
    "ftp://api.example.com/",
    "file:///etc/passwd",
    "api.example.com/v1",
    "//api.example.com/v1",
};

TEST(UrlDifferentialTest, WhereKeywardAcceptsAUrlLibcurlReadsTheSameOrigin) {
  int accepted = 0;
  for (const std::string_view url : kCorpus) {
    const auto parts = detail::split_url(url);
    if (!parts) continue;
    ++accepted;
    const auto curl = curl_origin(std::string{url});
    ASSERT_TRUE(curl.has_value()) << "libcurl refuses what keyward accepts: " << url;
    EXPECT_TRUE(detail::iequals(curl->scheme, parts->https ? "https" : "http")) << url;
    EXPECT_TRUE(same_host(curl->host, parts->host))
        << url << ": keyward " << parts->host << ", libcurl " << curl->host;
    EXPECT_EQ(curl->port, std::to_string(parts->port)) << url;
  }
  // The corpus is not only refusals: the comparison ran on a fair share of it.
  EXPECT_GE(accepted, 20);
}

TEST(UrlDifferentialTest, TheBackslashTricksAreRefusedByKeyward) {
  for (const std::string_view url :
       {"https://api.example.com\\@evil.example/", "http://127.0.0.1\\@evil.example/v1"}) {
    EXPECT_FALSE(detail::split_url(url).has_value()) << url;
    EXPECT_FALSE(detail::split_url_problem(url).empty()) << url;
  }
}

}  // namespace
}  // namespace keyward::testing

#endif  // KEYWARD_TEST_CURL
