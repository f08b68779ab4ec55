#!/usr/bin/env python3
"""Checks `keyward get`, `keyward status` and `keyward login-import` against a real HTTP server.

    check_get.py KEYWARD_BINARY

Starts, on 127.0.0.1, a provider API that accepts only the access tokens it issued (as a bearer
token) and its API key (as x-api-key), streams server-sent events, answers 429 on request, and an
OAuth token endpoint that rotates refresh tokens and revokes the grant when a spent one comes back.
Then runs the tool as a user would and checks the output, the exit codes, the credentials file it
leaves, and that no secret ever reaches standard output or standard error.
"""
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

API_KEY = "sk-ant-api03-" + "K" * 80 + "-keyAA"
FAILURES = []


class Server:
    """The provider's state: the grant's current tokens, and what happened to it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.issued = 0
        self.access = None
        self.refresh = None
        self.refresh_calls = 0
        self.limited_calls = 0  # requests that reached /v1/limited
        self.revoked = False
        self.login()

    def login(self):
        with self.lock:
            self.issued += 1
            self.access = f"access-token-{self.issued:04d}-" + "a" * 40
            self.refresh = f"refresh-token-{self.issued:04d}-" + "r" * 40
            self.revoked = False
            return self.access, self.refresh

    def secrets(self):
        return [API_KEY] + [f"access-token-{n:04d}-" + "a" * 40 for n in range(1, self.issued + 1)] \
            + [f"refresh-token-{n:04d}-" + "r" * 40 for n in range(1, self.issued + 1)]


def handler_for(state):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, body, content_type="application/json", headers=()):
            data = body.encode()
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length).decode()
            if self.path == "/token":
                if self.headers.get("content-type", "").startswith("application/json"):
                    form = {k: [v] for k, v in json.loads(body).items()}  # Anthropic's format
                else:
                    form = urllib.parse.parse_qs(body)
                presented = form.get("refresh_token", [""])[0]
                if form.get("client_id", [""])[0] == "unregistered-client":
                    return self.reply(401, '{"error":"invalid_client",'
                                           '"error_description":"unknown client"}')
                with state.lock:
                    state.refresh_calls += 1
                    if state.revoked or presented != state.refresh:
                        state.revoked = True
                        return self.reply(400, '{"error":"invalid_grant","error_description":'
                                               '"refresh token reused: grant revoked"}')
                state.issued += 1
                state.access = access = f"access-token-{state.issued:04d}-" + "a" * 40
                state.refresh = refresh = f"refresh-token-{state.issued:04d}-" + "r" * 40
                return self.reply(200, json.dumps({"access_token": access, "refresh_token": refresh,
                                                   "token_type": "Bearer", "expires_in": 3600}))
            self.api(body)

        def do_GET(self):
            self.api("")

        def api(self, body):
            auth = self.headers.get("authorization", "")
            key = self.headers.get("x-api-key", "")
            with state.lock:
                ok = (not state.revoked and auth == f"Bearer {state.access}") or key == API_KEY
            if not ok:
                said = "invalid x-api-key" if key else "Invalid bearer token"
                return self.reply(401, '{"error":{"type":"authentication_error",'
                                       f'"message":"{said}"}}}}',
                                  headers=[("www-authenticate", 'Bearer error="invalid_token"')])
            if self.path == "/v1/limited":
                with state.lock:
                    state.limited_calls += 1
                return self.reply(429, '{"error":{"type":"rate_limit_error","message":"slow down"}}',
                                  headers=[("retry-after", "30")])
            if self.path == "/v1/overloaded":
                return self.reply(529, '{"error":{"type":"overloaded_error","message":"busy"}}',
                                  headers=[("retry-after-ms", "1")])
            if self.path == "/v1/placement":  # what Anthropic says of a key sent as a bearer
                return self.reply(401, '{"error":{"type":"authentication_error","message":'
                                       '"OAuth authentication is currently not supported."}}')
            if self.path == "/v1/missing":
                return self.reply(404, '{"error":{"type":"not_found_error","message":"no"}}')
            if self.path == "/v1/stream":
                events = "".join(f"event: content_block_delta\ndata: {{\"n\": {n}}}\n\n"
                                 for n in range(3))
                return self.reply(200, events, content_type="text/event-stream")
            self.reply(200, json.dumps({"ok": True, "path": self.path, "echo": body}))

    return Handler


def expire(path, profile):
    """Makes a profile's access token expired (in 1970), as time would."""
    with open(path) as f:
        doc = json.load(f)
    doc["profiles"][profile]["expires"] = 1000
    with open(path, "w") as f:
        json.dump(doc, f)


