// The `keyward` command-line tool: classify a response, or check a credential before first use.
//
//   keyward classify [--provider P] [--now TIME] FILE|-
//   keyward validate --provider P --kind K [--token-file FILE]
//   keyward demo
//   keyward get | status | login-import   (get.cpp)
//   keyward --help | --version
//
// Exit codes: 0 done (classify printed a verdict; validate found nothing wrong), 1 validate found
// problems, 2 usage error, 3 unreadable or malformed input.
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
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
#include "cli/simulate.hpp"
#include "keyward/credential.hpp"
#include "keyward/detail/text.hpp"

#ifndef KEYWARD_CLI_VERSION
#error "KEYWARD_CLI_VERSION (the project's version) is defined by tools/cli/CMakeLists.txt"
#endif

#ifdef KEYWARD_CLI_DEMO
int run_demo();  // demo.cpp
#endif
#ifdef KEYWARD_CLI_GET
namespace keyward::cli {  // get.cpp
int run_get(const std::vector<std::string>& args);
int run_status(const std::vector<std::string>& args);
int run_login_import(const std::vector<std::string>& args);
}  // namespace keyward::cli
#endif

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

  keyward validate --provider P --kind K [--token-file FILE]
      Runs the library's pre-flight checks on one credential and prints the findings as one
      JSON line: {"ok": bool, "findings": [{"code", "message"}]}. The credential itself is
      never printed.
      --provider P       anthropic, openai, google, rfc6750 or generic
      --kind K           api_key, bearer_token or oauth (an OAuth access token)
      --token-file FILE  read the credential from FILE, without the one newline (LF or
                         CRLF) that ends a text file's last line; says so on standard error
      Without --token-file the credential is every byte of standard input, exactly as the
      library would get it: a trailing newline is reported, as the library reports it
      (`printf '%s' "$TOKEN" | keyward validate ...` sends none).

  keyward demo
      Starts a provider API and an OAuth token endpoint on 127.0.0.1 and shows, in real time
      and over real sockets, what keyward does with a rejected, an expired and a dead token, an
      overloaded provider, a rate-limited credential and a stream; exits 1 if keyward broke a
      promise. Needs no network (built only with libcurl and cpp-httplib).

  keyward get URL (--credentials FILE | --redis redis://[:PASSWORD@]HOST[:PORT] |
                   --openclaw [STATE_DIR]) --profile ID
              [--provider P] [--method M] [--header 'Name: value']... [--data BODY|@FILE]
              [--stream] [--client-id ID] [--token-url URL] [--timeout MS] [--verbose]
      Sends one request through keyward with libcurl, the profile's credential from a
      credentials file (docs/credentials-file.md) or Redis (docs/redis-store.md), refreshing
      and storing it as the library does, and prints the response body (as it arrives with
      --stream). --provider defaults to the profile's "provider"; --client-id and --token-url
      configure the OAuth refresh (anthropic, openai, google: --client-id, and --token-url to
      override the provider's endpoint; rfc6750: --token-url, and --client-id if the endpoint
      wants one); they are refused for the generic provider, which never refreshes. --verbose prints each event and the final status as JSON
      lines on standard error. No secret is ever printed.
      --openclaw shares the login with OpenClaw (docs/openclaw.md): the profile of its SQLite
      store, STATE_DIR/state/openclaw.sqlite (STATE_DIR: $OPENCLAW_STATE_DIR, else
      ~/.openclaw), or of an agent's openclaw-agent.sqlite given as STATE_DIR; refreshes take
      OpenClaw's refresh lock and fence, so keyward and OpenClaw redeem a refresh token once.

  keyward status (--credentials FILE [--profile ID] | --redis URL --profile ID |
                  --openclaw [STATE_DIR] [--profile ID]) [--json]
      Prints each stored profile: its credential's fingerprint, expiry, generation and an
      unfinished refresh, never a secret. With --openclaw, the profiles of OpenClaw's store
      (as for get); one OpenClaw is refreshing is waited for (up to 120 s), and one whose
      refresh failed says to log in again with OpenClaw.

  keyward login-import (--credentials FILE | --redis URL) --profile ID --claude-code [PATH]
  keyward login-import (--credentials FILE | --redis URL) --profile ID --provider P
              (--api-key-env VAR | --api-key-file FILE)
      Writes a profile from a Claude Code login (~/.claude/.credentials.json by default;
      provider anthropic) or an API key (--provider required), after the provider's pre-flight
      checks: to a credentials file (its other members are kept) or, with --redis
      redis://[:PASSWORD@]HOST[:PORT], to Redis (docs/redis-store.md; Redis keeps no provider,
      so `keyward get --redis` needs --provider). A profile that exists is replaced.

  keyward simulate [--summary] SCENARIO
      Runs a scenario (JSON, docs/simulate.md) on virtual time through the library's real pool
      and prints one JSON line per event and per request, then {"status": ...}; --summary adds
      a table for people.

  keyward --version
      Prints "keyward " and the version of the keyward library the tool was built from.

exit codes:
  0  classify printed a verdict; validate found nothing wrong; demo: every promise kept;
     get: a 2xx response; status, login-import: done; simulate: the scenario ran and its
     expectations held
  1  validate found problems; demo: a promise broken; get: a response that is not 2xx (one
     line on standard error says what it means and what to do);
     login-import: the credential fails pre-flight (nothing written); simulate: an
     expectation failed (one line each on standard error: expected, got)
  2  usage error, or an option that cannot apply (the message says why); simulate: a
     scenario it cannot run, such as an unknown key or a bad value (line and path named)
  3  unreadable or malformed input (get, status, login-import: the credentials file,
     OpenClaw's database or Redis, or the login or key to import; simulate: a scenario that is not JSON)
  4  get: a person must act (the credential needs a new login or is unusable)
  5  get: try again later (cooling down, refresh failing, provider unavailable); when the
     wait's end is known, a last line on standard error says from when, to the second
  6  get: no response (connection, timeout, TLS)
)";

