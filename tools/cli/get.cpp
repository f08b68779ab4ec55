// `keyward get`, `keyward status` and `keyward login-import`: the library's whole stack from the
// command line, with credentials from a credentials file (docs/credentials-file.md) or Redis
// (docs/redis-store.md).
//
//   keyward get URL [--method M] [--header 'Name: value']... [--data BODY|@FILE] [--stream]
//               (--credentials FILE --profile ID | --redis redis://[:PASSWORD@]HOST[:PORT]
//               --profile ID)
//               [--provider P] [--client-id ID] [--token-url URL] [--timeout MS] [--verbose]
//   keyward status (--credentials FILE [--profile ID] | --redis URL --profile ID) [--json]
//   keyward login-import --credentials FILE --profile ID --provider P
//               (--claude-code [PATH] | --api-key-env VAR | --api-key-file FILE)
//
// get prints the response body on standard output (as it arrives with --stream), and with
// --verbose every event and the final status on standard error; no secret is ever printed. Its
// exit code says how it ended (see kGetHelp in keyward.cpp): 0 a 2xx, 1 another status, 2 usage,
// 3 unreadable credentials, 4 a person must act, 5 try again later, 6 no response.
//
// Why this file is over 300 lines: three commands over one set of options and stores.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "cli/providers.hpp"
#include "cli/wording.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/text.hpp"
#include "keyward/detail/url.hpp"
#include "keyward/observe/json_lines.hpp"
#include "keyward/observer.hpp"
#include "keyward/pool.hpp"
#include "keyward/resilient_credential.hpp"
#include "keyward/status.hpp"
#include "keyward/store/file.hpp"
#include "keyward/transport/curl.hpp"
#ifdef KEYWARD_CLI_OPENCLAW
#include "keyward/store/openclaw.hpp"
#endif
#ifdef KEYWARD_CLI_REDIS
#include "keyward/store/redis.hpp"
#endif

namespace keyward::cli {
namespace {

constexpr int kOk = 0;
constexpr int kHttpError = 1;
constexpr int kUsage = 2;
constexpr int kBadInput = 3;
constexpr int kNeedsPerson = 4;
constexpr int kLater = 5;
constexpr int kNoResponse = 6;

int usage(const std::string& problem) {
  std::cerr << "keyward: " << problem << "\nRun 'keyward --help' for usage.\n";
  return kUsage;
}

int bad_input(const std::string& problem) {
  std::cerr << "keyward: " << problem << "\n";
  return kBadInput;
}

// The options of all three commands; each command checks the ones it needs.
struct Options {
  std::string url;
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> data;
  bool stream = false;
  std::string credentials;
  std::string redis;
  std::optional<std::string> openclaw;  // --openclaw [STATE_DIR]: the state dir as given, or ""
  std::string profile;
  std::string provider;
  std::string client_id;
  std::string token_url;
  std::chrono::milliseconds timeout{0};
  bool verbose = false;
  bool json = false;
  std::optional<std::string> claude_code;
  std::string api_key_env;
  std::string api_key_file;
  std::string renew;  // what a person runs when the credential is rejected for good (renew_fix)
};

// Parses `args`; an error text for a usage problem.
std::optional<std::string> parse(const std::vector<std::string>& args, Options& o) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    const auto take = [&](std::string& into) -> std::optional<std::string> {
      auto v = value();
      if (!v) return arg + " needs a value";
      into = std::move(*v);
      return std::nullopt;
    };
    std::optional<std::string> problem;
    if (arg == "--method") {
      problem = take(o.method);
    } else if (arg == "--header" || arg == "-H") {
      std::string header;
      problem = take(header);
      const auto colon = header.find(':');
      if (!problem && (colon == std::string::npos || colon == 0)) {
        problem = "--header needs 'Name: value'";
      } else if (!problem) {
        std::string field = header.substr(colon + 1);
        const auto start = field.find_first_not_of(' ');
        o.headers.emplace_back(header.substr(0, colon),
                               start == std::string::npos ? "" : field.substr(start));
      }
    } else if (arg == "--data" || arg == "-d") {
      std::string data;
      problem = take(data);
      o.data = std::move(data);
    } else if (arg == "--stream") {
      o.stream = true;
    } else if (arg == "--credentials") {
      problem = take(o.credentials);
    } else if (arg == "--redis") {
      problem = take(o.redis);
    } else if (arg == "--openclaw") {
      // An optional STATE_DIR (or database file): the next argument unless it is a flag or a URL.
      const bool has_path = i + 1 < args.size() && !args[i + 1].starts_with("-") &&
                            args[i + 1].find("://") == std::string::npos;
      o.openclaw = has_path ? args[++i] : std::string{};
    } else if (arg == "--profile") {
      problem = take(o.profile);
    } else if (arg == "--provider") {
      problem = take(o.provider);
    } else if (arg == "--client-id") {
      problem = take(o.client_id);
    } else if (arg == "--token-url") {
      problem = take(o.token_url);
    } else if (arg == "--timeout") {
      std::string ms;
      problem = take(ms);
      char* end = nullptr;
      const long long n = problem ? 0 : std::strtoll(ms.c_str(), &end, 10);
      if (!problem && (end == ms.c_str() || *end != '\0' || n <= 0)) {
        problem = "--timeout needs a positive number of milliseconds";
      }
      o.timeout = std::chrono::milliseconds{n};
    } else if (arg == "--verbose" || arg == "-v") {
      o.verbose = true;
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--claude-code") {
      const bool has_path = i + 1 < args.size() && !args[i + 1].starts_with("--");
      o.claude_code = has_path ? args[++i] : std::string{};
    } else if (arg == "--api-key-env") {
      problem = take(o.api_key_env);
    } else if (arg == "--api-key-file") {
      problem = take(o.api_key_file);
    } else if (!arg.starts_with("-") && o.url.empty()) {
      o.url = arg;
    } else {
      problem = "unknown argument " + arg;
    }
    if (problem) return problem;
  }
  if (!o.provider.empty() && !known_provider(o.provider)) {
    return "unknown provider '" + o.provider + "' (anthropic, openai, google, rfc6750, generic)";
  }
  return std::nullopt;
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) return std::nullopt;
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// What a profile in a credentials file says about itself: its `provider`, and the `token_url`
// and `client_id` of its OAuth refresh (docs/credentials-file.md), each empty when absent.
struct ProfileSettings {
  std::string provider;
  std::string token_url;
  std::string client_id;
};

