// The `keyward` command-line tool: classify a response, or check a credential before first use.
//
//   keyward classify [--provider P] [--now TIME] FILE|-
//   keyward validate --provider P --kind K < credential
//   keyward --help
//
// Exit codes: 0 done (classify printed a verdict; validate found nothing wrong), 1 validate found
// problems, 2 usage error, 3 unreadable or malformed input.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/providers.hpp"
#include "cli/response_file.hpp"
#include "keyward/credential.hpp"
#include "keyward/detail/text.hpp"

namespace {

constexpr int kOk = 0;
constexpr int kFindings = 1;
constexpr int kUsage = 2;
constexpr int kBadInput = 3;

constexpr std::string_view kHelp =
    R"(keyward: classify HTTP responses and check credentials, as the keyward library does.

usage:
  keyward classify [--provider P] [--now TIME] FILE|-
      Reads one response file (JSON: {"provider", "endpoint", "credential", "now",
      "response": {"status", "headers", "body"}}, the format of keyward's test fixtures) from
      FILE or standard input, and prints its verdict as one JSON line:
      {"kind", "scope", "retryable", "retry_after_ms", "provider_code", "message",
       "request_id", "fix"}.
      --provider P   anthropic, openai, google, rfc6750 or generic (default: the file's
                     "provider", else generic)
      --now TIME     the time the response was received, RFC 3339 (default: the file's
                     "now", else the current time); dates in Retry-After are relative to it

  keyward validate --provider P --kind K
      Reads one credential from standard input (a trailing newline is ignored) and prints
      the pre-flight findings as one JSON line: {"ok": bool, "findings": [{"code",
      "message"}]}. The credential itself is never printed.
      --provider P   anthropic, openai, google, rfc6750 or generic
      --kind K       api_key, bearer_token or oauth (an OAuth access token)

exit codes:
  0  classify printed a verdict; validate found nothing wrong
  1  validate found problems
  2  usage error
  3  unreadable or malformed input
)";

int usage(const std::string& problem) {
  std::cerr << "keyward: " << problem << "\nRun 'keyward --help' for usage.\n";
  return kUsage;
}

std::optional<std::string> read_all(const std::string& path) {
  if (path == "-") {
    return std::string{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int classify(const std::vector<std::string>& args) {
  std::optional<std::string> provider;
  std::optional<keyward::TimePoint> now;
  std::optional<std::string> path;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if ((arg == "--provider" || arg == "--now") && i + 1 == args.size()) {
      return usage(arg + " needs a value");
    }
    if (arg == "--provider") {
      provider = args[++i];
    } else if (arg == "--now") {
      now = keyward::cli::parse_time(args[++i]);
      if (!now) return usage("--now needs an RFC 3339 time such as 2026-02-04T12:00:00Z");
    } else if (arg.size() > 1 && arg[0] == '-') {
      return usage("unknown option " + arg);
    } else if (path) {
      return usage("classify reads one file");
    } else {
      path = arg;
    }
  }
  if (!path) return usage("classify needs a FILE, or - for standard input");
  const auto text = read_all(*path);
  if (!text) {
    std::cerr << "keyward: cannot read " << *path << "\n";
    return kBadInput;
  }
  auto file = keyward::cli::parse_response_file(*text);
  if (!file) {
    std::cerr << "keyward: " << (*path == "-" ? "standard input" : *path)
              << " is not a response file: " << file.error() << "\n";
    return kBadInput;
  }
  if (now) file->now = now;
  const std::string name = provider.value_or(file->provider);
  const auto verdict = keyward::cli::classify(
      name, file->response, keyward::cli::context_of(*file, std::chrono::system_clock::now()));
  if (!verdict) return usage("unknown provider '" + name + "'");
  std::cout << keyward::cli::verdict_json(*verdict) << "\n";
  return kOk;
}

int validate(const std::vector<std::string>& args) {
  std::optional<std::string> provider;
  std::optional<keyward::CredentialKind> kind;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if ((arg == "--provider" || arg == "--kind") && i + 1 == args.size()) {
      return usage(arg + " needs a value");
    }
    if (arg == "--provider") {
      provider = args[++i];
    } else if (arg == "--kind") {
      const std::string& k = args[++i];
      if (k == "api_key") kind = keyward::CredentialKind::api_key;
      if (k == "bearer_token") kind = keyward::CredentialKind::bearer_token;
      if (k == "oauth") kind = keyward::CredentialKind::oauth;
      if (!kind) return usage("--kind must be api_key, bearer_token or oauth");
    } else {
      return usage("unknown argument " + arg);
    }
  }
  if (!provider || !kind) return usage("validate needs --provider and --kind");
  std::string secret{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  // One trailing newline is how a shell or a file ends a line, not part of the credential.
  if (secret.ends_with("\r\n")) {
    secret.resize(secret.size() - 2);
  } else if (secret.ends_with('\n')) {
    secret.pop_back();
  }
  keyward::Credential credential;
  credential.kind = *kind;
  credential.token = std::move(secret);
  const auto findings =
      keyward::cli::validate(*provider, credential, std::chrono::system_clock::now());
  if (!findings) return usage("unknown provider '" + *provider + "'");
  std::string out =
      findings->empty() ? "{\"ok\":true,\"findings\":[" : "{\"ok\":false,\"findings\":[";
  for (std::size_t i = 0; i < findings->size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"code\":";
    keyward::detail::append_json_string(out, (*findings)[i].code);
    out += ",\"message\":";
    keyward::detail::append_json_string(out, (*findings)[i].message);
    out += '}';
  }
  out += "]}";
  std::cout << out << "\n";
  return findings->empty() ? kOk : kFindings;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage("missing command");
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kHelp;
    return kOk;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "classify") return classify(rest);
  if (args[0] == "validate") return validate(rest);
  return usage("unknown command '" + args[0] + "'");
}
