// Tests for keyward/detail/jwt.hpp and the base64url decoder it uses (keyward/detail/base64.hpp):
// RFC 4648 vectors and strictness, reading `exp` from tokens built here the way issuers build
// them, every rejection, and a fixed-seed mutation loop.

#include "keyward/detail/jwt.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "keyward/detail/base64.hpp"
#include "keyward/detail/text.hpp"

namespace keyward::detail {
namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;

// Encodes base64url (RFC 4648 section 5), without padding unless asked, as JWS does.
std::string b64url(std::string_view data, bool pad = false) {
  std::string out = base64_encode(data);
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!pad && !out.empty() && out.back() == '=') out.pop_back();
  return out;
}

constexpr std::string_view kRs256Header = R"({"alg":"RS256","typ":"JWT","kid":"k-2026-01"})";
// Any base64url bytes serve: nothing here checks them.
const std::string kSignature = b64url(std::string(256, '\x5A'));

std::string make_jwt(std::string_view payload, std::string_view header = kRs256Header,
                     std::string_view signature = kSignature) {
  return b64url(header) + "." + b64url(payload) + "." + std::string(signature);
}

// An access token shaped like those of the common OAuth issuers.
const std::string kAccessToken = make_jwt(
    R"({"iss":"https://auth.example.com/","sub":"user_2f8a","aud":["https://api.example.com"],)"
    R"("iat":1770202820,"exp":1770206420,"scope":"openid profile offline_access",)"
    R"("client_id":"app_EMoamEEZ73f0CkXaXp7hrann","name":"Jos\u00e9 \ud83d\ude00"})");

// jwt.io's well-known example: HS256, no exp claim.
constexpr std::string_view kJwtIoExample =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

std::optional<sys_seconds> expiry_of(std::string_view exp_json) {
  return jwt_expiry(make_jwt(R"({"sub":"u","exp":)" + std::string(exp_json) + "}"));
}

// ---- base64url ----

TEST(Base64UrlDecodeTest, DecodesRfc4648Vectors) {
  EXPECT_EQ(base64url_decode(""), "");
  EXPECT_EQ(base64url_decode("Zg"), "f");
  EXPECT_EQ(base64url_decode("Zm8"), "fo");
  EXPECT_EQ(base64url_decode("Zm9v"), "foo");
  EXPECT_EQ(base64url_decode("Zm9vYg"), "foob");
  EXPECT_EQ(base64url_decode("Zm9vYmE"), "fooba");
  EXPECT_EQ(base64url_decode("Zm9vYmFy"), "foobar");
}

TEST(Base64UrlDecodeTest, ToleratesCorrectPadding) {
  EXPECT_EQ(base64url_decode("Zg=="), "f");
  EXPECT_EQ(base64url_decode("Zm8="), "fo");
  EXPECT_EQ(base64url_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(base64url_decode("Zm9vYmE="), "fooba");
}

TEST(Base64UrlDecodeTest, UsesTheUrlSafeAlphabet) {
  EXPECT_EQ(base64url_decode("-_8"), "\xFB\xFF");
  EXPECT_EQ(base64url_decode("+/8"), std::nullopt);
  EXPECT_EQ(base64url_decode("AA"), std::string(1, '\0'));
}

TEST(Base64UrlDecodeTest, RoundTripsEveryByteAndLength) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  for (std::size_t n = 0; n <= all.size(); ++n) {
    const std::string_view data = std::string_view(all).substr(256 - n);
    EXPECT_EQ(base64url_decode(b64url(data)), data) << n;
    EXPECT_EQ(base64url_decode(b64url(data, true)), data) << n;
  }
}

TEST(Base64UrlDecodeTest, RejectsImpossibleLengthsAndWrongPadding) {
  for (const std::string_view text :
       {"Z", "Zm9vY", "Zg=", "Zg===", "Zm9v=", "Zm9v==", "Zm8==", "Z===", "=", "==", "====", "Zg=g",
        "Z=g=", "Zg==Zg==", "Zm9vYmE==", "Zm9vYmFy===="}) {
    EXPECT_EQ(base64url_decode(text), std::nullopt) << text;
  }
}

