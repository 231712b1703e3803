#!/usr/bin/env bash
# The exported JSON Schemas (schemas/): committed ones equal a fresh `banditd schema export`, and a
# real validator (Python jsonschema, in a throwaway venv) accepts every golden valid fixture,
# rejects every schema-level case of the invalid corpus and accepts the others (the rules the
# schemas say they cannot express), so the documents neither drift nor overclaim.
set -euo pipefail
cd "$(dirname "$0")/.."

swift build --product banditd
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
.build/debug/banditd schema export --out "$fresh/schemas" >/dev/null
if ! diff -ru schemas "$fresh/schemas" --exclude=validate.py; then
  echo "schemas/ differs from a fresh export: run '.build/debug/banditd schema export' and commit" >&2
  exit 1
fi

if ! python3 -m venv "$fresh/venv"; then
  # Debian's python3 keeps venv in a separate package.
  apt-get install -y python3-venv
  python3 -m venv "$fresh/venv"
fi
"$fresh/venv/bin/pip" install --quiet --disable-pip-version-check 'jsonschema==4.26.0'
"$fresh/venv/bin/python" - <<'PY'
import json, pathlib, sys
sys.path.insert(0, "schemas")
import validate

subjects = ["signals.task.synced", "signals.tip.feedback", "signals.decision", "feedback.reward", "feedback.routing"]
checks = {subject: validate.validator(subject) for subject in subjects}
passed, failures = 0, []

for path in sorted(pathlib.Path("Tests/BanditCoreTests/Fixtures/valid").glob("*.json")):
    subject = max((s for s in subjects if path.stem == s or path.stem.startswith(s + ".")), key=len)
    problems = validate.errors(checks[subject], path.read_text(encoding="utf-8"))
    if problems:
        failures.append(f"valid fixture {path.name} fails its schema: {problems}")
    else:
        passed += 1

cases = json.loads(pathlib.Path("Tests/BanditCoreTests/Fixtures/invalid/cases.json").read_text(encoding="utf-8"))
for case in cases:
    problems = validate.errors(checks[case["subject"]], case["body"])
    if case["level"] == "schema" and not problems:
        failures.append(f"schema-level case {case['name']!r} passes the {case['subject']} schema")
    elif case["level"] != "schema" and problems:
        failures.append(f"{case['level']} case {case['name']!r} fails the schema, which says it cannot express that rule: {problems}")
    else:
        passed += 1

for failure in failures:
    print(failure, file=sys.stderr)
print(f"schemas: {passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
PY
