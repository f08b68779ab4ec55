// docs/guides/classifier.md: a custom Classifier that wraps classify::HttpStatus.
//
// An in-house API gateway speaks HTTP mostly as keyward expects, with two exceptions: it reports
// a revoked key as HTTP 200 with {"status":"error","code":"key_revoked"}, and a spent monthly
// quota as HTTP 403 with {"code":"quota_exceeded"}. The classifier below reads those two first
// and leaves every other response, and every transport failure, to classify::HttpStatus.
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "keyward/keyward.hpp"

class GatewayClassifier {
 public:
  GatewayClassifier() = default;
  explicit GatewayClassifier(keyward::classify::HttpStatus::Options options) : base_(options) {}

  // Must never throw, whatever the body holds: it only searches the body for fixed text.
  [[nodiscard]] keyward::Verdict classify(const keyward::Response& response,
                                          const keyward::ClassifyContext& context) const {
    keyward::Verdict verdict = base_.classify(response, context);
    if (context.endpoint != keyward::Endpoint::api) return verdict;  // token endpoints: RFC 6749
    const std::string_view body = response.body;
    if (response.status == 200 && body.find(R"("code":"key_revoked")") != std::string_view::npos) {
      set(verdict, keyward::VerdictKind::unauthenticated, "key_revoked",
          "the gateway revoked this key");
      verdict.fix = "ask the gateway team for a new key";
    } else if (response.status == 403 &&
               body.find(R"("code":"quota_exceeded")") != std::string_view::npos) {
      set(verdict, keyward::VerdictKind::quota_exhausted, "quota_exceeded",
          "the monthly quota is spent");
    }
    return verdict;
  }

  // No response came back: nothing gateway-specific to read.
  [[nodiscard]] keyward::Verdict classify(const keyward::TransportFailure& failure) const {
    return base_.classify(failure);
  }

 private:
  // A changed kind brings its scope and retryability with it; the wait and the request id that
  // HttpStatus read from the headers are kept.
  static void set(keyward::Verdict& verdict, keyward::VerdictKind kind, std::string code,
                  std::string message) {
    verdict.kind = kind;
    verdict.scope = keyward::default_scope(kind);
    verdict.retryable = keyward::default_retryable(kind);
    verdict.provider_code = std::move(code);
    verdict.message = std::move(message);
  }

  keyward::classify::HttpStatus base_;
};

static_assert(keyward::Classifier<GatewayClassifier>);

// Changing one role: derive from DefaultPolicies and replace its type.
struct GatewayPolicies : keyward::DefaultPolicies {
  using Classifier = GatewayClassifier;
};

// Fixed responses by URL; a shared map, so that copies of the transport see the same routes.
struct RoutesTransport {
  std::shared_ptr<const std::map<std::string, keyward::Response>> routes;

  keyward::TransportResult send(const keyward::Request& request) const {
    const auto found = routes->find(request.url);
    if (found == routes->end()) {
      return keyward::unexpected(
          keyward::TransportFailure{keyward::TransportErrc::connect, "no route"});
    }
    return found->second;
  }
};

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

}  // namespace

int run() {
  const std::string base = "https://gateway.example.com/v1/";
  const auto routes = std::make_shared<const std::map<std::string, keyward::Response>>(
      std::map<std::string, keyward::Response>{
          {base + "ok", {.status = 200, .headers = {}, .body = R"({"status":"ok"})"}},
          {base + "revoked",
           {.status = 200, .headers = {}, .body = R"({"status":"error","code":"key_revoked"})"}},
          {base + "quota", {.status = 403, .headers = {}, .body = R"({"code":"quota_exceeded"})"}},
          {base + "scope", {.status = 403, .headers = {}, .body = R"({"code":"not_allowed"})"}},
      });

  // A classifier is pure: it can be tried on responses directly.
  const GatewayClassifier classifier;
  const auto kind_of = [&](const std::string& path) {
    return classifier.classify(routes->at(base + path), {}).kind;
  };
  expect(kind_of("ok") == keyward::VerdictKind::ok, "200 status ok: ok");
  expect(kind_of("revoked") == keyward::VerdictKind::unauthenticated,
         "200 key_revoked: unauthenticated");
  expect(kind_of("quota") == keyward::VerdictKind::quota_exhausted,
         "403 quota_exceeded: quota_exhausted");
  expect(kind_of("scope") == keyward::VerdictKind::forbidden,
         "403 anything else: forbidden, as HttpStatus says");

  // Through a ResilientCredential: a revoked key waits for a person, with the classifier's fix.
  keyward::ResilientCredential<RoutesTransport, GatewayPolicies> revoked{
      RoutesTransport{routes},
      keyward::Credential::api_key("gw-example-key-0123456789abcdef"),
      {.profile = "gateway:revoked"}};
  auto first = revoked.send({.method = "GET", .url = base + "revoked"});
  expect(!first && first.error().code == keyward::Errc::needs_reauth,
         "a revoked key: Errc::needs_reauth");
  expect(!first && first.error().message.find("ask the gateway team") != std::string::npos,
         "the error carries the classifier's fix");
  if (!first) std::printf("  %s\n", first.error().message.c_str());

  // A spent quota cools the credential for the cooldown policy's quota window (5 h by default).
  keyward::ResilientCredential<RoutesTransport, GatewayPolicies> quota{
      RoutesTransport{routes},
      keyward::Credential::api_key("gw-example-key-abcdef0123456789"),
      {.profile = "gateway:quota"}};
  auto spent = quota.send({.method = "GET", .url = base + "quota"});
  expect(!spent && spent.error().code == keyward::Errc::cooling_down,
         "a spent quota: Errc::cooling_down");
  expect(quota.status().reason == keyward::VerdictKind::quota_exhausted,
         "status().reason is quota_exhausted");
  return failures == 0 ? 0 : 1;
}

int main() {
  try {
    return run();
  } catch (const std::exception& error) {  // e.g. an unusable credential given to a constructor
    std::fprintf(stderr, "error: %s\n", error.what());
  }
  return 1;
}
