"""docs/policy.md: generated from the definitions, committed, and complete.

The document is what a partnerships lead reads instead of the TOML, so it must be the
current policy (the freshly rendered text, byte for byte) and must leave nothing out.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flows import VERDICTS, Flow, assess, engine, load_flow, policy
from flows.assessment import RECONSIDER_AT, RECONSIDER_AT_IN_ONE_TIP
from flows.definition import parse_flow
from flows.engine import SUMMARY

REGENERATE = "run `python -m flows.policy` and commit docs/policy.md"


@pytest.fixture(scope="module")
def check() -> Flow:
    return load_flow("check")


@pytest.fixture(scope="module")
def review() -> Flow:
    return load_flow("review")


@pytest.fixture(scope="module")
def partner() -> Flow:
    return load_flow("partner")


@pytest.fixture(scope="module")
def doc(check: Flow, review: Flow, partner: Flow) -> str:
    return policy.render(check, review, partner)


@pytest.fixture(scope="module")
def plain(doc: str) -> str:
    """The document with Markdown escapes taken off, to find definition text in it."""
    return re.sub(r"\\(.)", r"\1", doc)


def mermaid_arrows(doc: str) -> list[tuple[str, str, str]]:
    """(source, destination, label) of each arrow in the document's one Mermaid block."""
    blocks = re.findall(r"```mermaid\n(.*?)```", doc, flags=re.DOTALL)
    assert len(blocks) == 1, "expected exactly one Mermaid diagram"
    lines = blocks[0].splitlines()
    assert lines[0] == "stateDiagram-v2"
    arrows = []
    for line in lines[1:]:
        match = re.fullmatch(r" {4}(\S+) --> (\S+)(?: : (.+))?", line)
        assert match, f"not a Mermaid transition: {line!r}"
        arrows.append((match[1], match[2], match[3] or ""))
    return arrows


def question_block(doc: str, question_id: str) -> str:
    """A question's numbered entry: its line and its bullets, up to the blank line."""
    match = re.search(rf"^\d+\. .*\(`{question_id}`\)\n(?:\s+- .*\n)*", doc, flags=re.MULTILINE)
    assert match, f"no entry for question {question_id!r}"
    return match[0]


def test_the_committed_document_is_up_to_date(doc: str) -> None:
    committed = policy.DOC.read_text(encoding="utf-8") if policy.DOC.is_file() else ""
    assert committed == doc, f"docs/policy.md is out of date: {REGENERATE}"


def test_it_says_where_it_comes_from_and_how_to_regenerate_it(
    doc: str, check: Flow, review: Flow
) -> None:
    header = doc.split("\n## ", 1)[0]
    assert f"`flows/definitions/check.toml` (version {check.version})" in header
    assert f"`flows/definitions/review.toml` (version {review.version})" in header
    assert "`flows/definitions/partner.toml` (version 1)" in header
    assert "`python -m flows.policy`" in header
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", doc), "no dates: the file must be stable"


@pytest.mark.parametrize("flow_name", ["check", "review", "partner"])
def test_it_names_every_tip_question_part_and_option(plain: str, flow_name: str) -> None:
    flow = load_flow(flow_name)
    plain = section_of(plain, flow_name)  # the flows share some question ids
    for tip in flow.tips:
        assert f"{tip.title} (`{tip.id}`)" in plain
        assert tip.help in plain
    for question in flow.questions:
        block = re.sub(r"\\(.)", r"\1", question_block(plain, question.id))
        assert question.text in block
        for option in question.options:
            assert option.label in block, (question.id, option.label)
        for part in question.parts:
            assert f"*{part.label}* (`{part.id}`)" in block
            for option in part.options:
                assert option.label in block, (part.id, option.label)


