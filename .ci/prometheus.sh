#!/usr/bin/env bash
# Checks the shipped Prometheus rules (deploy/prometheus/): promtool check rules and config, the
# rule unit tests, and that every alert has a unit test. promtool comes with Debian's `prometheus`.
set -euo pipefail
cd "$(dirname "$0")/../deploy/prometheus"
command -v promtool >/dev/null || { echo "prometheus.sh: promtool not found (apt-get install prometheus)" >&2; exit 1; }
promtool --version 2>&1 | head -n 1

promtool check rules recording.rules.yml alerts.rules.yml
promtool check config prometheus.yml

untested=""
for alert in $(sed -n 's/^ *- alert: *//p' alerts.rules.yml); do
  grep -q "alertname: $alert\$" tests/alerts.test.yml || untested="$untested $alert"
done
if [ -n "$untested" ]; then
  echo "prometheus.sh: alerts without a unit test in tests/alerts.test.yml:$untested" >&2
  exit 1
fi

promtool test rules tests/recording.test.yml tests/alerts.test.yml