ProfileSettings settings_in_file(const std::string& path, const std::string& profile) {
  ProfileSettings settings;
  auto text = read_text(path);
  if (!text) return settings;
  const detail::WipeOnExit wipe{*text};
  auto root = detail::json::parse(*text);
  if (!root) return settings;
  if (const auto* profiles = root->find("profiles")) {
    if (const auto* record = profiles->find(profile)) {
      settings.provider = std::string{record->string_or("provider")};
      settings.token_url = std::string{record->string_or("token_url")};
      settings.client_id = std::string{record->string_or("client_id")};
    }
  }
  root->wipe();
  return settings;
}

// Why --client-id and --token-url cannot configure `provider`'s refresh as given; nothing when
// they can (or are not given). Such options are refused, never dropped.
std::optional<std::string> refresh_options_problem(const Options& o) {
  if (o.client_id.empty() && o.token_url.empty()) return std::nullopt;
  std::optional<std::string> problem;
  with_provider(o.provider, [&]<class Bundle>(Bundle /*bundle*/) {
    using Refresh = typename Bundle::Refresh;
    if constexpr (requires { Bundle::oauth_refresh(std::string{}, Secret{}, std::string{}); }) {
      // Google's refresh needs the client secret too, which the tool does not take (a secret on
      // the command line would be visible to every user of the host).
      problem = std::string{o.client_id.empty() ? "--token-url" : "--client-id"} +
                " cannot apply: provider '" + o.provider +
                "' refreshes only with the application's client secret, which keyward get does "
                "not take; store a fresh access token with keyward login-import instead";
    } else if constexpr (requires { Bundle::oauth_refresh(std::string{}, std::string{}); }) {
      if (o.client_id.empty()) {
        problem = "--token-url needs --client-id for provider '" + o.provider +
                  "' (its token endpoint identifies the application by it)";
      }
    } else if constexpr (requires { Refresh{typename Refresh::Options{}}; }) {
      if (o.token_url.empty()) {
        problem = "--client-id needs --token-url for provider '" + o.provider +
                  "' (it has no default token endpoint)";
      }
    } else {
      problem = std::string{o.client_id.empty() ? "--token-url" : "--client-id"} +
                " cannot apply: provider '" + o.provider +
                "' never refreshes; pass --provider anthropic, openai, google or rfc6750 "
                "for a profile that can be refreshed";
    }
  });
  return problem;
}

