// libFuzzer target for every classifier: the generic HttpStatus and each provider's.
//
// Input: a selector byte (classifier, endpoint, credential kind), two bytes of status, then
// header lines "name: value" up to a blank line, then the body. Invariants every classifier must
// keep: it never crashes or throws; the scope is the one its kind implies; a wait is never
// negative nor above the one-hour cap. A 2xx from an API is ok and carries no text (code,
// message, request id, fix), unless it is an event stream (by its content type) with an error
// event and the classifier reads streams (the provider classifiers do; HttpStatus and Rfc6750 do
// not): then it is not ok. And the one-pass stream reader finds the error event the reader it
// replaced found, in any body.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "classify/sse_reference.hpp"
#include "fuzz_check.hpp"
#include "keyward/classify/anthropic.hpp"
#include "keyward/classify/error_document.hpp"
#include "keyward/classify/google.hpp"
#include "keyward/classify/http_status.hpp"
#include "keyward/classify/openai.hpp"
#include "keyward/classify/rfc6750.hpp"

namespace {

using keyward::fuzz::require;

template <class C>
void check(const keyward::Response& response, const keyward::ClassifyContext& context,
           bool reads_streams) {
  const keyward::Verdict verdict = C{}.classify(response, context);
  require(verdict.scope == keyward::default_scope(verdict.kind));
  if (verdict.retry_after) {
    require(verdict.retry_after->count() >= 0);
    require(*verdict.retry_after <= std::chrono::hours{1});
  }
  const bool success = response.status >= 200 && response.status < 300;
  if (!success || context.endpoint != keyward::Endpoint::api) return;
  const bool stream_error = reads_streams && keyward::classify::is_event_stream(response) &&
                            keyward::classify::sse_error_data(response.body).has_value();
  if (stream_error) {
    require(verdict.kind != keyward::VerdictKind::ok);
  } else {
    require(verdict.kind == keyward::VerdictKind::ok);
    require(verdict.provider_code.empty() && verdict.message.empty() &&
            verdict.request_id.empty() && verdict.fix.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::uint8_t selector = data[0];
  keyward::Response response;
  response.status = 100 + (data[1] << 8 | data[2]) % 500;
  std::string_view rest = keyward::fuzz::as_text(data + 3, size - 3);
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    if (line.empty()) break;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    response.headers.add(std::string{line.substr(0, colon)},
                         std::string{keyward::detail::trim_ows(line.substr(colon + 1))});
  }
  response.body = std::string{rest};
  const keyward::ClassifyContext context{
      .endpoint = (selector & 8U) != 0 ? keyward::Endpoint::token : keyward::Endpoint::api,
      .now = keyward::TimePoint{std::chrono::seconds{1'770'206'400}},
      .credential = (selector & 16U) != 0 ? keyward::CredentialKind::oauth
                                          : keyward::CredentialKind::api_key};
  switch (selector % 5) {
    case 0:
      check<keyward::classify::HttpStatus>(response, context, false);
      break;
    case 1:
      check<keyward::classify::Anthropic>(response, context, true);
      break;
    case 2:
      check<keyward::classify::OpenAI>(response, context, true);
      break;
    case 3:
      check<keyward::classify::Google>(response, context, true);
      break;
    default:
      check<keyward::classify::Rfc6750>(response, context, false);
      break;
  }
  require(keyward::classify::sse_error_data(response.body) ==
          keyward::testing::sse_reference::sse_error_data(response.body));
  return 0;
}
