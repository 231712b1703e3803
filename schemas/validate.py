#!/usr/bin/env python3
"""Validate message bodies against banditd's JSON Schemas before publishing them.

    python3 schemas/validate.py SUBJECT FILE...      e.g. feedback.reward body.json
    python3 schemas/validate.py SUBJECT -            the body on standard input

Needs the `jsonschema` package (pip install 'jsonschema>=4.18'). Prints one line per body and
exits 1 when any body is invalid. A body that passes can still be rejected by the daemon for a
rule the schema cannot state; each schema's `description` lists them (the configured policies
and their dimensions, cross-member rules, the receiver's clock, the JSON text itself).
"""
import json
import pathlib
import sys

from jsonschema import Draft202012Validator

HERE = pathlib.Path(__file__).resolve().parent


def validator(subject):
    path = HERE / f"{subject}.schema.json"
    if not path.exists():
        known = sorted(p.name[: -len(".schema.json")] for p in HERE.glob("*.schema.json"))
        raise SystemExit(f"unknown subject {subject!r}; one of: {', '.join(known)}")
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def errors(check, text):
    """The reasons a body is invalid: empty when it validates."""
    try:
        body = json.loads(text)
    except ValueError as error:
        return [f"not JSON: {error}"]
    found = sorted(check.iter_errors(body), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or 'body'}: {e.message}" for e in found]


def main(arguments):
    if len(arguments) < 2:
        raise SystemExit(__doc__)
    check = validator(arguments[0])
    failed = 0
    for name in arguments[1:]:
        text = sys.stdin.read() if name == "-" else pathlib.Path(name).read_text(encoding="utf-8")
        problems = errors(check, text)
        print(f"{name}: {'valid' if not problems else 'invalid: ' + '; '.join(problems)}")
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
