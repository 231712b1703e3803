#!/usr/bin/env python3
"""Writes cases.json: one body per rule that breaks exactly that rule of a valid sample body.

Each case names the subject, the rule's level, the reason EventDecoder gives and the field path
its detail starts with. Levels:
  schema       the exported JSON Schema rejects the body too
  registry     depends on the receiver's configured policies (JSON Schema cannot know them)
  cross-field  a rule between members that JSON Schema cannot state
  calendar     a date that does not exist (February 29 outside a leap year)
  clock        relative to the receiver's clock
  json-text    about the JSON text, not its value (integer syntax, duplicate names)
Run from this folder: python3 generate.py (the bodies are kept as text, so the corpus can hold
what a JSON library would normalise away).
"""
import json

ENVELOPE = [
    ("event_id", '"0b7c2f5e-8a41-4c3b-9d2e-5f6a7b8c9d01"'),
    ("schema_version", "1"),
    ("occurred_at", '"2026-04-25T10:00:00Z"'),
    ("user_id", '"user-000042"'),
    ("source", '"prod"'),
]
SAMPLES = {
    "signals.task.synced": ENVELOPE + [("task_count", "137")],
    "signals.tip.feedback": ENVELOPE + [("tip_id", '"tip-weekly-review"'), ("action", '"accepted"')],
    "signals.decision": ENVELOPE + [
        ("decision_id", '"3eaf5c8b-1d74-4f6e-8a5b-8c9d0e1f2a34"'), ("policy", '"linucb_v1"'),
        ("policy_version", '"linucb_v1@1.0.0+a3f9c2e1"'), ("arm_id", '"a"'), ("propensity", "0.7"),
        ("features", "[0.12,-0.5,1,0.333,0]"), ("candidates", '["a","b","c"]'),
        ("probabilities", "[0.7,0.2,0.1]"), ("explored", "false"),
    ],
    "feedback.reward": ENVELOPE + [
        ("reward", "0.75"), ("policy", '"linucb_v1"'), ("arm_id", '"tip-morning-review"'),
        ("features", "[0.12,-0.5,1.0,0.333,0.0]"),
    ],
    "feedback.reward.decision": ENVELOPE + [("reward", "1"), ("decision_id", '"3eaf5c8b-1d74-4f6e-8a5b-8c9d0e1f2a34"')],
    "feedback.routing": ENVELOPE + [
        ("inference_id", '"6bd28f1e-4a07-4c9b-9d8e-1f2a3b4c5d67"'), ("task_type", '"code"'),
        ("task_type_source", '"classifier"'), ("policy_version", '"routing_v1@1.2.0+0badc0de"'),
        ("model", '"gpt-4o-mini"'), ("provider", '"openai"'), ("constraint_band", '"standard"'),
        ("reward", "0.82"), ("latency_ms", "812.5"), ("cost_usd", "0.00042"), ("completed", "true"),
        ("policy", '"routing_v1"'), ("features", "[1,0,0,0.25,-0.75,0.5,0.125,1e-3]"),
    ],
}
ABSENT = object()
cases = []


def body(sample, changes=(), extra=""):
    members = list(SAMPLES[sample])
    for name, raw in changes:
        index = next((i for i, m in enumerate(members) if m[0] == name), None)
        if raw is ABSENT:
            members.pop(index)
        elif index is None:
            members.append((name, raw))
        else:
            members[index] = (name, raw)
    return "{" + ",".join(f'"{n}":{r}' for n, r in members) + extra + "}"


def case(name, sample, level, reason, path, changes=(), extra="", text=None):
    subject = "feedback.reward" if sample.startswith("feedback.reward") else sample
    cases.append({
        "name": name, "subject": subject, "level": level, "reason": reason, "path": path,
        "body": text if text is not None else body(sample, changes, extra),
    })


S, X = "schema.invalid", "schema"
# Envelope, on every subject.
for sample in SAMPLES:
    for field in ["event_id", "schema_version", "occurred_at", "user_id"]:
        case(f"{sample}: {field} missing", sample, X, S, field, [(field, ABSENT)])
    case(f"{sample}: source null", sample, X, S, "source", [("source", "null")])
    case(f"{sample}: top level an array", sample, X, S, "body", text="[" + body(sample) + "]")
T = "signals.task.synced"
for raw in ['2', '0', '"1"', 'null', 'true']:
    case(f"schema_version {raw}", T, X, S, "schema_version", [("schema_version", raw)])
for raw in ['1.0', '1e0']:
    case(f"schema_version {raw}", T, "json-text", S, "schema_version", [("schema_version", raw)])