def start_redis(work):
    """A redis-server on a free port of 127.0.0.1, or None."""
    import shutil
    import socket
    import time
    if shutil.which("redis-server") is None:
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                      "--appendonly", "no", "--dir", work], stdout=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return port
        except OSError:
            time.sleep(0.01)
    return None


# Words of the C++ library that a person at a shell cannot act on: a function call, a qualified
# name, the library's own concepts.
LIBRARY_WORDS = re.compile(r"\w\(\)|::|set_credential|refresh strategy|OAuth2|polic(y|ies)")


def speaks_cli(name, r, wanted=(), unwanted=(), code=None):
    """Checks that a failure's standard error names commands and flags, never the library."""
    text = r.stderr
    found = [m.group(0) for m in LIBRARY_WORDS.finditer(text)]
    missing = [w for w in wanted if w not in text]
    present = [u for u in unwanted if u in text]
    check(f"{name}: speaks of commands and flags", not found and not missing and not present and
          (code is None or r.returncode == code),
          f"exit {r.returncode}; library words {found}, missing {missing}, unwanted {present}: "
          f"{text}")


def check(name, condition, detail=""):
    if not condition:
        FAILURES.append(f"{name}: {detail}")
        print(f"FAIL {name}: {detail}")
    else:
        print(f"ok   {name}")


def serve():
    """Starts the provider API and token endpoint on 127.0.0.1 (a daemon thread, gone with the
    process): (its state, its base URL)."""
    state = Server()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_for(state))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, f"http://127.0.0.1:{server.server_address[1]}"


def runner(binary, state):
    """run(*args, stdin=None, env=None): the tool's result; a printed secret is a failure."""
    def run(*args, stdin=None, env=None):
        result = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60,
                                input=stdin, env=env)
        for secret in state.secrets():
            if secret in result.stdout or secret in result.stderr:
                FAILURES.append(f"{args[0]}: a secret was printed")
        return result
    return run