// Why `url` cannot be a token endpoint, which receives the refresh token; nothing when it can.
std::optional<std::string> token_url_problem(const std::string& url) {
  if (url.empty() || detail::url_allows_credentials(url, false)) return std::nullopt;
  return "'" + url +
         "' cannot receive a refresh token: it must be an absolute https URL, or http to a "
         "loopback host such as 127.0.0.1";
}

// Every event as a JSON line on standard error with --verbose (observe::JsonLines), else none.
struct StderrObserver {
  std::optional<observe::JsonLines> lines;
  void on_event(const Event& event) const {
    if (lines) lines->on_event(event);
  }
};

// The refresh strategy for `Bundle`, configured from --client-id and --token-url.
template <class Bundle>
auto make_refresh(const Options& o) {
  using Refresh = typename Bundle::Refresh;
  if constexpr (requires { Bundle::oauth_refresh(std::string{}, Secret{}, std::string{}); }) {
    return Refresh{};  // refused by refresh_options_problem()
  } else if constexpr (requires { Bundle::oauth_refresh(std::string{}, std::string{}); }) {
    if (!o.client_id.empty()) return Bundle::oauth_refresh(o.client_id, o.token_url);
    return Refresh{};
  } else if constexpr (requires { Refresh{typename Refresh::Options{}}; }) {
    if (o.token_url.empty()) return Refresh{};
    return Refresh{typename Refresh::Options{.token_url = o.token_url, .client_id = o.client_id}};
  } else {
    return Refresh{};
  }
}

int exit_code_of(const Error& error) {
  switch (static_cast<Errc>(error.code.value())) {
    case Errc::needs_reauth:
    case Errc::invalid_credential:
    case Errc::insecure_transport:
      return kNeedsPerson;
    case Errc::transport_failed:
      return kNoResponse;
    case Errc::no_usable_credential:  // a person must act only when every profile waits for one
      return !error.profiles.empty() &&
                     std::all_of(error.profiles.begin(), error.profiles.end(),
                                 [](const ProfileOutage& p) { return p.state == "needs_reauth"; })
                 ? kNeedsPerson
                 : kLater;
    default:
      return kLater;
  }
}

// A provider's bundle with the store and the observer of `keyward get`.
template <class Bundle, class S>
struct GetPolicies : Bundle {
  using Store = S;
  using Observer = StderrObserver;
};

// The request the options describe; an exit code when --data names a file that cannot be read.
std::variant<Request, int> request_of(const Options& o) {
  Request request{.method = o.method, .url = o.url};
  for (const auto& [name, value] : o.headers) request.headers.add(name, value);
  if (o.data && o.data->starts_with("@")) {
    auto body = read_text(o.data->substr(1));
    if (!body) return bad_input("cannot read " + o.data->substr(1));
    request.body = std::move(*body);
  } else if (o.data) {
    request.body = *o.data;
  }
  request.timeout = o.timeout;
  return request;
}

StderrObserver observer_of(const Options& o) {
  return {o.verbose ? std::optional{observe::JsonLines{std::cerr}} : std::nullopt};
}

// The one line `keyward get` prints for a final answer that is not 2xx: what it means and what
// to do. keyward has already refreshed, replayed and retried what it could.
std::string not_2xx_line(const Options& o, int status) {
  const std::string head = "HTTP " + std::to_string(status) + " from " + o.url + ": ";
  if (status == 401) {
    return head + "the credential was refused after keyward tried what it could; " + o.renew;
  }
  if (status == 403) {
    return head +
           "the credential works but may not do this; use a profile (--profile) "
           "whose account has the permission";
  }
  if (status == 429 || status == 529 || status >= 500) {
    return head + "the provider is " + (status == 429 ? "rate limiting" : "overloaded or failing") +
           " and kept refusing after keyward's retries; run the same command again later";
  }
  if (status >= 300 && status < 400) {
    return head +
           "a redirect keyward did not follow (another origin, or too many); check the "
           "URL";
  }
  return head +
         "the server refused the request itself, not the credential; check the URL, "
         "--method, --header and --data";
}