@pytest.mark.parametrize("flow_name", ["check", "review", "partner"])
def test_it_gives_every_flag_with_its_reasons_and_conditions(plain: str, flow_name: str) -> None:
    flow = load_flow(flow_name)
    for rule in flow.flags:
        row = re.search(rf"^\| `{re.escape(rule.id)}` \|.*$", plain, flags=re.MULTILINE)
        assert row, f"no row for flag {rule.id!r}"
        wordings = [case.wording for case in rule.cases] + [
            wording for wording in (rule.unsure, rule.in_progress) if wording
        ]
        for wording in wordings:
            assert f"| {wording.reason} | {wording.condition} |" in plain, rule.id


def test_each_flag_row_says_when_and_how_severe(plain: str) -> None:
    lines = plain.splitlines()
    first = lines.index(next(line for line in lines if line.startswith("| `no-exit` |")))
    # no-exit: a critical case, a warning case, then its Not sure and In progress rows.
    critical, warning, unsure, in_progress = lines[first : first + 4]
    assert "“No” and the answer to *What form would it take?* (`form`) is “Formal" in critical
    assert "| critical |" in critical
    assert warning.startswith("|  |") and "| warning |" in warning
    assert "is “Not sure” | warning |" in unsure
    assert "is “In progress” | warning |" in in_progress
    lighter = next(line for line in lines if line.startswith("| `lighter-route` |"))
    assert "sets the verdict *Use a less formal route*" in lighter


def test_questions_say_when_they_are_asked_in_words(plain: str, check: Flow) -> None:
    for question in check.questions:
        block = question_block(plain, question.id)
        if question.ask_when is None:
            assert "Asked only when" not in block
            continue
        asked = next(line for line in block.splitlines() if "Asked only when" in line)
        for compare in question.ask_when.comparisons():
            target = check.question_of(compare.question)
            assert target is not None
            options = next((p.options for p in target.parts if p.id == compare.question), None)
            labels = {o.value: o.label for o in (options or target.options)}
            operands = compare.operand if isinstance(compare.operand, tuple) else (compare.operand,)
            for value in operands:
                assert f"“{labels[value]}”" in asked, (question.id, value)
    assert "Asked only when the answer to *What form would it take?*" in question_block(
        plain, "governance"
    )
    assert "**The check ends here**" in question_block(plain, "lighter_route_which")
    assert "Optional: it may be skipped." in question_block(plain, "added_value")
    date = question_block(plain, "first_review_date")
    assert "date picker" in date and "suggested date" in date


def test_it_states_the_verdict_rule(plain: str, check: Flow) -> None:
    verdicts = plain.split("## The verdict", 1)[1].split("\n## ", 1)[0]
    for label in VERDICTS:
        assert f"**{label}**" in verdicts
    assert "3 or more critical flags in all, or 2 or more in one tip" in verdicts
    assert "**always as a warning**" in verdicts
    assert f"with {check.too_early_at} or more answers Not sure" in verdicts
    setters = [rule.id for rule in check.flags if rule.sets_verdict]
    assert setters and all(f"(flag `{flag}`)" in verdicts for flag in setters)


def test_the_stated_thresholds_are_the_ones_assess_applies() -> None:
    """The document's numbers are kept in flows.policy; hold them to the real rule."""
    tips = "\n".join(
        f'[[tips]]\nid = "{tip}"\ntitle = "{tip}"\nhelp = "."\n' for tip in ("a", "b", "c")
    )
    questions, flags = [], []
    for tip, question in (("a", "a1"), ("a", "a2"), ("b", "b1"), ("c", "c1")):
        questions.append(
            f'[[questions]]\nid = "{question}"\ntip = "{tip}"\ntype = "choice"\ntext = "?"\n'
            'options = [{ value = "yes", label = "Yes" }, { value = "no", label = "No" }]\n'
        )
        flags.append(
            f'[[flags]]\nid = "{question}"\ntip = "{tip}"\nseverity = "critical"\n'
            f'when = {{ question = "{question}", equals = "no" }}\nreason = "."\ncondition = "."\n'
        )
    flow = parse_flow(
        '[flow]\nid = "t"\ntitle = "T"\nversion = 1\n' + tips + "".join(questions + flags)
    )
    everything_fine = {"a1": "yes", "a2": "yes", "b1": "yes", "c1": "yes"}

    def verdict(*no: str) -> str | None:
        return assess(flow, {**everything_fine, **dict.fromkeys(no, "no")}).verdict

    assert RECONSIDER_AT == 3 and RECONSIDER_AT_IN_ONE_TIP == 2
    assert verdict("a1", "b1") == "Proceed with conditions"  # 2 critical, in two tips
    assert verdict("a1", "b1", "c1") == "Reconsider"  # 3 critical in all
    assert verdict("a1", "a2") == "Reconsider"  # 2 critical in one tip
    assert verdict() == "Proceed"