def main():
    binary = sys.argv[1]
    state, base = serve()
    work = tempfile.mkdtemp(prefix="keyward-get-")
    creds = os.path.join(work, "auth-profiles.json")
    access, refresh = state.access, state.refresh
    with open(creds, "w") as f:
        json.dump({"version": 1, "profiles": {
            "gw:oauth": {"type": "oauth", "provider": "rfc6750", "access": access,
                         "refresh": refresh, "expires": 1000},  # expired in 1970
            "anthropic:key": {"type": "api_key", "provider": "anthropic", "key": API_KEY},
        }, "order": {"gw": ["gw:oauth"]}}, f)

    run = runner(binary, state)
    oauth = ["--credentials", creds, "--profile", "gw:oauth", "--token-url", f"{base}/token"]

    r = run("get", f"{base}/v1/models", *oauth, "--verbose")
    check("get refreshes an expired token and prints the body", r.returncode == 0 and
          '"path": "/v1/models"' in r.stdout, f"exit {r.returncode}: {r.stdout} {r.stderr}")
    check("get --verbose prints events as JSON lines", all(
        json.loads(line) is not None for line in r.stderr.splitlines() if line.startswith("{"))
        and '"event":"refresh_succeeded"' in r.stderr, r.stderr)
    stored = json.load(open(creds))
    check("the rotated tokens are in the file", stored["profiles"]["gw:oauth"]["refresh"] ==
          state.refresh and state.refresh_calls == 1, f"{state.refresh_calls} token calls")
    check("the file keeps what keyward does not own", stored.get("order") == {"gw": ["gw:oauth"]})
    check("the file is mode 0600", os.stat(creds).st_mode & 0o777 == 0o600)

    r = run("get", f"{base}/v1/messages", *oauth, "--method", "POST", "--data", '{"x": 1}',
            "--header", "anthropic-version: 2023-06-01")
    check("get sends a body without a second refresh", r.returncode == 0 and
          '"echo": "{\\"x\\": 1}"' in r.stdout and state.refresh_calls == 1, r.stdout + r.stderr)

    r = run("get", f"{base}/v1/stream", *oauth, "--stream")
    check("get --stream prints the events", r.returncode == 0 and
          r.stdout.count("event: content_block_delta") == 3, r.stdout + r.stderr)

    r = run("get", f"{base}/v1/models", "--credentials", creds, "--profile", "anthropic:key")
    check("get uses the profile's provider (x-api-key for Anthropic)", r.returncode == 0,
          r.stdout + r.stderr)

    key = ["--credentials", creds, "--profile", "anthropic:key"]
    r = run("get", f"{base}/v1/overloaded", *key)
    lines = r.stderr.splitlines()
    check("a persisting 529 is exit 1 with one line saying what happened and what to do",
          r.returncode == 1 and len(lines) == 1 and "HTTP 529" in lines[0] and
          "again later" in lines[0], f"exit {r.returncode}: {r.stderr}")
    r = run("get", f"{base}/v1/missing", *key)
    lines = r.stderr.splitlines()
    check("a 404 is exit 1 with one line naming the flags to check",
          r.returncode == 1 and len(lines) == 1 and "HTTP 404" in lines[0] and
          "--method" in lines[0], f"exit {r.returncode}: {r.stderr}")

    # Options that cannot apply are refused with the reason (exit 2), never dropped.
    for extra, flag in ((["--provider", "generic", "--client-id", "app"], "--client-id"),
                        (["--provider", "generic", "--token-url", f"{base}/token"], "--token-url"),
                        (["--token-url", f"{base}/token"], "--client-id"),
                        (["--provider", "google", "--client-id", "app", "--token-url",
                          f"{base}/token"], "--client-id")):
        r = run("get", f"{base}/v1/models", *key, *extra)
        check(f"get refuses {' '.join(extra)} with a reason", r.returncode == 2 and
              flag in r.stderr and "provider" in r.stderr, f"exit {r.returncode}: {r.stderr}")

    # A profile may carry its refresh settings: `get` needs no --token-url for it.
    with open(creds) as f:
        doc = json.load(f)
    doc["profiles"]["gw:oauth"]["token_url"] = f"{base}/token"
    with open(creds, "w") as f:
        json.dump(doc, f)
    expire(creds, "gw:oauth")
    calls = state.refresh_calls
    r = run("get", f"{base}/v1/models", "--credentials", creds, "--profile", "gw:oauth")
    check("get refreshes with the profile's own token_url", r.returncode == 0 and
          state.refresh_calls == calls + 1, f"exit {r.returncode}: {r.stderr}")
    check("the profile's token_url is kept when the file is written",
          json.load(open(creds))["profiles"]["gw:oauth"].get("token_url") == f"{base}/token")

    # A rate limit, in a file of its own: the window it opens is recorded in the file
    # (usageStats, as OpenClaw records it), and the next run waits it out without sending.
    limited = os.path.join(work, "limited.json")
    with open(limited, "w") as f:
        json.dump({"version": 1, "profiles": {"anthropic:limited": {
            "type": "api_key", "provider": "anthropic", "key": API_KEY}}}, f)
    lim = ["--credentials", limited, "--profile", "anthropic:limited"]
    r = run("get", f"{base}/v1/limited", *lim)
    check("a rate limit is 'try again later' (5), not a login problem", r.returncode == 5 and
          "rate limit" in r.stderr and "log in" not in r.stderr, f"exit {r.returncode}: {r.stderr}")
    check("a rate limit says when to run the command again, rounded up to the second",
          re.search(r"run the same command again from \S+Z \(in (29|30) s\)", r.stderr),
          r.stderr)
    first_until = re.search(r"again from (\S+Z)", r.stderr)
    usage = json.load(open(limited)).get("usageStats", {}).get("anthropic:limited", {})
    check("the rate limit's window is in the file as OpenClaw keeps it",
          usage.get("cooldownReason") == "rate_limit" and
          usage.get("cooldownUntil", 0) > time.time() * 1000 + 25_000, json.dumps(usage))
    sent = state.limited_calls
    r = run("get", f"{base}/v1/limited", *lim)
    again = re.search(r"again from (\S+Z) \(in (\d+) s\)", r.stderr)
    check("a second run inside the window does not send and says until when (exit 5)",
          r.returncode == 5 and state.limited_calls == sent and again is not None and
          first_until is not None and again.group(1) == first_until.group(1) and
          "log in" not in r.stderr,
          f"exit {r.returncode}, {state.limited_calls - sent} requests: {r.stderr}")

    # Every failure tells a person what to run: a command or a flag, never a C++ function.
    people = os.path.join(work, "people.json")
    dead_key = "sk-ant-api03-" + "D" * 80 + "-deadAA"
    with open(people, "w") as f:
        json.dump({"profiles": {
            "anthropic:dead": {"type": "api_key", "provider": "anthropic", "key": dead_key},
            "anthropic:key": {"type": "api_key", "provider": "anthropic", "key": API_KEY},
            "gw:norefresh": {"type": "oauth", "provider": "rfc6750",
                             "access": "stale-access-" + "s" * 40,
                             "refresh": "stale-refresh-" + "s" * 40, "expires": 1000}}}, f)
    r = run("get", f"{base}/v1/models", "--credentials", people, "--profile", "anthropic:dead")
    speaks_cli("a rejected API key is told to replace the key", r, code=4, wanted=(
        f"keyward login-import --credentials {people} --profile anthropic:dead --provider "
        "anthropic --api-key-env", ), unwanted=("log in", dead_key))
    r = run("get", f"{base}/v1/models", "--credentials", people, "--profile", "gw:norefresh")
    speaks_cli("an OAuth profile without a token endpoint", r, code=4,
               wanted=("pass `--token-url URL` or add `token_url` to the profile",))
    r = run("get", f"{base}/v1/models", "--credentials", people, "--profile", "gw:norefresh",
            "--token-url", "http://203.0.113.9/token")
    speaks_cli("a --token-url that may not carry a refresh token", r, code=2,
               wanted=("--token-url",))
    r = run("get", f"{base}/v1/models", "--credentials", people, "--profile", "gw:norefresh",
            "--token-url", f"{base}/token", "--client-id", "unregistered-client")
    speaks_cli("a client id the token endpoint does not know", r, code=4,
               wanted=("--client-id",))
    r = run("get", f"{base}/v1/placement", "--credentials", people, "--profile", "anthropic:key")
    speaks_cli("a credential the provider says was sent wrongly", r, code=4,
               wanted=("--provider",))
    r = run("get", f"{base}/v1/missing", "--credentials", people, "--profile", "anthropic:key")
    speaks_cli("a 404", r, code=1)
    r = run("get", f"{base}/v1/models", "--credentials", people, "--profile", "nobody")
    speaks_cli("a missing profile", r, code=3)

    # Durations and times read naturally: days, not hundreds of hours; seconds where they matter.
    expired_login = os.path.join(work, "expired-login.json")
    with open(expired_login, "w") as f:
        json.dump({"claudeAiOauth": {"accessToken": "sk-ant-oat01-" + "E" * 80,
                                     "expiresAt": 1000}}, f)
    r = run("login-import", "--credentials", people, "--profile", "anthropic:old",
            "--claude-code", expired_login)
    check("a login expired decades ago reads in years, not hundreds of thousands of hours",
          r.returncode == 1 and re.search(r"5\d years ago", r.stderr) and
          not re.search(r"\d+ h\b", r.stderr), f"exit {r.returncode}: {r.stderr}")
    now_ms = int(time.time() * 1000)
    times = os.path.join(work, "times.json")
    with open(times, "w") as f:
        json.dump({"profiles": {
            name: {"type": "oauth", "provider": "rfc6750", "access": "t-" + name + "-" + "t" * 40,
                   "refresh": "r-" + name + "-" + "r" * 40, "expires": expires}
            for name, expires in (("old", 1000),
                                  ("days", now_ms - (3 * 86400 + 3600) * 1000),
                                  ("hours", now_ms + (2 * 3600 + 5 * 60 + 30) * 1000),
                                  ("soon", now_ms + 42_600))}}, f)
    r = run("status", "--credentials", times)
    lines = dict(line.split(":", 1) for line in r.stdout.splitlines())
    check("status: a time long past reads in years", re.search(r"expired at 1970-01-01T00:00:01Z "
          r"\(5\d years ago\)", lines.get("old", "")), r.stdout)
    check("status: days ago", "(3 days ago)" in lines.get("days", ""), r.stdout)
    check("status: hours and minutes ahead", "(in 2 h 5 min)" in lines.get("hours", ""),
          r.stdout)
    check("status: seconds kept under a minute", re.search(r"\(in 4[12] s\)",
                                                          lines.get("soon", "")), r.stdout)
    check("status: no hundreds of hours", not re.search(r"\d{3,} h", r.stdout), r.stdout)

    # A fleet: 8 processes share one login in one file, on an expired token, at once.
    def fleet(where):
        with state.lock:
            calls = state.refresh_calls
        procs = [subprocess.Popen([binary, "get", f"{base}/v1/models", *where,
                                   "--token-url", f"{base}/token"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(8)]
        codes = [p.wait(timeout=60) for p in procs]
        errors = "".join(p.stderr.read() for p in procs)
        return codes, state.refresh_calls - calls, errors

    expire(creds, "gw:oauth")
    codes, calls, errors = fleet(["--credentials", creds, "--profile", "gw:oauth"])
    check("8 processes on one credentials file: 1 token call, all get through",
          codes == [0] * 8 and calls == 1 and not state.revoked, f"{codes}, {calls} calls {errors}")

    redis_port = start_redis(work)
    if redis_port is None:
        check("redis-server for the Redis fleet", False, "redis-server not found or did not start")
    else:
        access_now, refresh_now = state.access, state.refresh
        seed = subprocess.run(["redis-cli", "-p", str(redis_port), "HSET",
                               "keyward:{gw:redis}:credential", "kind", "oauth", "token",
                               access_now, "refresh", refresh_now, "expires_ms", "1000",
                               "generation", "1"], capture_output=True, text=True)
        codes, calls, errors = fleet(["--redis", f"redis://127.0.0.1:{redis_port}",
                                      "--profile", "gw:redis", "--provider", "rfc6750"])
        check("8 processes on one Redis login: 1 token call, all get through",
              seed.returncode == 0 and codes == [0] * 8 and calls == 1 and not state.revoked,
              f"{codes}, {calls} calls {errors}")
        r = run("status", "--redis", f"redis://127.0.0.1:{redis_port}", "--profile", "gw:redis")
        check("status reads a profile from Redis", r.returncode == 0 and
              "generation 2" in r.stdout, r.stdout + r.stderr)
        # login-import --redis seeds a Redis login with the store's own write, fields and all.
        redis_url = f"redis://127.0.0.1:{redis_port}"
        env = dict(os.environ, REDIS_KEY=API_KEY)
        r = subprocess.run([binary, "login-import", "--redis", redis_url, "--profile",
                            "anthropic:rkey", "--provider", "anthropic", "--api-key-env",
                            "REDIS_KEY"], capture_output=True, text=True, env=env, timeout=60)
        fields = subprocess.run(["redis-cli", "-p", str(redis_port), "HGETALL",
                                 "keyward:{anthropic:rkey}:credential"], capture_output=True,
                                text=True).stdout.split("\n")
        check("login-import --redis writes an API key the Redis store reads", r.returncode == 0 and
              "anthropic:rkey" in r.stdout and "generation 1" in r.stdout and
              fields[fields.index("kind") + 1] == "api_key" and API_KEY not in r.stdout + r.stderr,
              f"exit {r.returncode}: {r.stdout} {r.stderr} {fields}")
        r = run("get", f"{base}/v1/models", "--redis", redis_url, "--profile", "anthropic:rkey",
                "--provider", "anthropic")
        check("get uses the login that login-import --redis seeded", r.returncode == 0 and
              '"path": "/v1/models"' in r.stdout, f"exit {r.returncode}: {r.stderr}")
        r = subprocess.run([binary, "login-import", "--redis", redis_url, "--profile",
                            "anthropic:rkey", "--provider", "anthropic", "--api-key-env",
                            "REDIS_KEY"], capture_output=True, text=True, env=env, timeout=60)
        check("login-import --redis again replaces the login (generation 2)",
              r.returncode == 0 and "generation 2" in r.stdout, r.stdout + r.stderr)
        claude_redis = os.path.join(work, "claude-redis.json")
        with open(claude_redis, "w") as f:
            json.dump({"claudeAiOauth": {"accessToken": "sk-ant-oat01-" + "M" * 80,
                                         "refreshToken": "sk-ant-ort01-" + "N" * 80,
                                         "expiresAt": 4102444800000}}, f)
        r = run("login-import", "--redis", redis_url, "--profile", "anthropic:rwork",
                "--claude-code", claude_redis)
        status = run("status", "--redis", redis_url, "--profile", "anthropic:rwork", "--json")
        line = json.loads(status.stdout) if status.returncode == 0 else {}
        check("login-import --redis --claude-code writes an OAuth login with its refresh token",
              r.returncode == 0 and line.get("refreshable") is True and
              line.get("expires_at") == "2100-01-01T00:00:00Z" and "M" * 20 not in r.stdout +
              r.stderr + status.stdout, f"exit {r.returncode}: {r.stderr} {status.stdout}")
        for args, what in ((["--redis", "http://127.0.0.1:1"], "a URL that is not redis://"),
                           (["--redis", redis_url, "--credentials", creds], "both stores")):
            r = subprocess.run([binary, "login-import", *args, "--profile", "p", "--provider",
                                "anthropic", "--api-key-env", "REDIS_KEY"], capture_output=True,
                               text=True, env=env, timeout=60)
            check(f"login-import refuses {what} (exit 2)", r.returncode == 2 and
                  "--redis" in r.stderr, f"exit {r.returncode}: {r.stderr}")
        r = run("login-import", "--redis", "redis://127.0.0.1:1", "--profile", "p",
                "--claude-code", claude_redis)
        check("login-import --redis to a server that is not there is exit 3, naming it",
              r.returncode == 3 and "127.0.0.1:1" in r.stderr, f"exit {r.returncode}: {r.stderr}")
        subprocess.run(["redis-cli", "-p", str(redis_port), "shutdown", "nosave"],
                       capture_output=True)

    # A pool: every profile of one provider in the file; the first is dead, the second serves.
    pool = os.path.join(work, "pool.json")
    with open(pool, "w") as f:
        json.dump({"profiles": {
            "rfc:dead": {"type": "token", "provider": "rfc6750", "token": "dead-token-" + "d" * 40},
            "rfc:good": {"type": "token", "provider": "rfc6750", "token": state.access}}}, f)
    r = run("get", f"{base}/v1/models", "--credentials", pool, "--provider", "rfc6750",
            "--verbose")
    check("get --provider fails over across the file's profiles", r.returncode == 0 and
          '"path": "/v1/models"' in r.stdout and '"event":"failover"' in r.stderr,
          f"exit {r.returncode}: {r.stderr[-600:]}")
    with open(pool, "w") as f:
        json.dump({"profiles": {
            "rfc:dead": {"type": "token", "provider": "rfc6750", "token": "dead-token-" + "d" * 40},
            "rfc:gone": {"type": "token", "provider": "rfc6750", "token": "gone-token-" + "g" * 40}}},
            f)
    r = run("get", f"{base}/v1/models", "--credentials", pool, "--provider", "rfc6750")
    check("a pool whose every profile is dead: a person must act (4), never a rate limit",
          r.returncode == 4 and "rfc:dead" in r.stderr and "rfc:gone" in r.stderr and
          "rate limit;" not in r.stderr, f"exit {r.returncode}: {r.stderr}")
    speaks_cli("a pool whose every profile is dead", r, code=4,
               wanted=(f"keyward login-import --credentials {pool} --profile NAME",))

    with state.lock:
        state.revoked = True
        state.access = "access-token-revoked-" + "z" * 40
    expire(creds, "gw:oauth")
    r = run("get", f"{base}/v1/models", *oauth)
    check("a dead login is 'a person must act' (4) with the fix, never a rate limit",
          r.returncode == 4 and "log in again" in r.stderr and "rate limit;" not in r.stderr,
          f"exit {r.returncode}: {r.stderr}")
    speaks_cli("a dead OAuth login", r, wanted=("log in again", creds, "gw:oauth"))
    r = run("status", "--credentials", creds, "--profile", "gw:oauth")
    speaks_cli("status of a dead login", subprocess.CompletedProcess(r.args, r.returncode, "",
                                                                     r.stdout + r.stderr),
               wanted=("log in again", "gw:oauth", creds))

    r = run("get", f"{base}/v1/models", "--credentials", creds, "--profile", "nobody")
    check("a missing profile is exit 3", r.returncode == 3 and "nobody" in r.stderr, r.stderr)
    bad = os.path.join(work, "bad.json")
    with open(bad, "w") as f:
        f.write('{"profiles": {"p": {"type": "oauth", "access": ' + json.dumps(API_KEY))
    r = run("get", f"{base}/v1/models", "--credentials", bad, "--profile", "p")
    check("a malformed file is exit 3, naming the file", r.returncode == 3 and bad in r.stderr,
          r.stderr)
    check("a malformed file is left as it was", open(bad).read().endswith(json.dumps(API_KEY)))
    for args in (["get"], ["get", f"{base}/v1", "--profile", "p"],
                 ["get", f"{base}/v1", "--credentials", creds], ["status"],
                 ["get", f"{base}/v1", "--credentials", creds, "--profile", "p", "--provider", "x"],
                 ["login-import", "--credentials", creds, "--profile", "p"]):
        r = run(*args)
        check(f"usage error: {' '.join(args[:1] + args[2:3])}", r.returncode == 2, r.stderr)

    r = run("--help")
    check("--help shows login-import --redis", "login-import (--credentials FILE | --redis URL)"
          in r.stdout, r.stdout[-400:])
    r = run("status", "--credentials", creds)
    check("status lists every profile by fingerprint", r.returncode == 0 and "gw:oauth" in r.stdout
          and "anthropic:key: api_key sk-ant-api03-…eyAA" in r.stdout, r.stdout + r.stderr)
    r = run("status", "--credentials", creds, "--json")
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    check("status --json is a JSON line per profile", r.returncode == 0 and len(lines) == 2 and
          lines[0]["generation"] >= 1, r.stdout)

    claude = os.path.join(work, "claude.json")
    with open(claude, "w") as f:
        json.dump({"claudeAiOauth": {"accessToken": "sk-ant-oat01-" + "A" * 80,
                                     "refreshToken": "sk-ant-ort01-" + "R" * 80,
                                     "expiresAt": 4102444800000, "scopes": ["user:inference"]}}, f)
    state.secrets_extra = ["sk-ant-oat01-" + "A" * 80, "sk-ant-ort01-" + "R" * 80]
    r = run("login-import", "--credentials", creds, "--profile", "anthropic:work",
            "--claude-code", claude)
    doc = json.load(open(creds))
    imported = doc["profiles"].get("anthropic:work", {})
    check("login-import --claude-code writes an oauth profile", r.returncode == 0 and
          imported.get("type") == "oauth" and imported.get("provider") == "anthropic" and
          imported.get("expires") == 4102444800000 and "gw:oauth" in doc["profiles"],
          r.stdout + r.stderr)
    check("login-import prints no secret", all(s not in r.stdout + r.stderr
                                               for s in state.secrets_extra))
    r = run("get", f"{base}/v1/models", "--credentials", creds, "--profile", "anthropic:work",
            "--client-id", "app", "--token-url", f"{base}/token")
    speaks_cli("a dead Claude Code login names the exact login-import", r, code=4, wanted=(
        "log in to Claude Code again, then run `keyward login-import --credentials "
        f"{creds} --profile anthropic:work --claude-code`",))
    env = dict(os.environ, MY_KEY="sk-ant-api03-short")
    before = open(creds).read()
    r = subprocess.run([binary, "login-import", "--credentials", creds, "--profile", "k",
                        "--provider", "anthropic", "--api-key-env", "MY_KEY"],
                       capture_output=True, text=True, env=env, timeout=60)
    check("login-import refuses a key that fails pre-flight and writes nothing",
          r.returncode == 1 and "pre-flight" in r.stderr and open(creds).read() == before,
          r.stderr)

    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