for raw in ['"nope"', '"{0b7c2f5e-8a41-4c3b-9d2e-5f6a7b8c9d01}"', '"0b7c2f5e8a414c3b9d2e5f6a7b8c9d01"',
            '"0b7c2f5e-8a41-4c3b-9d2e-5f6a7b8c9d0"', '"0b7c2f5g-8a41-4c3b-9d2e-5f6a7b8c9d01"', '42',
            '"0b7c2f5e-8a41-4c3b-9d2e-5f6a7b8c9d01\\n"']:
    case(f"event_id {raw}", T, X, S, "event_id", [("event_id", raw)])
for raw in ['"2026-04-25T10:00:00"', '"2026-04-25 10:00:00Z"', '"2026-13-01T10:00:00Z"', '"2026-04-31T10:00:00Z"',
            '"2026-04-25T24:00:00Z"', '"2026-04-25T10:00:00+0200"', '"2026-04-25"', '1777111200',
            '"2026-04-25T10:00:00Z\\n"', '"２０２６-04-25T10:00:00Z"']:
    case(f"occurred_at {raw}", T, X, S, "occurred_at", [("occurred_at", raw)])
case("occurred_at February 29 of 2026", T, "calendar", S, "occurred_at", [("occurred_at", '"2026-02-29T10:00:00Z"')])
case("occurred_at 2 days ahead", T, "clock", S, "occurred_at", [("occurred_at", '"2026-04-27T12:00:00Z"')])
for raw in ['""', json.dumps("a" * 129), '"user 1"', '"usér"', '"user\\n"', '"user\\u0000"', '42', '["u"]']:
    case(f"user_id {raw[:20]}", T, X, S, "user_id", [("user_id", raw)])
for raw in ['"test"', '"Prod"', '""', '1']:
    case(f"source {raw}", T, X, S, "source", [("source", raw)])
# signals.task.synced
for raw in ['-1', '10000001', '"5"', 'null', '5.5', '99999999999999999999']:
    case(f"task_count {raw}", T, X, S, "task_count", [("task_count", raw)])
for raw in ['1.0', '1e3']:
    case(f"task_count {raw}", T, "json-text", S, "task_count", [("task_count", raw)])
case("task_count missing", T, X, S, "task_count", [("task_count", ABSENT)])
case("a duplicate member name", T, "json-text", "json.invalid", "body", extra=',"task_count":137')
# signals.tip.feedback
F = "signals.tip.feedback"
for raw in ['""', json.dumps("t" * 129), '7', '"nul\\u0000inside"', 'null']:
    case(f"tip_id {raw[:20]}", F, X, S, "tip_id", [("tip_id", raw)])
for raw in ['"rejected"', '"Accepted"', '1']:
    case(f"action {raw}", F, X, S, "action", [("action", raw)])
case("action missing", F, X, S, "action", [("action", ABSENT)])
# signals.decision
D = "signals.decision"
for field in ["decision_id", "policy", "policy_version", "arm_id", "propensity", "features"]:
    case(f"decision: {field} missing", D, X, S, field, [(field, ABSENT)])
case("decision_id not a UUID", D, X, S, "decision_id", [("decision_id", '"x"')])
case("decision policy unknown", D, "registry", "policy.unknown", "policy", [("policy", '"linucb_v9"')])
case("decision policy a number", D, X, S, "policy", [("policy", "5")])
for raw in ['"linucb_v1@1.0.0+A3F9C2E1"', '"linucb_v1@1.0.0"', '"linucb_v1@01.0.0+a3f9c2e1"', '"@1.0.0+a3f9c2e1"',
            '"linucb_v1@1.0.0-01+a3f9c2e1"', '"linucb_v1@1.0+a3f9c2e1"', '1']:
    case(f"decision policy_version {raw}", D, X, S, "policy_version", [("policy_version", raw)])
case("policy_version of another policy", D, "cross-field", S, "policy_version",
     [("policy_version", '"egreedy_v1@1.0.0+a3f9c2e1"')])
for raw in ['""', json.dumps("a" * 129), '1']:
    case(f"decision arm_id {raw[:20]}", D, X, S, "arm_id", [("arm_id", raw), ("candidates", ABSENT), ("probabilities", ABSENT)])
for raw in ['0', '-0.5', '1.0000001', '"0.5"', '1e400', 'null']:
    case(f"propensity {raw}", D, X, S, "propensity", [("propensity", raw), ("probabilities", ABSENT)])
