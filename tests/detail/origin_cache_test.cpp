// OriginCache answers exactly as url_allows_credentials() does, whatever origin it remembered.
#include "keyward/detail/origin_cache.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace keyward::detail {
namespace {

const std::vector<std::string> kUrls = {
    "https://api.anthropic.com/v1/messages",
    "https://api.anthropic.com",
    "https://api.anthropic.com?x=1",
    "https://api.anthropic.com#f",
    "https://api.anthropic.com.evil.test/v1",
    "https://api.anthropic.com@evil.test/v1",
    "https://api.anthropic.com:8443/v1",
    "http://api.anthropic.com/v1",
    "http://127.0.0.1:8080/v1",
    "http://127.0.0.1:8080.evil.test/v1",
    "http://localhost/v1",
    "ftp://api.anthropic.com/",
    "https:/api.anthropic.com/",
    "https://",
    "",
};

TEST(OriginCacheTest, AnswersAsTheFullCheckAfterRememberingAnyOrigin) {
  for (const bool insecure : {false, true}) {
    for (const std::string& primer : kUrls) {
      OriginCache cache{insecure};
      static_cast<void>(cache.allows(primer));
      for (const std::string& url : kUrls) {
        EXPECT_EQ(cache.allows(url), url_allows_credentials(url, insecure))
            << "primed with '" << primer << "', asked '" << url << "'";
      }
    }
  }
}

TEST(OriginCacheTest, ARefusedUrlIsNeverRemembered) {
  OriginCache cache{false};
  EXPECT_FALSE(cache.allows("http://api.example.test/v1"));
  EXPECT_FALSE(cache.allows("http://api.example.test/v1"));
  EXPECT_TRUE(cache.allows("https://api.example.test/v1"));
  EXPECT_FALSE(cache.allows("http://api.example.test/v1"));
}

}  // namespace
}  // namespace keyward::detail
