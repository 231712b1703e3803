#!/usr/bin/env python3
"""Prints how many tests ran, and how many of them were integration tests against real servers.

Usage: test-summary.py TESTS_DIR RESULT.xml=LABEL [RESULT.xml=LABEL ...]

A suite counts as integration when its source uses a real server: the `.natsServer` /
`.postgresServer` traits or `NATSServer.start` / `PostgresServer.start`. Exits non-zero when a
result file is missing or reports failures, or when no integration test ran at all.
"""
import pathlib
import re
import sys
import xml.etree.ElementTree as ET

SERVER_MARKERS = re.compile(r"\.natsServer|\.postgresServer|NATSServer\.start|PostgresServer\.start|requireCurrent")
SUITE = re.compile(r"^(?:@Suite[^\n]*\n)?(?:(?:final |public )*)(?:struct|final class|class|enum) (\w+)", re.M)


def integration_suites(tests_dir: pathlib.Path) -> set[str]:
    suites = set()
    for path in tests_dir.rglob("*.swift"):
        module = path.relative_to(tests_dir).parts[0]
        text = path.read_text()
        matches = list(SUITE.finditer(text))
        for index, match in enumerate(matches):
            end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
            if SERVER_MARKERS.search(text[match.start():end]):
                suites.add(f"{module}.{match.group(1)}")
    return suites


def main() -> int:
    tests_dir = pathlib.Path(sys.argv[1])
    suites = integration_suites(tests_dir)
    status = 0
    total_passed = 0
    total_failed = 0
    for argument in sys.argv[2:]:
        path, _, label = argument.partition("=")
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as error:
            print(f"test summary: cannot read {path}: {error}")
            status = 1
            continue
        cases = root.findall(".//testcase")
        failed = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
        skipped = [c for c in cases if c.find("skipped") is not None]
        integration = [c for c in cases if c.get("classname") in suites]
        print(
            f"{label}: {len(cases)} tests, {len(integration)} of them integration tests against real servers, "
            f"{len(failed)} failed, {len(skipped)} skipped"
        )
        total_passed += len(cases) - len(failed) - len(skipped)
        total_failed += len(failed)
        if failed or skipped or not integration:
            status = 1
    closing = f"tests: {total_passed} passed, {total_failed} failed"
    print(closing)
    summary = pathlib.Path(sys.argv[2].partition("=")[0]).parent / "summary.txt"
    summary.write_text(closing + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