// Prints what the request ended with; its exit code.
int finish(const Options& o, Result<Response> response, const std::string& status_json) {
  if (o.verbose) std::cerr << status_json << "\n";
  if (!response) {
    const Error& error = response.error();
    std::cerr << for_people(error.message, o.provider) << "\n";
    const int code = exit_code_of(error);
    if (code == kLater && error.until) {  // the second shown is one a request is let through
      std::cerr << "keyward: run the same command again from "
                << detail::format_deadline(*error.until) << " ("
                << relative(*error.until, SystemClock{}.now()) << ")\n";
    }
    return code;
  }
  std::cout << response->body;
  std::cout.flush();
  if (o.verbose) std::cerr << "HTTP " << response->status << "\n";
  if (response->status >= 200 && response->status < 300) return kOk;
  std::cerr << "keyward: " << not_2xx_line(o, response->status) << "\n";
  return kHttpError;
}

// The OpenClaw state directory --openclaw names: as given, else $OPENCLAW_STATE_DIR, else
// ~/.openclaw; empty when a database file was given instead.
std::string openclaw_state_dir(const std::string& given) {
  if (given.ends_with(".sqlite")) return {};
  if (!given.empty()) return given;
  const char* env = std::getenv("OPENCLAW_STATE_DIR");
  const char* home = std::getenv("HOME");
  return env != nullptr && *env != '\0' ? std::string{env}
                                        : std::string{home != nullptr ? home : ""} + "/.openclaw";
}

// The OpenClaw database --openclaw names: a database file as given (an agent's
// openclaw-agent.sqlite), else the one that holds the state directory's shared profiles, as
// OpenClaw decides it (docs/openclaw.md).
std::string openclaw_database(const std::string& given) {
  if (given.ends_with(".sqlite")) return given;
  const std::string dir = openclaw_state_dir(given);
#ifdef KEYWARD_CLI_OPENCLAW
  const char* agent = std::getenv("OPENCLAW_AGENT_DIR");
  return store::OpenClaw::shared_database(dir, agent != nullptr ? agent : "");
#else
  return dir + "/state/openclaw.sqlite";
#endif
}

// What a person does when an OpenClaw profile's credential is rejected for good.
std::string openclaw_renew(const Options& o) {
  return "log in to profile " + o.profile +
         " again with OpenClaw, which stores the new tokens "
         "in " +
         openclaw_database(*o.openclaw) + ", then run `keyward status --openclaw " + *o.openclaw +
         " --profile " + o.profile + "` to check them";
}

// One profile, through ResilientCredential.
template <class Bundle, class S>
int get_with(Options o, S store) {
  using Policies = GetPolicies<Bundle, S>;
  auto loaded = store.load();
  if (!loaded && loaded.error().code == Errc::needs_reauth) {  // e.g. OpenClaw's failed fence
    std::cerr << "keyward: " << loaded.error().message << "\n";
    return kNeedsPerson;
  }
  if (!loaded) return bad_input(loaded.error().message);
  if (loaded->generation == 0) {
    return bad_input("no profile '" + o.profile + "' in " +
                     (o.openclaw              ? openclaw_database(*o.openclaw)
                      : o.credentials.empty() ? shown_redis(o.redis)
                                              : o.credentials));
  }
  o.renew = o.openclaw ? openclaw_renew(o)
                       : renew_fix(place_of(o.credentials, o.redis, o.profile), o.provider,
                                   loaded->credential.kind);
  auto built = request_of(o);
  if (auto* code = std::get_if<int>(&built)) return *code;
  Request& request = std::get<Request>(built);
  try {
    ResilientCredential<transport::Curl, Policies> api{
        transport::Curl{},
        *loaded,
        {.profile = o.profile, .fix = {.unauthenticated = o.renew}},
        {.refresh = make_refresh<Bundle>(o),
         .store = std::move(store),
         .observer = observer_of(o)}};
    const auto write = [](std::string_view bytes) {
      std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      std::cout.flush();
      return static_cast<bool>(std::cout);
    };
    auto response = o.stream ? api.send_stream(request, write) : api.send(request);
    return finish(o, std::move(response), to_json(api.status()));
  } catch (const std::invalid_argument& e) {
    // an unusable credential or option: named, never shown
    std::cerr << for_people(e.what(), o.provider) << "\n";
    return kNeedsPerson;
  }
}

