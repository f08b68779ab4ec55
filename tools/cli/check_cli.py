#!/usr/bin/env python3
"""Runs the `keyward` tool as a user would: every fixture through `keyward classify` (its verdict
must match the fixture's `expect`), then the error paths, exit codes, `--version` and `validate`,
which must never print the secret it reads and must report what the library's pre-flight
reports for the same bytes.

    python3 tools/cli/check_cli.py KEYWARD_BINARY FIXTURE_DIR [PROJECT_VERSION]
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile


def run(binary, *args, stdin=b""):
    p = subprocess.run([binary, *args], input=stdin, capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def main():
    binary, fixtures = sys.argv[1], pathlib.Path(sys.argv[2])
    version = sys.argv[3] if len(sys.argv) > 3 else None
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
    expect(code == 0 and "exit codes" in out and "--token-file" in out, "--help")

    # --version: the project's version, from CMake.
    code, out, err = run(binary, "--version")
    expect(code == 0 and out.startswith("keyward ") and err == "", f"--version: {code} {out!r}")
    if version is not None:
        expect(out == f"keyward {version}\n", f"--version printed {out!r}, wanted {version}")

    # An unreadable file: the reason, as the system gives it.
    code, _, err = run(binary, "classify", "/nonexistent/file.json")
    expect("cannot read /nonexistent/file.json: " + os.strerror(2) in err,
           f"unreadable file without its reason: {err!r}")
    with tempfile.TemporaryDirectory() as directory:
        code, _, err = run(binary, "classify", directory)
        expect(code == 3 and "cannot read" in err and os.strerror(21) in err,
               f"classify of a directory: exit {code}: {err!r}")

    # validate: findings as JSON, and never the secret.
    secret = "sk-ant-api03-" + "Q" * 60 + "x7Qa"
    code, out, _ = run(binary, "validate", "--provider", "anthropic", "--kind", "oauth",
                       stdin=secret.encode())
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
    good = "sk-ant-oat01-" + "C" * 80
    code, out, _ = run(binary, "validate", "--provider", "anthropic", "--kind", "oauth",
                       stdin=good.encode())
    expect(code == 0 and json.loads(out) == {"ok": True, "findings": []}, f"valid token: {out}")

    # The slot is named with its provider: an OpenAI key given to Anthropic as an API key is not
    # "configured as an API key" (it is one), but as an Anthropic API key.
    openai_key = "sk-proj-" + "P" * 60
    for provider, words in [("anthropic", "an Anthropic API key"), ("google", "a Google API key")]:
        code, out, _ = run(binary, "validate", "--provider", provider, "--kind", "api_key",
                           stdin=openai_key.encode())
        messages = [f["message"] for f in json.loads(out)["findings"]] if out else []
        expect(code == 1 and any(m.endswith("configured as " + words) for m in messages),
               f"validate --provider {provider} of an OpenAI key: {out}")
        expect(all("configured as an API key" not in m for m in messages),
               f"validate --provider {provider} says only 'an API key': {out}")

    # Standard input is the credential byte for byte, as the library sees it: a trailing newline
    # is the library's line_break finding (with a hint to use --token-file), not dropped.
    code, out, err = run(binary, "validate", "--provider", "anthropic", "--kind", "oauth",
                         stdin=(good + "\n").encode())
    codes = [f["code"] for f in json.loads(out)["findings"]] if out else []
    expect(code == 1 and codes == ["line_break"], f"stdin with a trailing newline: {out}")
    expect("--token-file" in err, f"no hint to use --token-file: {err!r}")

    # --token-file drops exactly one line ending (LF or CRLF) and says so; a second one, or an
    # unreadable file, is reported.
    with tempfile.TemporaryDirectory() as directory:
        def token_file(name, content):
            path = pathlib.Path(directory) / name
            path.write_bytes(content.encode())
            return str(path)

        for name, content in [("lf", good + "\n"), ("crlf", good + "\r\n")]:
            path = token_file(name, content)
            code, out, err = run(binary, "validate", "--provider", "anthropic", "--kind", "oauth",
                                 "--token-file", path)
            expect(code == 0 and json.loads(out) == {"ok": True, "findings": []},
                   f"--token-file ({name}): exit {code}: {out}")
            expect(path in err and "ignored the" in err, f"--token-file ({name}) said: {err!r}")
        path = token_file("plain", good)
        code, out, err = run(binary, "validate", "--provider", "anthropic", "--kind", "oauth",
                             "--token-file", path)
        expect(code == 0 and err == "", f"--token-file without a newline: {code} {out} {err!r}")
        path = token_file("two", good + "\n\n")
        code, out, _ = run(binary, "validate", "--provider", "anthropic", "--kind", "oauth",
                           "--token-file", path)
        codes = [f["code"] for f in json.loads(out)["findings"]] if out else []
        expect(code == 1 and codes == ["line_break"], f"--token-file with two newlines: {out}")
        expect("C" * 20 not in out, "validate printed the secret")
        missing = str(pathlib.Path(directory) / "missing")
        code, out, err = run(binary, "validate", "--provider", "anthropic", "--kind", "oauth",
                             "--token-file", missing)
        expect(code == 3 and out == "" and f"cannot read {missing}: {os.strerror(2)}" in err,
               f"--token-file of a missing file: exit {code}: {err!r}")

    # keyward simulate: every scenario runs, prints JSON lines, ends with the pool's status, and
    # asserts its outcome in an expect block that holds (exit 0; a failed one exits 1).
    scenarios = sorted((fixtures.parent.parent / "examples" / "scenarios").glob("*.json"))
    expect(len(scenarios) >= 6, f"only {len(scenarios)} scenarios found")
    for path in scenarios:
        expect("expect" in json.loads(path.read_text()), f"simulate {path.name}: no expect block")
        code, out, err = run(binary, "simulate", str(path))
        lines = [json.loads(line) for line in out.splitlines()] if code == 0 else []
        expect(code == 0 and lines and "status" in lines[-1],
               f"simulate {path.name}: exit {code}: {err.strip()}")
    with tempfile.TemporaryDirectory() as directory:
        seed = json.loads((scenarios[0].parent / "seed.json").read_text())
        # A failed expectation: exit 1, one line per failure on standard error, expected vs got.
        seed["expect"] = {"events": {"refresh_succeeded": 2}}
        scenario = pathlib.Path(directory) / "wrong.json"
        scenario.write_text(json.dumps(seed))
        code, out, err = run(binary, "simulate", str(scenario))
        expect(code == 1 and '"status"' in out and
               "expect.events.refresh_succeeded: expected 2, got 1" in err,
               f"simulate with a failed expectation: exit {code}: {err.strip()}")
        # A typo is refused (exit 2) with its line and path; nothing runs.
        scenario.write_text('{"profiles": [{"name": "a", "token": "sim-key-a-0123456789-000a"}],'
                            '\n "requests": [{"att": 5}]}')
        code, out, err = run(binary, "simulate", str(scenario))
        expect(code == 2 and out == "" and "line 2: requests[0].att: unknown key" in err,
               f"simulate of a scenario with a typo: exit {code}: {err.strip()}")
    # An error's "code" is the Errc identifier (docs/simulate.md), its sentence is "message".
    code, out, err = run(binary, "simulate", str(scenarios[0].parent / "all_rate_limited.json"))
    errors = [json.loads(line) for line in out.splitlines() if '"outcome":"error"' in line]
    expect(code == 0 and errors and all(e["code"] == "no_usable_credential" and e["message"]
                                        for e in errors),
           f"simulate: error codes are Errc identifiers: {[e.get('code') for e in errors][:3]}")
    # An error's "until" is rounded up to the whole second: a request at the second shown is let
    # through (here the server's wait ends at 1.5 s, shown as 2 s).
    with tempfile.TemporaryDirectory() as directory:
        scenario = pathlib.Path(directory) / "wait.json"
        scenario.write_text(json.dumps({
            "provider": "anthropic",
            "profiles": [{"name": "a", "token": "sk-ant-api03-" + "S" * 80 + "-simAA"}],
            "api": [{"profile": "a", "to_s": 1, "status": 429,
                     "headers": {"retry-after-ms": "1500"}}],
            "requests": [{"at_s": 0}, {"at_s": 0}, {"at_s": 2}]}))
        code, out, err = run(binary, "simulate", str(scenario))
        lines = [json.loads(line) for line in out.splitlines()] if code == 0 else []
        requests = [line for line in lines if "request" in line]
        expect(code == 0 and len(requests) == 3 and requests[0].get("until") ==
               "2026-01-01T00:00:02Z" and requests[2].get("outcome") == "response",
               f"simulate: until rounded up to the second: {requests} {err}")
    code, out, err = run(binary, "simulate", "--summary", str(scenarios[0]))
    expect(code == 0 and "requests:" in out, f"simulate --summary: exit {code}: {err.strip()}")
    code, _, err = run(binary, "simulate", "-", stdin=b"{}")
    expect(code == 3 and err, f"simulate of a file that cannot be read: exit {code}")
    expect(run(binary, "simulate")[0] == 2, "simulate without a scenario")

    for failure in failures:
        print(f"FAIL {failure}")
    print(f"{len(files)} fixtures through keyward classify; {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