TEST(Base64UrlDecodeTest, RejectsNonZeroBitsAfterTheLastByte) {
  // "Zg" and "Zh" would both decode to "f"; only the canonical spelling is accepted.
  EXPECT_EQ(base64url_decode("Zh"), std::nullopt);
  EXPECT_EQ(base64url_decode("Zh=="), std::nullopt);
  EXPECT_EQ(base64url_decode("Zm9"), std::nullopt);
  EXPECT_EQ(base64url_decode("Zm9vYmF"), std::nullopt);
}

TEST(Base64UrlDecodeTest, RejectsBytesOutsideTheAlphabet) {
  for (const std::string_view text :
       {"Zm9v Yg", "Zm9v\nYg", " Zm9v", "Zm9v\t", "Zm9v.Yg", "Zm9v*Yg", "Zm9v\xC3\xA9"}) {
    EXPECT_EQ(base64url_decode(text), std::nullopt) << text;
  }
  EXPECT_EQ(base64url_decode(std::string_view("Zm9\0", 4)), std::nullopt);
}

// ---- looks_like_jwt ----

TEST(LooksLikeJwtTest, AcceptsCompactJwsTokens) {
  EXPECT_TRUE(looks_like_jwt(kJwtIoExample));
  EXPECT_TRUE(looks_like_jwt(kAccessToken));
  EXPECT_TRUE(looks_like_jwt(make_jwt("{}")));
  // An unsecured JWS ("alg":"none") has an empty signature (RFC 7519 section 6.1).
  EXPECT_TRUE(looks_like_jwt(make_jwt(R"({"exp":1})", R"({"alg":"none"})", "")));
}

TEST(LooksLikeJwtTest, RejectsProviderApiKeysAndOpaqueTokens) {
  for (const std::string_view text :
       {"", "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789",
        "sk-ant-oat01-abcdefghijklmnopqrstuvwxyz0123456789",
        "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789", "AIzaSyA1234567890abcdefghijklmnopqrstu",
        "ya29.a0AfH6SMBx-abcdefghijklmnop", "1//0gabcdefghijklmnop", "abc.def.ghi", "..", "."}) {
    EXPECT_FALSE(looks_like_jwt(text)) << text;
  }
}

TEST(LooksLikeJwtTest, NeedsExactlyThreeSegments) {
  const std::string header = b64url(kRs256Header);
  const std::string payload = b64url(R"({"exp":1770206420})");
  EXPECT_TRUE(looks_like_jwt(header + "." + payload + "." + kSignature));
  EXPECT_FALSE(looks_like_jwt(header));
  EXPECT_FALSE(looks_like_jwt(header + "." + payload));
  EXPECT_FALSE(looks_like_jwt(header + "." + payload + "." + kSignature + "."));
  EXPECT_FALSE(looks_like_jwt(header + "." + payload + "." + kSignature + "." + kSignature));
  // A JWE compact serialization has five segments.
  EXPECT_FALSE(looks_like_jwt(header + ".." + payload + "." + kSignature + "." + kSignature));
  EXPECT_FALSE(looks_like_jwt("." + header + "." + payload + "." + kSignature));
}

TEST(LooksLikeJwtTest, NeedsAJsonObjectHeaderWithAnAlgString) {
  EXPECT_FALSE(looks_like_jwt(make_jwt("{}", R"({"typ":"JWT"})")));
  EXPECT_FALSE(looks_like_jwt(make_jwt("{}", R"({"alg":256})")));
  EXPECT_FALSE(looks_like_jwt(make_jwt("{}", R"({"alg":null})")));
  EXPECT_FALSE(looks_like_jwt(make_jwt("{}", R"(["alg","RS256"])")));
  EXPECT_FALSE(looks_like_jwt(make_jwt("{}", R"({"alg":"RS256")")));
  EXPECT_FALSE(looks_like_jwt(make_jwt("{}", "")));
}