// Every profile of the credentials file whose provider is o.provider, as a CredentialPool.
template <class Bundle>
int get_pool(Options o, const std::vector<std::string>& ids) {
  using Pool = CredentialPool<transport::Curl, GetPolicies<Bundle, store::File>>;
  std::vector<typename Pool::Profile> profiles;
  for (const std::string& id : ids) {
    store::File store{o.credentials, id, {.provider = o.provider}};
    auto loaded = store.load();
    if (!loaded) return bad_input(loaded.error().message);
    profiles.push_back({.name = id, .credential = std::move(loaded->credential), .store = store});
  }
  // One fix text serves every profile; the message names the profile it is about.
  o.renew = "replace that profile's credential with `keyward login-import --credentials " +
            o.credentials + " --profile NAME --provider " + o.provider +
            " --api-key-env VAR` (or `--claude-code` for a Claude Code login), NAME being the "
            "profile named above";
  auto built = request_of(o);
  if (auto* code = std::get_if<int>(&built)) return *code;
  try {
    // Each profile has its own store; Components::store (unused by a pool) is the first's.
    store::File unused = profiles.front().store;
    Pool pool{transport::Curl{},
              std::move(profiles),
              {.provider = o.provider, .credential = {.fix = {.unauthenticated = o.renew}}},
              {.refresh = make_refresh<Bundle>(o),
               .store = std::move(unused),
               .observer = observer_of(o)}};
    auto response = pool.send(std::get<Request>(built));
    return finish(o, std::move(response), to_json(pool.status()));
  } catch (const std::invalid_argument& e) {
    std::cerr << for_people(e.what(), o.provider) << "\n";
    return kNeedsPerson;
  }
}

// The profiles of a credentials file whose `provider` is `provider`, in the file's order.
std::vector<std::string> profiles_of(const std::string& path, const std::string& provider) {
  std::vector<std::string> ids;
  auto text = read_text(path);
  if (!text) return ids;
  const detail::WipeOnExit wipe{*text};
  auto root = detail::json::parse(*text);
  const auto* profiles = root ? root->find("profiles") : nullptr;
  if (profiles != nullptr && profiles->as_object() != nullptr) {
    for (const auto& [id, record] : *profiles->as_object()) {
      if (record.string_or("provider") == provider) ids.push_back(id);
    }
  }
  if (root) root->wipe();
  return ids;
}

#ifdef KEYWARD_CLI_OPENCLAW
// `keyward get --openclaw`: the profile's provider is its `provider` in OpenClaw's store when
// keyward knows it, else generic (or --provider).
int get_openclaw(Options o) {
  const std::string database = openclaw_database(*o.openclaw);
  store::OpenClaw store{database, o.profile, {.state_dir = openclaw_state_dir(*o.openclaw)}};
  auto listed = store.profiles();
  if (!listed) return bad_input(listed.error().message);
  const auto found = std::find_if(listed->begin(), listed->end(),
                                  [&](const auto& profile) { return profile.id == o.profile; });
  if (found == listed->end()) return bad_input("no profile '" + o.profile + "' in " + database);
  if (o.provider.empty())
    o.provider = known_provider(found->provider) ? found->provider : "generic";
  // The profile's own OAuth client and token endpoint (OpenClaw's clientId, tokenEndpoint),
  // where the command line gives none.
  if (o.client_id.empty() && o.token_url.empty() && found->type == "oauth") {
    o.client_id = found->client_id;
    o.token_url = found->token_endpoint;
  }
  if (auto problem = refresh_options_problem(o)) return usage(*problem);
  if (auto problem = token_url_problem(o.token_url)) return usage("--token-url " + *problem);
  int code = kUsage;
  with_provider(o.provider,
                [&]<class Bundle>(Bundle /*bundle*/) { code = get_with<Bundle>(o, store); });
  return code;
}
#endif

#ifdef KEYWARD_CLI_REDIS
// redis://[:PASSWORD@]HOST[:PORT]
std::optional<store::RedisOptions> redis_options(const std::string& url, std::string profile) {
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) return std::nullopt;
  std::string rest = url.substr(kScheme.size());
  store::RedisOptions options{.profile = std::move(profile)};
  if (const auto at = rest.rfind('@'); at != std::string::npos) {
    const std::string user_info = rest.substr(0, at);
    const auto colon = user_info.find(':');
    options.password = colon == std::string::npos ? user_info : user_info.substr(colon + 1);
    rest = rest.substr(at + 1);
  }
  if (const auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
    char* end = nullptr;
    const long port = std::strtol(rest.c_str() + colon + 1, &end, 10);
    if (*end != '\0' || port <= 0 || port > 65535) return std::nullopt;
    options.port = static_cast<int>(port);
    rest.resize(colon);
  }
  if (!rest.empty()) options.host = rest;
  return options;
}
#endif

}  // namespace

