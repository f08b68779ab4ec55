#!/usr/bin/env python3
"""Checks `keyward get --openclaw` and `keyward status --openclaw` against a real HTTP server.

    check_openclaw.py KEYWARD_BINARY

Makes an OpenClaw state directory whose state/openclaw.sqlite has OpenClaw 2026.9.6's own
config_machine_state table and `authProfiles.store` row, starts check_get.py's provider API and
rotating token endpoint on 127.0.0.1, and runs the tool as a user would: the expired profile is
refreshed once and written back into OpenClaw's row (everything else kept), OpenClaw's refresh
lock is gone afterwards, a failed OpenClaw refresh (its failed fence) is a person's job (exit 4)
with no token call, an unknown store version is refused, and no secret is ever printed.
"""
import json
import os
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_get  # noqa: E402  (the same provider API and token endpoint)
from check_get import FAILURES, check, serve  # noqa: E402

SCHEMA = """CREATE TABLE IF NOT EXISTS config_machine_state (
  state_key TEXT NOT NULL PRIMARY KEY,
  value_json TEXT NOT NULL,
  updated_at_ms INTEGER NOT NULL
) STRICT;"""

FAILED_FENCE = ("openclaw-oauth-refresh-fence:v1:0123456789abcdef0123456789abcdef:failed:{}:"
                + "a" * 64)


def put(db, store):
    with sqlite3.connect(db) as c:
        c.execute("INSERT INTO config_machine_state VALUES ('authProfiles.store', ?, 1) "
                  "ON CONFLICT(state_key) DO UPDATE SET value_json = excluded.value_json",
                  (json.dumps(store, separators=(",", ":")),))


def get_row(db):
    with sqlite3.connect(db) as c:
        return c.execute("SELECT value_json FROM config_machine_state "
                         "WHERE state_key = 'authProfiles.store'").fetchone()[0]


def main():
    binary = sys.argv[1]
    state, base = serve()
    work = tempfile.mkdtemp(prefix="keyward-openclaw-")
    os.makedirs(os.path.join(work, "state"))
    db = os.path.join(work, "state", "openclaw.sqlite")
    with sqlite3.connect(db) as c:
        c.executescript(SCHEMA)
        c.execute("INSERT INTO config_machine_state VALUES ('auth.sharedStore', "
                  "'{\"location\":\"state-db\"}', 1)")
    other = {"type": "api_key", "provider": "anthropic", "key": check_get.API_KEY,
             "label": "kept as is"}
    put(db, {"version": 1, "profiles": {
        "gw:oauth": {"type": "oauth", "provider": "rfc6750", "access": state.access,
                     "refresh": state.refresh, "expires": 1000, "email": "dev@example.com"},
        "anthropic:key": other}, "order": {"rfc6750": ["gw:oauth"]}})

    run = check_get.runner(binary, state)
    oauth = ["--openclaw", work, "--profile", "gw:oauth", "--token-url", f"{base}/token"]
    r = run("get", f"{base}/v1/models", *oauth)
    check("get --openclaw refreshes the expired profile once and prints the body",
          r.returncode == 0 and '"path": "/v1/models"' in r.stdout and state.refresh_calls == 1,
          f"exit {r.returncode}, {state.refresh_calls} token calls: {r.stdout} {r.stderr}")
    row = json.loads(get_row(db))
    profile = row["profiles"]["gw:oauth"]
    check("the rotated tokens are in OpenClaw's row, its other members kept",
          profile["refresh"] == state.refresh and profile["access"] == state.access and
          profile["email"] == "dev@example.com" and profile["expires"] > 1000, str(profile.keys()))
    check("every other profile and member as it was, and nothing of keyward's in the row",
          row["profiles"]["anthropic:key"] == other and row["order"] == {"rfc6750": ["gw:oauth"]}
          and "generation" not in get_row(db))
    locks = os.path.join(work, "locks", "oauth-refresh")
    check("OpenClaw's refresh lock was taken and released",
          os.path.isdir(locks) and os.listdir(locks) == [], str(os.listdir(locks)))

    r = run("get", f"{base}/v1/models", *oauth)
    check("a second get uses the stored token", r.returncode == 0 and state.refresh_calls == 1,
          r.stderr)

    env = dict(os.environ, OPENCLAW_STATE_DIR=work)
    r = run("status", "--openclaw", env=env)
    check("status --openclaw (from $OPENCLAW_STATE_DIR) lists every profile",
          r.returncode == 0 and r.stdout.startswith("gw:oauth: ") and "anthropic:key: " in
          r.stdout and "generation" in r.stdout, f"exit {r.returncode}: {r.stdout} {r.stderr}")
    r = run("status", "--openclaw", work, "--json")
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    check("status --openclaw --json prints one JSON line per profile",
          r.returncode == 0 and [line["profile"] for line in lines] == ["gw:oauth",
                                                                         "anthropic:key"],
          r.stdout + r.stderr)

    # OpenClaw's refresh failed and left its failed fence: a person must log in again.
    row["profiles"]["gw:oauth"].update(access=FAILED_FENCE.format("access"),
                                       refresh=FAILED_FENCE.format("refresh"), expires=1)
    put(db, row)
    calls = state.refresh_calls
    r = run("get", f"{base}/v1/models", *oauth)
    check("a failed OpenClaw refresh is exit 4, saying to log in again, with no token call",
          r.returncode == 4 and "again with OpenClaw" in r.stderr and
          state.refresh_calls == calls and "openclaw-oauth-refresh-fence" not in r.stderr,
          f"exit {r.returncode}: {r.stderr}")

    row["version"] = 2
    put(db, row)
    r = run("status", "--openclaw", work, "--profile", "anthropic:key")
    check("a store version keyward does not know is refused, naming it",
          r.returncode == 3 and "version 2" in r.stderr, f"exit {r.returncode}: {r.stderr}")

    r = run("get", f"{base}/v1/models", "--openclaw", work)
    check("get --openclaw without --profile is a usage error",
          r.returncode == 2 and "--profile" in r.stderr, r.stderr)
    r = run("--help")
    check("--help documents --openclaw", "--openclaw [STATE_DIR]" in r.stdout, r.stdout[:200])

    if FAILURES:
        print(f"{len(FAILURES)} failed")
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