int usage(const std::string& problem) {
  std::cerr << "keyward: " << problem << "\nRun 'keyward --help' for usage.\n";
  return kUsage;
}

// The bytes of `path`, or of standard input for "-"; else prints "cannot read PATH: REASON".
std::optional<std::string> read_all(const std::string& path) {
  if (path == "-") {
    return std::string{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  }
  // stdio rather than iostreams: it keeps errno, so the message can say why (ENOENT, EACCES,
  // EISDIR...), and a directory fails on the first read instead of reading as empty.
  errno = 0;
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    std::cerr << "keyward: cannot read " << path << ": " << std::strerror(errno) << "\n";
    return std::nullopt;
  }
  std::string text;
  std::array<char, 65536> buffer{};
  std::size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), file)) > 0) {
    text.append(buffer.data(), got);
  }
  const int error = std::ferror(file) != 0 ? errno : 0;
  std::fclose(file);
  if (error != 0) {
    std::cerr << "keyward: cannot read " << path << ": " << std::strerror(error) << "\n";
    return std::nullopt;
  }
  return text;
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
  if (!text) return kBadInput;
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
  std::optional<std::string> token_file;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if ((arg == "--provider" || arg == "--kind" || arg == "--token-file") && i + 1 == args.size()) {
      return usage(arg + " needs a value");
    }
    if (arg == "--provider") {
      provider = args[++i];
    } else if (arg == "--token-file") {
      token_file = args[++i];
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
  if (!keyward::cli::known_provider(*provider)) {
    return usage("unknown provider '" + *provider + "'");
  }
  // Standard input is checked byte for byte, as the library would check those bytes. A file is
  // a text file: its last line ends with a newline that no one means as part of the credential,
  // so exactly one is dropped (a second one, or any other whitespace, is reported).
  auto secret = read_all(token_file.value_or("-"));
  if (!secret) return kBadInput;
  if (token_file) {
    const std::size_t newline = secret->ends_with("\r\n") ? 2 : secret->ends_with('\n') ? 1 : 0;
    if (newline > 0) {
      secret->resize(secret->size() - newline);
      std::cerr << "keyward: " << (*token_file == "-" ? "standard input" : *token_file)
                << ": ignored the " << (newline == 2 ? "CRLF" : "newline")
                << " that ends the file; the rest is checked as the credential\n";
    }
  }
  const bool ends_with_newline =
      !token_file && (secret->ends_with('\n') || secret->ends_with('\r'));
  keyward::Credential credential;
  credential.kind = *kind;
  credential.token = std::move(*secret);
  auto findings = keyward::cli::validate(*provider, credential, std::chrono::system_clock::now());
  if (!findings) return usage("unknown provider '" + *provider + "'");
  if (ends_with_newline && !findings->empty()) {
    std::cerr << "keyward: standard input ends with a line break, which is checked as part of "
                 "the credential; for a token kept in a file, use --token-file FILE\n";
  }
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

int simulate(const std::vector<std::string>& args) {
  bool summary = false;
  std::optional<std::string> path;
  for (const auto& arg : args) {
    if (arg == "--summary") {
      summary = true;
    } else if (!path) {
      path = arg;
    } else {
      return usage("simulate reads one scenario");
    }
  }
  if (!path) return usage("simulate needs a SCENARIO file");
  std::ifstream file(*path, std::ios::binary);
  if (!file) {
    std::cerr << "keyward: cannot read " << *path << "\n";
    return kBadInput;
  }
  std::ostringstream text;
  text << file.rdbuf();
  std::vector<std::string> failed;
  try {
    failed = keyward::cli::sim::run(text.str(), std::cout, summary);
  } catch (const keyward::cli::sim::MalformedScenario& e) {
    std::cerr << "keyward: " << *path << ": " << e.what() << "\n";
    return kBadInput;
  } catch (const keyward::cli::sim::ScenarioError& e) {
    std::cerr << "keyward: " << *path << ": " << e.what() << "\n";
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << "keyward: " << *path << ": " << e.what() << "\n";
    return kBadInput;
  }
  for (const auto& line : failed) std::cerr << "keyward: " << *path << ": " << line << "\n";
  return failed.empty() ? kOk : kFindings;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage("missing command");
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kHelp;
    return kOk;
  }
  if (args[0] == "--version") {
    std::cout << "keyward " << KEYWARD_CLI_VERSION << "\n";
    return kOk;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "classify") return classify(rest);
  if (args[0] == "validate") return validate(rest);
  if (args[0] == "simulate") return simulate(rest);
  if (args[0] == "demo") {
    if (!rest.empty()) return usage("demo takes no arguments");
#ifdef KEYWARD_CLI_DEMO
    return run_demo();
#else
    std::cerr << "keyward: this keyward was built without the demo (it needs libcurl and "
                 "cpp-httplib; Debian: libcurl4-openssl-dev libcpp-httplib-dev)\n";
    return kBadInput;
#endif
  }
  if (args[0] == "get" || args[0] == "status" || args[0] == "login-import") {
#ifdef KEYWARD_CLI_GET
    if (args[0] == "get") return keyward::cli::run_get(rest);
    if (args[0] == "status") return keyward::cli::run_status(rest);
    return keyward::cli::run_login_import(rest);
#else
    std::cerr << "keyward: this keyward was built without " << args[0]
              << " (it needs libcurl; Debian: libcurl4-openssl-dev)\n";
    return kBadInput;
#endif
  }
  return usage("unknown command '" + args[0] + "'");
}