case("decision features of 4", D, "registry", "dimension.mismatch", "features", [("features", "[1,2,3,4]")])
case("decision features of 6", D, "registry", "dimension.mismatch", "features", [("features", "[1,2,3,4,5,6]")])
for raw in ['[1000000.1,0,0,0,0]', '[0,0,"1",0,0]', '[0,0,null,0,0]', '[1e400,0,0,0,0]', '"0,0,0,0,0"', '{"0":1}', '[]']:
    level, reason = (X, "dimension.mismatch") if raw == "[]" else (X, S)
    case(f"decision features {raw}", D, level, reason, "features", [("features", raw)])
case("candidates without arm_id", D, "cross-field", S, "candidates", [("candidates", '["b","c"]'), ("probabilities", ABSENT)])
for raw in ['[]', '["a","b","a"]', '["a",""]', '["a",1]', '"a"', 'null']:
    case(f"candidates {raw}", D, X, S, "candidates", [("candidates", raw), ("probabilities", ABSENT)])
case("probabilities without candidates", D, X, S, "probabilities", [("candidates", ABSENT)])
for raw, level in [("[0.7,0.3]", "cross-field"), ("[0.7,0.2,0.2]", "cross-field"), ("[0.6,0.3,0.1]", "cross-field"),
                   ("[0.7,1.1,-0.8]", X), ('[0.7,"0.2",0.1]', X), ('{"a":0.7}', X), ("null", X)]:
    case(f"probabilities {raw}", D, level, S, "probabilities", [("probabilities", raw)])
for raw in ['"true"', '1', 'null']:
    case(f"explored {raw}", D, X, S, "explored", [("explored", raw)])
# feedback.reward
R, RD = "feedback.reward", "feedback.reward.decision"
for raw in ['-1.0000001', '1.5', '"1"', 'true', 'null', '1e999']:
    case(f"reward {raw}", RD, X, S, "reward", [("reward", raw)])
case("reward missing", RD, X, S, "reward", [("reward", ABSENT)])
for extra in ["policy", "arm_id", "features"]:
    raw = dict(SAMPLES[R])[extra]
    case(f"decision_id form with {extra}", RD, X, S, "body", [(extra, raw)])
case("inline form with decision_id", R, X, S, "body", [("decision_id", '"3eaf5c8b-1d74-4f6e-8a5b-8c9d0e1f2a34"')])
for missing in ["policy", "arm_id", "features"]:
    case(f"inline form without {missing}", R, X, S, "body", [(missing, ABSENT)])
case("neither form", RD, X, S, "body", [("decision_id", ABSENT)])
case("decision_id not a UUID", RD, X, S, "decision_id", [("decision_id", '"x"')])
case("decision_id null", RD, X, S, "decision_id", [("decision_id", "null")])
case("inline policy unknown", R, "registry", "policy.unknown", "policy", [("policy", '"linucb_v9"')])
case("inline features of 7", R, "registry", "dimension.mismatch", "features", [("features", "[0,0,0,0,0,0,0]")])
case("inline features element 2e6", R, X, S, "features[3]", [("features", "[0,0,0,2e6,0]")])
case("inline arm_id empty", R, X, S, "arm_id", [("arm_id", '""')])
# feedback.routing
G = "feedback.routing"
for field in ["inference_id", "task_type", "task_type_source", "policy_version", "model", "provider",
              "constraint_band", "reward", "latency_ms", "cost_usd", "completed"]:
    case(f"routing: {field} missing", G, X, S, field, [(field, ABSENT)])
for field, raw in [("inference_id", '"nope"'), ("task_type", '"Code"'), ("task_type", '"tool-use"'),
                   ("task_type_source", '"user"'), ("constraint_band", '"medium"'), ("model", '""'),
                   ("model", json.dumps("m" * 129)), ("provider", json.dumps("p" * 65)), ("reward", "1.01"),
                   ("reward", "-0.01"), ("latency_ms", "-0.001"), ("latency_ms", "1e309"), ("cost_usd", '"1"'),
                   ("completed", "1"), ("completed", "null"), ("policy_version", '"routing_v1@1.0.0+0BADC0DE"'),
                   ("policy", "null"), ("features", "null")]:
    case(f"routing {field} {raw[:20]}", G, X, S, field, [(field, raw)])
case("routing policy without features", G, X, S, "features", [("features", ABSENT)])
case("routing features without policy", G, X, S, "policy", [("policy", ABSENT)])
case("routing policy unknown", G, "registry", "policy.unknown", "policy", [("policy", '"router_v9"')])
case("routing features of 5", G, "registry", "dimension.mismatch", "features", [("features", "[0,0,0,0,0]")])

with open("cases.json", "w") as out:
    json.dump(cases, out, indent=1, ensure_ascii=False)
    out.write("\n")
print(f"{len(cases)} cases")