int run_get(const std::vector<std::string>& args) {
  Options o;
  if (auto problem = parse(args, o)) return usage(*problem);
  if (o.url.empty()) return usage("get needs a URL");
  if (o.openclaw) {
    if (!o.credentials.empty() || !o.redis.empty()) {
      return usage("get needs one of --credentials FILE, --redis URL and --openclaw [STATE_DIR]");
    }
    if (o.profile.empty()) return usage("get --openclaw needs --profile ID");
#ifdef KEYWARD_CLI_OPENCLAW
    return get_openclaw(std::move(o));
#else
    return bad_input("this keyward was built without OpenClaw support (SQLite)");
#endif
  }
  if (o.credentials.empty() == o.redis.empty()) {
    return usage("get needs one of --credentials FILE and --redis URL");
  }
  if (o.profile.empty() && (o.provider.empty() || o.credentials.empty())) {
    return usage("get needs --profile, or --credentials with --provider for a pool");
  }
  if (o.profile.empty()) {  // a pool of every profile of the provider
    if (o.stream) return usage("--stream needs --profile (a pool does not stream yet)");
    const auto ids = profiles_of(o.credentials, o.provider);
    if (ids.empty()) {
      return bad_input("no profile of provider '" + o.provider + "' in " + o.credentials);
    }
    if (auto problem = refresh_options_problem(o)) return usage(*problem);
    if (auto problem = token_url_problem(o.token_url)) return usage("--token-url " + *problem);
    int code = kUsage;
    with_provider(o.provider,
                  [&]<class Bundle>(Bundle /*bundle*/) { code = get_pool<Bundle>(o, ids); });
    return code;
  }
  ProfileSettings in_file;
  if (!o.credentials.empty()) in_file = settings_in_file(o.credentials, o.profile);
  if (o.provider.empty()) o.provider = in_file.provider;
  if (o.provider.empty()) o.provider = "generic";
  if (!known_provider(o.provider)) {
    return bad_input("profile '" + o.profile + "' names provider '" + o.provider +
                     "', which keyward does not know; pass --provider (anthropic, openai, "
                     "google, rfc6750 or generic)");
  }
  if (auto problem = refresh_options_problem(o)) return usage(*problem);
  if (auto problem = token_url_problem(o.token_url)) return usage("--token-url " + *problem);
  // The profile's own refresh settings, where the command line gives none.
  if (o.client_id.empty() && o.token_url.empty()) {
    o.client_id = in_file.client_id;
    o.token_url = in_file.token_url;
    if (auto problem = refresh_options_problem(o)) {
      return bad_input("profile '" + o.profile + "' of " + o.credentials + ": its " +
                       (o.client_id.empty() ? "token_url" : "client_id") + ": " + *problem);
    }
    if (auto problem = token_url_problem(o.token_url)) {
      return bad_input("profile '" + o.profile + "' of " + o.credentials + ": its token_url " +
                       *problem);
    }
  }
  int code = kUsage;
  with_provider(o.provider, [&]<class Bundle>(Bundle /*bundle*/) {
    if (!o.credentials.empty()) {
      code = get_with<Bundle>(o, store::File{o.credentials, o.profile, {.provider = o.provider}});
      return;
    }
#ifdef KEYWARD_CLI_REDIS
    auto options = redis_options(o.redis, o.profile);
    code = options ? get_with<Bundle>(o, store::Redis{std::move(*options)})
                   : usage("--redis needs redis://[:PASSWORD@]HOST[:PORT]");
#else
    code = bad_input("this keyward was built without Redis support (hiredis)");
#endif
  });
  return code;
}

