#!/usr/bin/env python3
"""Runs the `keyward` tool as a user would: every fixture through `keyward classify` (its verdict
must match the fixture's `expect`), then the error paths, exit codes and `validate`, which must
never print the secret it reads.

    python3 tools/cli/check_cli.py KEYWARD_BINARY FIXTURE_DIR
"""
import json
import pathlib
import subprocess
import sys


def run(binary, *args, stdin=b""):
    p = subprocess.run([binary, *args], input=stdin, capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def main():
    binary, fixtures = sys.argv[1], pathlib.Path(sys.argv[2])
    failures = []

    def expect(condition, what):
        if not condition:
            failures.append(what)

    files = sorted(fixtures.rglob("*.json"))
    expect(len(files) >= 10, f"only {len(files)} fixtures found under {fixtures}")
    for path in files:
        want = json.loads(path.read_text())["expect"]
        code, out, err = run(binary, "classify", str(path))
        if code != 0:
            failures.append(f"{path.name}: exit {code}: {err.strip()}")
            continue
        got = json.loads(out)
        for field in ("kind", "scope", "retryable", "retry_after_ms"):
            expect(got[field] == want[field], f"{path.name}: {field} {got[field]!r} != {want[field]!r}")
        if "provider_code" in want:
            expect(got["provider_code"] == want["provider_code"],
                   f"{path.name}: provider_code {got['provider_code']!r} != {want['provider_code']!r}")
    # The same file through standard input, and --now moving a Retry-After date.
    sample = fixtures / "generic" / "503-retry-after-seconds.json"
    code, out, _ = run(binary, "classify", "-", stdin=sample.read_bytes())
    expect(code == 0 and json.loads(out)["retry_after_ms"] == 120000, "classify - (stdin)")
    dated = json.dumps({"response": {"status": 429, "headers": {
        "retry-after": "Wed, 04 Feb 2026 12:00:30 GMT"}, "body": ""}}).encode()
    code, out, _ = run(binary, "classify", "--now", "2026-02-04T12:00:00Z", "-", stdin=dated)
    expect(code == 0 and json.loads(out)["retry_after_ms"] == 30000, "classify --now")

    # Usage errors exit 2, malformed input exits 3, each with a message on standard error.
    for args, stdin, want_code, what in [
        ((), b"", 2, "no command"),
        (("frobnicate",), b"", 2, "unknown command"),
        (("classify",), b"", 2, "classify without a file"),
        (("classify", "--now", "yesterday", "-"), b"{}", 2, "bad --now"),
        (("classify", "--provider", "nosuch", "-"), sample.read_bytes(), 2, "unknown provider"),
        (("classify", "/nonexistent/file.json"), b"", 3, "unreadable file"),
        (("classify", "-"), b"{not json", 3, "malformed JSON"),
        (("classify", "-"), b'{"response": {"status": "401"}}', 3, "status as a string"),
        (("classify", "-"), b'{"response": {"status": 401, "headers": {"a": 1}}}', 3,
         "non-string header"),
        (("validate", "--kind", "oauth"), b"", 2, "validate without --provider"),
    ]:
        code, out, err = run(binary, *args, stdin=stdin)
        expect(code == want_code, f"{what}: exit {code}, wanted {want_code}")
        expect(err.strip() != "" and out == "", f"{what}: wanted a message on stderr only")
    code, out, _ = run(binary, "--help")
    expect(code == 0 and "exit codes" in out, "--help")

    # validate: findings as JSON, and never the secret.
    secret = "sk-ant-api03-" + "Q" * 60 + "x7Qa"
    code, out, _ = run(binary, "validate", "--provider", "anthropic", "--kind", "oauth",
                       stdin=(secret + "\n").encode())
    expect(code == 1, f"validate of an API key declared as OAuth: exit {code}, wanted 1")
    expect("Q" * 20 not in out, "validate printed the secret")
    result = json.loads(out) if out else {"ok": True, "findings": []}
    expect(not result["ok"] and any(f["code"] == "wrong_prefix" for f in result["findings"]),
           f"validate found no wrong_prefix: {out}")
    cut = "sk-ant-oat01-" + "A" * 48 + "\n" + "B" * 20
    code, out, _ = run(binary, "validate", "--provider", "anthropic", "--kind", "oauth",
                       stdin=cut.encode())
    expect(code == 1 and "line break at character 62" in out, f"validate of a cut token: {out}")
    expect("A" * 20 not in out and "B" * 20 not in out, "validate printed the secret")
    code, out, _ = run(binary, "validate", "--provider", "anthropic", "--kind", "oauth",
                       stdin=("sk-ant-oat01-" + "C" * 80 + "\n").encode())
    expect(code == 0 and json.loads(out) == {"ok": True, "findings": []}, f"valid token: {out}")

    for failure in failures:
        print(f"FAIL {failure}")
    print(f"{len(files)} fixtures through keyward classify; {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
