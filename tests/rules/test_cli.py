"""``seatgate rules``: every editing command, every refusal (exit 2, one line, no change)."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
import redis

from seatgate.cli import main as seatgate_main
from seatgate.schema import GlobalKeys
from tests.helpers import seatgate_cmd


@pytest.fixture
def real_log(real_logs):
    """One day of the real Jira access logs (the folder comes from the real_logs fixture)."""
    return real_logs / "access_log.2015-11-25"


CONFIG = """
[[products]]
name = "wiki"
kind = "confluence"
upstream = "http://127.0.0.1:1"
license_group = "confluence-users"
"""


@pytest.fixture
def cli(rules_cli):
    return rules_cli(CONFIG)


@pytest.fixture
def stored(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)

    def state() -> tuple[str | None, str | None]:
        return client.hget(GlobalKeys.rules, "version"), client.hget(GlobalKeys.rules, "doc")

    yield state
    client.close()


def refused(result: tuple[int, str, str], message: str) -> None:
    code, out, err = result
    assert code == 2, (out, err)
    assert err.count("\n") == 1, err  # one line
    assert message in err, err


def test_add_update_move_remove(cli, stored) -> None:
    assert (
        cli(
            "add",
            "--id",
            "ours.poll",
            "--description",
            "our plugin's poll (every 10 s)",
            "--path",
            "/rest/ours/1.0/poll/{id}",
            "--methods",
            "get",
            "--query",
            "present:since",
            "--verdict",
            "background",
            "--before",
            "hidden-tab",
            "--reason",
            "ticket 12",
        )[0]
        == 0
    )
    _, out, _ = cli("show", "ours.poll", "--json")
    shown = json.loads(out)
    assert shown["version"] == 2 and shown["rule"]["methods"] == ["GET"]
    _, out, _ = cli("explain", "GET", "/rest/ours/1.0/poll/7?since=3", "--json")
    assert json.loads(out)["rule"] == "ours.poll" and json.loads(out)["verdict"] == "background"
    ids = json.loads(cli("list", "--json")[1])["rules"]
    assert [r["id"] for r in ids].index("ours.poll") == [r["id"] for r in ids].index("hidden-tab") - 1

    assert cli("update", "ours.poll", "--verdict", "passive", "--no-query")[0] == 0
    rule = json.loads(cli("show", "ours.poll", "--json")[1])["rule"]
    assert rule["verdict"] == "passive" and "query" not in rule and rule["path"] == "/rest/ours/1.0/poll/{id}"
    assert cli("update", "ours.poll", "--regex", "/rest/ours/.*")[0] == 0
    rule = json.loads(cli("show", "ours.poll", "--json")[1])["rule"]
    assert rule["regex"] == "/rest/ours/.*" and "path" not in rule

    assert cli("move", "ours.poll", "--to-end")[0] == 0
    assert json.loads(cli("list", "--json")[1])["rules"][-1]["id"] == "ours.poll"
    assert cli("move", "ours.poll", "--before", "static.resources")[0] == 0
    assert json.loads(cli("list", "--json")[1])["rules"][0]["id"] == "ours.poll"
    assert cli("remove", "ours.poll")[0] == 0
    assert stored()[0] == "7"

    _, out, _ = cli("audit", "--json")
    entries = json.loads(out)
    assert [e["version"] for e in entries] == [7, 6, 5, 4, 3, 2, 1]
    assert entries[-2]["reason"] == "ticket 12" and entries[-2]["who"].startswith("cli")
    removal = entries[0]["changes"][0]
    assert removal["rule"] == "ours.poll" and removal["after"] is None and removal["before"]["regex"]


def test_any_path_is_saved_only_when_confirmed(cli, stored) -> None:
    code, _, err = cli(
        "add", "--id", "all.heads", "--description", "d", "--any-path", "--methods", "HEAD", "--verdict", "passive"
    )
    assert code == 2 and stored() == (None, None), err
    code, _, err = cli(
        "add", "--id", "all.heads", "--description", "d", "--any-path", "--methods", "HEAD", "--verdict", "passive",
        "--yes", "--after", "hidden-tab",
    )  # fmt: skip
    assert code == 0 and "warning: rule 'all.heads' matches every path" in err
    rules = json.loads(cli("list", "--json")[1])["rules"]
    ids = [r["id"] for r in rules]
    assert ids.index("all.heads") == ids.index("hidden-tab") + 1 and rules[ids.index("all.heads")]["any_path"]
    assert cli("update", "all.heads", "--path", "/x")[0] == 0
    assert "any_path" not in json.loads(cli("show", "all.heads", "--json")[1])["rule"]


def test_add_from_file_and_update_from_file(cli, tmp_path) -> None:
    rules = tmp_path / "new.yaml"
    rules.write_text(
        "rules:\n  - {id: a.one, description: d, path: /a/1, verdict: static}\n"
        "  - {id: a.two, description: d, path: /a/2, verdict: passive, products: [wiki]}\n"
    )
    assert cli("add", "--from-file", str(rules))[0] == 0
    one = tmp_path / "one.toml"
    one.write_text('id = "a.one"\ndescription = "now background"\npath = "/a/one"\nverdict = "background"\n')
    assert cli("update", "a.one", "--from-file", str(one))[0] == 0
    assert json.loads(cli("show", "a.one", "--json")[1])["rule"]["path"] == "/a/one"
    refused(cli("update", "a.one", "--from-file", str(rules)), "holds 2 rules; update takes exactly one")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["add", "--id", "x", "--description", "d", "--regex", "/a/(", "--verdict", "static"],
            "rule 'x': regex: invalid regular expression '/a/('",
        ),
        (
            ["add", "--id", "x", "--description", "d", "--path", "/a", "--verdict", "ignore"],
            "rule 'x': verdict: unknown verdict 'ignore' (one of: static, background, activity, passive)",
        ),
        (
            ["add", "--id", "hidden-tab", "--description", "d", "--path", "/a", "--verdict", "static"],
            "rule 'hidden-tab': id: a rule with this id already exists",
        ),
        (
            ["add", "--id", "x", "--description", "d", "--path", "/x", "--products", "bamboo", "--verdict", "static"],
            "rule 'x': products: unknown product 'bamboo' (known: confluence, jira, wiki)",
        ),
        (
            ["add", "--id", "x", "--description", "d", "--path", "/x", "--verdict", "static", "--before", "nope"],
            "no rule with id 'nope'",
        ),
        (
            [
                "add",
                "--id",
                "x",
                "--description",
                "d",
                "--path",
                "/x",
                "--verdict",
                "static",
                "--before",
                "jira-board-poll",
            ],
            "no rule with id 'jira-board-poll' (did you mean 'jira.board-poll'?)",
        ),
        (
            ["add", "--id", "x", "--description", "d", "--path", "/x", "--verdict", "static", "--after", "hiden-tab"],
            "no rule with id 'hiden-tab' (did you mean 'hidden-tab'?)",
        ),
        (
            ["add", "--id", "x", "--description", "x", "--verdict", "background"],
            "rule 'x': no path or regex: the rule would match every request",
        ),
        (
            ["add", "--id", "x", "--description", "x", "--any-path", "--verdict", "background"],
            "rule 'x' matches every path: its verdict would apply to every request; add --yes to confirm",
        ),
        (
            ["add", "--id", "x", "--description", "d", "--path", "/x", "--methods", "GTE", "--verdict", "static"],
            "rule 'x': methods: unknown HTTP method 'GTE' (did you mean 'GET'?)",
        ),
        (["update", "hidden-tab", "--methods", "GTE"], "unknown HTTP method 'GTE' (did you mean 'GET'?)"),
        (["update", "static.favicon", "--any-path"], "rule 'static.favicon' matches every path"),
        (["move", "hidden-tab", "--after", "nope"], "no rule with id 'nope'"),
        (
            ["add", "--id", "x", "--description", "d", "--path", "no-slash", "--verdict", "static"],
            "rule 'x': path: 'no-slash' must start with /",
        ),
        (["add", "--id", "x", "--verdict", "static"], "rule 'x': description: is required"),
        (
            ["add", "--id", "x", "--description", "d", "--query", "nonsense", "--verdict", "static"],
            "rule 'x': query.0: 'nonsense' is not present:NAME",
        ),
        (["update", "nope", "--verdict", "static"], "no rule with id 'nope'"),
        (["update", "hidden-tab"], "nothing to change"),
        (["update", "hidden-tab", "--regex", "("], "rule 'hidden-tab': regex: invalid regular expression"),
        (["update", "hidden-tab", "--verdict", "sometimes"], "unknown verdict 'sometimes'"),
        (
            ["update", "hidden-tab", "--id", "static.favicon"],
            "rule 'static.favicon': id: a rule with this id already exists",
        ),
        (["update", "hidden-tab", "--products", "bamboo"], "unknown product 'bamboo'"),
        (["remove", "nope"], "no rule with id 'nope'"),
        (["move", "hidden-tab", "--before", "nope"], "no rule with id 'nope'"),
        (["move", "nope", "--before", "hidden-tab"], "no rule with id 'nope'"),
        (["move", "hidden-tab", "--before", "hidden-tab"], "cannot move a rule next to itself"),
        (["show", "nope"], "no rule with id 'nope'"),
        (["rollback", "99"], "no rules version 99 in the history"),
        (["import", "/nonexistent/rules.toml"], "no such file"),
        (["explain", "GET", "/x", "--header", "novalue"], "--header 'novalue': give it as NAME:VALUE"),
        (["explain", "GET", "/x", "--product", "bamboo"], "unknown product 'bamboo' (known: confluence, jira, wiki)"),
        (["explain", "GET", "x"], "the path must start with /"),
        (["test", "/nonexistent/access_log"], "/nonexistent/access_log: no such file"),
        (["test", __file__, "--compare"], "--compare needs --rules FILE"),
    ],
)
def test_refusals_change_nothing(cli, stored, args: list[str], message: str) -> None:
    assert (
        cli("list")[0] == 0
        and cli("add", "--id", "seed", "--description", "d", "--path", "/seed", "--verdict", "static")[0] == 0
    )
    before = stored()
    refused(cli(*args), message)
    assert stored() == before


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("rules = [", ".toml", "bad.toml: invalid TOML"),
        ("rules: [", ".yaml", "bad.yaml: invalid YAML"),
        (
            '[[rules]]\nid="a"\ndescription="d"\npath="/a"\nverdict="static"\n'
            '[[rules]]\nid="a"\ndescription="d"\npath="/a"\nverdict="static"\n',
            ".toml",
            "bad.toml: duplicate rule id 'a'",
        ),
        (
            "rules:\n  - {id: a, description: d, path: /a, verdict: maybe}\n",
            ".yaml",
            "bad.yaml: rule 'a': verdict: unknown verdict 'maybe'",
        ),
        (
            "rules:\n  - {id: a, description: d, path: /a, verdict: static, products: [crowd]}\n",
            ".yaml",
            "bad.yaml: rule 'a': products: unknown product 'crowd'",
        ),
        ("rules: []\n", ".txt", "bad.txt: unknown rules file type '.txt'"),
    ],
)
def test_import_refusals(cli, stored, tmp_path, content: str, suffix: str, message: str) -> None:
    cli("list")
    before = stored()
    bad = tmp_path / f"bad{suffix}"
    bad.write_text(content)
    refused(cli("import", str(bad)), message)
    assert stored() == before


def test_export_import_round_trip_and_rollback(cli, stored, tmp_path) -> None:
    exported = tmp_path / "rules.yaml"
    assert cli("export", "--format", "yaml", "-o", str(exported))[0] == 0
    text = exported.read_text()
    edited = tmp_path / "edited.yaml"
    edited.write_text(text.replace("verdict: background\n", "verdict: passive\n", 1))
    code, out, _ = cli("import", str(edited), "--reason", "softer")
    assert code == 0 and "rules are now version 1" in out
    assert stored()[0] == "1"  # nothing was stored before the import: the import is version 1
    code, out, _ = cli("export")
    assert out.startswith("# seatgate rules version 1") and 'verdict = "passive"' in out
    assert cli("remove", "static.favicon")[0] == 0
    assert cli("rollback", "1")[0] == 0
    assert stored()[0] == "3"
    assert "static.favicon" in cli("list")[1]
    code, out, _ = cli("versions")
    assert out.splitlines()[0].startswith("version 3") and "rollback to version 1" in out


def test_explain_without_redis_uses_builtin(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("SEATGATE_REDIS_URL", raising=False)
    code = seatgate_main(
        [
            "rules",
            "--redis-url",
            "redis://127.0.0.1:1/0",
            "explain",
            "GET",
            "/rest/quickreload/latest/123?since=1",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0
    answer = json.loads(out)
    assert answer["rule"] == "confluence.quick-reload" and answer["verdict"] == "background"
    assert "unreachable; using the built-in catalogue" in err
    code = seatgate_main(["rules", "explain", "GET", "/browse/X-1", "--json", "--builtin"])
    assert json.loads(capsys.readouterr().out)["rule"] is None and code == 0


def test_explain_text_and_product(cli) -> None:
    code, out, _ = cli(
        "explain", "GET", "/rest/greenhopper/1.0/xboard/work/allData.json?rapidViewId=5", "--product", "jira"
    )
    assert code == 0 and "→  passive" in out and "decided by rule jira.board-load" in out
    assert "skipped jira.board-poll: query condition present:etag is false" in out
    code, out, _ = cli("explain", "GET", "/browse/X-1", "--header", "X-Atlassian-Mau-Ignore: true", "--json")
    assert json.loads(out)["rule"] == "hidden-tab"
    code, out, _ = cli("explain", "GET", "/index.action", "--product", "wiki", "--json")
    answer = json.loads(out)
    assert (answer["rule"], answer["verdict"], answer["product"]) == (None, "activity", "wiki")


def test_edits_need_redis(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("SEATGATE_REDIS_URL", raising=False)
    start = time.monotonic()
    code = seatgate_main(["rules", "--redis-url", "redis://127.0.0.1:1/0", "remove", "hidden-tab"])
    err = capsys.readouterr().err
    assert code == 2 and time.monotonic() - start < 5
    assert err == (
        "seatgate rules remove: cannot reach Redis at redis://127.0.0.1:1/0 (ConnectionError); nothing changed\n"
    )


def test_logtest_on_real_jira_log(cli, tmp_path, real_log) -> None:
    code, out, _ = cli("test", str(real_log), "--builtin")
    assert code == 0
    assert "8099 requests from 8099 lines" in out
    hits = {
        line.split()[-1]: int(line.split()[0])
        for line in out.split("Hits per rule")[1].split("Requests")[0].splitlines()[2:]
        if line.strip()
    }
    assert hits["jira.board-poll"] == 6 and hits["(default)"] > 1000 and hits["analytics.publish"] > 100
    users = out.split("Requests per user")[1]
    assert "radim" in users and "(anonymous)" in users
    code, out, _ = cli("test", str(real_log), "--builtin", "--json")
    data = json.loads(out)
    assert data["users"]["radim"]["activity"] > 0 and data["users"]["radim"]["background"] > 0
    # the effect of an edit, before saving it: gadget refresh made activity
    edited = tmp_path / "edited.toml"
    cli("export", "--builtin", "-o", str(edited))
    edited.write_text(
        edited.read_text().replace(
            'path = "/rest/gadget/1.0/**"\nverdict = "background"', 'path = "/rest/gadget/1.0/**"\nverdict = "activity"'
        )
    )
    code, out, _ = cli("test", str(real_log), "--rules", str(edited), "--compare")
    assert code == 0 and "with the current rules → with the tested rules" in out
    assert "blast radius: 754 of 8099 requests change verdict (754 background → activity)" in out
    assert "for 0 of 3 users activity turns into background or passive, for 3 it turns into activity" in out
    radim = next(line for line in out.splitlines() if line.strip().startswith("radim"))
    assert "1893 → 2608" in radim and "1162 → 447" in radim  # 715 gadget refreshes


def test_acceptance_commands_as_processes(redis_url, real_log) -> None:
    env = {**os.environ, "SEATGATE_REDIS_URL": redis_url}
    done = subprocess.run(
        seatgate_cmd("rules", "explain", "GET", "/rest/quickreload/latest/123?since=1", "--json"),
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["rule"] == "confluence.quick-reload" and answer["verdict"] == "background"
    done = subprocess.run(
        seatgate_cmd("rules", "test", str(real_log)), capture_output=True, text=True, env=env, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert "Hits per rule" in done.stdout and "Requests per user" in done.stdout