int run_status(const std::vector<std::string>& args) {
  Options o;
  if (auto problem = parse(args, o)) return usage(*problem);
  if (o.openclaw && (!o.credentials.empty() || !o.redis.empty())) {
    return usage("status needs one of --credentials FILE, --redis URL and --openclaw [STATE_DIR]");
  }
  if (o.openclaw) {
#ifndef KEYWARD_CLI_OPENCLAW
    return bad_input("this keyward was built without OpenClaw support (SQLite)");
#endif
  } else if (o.credentials.empty() == o.redis.empty()) {
    return usage("status needs one of --credentials FILE and --redis URL");
  }
  std::vector<std::string> profiles;
  if (!o.profile.empty()) {
    profiles.push_back(o.profile);
  } else if (o.openclaw) {
#ifdef KEYWARD_CLI_OPENCLAW
    auto listed = store::OpenClaw{openclaw_database(*o.openclaw), ""}.profiles();
    if (!listed) return bad_input(listed.error().message);
    for (const auto& profile : *listed) profiles.push_back(profile.id);
#endif
  } else if (!o.credentials.empty()) {
    auto text = read_text(o.credentials);
    if (!text) return bad_input("cannot read " + o.credentials);
    const detail::WipeOnExit wipe{*text};
    auto root = detail::json::parse(*text);
    const auto* members =
        root && root->find("profiles") != nullptr ? root->find("profiles")->as_object() : nullptr;
    if (members == nullptr) {
      return bad_input(o.credentials + " has no \"profiles\" object (docs/credentials-file.md)");
    }
    for (const auto& member : *members) profiles.push_back(member.first);
    root->wipe();
  } else {
    return usage("status --redis needs --profile");
  }
  const auto now = SystemClock{}.now();
  int code = kOk;
  for (const std::string& id : profiles) {
    Result<StoredCredential> stored = unexpected(make_error(Errc::store_unavailable, ""));
    if (o.openclaw) {
#ifdef KEYWARD_CLI_OPENCLAW
      stored =
          store::OpenClaw{
              openclaw_database(*o.openclaw), id, {.state_dir = openclaw_state_dir(*o.openclaw)}}
              .load();
#endif
    } else if (!o.credentials.empty()) {
      stored = store::File{o.credentials, id}.load();
    } else {
#ifdef KEYWARD_CLI_REDIS
      auto options = redis_options(o.redis, id);
      if (!options) return usage("--redis needs redis://[:PASSWORD@]HOST[:PORT]");
      stored = store::Redis{std::move(*options)}.load();
#else
      return bad_input("this keyward was built without Redis support (hiredis)");
#endif
    }
    if (!stored || stored->generation == 0) {
      std::cerr << "keyward: " << id << ": "
                << (stored ? std::string{"no such profile"} : stored.error().message) << "\n";
      code = kBadInput;
      continue;
    }
    const Credential& c = stored->credential;
    const bool expired = c.expires_at && *c.expires_at <= now;
    if (o.json) {
      std::string line = R"({"profile":)";
      detail::append_json_string(line, id);
      line += R"(,"credential":)";
      detail::append_json_string(line, fingerprint(c));
      line += R"(,"refreshable":)" + std::string{c.refresh_token.empty() ? "false" : "true"};
      if (c.expires_at) {
        line += R"(,"expires_at":)";
        detail::append_json_string(line, detail::format_rfc3339(*c.expires_at));
        line += R"(,"expired":)" + std::string{expired ? "true" : "false"};
      }
      line += R"(,"generation":)" + std::to_string(stored->generation);
      if (stored->refresh_pending) {
        line += R"(,"refresh_pending_since":)";
        detail::append_json_string(line, detail::format_rfc3339(*stored->refresh_pending));
      }
      if (stored->refresh_refused) {
        line += R"(,"refresh_refused_at":)";
        detail::append_json_string(line, detail::format_rfc3339(stored->refresh_refused->at));
        line += R"(,"refresh_refused_reason":)";
        detail::append_json_string(line, stored->refresh_refused->reason);
      }
      std::cout << line << "}\n";
      continue;
    }
    std::cout << id << ": " << fingerprint(c)
              << (c.refresh_token.empty() ? "" : ", with a refresh token");
    if (c.expires_at) {
      std::cout << (expired ? ", expired at " : ", expires at ")
                << detail::format_rfc3339(*c.expires_at) << " (" << relative(*c.expires_at, now)
                << ")";
    }
    std::cout << ", generation " << stored->generation;
    if (stored->refresh_pending) {
      std::cout << ", a refresh began at " << detail::format_rfc3339(*stored->refresh_pending)
                << " (" << relative(*stored->refresh_pending, now)
                << ") and has not stored its result";
    }
    if (stored->refresh_refused) {
      std::cout << ", its refresh token was refused at "
                << detail::format_rfc3339(stored->refresh_refused->at) << " ("
                << relative(stored->refresh_refused->at, now) << ", "
                << stored->refresh_refused->reason << "): ";
      std::string provider = o.provider;
      if (provider.empty() && !o.credentials.empty()) {
        provider = settings_in_file(o.credentials, id).provider;
      }
      std::cout << (o.openclaw ? "log in to it again with OpenClaw"
                               : renew_fix(place_of(o.credentials, o.redis, id),
                                           provider.empty() ? "generic" : provider, c.kind));
    }
    std::cout << "\n";
  }
  return code;
}