TEST(LooksLikeJwtTest, NeedsAJsonObjectPayload) {
  for (const std::string_view payload :
       {"", "null", "[]", "1770206420", R"("exp")", R"({"exp":1)", R"({"exp":1}x)", "{'exp':1}",
        "\xEF\xBB\xBF{}", "{\"a\":\"\xC3\"}"}) {
    EXPECT_FALSE(looks_like_jwt(make_jwt(payload))) << payload;
  }
}

TEST(LooksLikeJwtTest, NeedsBase64UrlSegments) {
  const std::string header = b64url(kRs256Header);
  const std::string payload = b64url(R"({"exp":1770206420})");
  EXPECT_FALSE(looks_like_jwt(header + "." + payload + ".abc+def/"));
  EXPECT_FALSE(looks_like_jwt(header + "." + payload + ".a"));
  EXPECT_FALSE(looks_like_jwt(header + " ." + payload + "." + kSignature));
  EXPECT_FALSE(looks_like_jwt(" " + kAccessToken));
  EXPECT_FALSE(looks_like_jwt(kAccessToken + "\n"));
  EXPECT_FALSE(looks_like_jwt("Bearer " + kAccessToken));
}

// ---- jwt_expiry ----

TEST(JwtExpiryTest, ReadsExpOfARealisticAccessToken) {
  EXPECT_EQ(jwt_expiry(kAccessToken), sys_seconds{seconds{1770206420}});
}

TEST(JwtExpiryTest, HasNoExpiryWithoutAnExpClaim) {
  EXPECT_EQ(jwt_expiry(kJwtIoExample), std::nullopt);
  EXPECT_EQ(jwt_expiry(make_jwt("{}")), std::nullopt);
  // Only the top-level claim counts.
  EXPECT_EQ(jwt_expiry(make_jwt(R"({"ext":{"exp":1770206420}})")), std::nullopt);
  EXPECT_EQ(jwt_expiry(make_jwt(R"({"EXP":1770206420})")), std::nullopt);
}

TEST(JwtExpiryTest, ToleratesPaddedSegments) {
  const std::string token = b64url(kRs256Header, true) + "." +
                            b64url(R"({"exp":1770206420})", true) + "." + b64url("sig!", true);
  EXPECT_NE(token.find('='), std::string::npos);
  EXPECT_EQ(jwt_expiry(token), sys_seconds{seconds{1770206420}});
}

TEST(JwtExpiryTest, ReadsUnsecuredTokens) {
  EXPECT_EQ(jwt_expiry(make_jwt(R"({"exp":1300819380})", R"({"alg":"none"})", "")),
            sys_seconds{seconds{1300819380}});
}

TEST(JwtExpiryTest, RoundsFractionalSecondsDown) {
  EXPECT_EQ(expiry_of("1770206420.75"), sys_seconds{seconds{1770206420}});
  EXPECT_EQ(expiry_of("1770206420.0"), sys_seconds{seconds{1770206420}});
  EXPECT_EQ(expiry_of("1.770206420e9"), sys_seconds{seconds{1770206420}});
  EXPECT_EQ(expiry_of("0.5"), sys_seconds{});
}

TEST(JwtExpiryTest, AcceptsTheWholeNonNegativeRange) {
  EXPECT_EQ(expiry_of("0"), sys_seconds{});
  EXPECT_EQ(expiry_of("-0"), sys_seconds{});
  EXPECT_EQ(expiry_of("253402300799"), sys_seconds{seconds{253402300799}});  // 9999-12-31
  EXPECT_EQ(expiry_of("9000000000000000000"), sys_seconds{seconds{9000000000000000000}});
}

