// libFuzzer target for keyward/detail/scrub.hpp.
//
// Input: the first bytes make a secret (one length byte, then one byte per character, mapped to
// the characters tokens are made of plus the space, quote and backslash that the encodings
// change); the rest is a program that builds a text: raw filler bytes, and copies of the secret
// reshaped at random (one of the forms keyward writes it in, all of it or a run of 12 bytes or
// more, upper- or lower-cased or mixed, whitespace and line breaks inserted).
// Invariant: after scrub_secrets, and after clean_and_scrub, no run of 12 bytes of any form of
// the secret remains, compared without regard to ASCII case and with whitespace dropped (except
// a run that lies inside a provider's published prefix, which fingerprints show).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "keyward/detail/known_prefixes.hpp"
#include "keyward/detail/scrub.hpp"
#include "keyward/detail/text.hpp"

namespace {

using keyward::fuzz::require;
namespace kd = keyward::detail;

constexpr std::size_t kRun = 12;
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/ \"\\";
constexpr std::string_view kSpaces = " \t\r\n\v\f";

// Reads bytes off the front of the input; 0 once it is used up.
struct Reader {
  std::string_view data;
  unsigned char next() {
    if (data.empty()) return 0;
    const auto c = static_cast<unsigned char>(data.front());
    data.remove_prefix(1);
    return c;
  }
};

std::string fold(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (kSpaces.find(c) != std::string_view::npos) continue;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

// The forms keyward writes a secret in (docs/http.md, "Scrubbing").
std::vector<std::string> forms_of(std::string_view secret) {
  std::vector<std::string> forms{std::string{secret}};
  std::string form;
  kd::append_form_encoded(form, secret);
  std::string url;
  for (const char c : form) url += c == '+' ? std::string{"%20"} : std::string(1, c);
  std::string json;
  kd::append_json_string(json, secret);
  forms.push_back(form);
  forms.push_back(url);
  forms.push_back(json.substr(1, json.size() - 2));
  return forms;
}

// How many folded bytes at the front of `form` are a published prefix.
std::size_t public_prefix(std::string_view folded_form) {
  for (const kd::KnownPrefix& known : kd::kKnownPrefixes) {
    if (folded_form.starts_with(fold(known.prefix))) return known.prefix.size();
  }
  return 0;
}

void require_no_run(std::string_view text, const std::vector<std::string>& forms) {
  const std::string folded_text = fold(text);
  for (const std::string& form : forms) {
    const std::string f = fold(form);
    const std::size_t shown = public_prefix(f);
    for (std::size_t i = 0; i + kRun <= f.size(); ++i) {
      if (i + kRun <= shown) continue;
      require(folded_text.find(std::string_view{f}.substr(i, kRun)) == std::string::npos);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader in{keyward::fuzz::as_text(data, size)};
  std::string secret;
  const std::size_t length = kRun + in.next() % 40U;
  for (std::size_t i = 0; i < length; ++i)
    secret.push_back(kAlphabet[in.next() % kAlphabet.size()]);
  const std::vector<std::string> forms = forms_of(secret);

  std::string text;
  while (!in.data.empty() && text.size() < 1U << 14U) {
    const unsigned char op = in.next();
    if (op % 2U == 0U) {  // filler: the next op / 2 % 32 bytes as they are
      for (std::size_t n = op / 2U % 32U; n > 0 && !in.data.empty(); --n) {
        text.push_back(static_cast<char>(in.next()));
      }
      continue;
    }
    const std::string& form = forms[(op >> 1U) % forms.size()];
    std::string piece = form;
    if ((op & 0x08U) != 0U && form.size() > kRun) {  // a run of 12 bytes or more
      const std::size_t begin = in.next() % (form.size() - kRun + 1);
      const std::size_t len = kRun + in.next() % (form.size() - begin - kRun + 1);
      piece = form.substr(begin, len);
    }
    const unsigned char shape = in.next();
    for (char& c : piece) {  // 0: as is, 1: upper, 2: lower, 3: mixed by the input
      const unsigned mode = shape % 4U;
      const bool up = mode == 1U || (mode == 3U && (in.next() & 1U) != 0U);
      if (up && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (mode == 2U && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    for (unsigned breaks = shape / 4U % 4U; breaks > 0 && !piece.empty(); --breaks) {
      const std::size_t at = in.next() % piece.size();
      piece.insert(at, std::string(1 + in.next() % 2U, kSpaces[in.next() % kSpaces.size()]));
    }
    text += piece;
  }

  const std::array<std::string_view, 1> secrets{secret};
  require_no_run(kd::scrub_secrets(text, secrets), forms);
  require_no_run(kd::clean_and_scrub(text, secrets, 64 + in.next() * 4U), forms);
  return 0;
}