int run_login_import(const std::vector<std::string>& args) {
  Options o;
  if (auto problem = parse(args, o)) return usage(*problem);
  if (o.credentials.empty() == o.redis.empty() || o.profile.empty()) {
    return usage("login-import needs --profile ID and one of --credentials FILE and --redis URL");
  }
  const int sources =
      (o.claude_code ? 1 : 0) + (o.api_key_env.empty() ? 0 : 1) + (o.api_key_file.empty() ? 0 : 1);
  if (sources != 1) {
    return usage(
        "login-import needs one of --claude-code [PATH], --api-key-env VAR and "
        "--api-key-file FILE");
  }
  std::optional<Credential> credential;
  if (o.claude_code) {
    if (o.provider.empty()) o.provider = "anthropic";
    std::string path = *o.claude_code;
    if (path.empty()) {
      const char* home = std::getenv("HOME");
      path = std::string{home != nullptr ? home : ""} + "/.claude/.credentials.json";
    }
    auto text = read_text(path);
    if (!text) return bad_input("cannot read " + path);
    const detail::WipeOnExit wipe{*text};
    auto root = detail::json::parse(*text);
    const auto* login = root ? root->find("claudeAiOauth") : nullptr;
    if (login == nullptr || login->string_or("accessToken").empty()) {
      return bad_input(path +
                       " has no claudeAiOauth.accessToken (the format of Claude Code's "
                       ".credentials.json)");
    }
    std::optional<TimePoint> expires;
    if (const auto* ms = login->find("expiresAt"); ms != nullptr && ms->as_number()) {
      expires = TimePoint{std::chrono::milliseconds{static_cast<std::int64_t>(*ms->as_number())}};
    }
    credential = Credential::oauth(std::string{login->string_or("accessToken")},
                                   std::string{login->string_or("refreshToken")}, expires);
    root->wipe();
  } else {
    if (o.provider.empty()) return usage("login-import of an API key needs --provider");
    std::string key;
    if (!o.api_key_env.empty()) {
      const char* value = std::getenv(o.api_key_env.c_str());
      if (value == nullptr || *value == '\0') return bad_input(o.api_key_env + " is not set");
      key = value;
    } else {
      auto text = read_text(o.api_key_file);
      if (!text) return bad_input("cannot read " + o.api_key_file);
      key = std::move(*text);
      if (key.ends_with('\n')) key.pop_back();  // one trailing line break, as an editor writes
      if (key.ends_with('\r')) key.pop_back();
    }
    credential = Credential::api_key(std::move(key));
  }
  auto findings = validate(o.provider, *credential, SystemClock{}.now());
  if (findings && !findings->empty()) {
    std::cerr << "keyward: not imported, " << fingerprint(*credential) << " fails pre-flight:\n";
    for (const Finding& finding : *findings) {
      std::cerr << "  " << for_people(finding.message, o.provider) << "\n";
    }
    return kHttpError;
  }
  // The store's own write, so the fields are the ones its reader (and `keyward get`) expects.
  const auto write = [&](auto store, const std::string& where) {
    auto stored = store.load();
    if (!stored) return bad_input(stored.error().message);
    auto written = store.compare_and_swap(stored->generation, *credential);
    if (!written) return bad_input(written.error().message);
    std::cout << "wrote profile " << o.profile << " (" << fingerprint(*credential)
              << ", generation " << *written << ") to " << where << "\n";
    return kOk;
  };
  if (!o.credentials.empty()) {
    return write(store::File{o.credentials, o.profile, {.provider = o.provider}}, o.credentials);
  }
#ifdef KEYWARD_CLI_REDIS
  auto options = redis_options(o.redis, o.profile);
  if (!options) return usage("--redis needs redis://[:PASSWORD@]HOST[:PORT]");
  const std::string where = "Redis at " + options->host + ":" + std::to_string(options->port);
  return write(store::Redis{std::move(*options)}, where);
#else
  return bad_input("this keyward was built without Redis support (hiredis)");
#endif
}

}  // namespace keyward::cli