TEST(JwtExpiryTest, SaturatesHugeValues) {
  EXPECT_EQ(expiry_of("9223372036854775807"), sys_seconds::max());  // rounds to 2^63 as a double
  EXPECT_EQ(expiry_of("1e19"), sys_seconds::max());
  EXPECT_EQ(expiry_of("1.7976931348623157e308"), sys_seconds::max());
}

TEST(JwtExpiryTest, RejectsNegativeAndNonNumericExp) {
  for (const std::string_view exp : {"-1", "-0.5", "-1e308", R"("1770206420")", "null", "true",
                                     "false", "[1770206420]", R"({"value":1770206420})", R"("")"}) {
    EXPECT_EQ(expiry_of(exp), std::nullopt) << exp;
  }
  // JSON itself has no NaN or Infinity, and numbers that overflow a double are not JSON here.
  for (const std::string_view exp : {"NaN", "Infinity", "1e400", "0x10", "01", "1."}) {
    EXPECT_EQ(expiry_of(exp), std::nullopt) << exp;
  }
}

TEST(JwtExpiryTest, RejectsDuplicateExpClaims) {
  EXPECT_EQ(jwt_expiry(make_jwt(R"({"exp":1,"exp":1770206420})")), std::nullopt);
  EXPECT_EQ(jwt_expiry(make_jwt(R"({"exp":1770206420,"sub":"u","exp":1770206420})")), std::nullopt);
}

TEST(JwtExpiryTest, RejectsWhatIsNotAJwt) {
  EXPECT_EQ(jwt_expiry(""), std::nullopt);
  EXPECT_EQ(jwt_expiry("sk-ant-oat01-abcdefghijklmnopqrstuvwxyz0123456789"), std::nullopt);
  EXPECT_EQ(jwt_expiry(b64url(R"({"exp":1770206420})")), std::nullopt);
  EXPECT_EQ(jwt_expiry("." + b64url(R"({"exp":1770206420})") + "."), std::nullopt);
  EXPECT_EQ(jwt_expiry(make_jwt(R"({"exp":1770206420})", R"({"typ":"JWT"})")), std::nullopt);
  EXPECT_EQ(jwt_expiry(make_jwt(R"({"exp":1770206420})") + ".x"), std::nullopt);
  EXPECT_EQ(jwt_expiry(make_jwt(R"({"exp":1770206420})", kRs256Header, "%%%")), std::nullopt);
  EXPECT_EQ(jwt_expiry(make_jwt(R"(exp=1770206420)")), std::nullopt);
}

TEST(JwtExpiryTest, IsOnlyAsTrustworthyAsThePayload) {
  // Anyone can mint a token with any exp: the signature below is garbage and still accepted,
  // which is why the result is only used to refuse tokens that have already expired.
  EXPECT_EQ(jwt_expiry(make_jwt(R"({"exp":4102444800})", kRs256Header, "Zm9yZ2Vk")),
            sys_seconds{seconds{4102444800}});
}

TEST(JwtExpiryTest, SurvivesRandomMutations) {
  std::mt19937 rng(7519u);
  const std::string base = kAccessToken;
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string token = base;
    const std::size_t edits = 1 + rng() % 3;
    for (std::size_t e = 0; e < edits; ++e) {
      const std::size_t at = rng() % token.size();
      switch (rng() % 3) {
        case 0:
          token[at] = static_cast<char>(rng() % 256);
          break;
        case 1:
          token.erase(at, 1 + rng() % 4);
          break;
        default:
          token.insert(at, 1, "AZaz09-_.="[rng() % 10]);
      }
      if (token.empty()) token = ".";
    }
    const std::optional<sys_seconds> exp = jwt_expiry(token);
    if (exp) {
      ++accepted;
      EXPECT_GE(*exp, sys_seconds{}) << token;
      EXPECT_TRUE(looks_like_jwt(token)) << token;
    }
  }
  // Edits inside the signature keep the token valid, so some mutants must still parse.
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace keyward::detail
