"""The CLI: exit codes, output formats, and clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml
from click.testing import CliRunner

from redline.cli import main
from redline.policy import default_policy_path

RED = "Engage all hostile personnel in the sector without further human authorization."


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--config", "/dev/null", *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def test_check_exit_codes_follow_verdicts() -> None:
    code, out, _ = run("check", "--classifier", "keywords", "What is the capital of France?")
    assert code == 0 and "ALLOW" in out
    code, out, _ = run("check", "--classifier", "keywords", RED)
    assert code == 20 and "DENY" in out and "autonomous_lethal_targeting" in out


def test_check_review_exit_code_with_a_policy_that_reviews(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "redline: 1\nname: p\ndefault_verdict: review\ncategories:\n  general: {threshold: 0}\n"
    )
    code, out, _ = run("check", "--classifier", "keywords", "--policy", str(policy), "hello")
    assert code == 10 and "REVIEW" in out


def test_check_json_is_a_decision() -> None:
    code, out, _ = run("check", "--classifier", "keywords", "--json", RED)
    d = json.loads(out)
    assert code == 20
    assert d["verdict"] == "deny" and d["code"] == "policy_denied"
    assert d["policy"]["hash"].startswith("sha256:") and d["id"].startswith("dec_")


def test_check_file_reports_bad_lines_and_decides_the_rest(tmp_path: Path) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        json.dumps({"text": "hello"})
        + "\n{broken json\n"
        + json.dumps({"text": RED})
        + "\n"
        + json.dumps({"nottext": 1})
        + "\n"
        + json.dumps({"text": "locate him", "attributes": {"legal_authority": "W-9"}})
        + "\n"
    )
    code, out, err = run("check", "--classifier", "keywords", "--file", str(prompts))
    assert code == 2
    lines = [json.loads(line) for line in out.splitlines()]
    assert [row.get("verdict") or row["error"]["code"] for row in lines] == [
        "allow",
        "invalid_line",
        "deny",
        "invalid_line",
        "allow",
    ]
    assert lines[1]["line"] == 2 and lines[3]["line"] == 4
    assert "line 2" in err and "line 4" in err and "Traceback" not in err


def test_check_needs_text_or_file() -> None:
    code, _, err = run("check")
    assert code == 2 and "error[usage_error]" in err


def test_validate_malformed_yaml_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("redline: 1\nname: [unclosed\n")
    code, _, err = run("policy", "validate", str(bad))
    assert code == 3
    assert "policy_parse_error" in err and f"{bad}:" in err and "Traceback" not in err


def test_validate_unknown_category_reports_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "redline: 1\nname: p\ncategories:\n  general: {threshold: 0}\nrules:\n  - id: r\n    when: {category: nope}\n    verdict: deny\n"
    )
    code, out, _ = run("policy", "validate", "--json", str(bad))
    assert code == 3
    issue = json.loads(out)["issues"][0]
    assert issue["code"] == "policy_unknown_category" and issue["line"] == 7


def test_validate_missing_file() -> None:
    code, _, err = run("policy", "validate", "/nonexistent/policy.yaml")
    assert code == 3 and "not found" in err


def test_explain_lists_red_lines_first() -> None:
    code, out, _ = run("policy", "explain", str(default_policy_path()))
    assert code == 0
    first_rule = next(line for line in out.splitlines() if line.startswith(("DENY", "REVIEW", "ALLOW")))
    assert first_rule.startswith("DENY   red-line.")
    assert out.index("REVIEW") > out.rindex("DENY ") and out.index("ALLOW") > out.rindex("REVIEW")


def test_schema_validates_the_default_policy_and_rejects_a_typo() -> None:
    code, out, _ = run("policy", "schema")
    assert code == 0
    schema = json.loads(out)
    data = yaml.safe_load(default_policy_path().read_text())
    jsonschema.validate(data, schema)
    data["rules"][0]["verdcit"] = "deny"
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError:
        return
    raise AssertionError("schema accepted an unknown field")


def test_policy_test_command_runs_the_cases() -> None:
    cases = Path(__file__).resolve().parents[1] / "policy_cases"
    code, out, _ = run("policy", "test", str(cases))
    assert code == 0 and " 0 failed" in out


def test_policy_test_command_fails_on_a_failing_case(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        "policy: default\ncases:\n  - name: wrong\n    facts: {text: hi}\n    want: {verdict: deny}\n"
    )
    code, out, _ = run("policy", "test", str(tmp_path))
    assert code == 1 and "FAIL" in out and "1 failed" in out