def test_the_diagram_is_the_compiled_machine(doc: str, check: Flow) -> None:
    arrows = mermaid_arrows(doc)
    states = {state for source, dest, _ in arrows for state in (source, dest)}
    assert {question.id for question in check.questions} <= states
    assert ("[*]", check.questions[0].id, "") in arrows
    assert any(dest == SUMMARY for source, dest, _ in arrows if source != "[*]")
    assert (SUMMARY, "done", "Finish") in arrows
    assert (SUMMARY, "cancelled", "Cancel") in arrows
    machine = engine.compiled(check)
    assert states - {"[*]"} == set(machine.states)
    compiled = {
        (source, transition.dest)
        for source, transitions in machine.events["answered"].transitions.items()
        for transition in transitions
    }
    drawn = {(source, dest) for source, dest, _ in arrows if source != "[*]" and dest != "[*]"}
    assert drawn - {(SUMMARY, "done"), (SUMMARY, "cancelled")} == compiled


def test_the_diagram_labels_its_branches_safely(doc: str) -> None:
    arrows = mermaid_arrows(doc)
    labels = {(source, dest): label for source, dest, label in arrows}
    assert labels[("form", "governance")] == "if form = formal"
    assert labels[("form", "costs")] == "otherwise"
    assert labels[("lighter_route_which", SUMMARY)] == "ends if lighter_route = yes"
    assert labels[("name", "organisations")] == ""
    for label in labels.values():
        assert re.fullmatch(r"[A-Za-z0-9_ ,.=()/-]*", label), label
    assert "not drawn" in doc.split("```mermaid", 1)[0].rsplit("\n## ", 1)[1]


def section_of(plain: str, flow_name: str) -> str:
    """The part of the document about one flow."""
    check, rest = plain.split("\n## Each partner's view", 1)
    partner, review = rest.split("\n## Reviews", 1)
    return {"check": check, "partner": partner, "review": review}[flow_name]


def test_the_partner_section_explains_views_and_topics(plain: str, partner: Flow) -> None:
    section = section_of(plain, "partner")
    assert "counts once" in section and "partners-disagree" in section
    for topic in partner.topics:
        assert f"| {topic.title} |" in section, topic.id
        assert topic.condition in section
    assert "Shown with it: the objectives" in section


def test_the_review_section_explains_decisions(plain: str, review: Flow) -> None:
    section = plain.split("\n## Reviews", 1)[1]
    assert "has no verdict" in section
    for option in review.question("decision").options:
        assert option.label in section.split("\n###", 1)[0]


def test_the_command_writes_and_checks_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], doc: str
) -> None:
    target = tmp_path / "docs" / "policy.md"
    monkeypatch.setattr(policy, "DOC", target)
    assert policy.main(["--check"]) == 1  # no file yet
    assert "python -m flows.policy" in capsys.readouterr().err

    assert policy.main([]) == 0
    assert capsys.readouterr().out == "wrote docs/policy.md\n"
    assert target.read_text(encoding="utf-8") == doc

    assert policy.main(["--check"]) == 0
    assert capsys.readouterr() == ("", "")

    target.write_text(doc.replace("Reconsider", "Think again", 1), encoding="utf-8")
    assert policy.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "out of date" in err
