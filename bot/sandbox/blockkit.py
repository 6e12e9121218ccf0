"""Slack's Block Kit rules, as strictly as Slack applies them to a message or a view.

slack_sdk's own parsers and `validate_json()` run first on every block and element; the
checks here add what they miss (button text and value, option limits, element text
types, unique IDs, unknown types and properties), so a message Slack would refuse is
refused here too: by the tests' fake Slack, and visibly on the sandbox's page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeGuard

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, BlockElement
from slack_sdk.models.views import View

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100

_TEXT_TYPES = ("plain_text", "mrkdwn")
_OPTION_ELEMENTS = {
    # element type -> (max options, option text may be mrkdwn)
    "static_select": (100, False),
    "multi_static_select": (100, False),
    "overflow": (5, False),
    "checkboxes": (10, True),
    "radio_buttons": (10, True),
}


class _BlockKitChecker:
    """Collects every Block Kit problem in Slack's message format, with a JSON pointer.

    slack_sdk's `validate_json()` runs first on every block and element; the explicit
    checks below cover what it misses (button text and value, option limits, element
    text types, unique IDs, unknown types and properties) so the fake fails where Slack
    would instead of letting a bad message through to production.
    """

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []  # (JSON pointer, message)

    @property
    def errors(self) -> list[str]:
        return [f"[ERROR] {message} [json-pointer:{pointer}]" for pointer, message in self.problems]

    def fail(self, pointer: str, message: str) -> None:
        self.problems.append((pointer, message))

    def blocks(self, blocks: Any, pointer: str, limit: int) -> None:
        if not isinstance(blocks, list):
            self.fail(pointer, "must provide an array")
            return
        if len(blocks) > limit:
            self.fail(pointer, f"no more than {limit} items allowed")
        block_ids: set[str] = set()
        for i, block in enumerate(blocks):
            self.block(block, f"{pointer}/{i}", block_ids)

    def view(self, view: Any, pointer: str = "/view") -> None:
        if not isinstance(view, dict):
            self.fail(pointer, "must provide an object")
            return
        if view.get("type") not in ("modal", "home"):
            self.fail(f"{pointer}/type", "must be one of modal, home")
            return
        self._sdk(lambda v: View(**v), view, pointer, allowed=View.attributes)
        modal = view["type"] == "modal"
        if modal:
            self.text(view.get("title"), f"{pointer}/title", limit=24, plain_only=True)
        for key in ("submit", "close"):
            if key in view:
                self.text(view[key], f"{pointer}/{key}", limit=24, plain_only=True)
        for key, limit in (("callback_id", 255), ("external_id", 255), ("private_metadata", 3000)):
            self.string(view.get(key), f"{pointer}/{key}", limit, required=False)
        blocks = view.get("blocks")
        if not isinstance(blocks, list) or not blocks:
            self.fail(f"{pointer}/blocks", "must provide a non-empty array")
            return
        self.blocks(blocks, f"{pointer}/blocks", MAX_VIEW_BLOCKS)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if modal and has_input and "submit" not in view:
            self.fail(f"{pointer}/submit", "submit is required when an input block is present")

    def block(self, block: Any, pointer: str, block_ids: set[str]) -> None:
        if not isinstance(block, dict):
            self.fail(pointer, "must provide an object")
            return
        verdict = _block_verdict(block)
        for suffix, message in verdict.before_id_check:
            self.fail(pointer + suffix, message)
        if verdict.parsed:
            block_id = block.get("block_id")
            if block_id is not None:
                if verdict.valid_id and block_id in block_ids:
                    self.fail(f"{pointer}/block_id", f"duplicate block_id {block_id!r}")
                block_ids.add(str(block_id))
        for suffix, message in verdict.after_id_check:
            self.fail(pointer + suffix, message)

    def judge_block(self, block: dict[str, Any]) -> _BlockVerdict:
        """Everything about one block on its own (pointers relative to it): whether it
        parses, whether its block_id is valid, and its problems before and after the
        place where the duplicate-block_id check goes (which needs the other blocks)."""
        if self._sdk(Block.parse, block, "", base=Block) is None:
            return _BlockVerdict(False, False, tuple(self.problems), ())
        valid_id = False
        block_id = block.get("block_id")
        if block_id is not None:
            valid_id = self.string(block_id, "/block_id", 255)
        before = tuple(self.problems)
        self.problems = []
        self.block_content(block, "")
        return _BlockVerdict(True, valid_id, before, tuple(self.problems))

    def block_content(self, block: dict[str, Any], pointer: str) -> None:
        kind = block["type"]
        if kind == "section":
            if "text" in block:
                self.text(block["text"], f"{pointer}/text", limit=3000)
            fields = block.get("fields")
            if fields is not None:
                self.array(fields, f"{pointer}/fields", 1, 10)
                for i, text in enumerate(fields if isinstance(fields, list) else []):
                    self.text(text, f"{pointer}/fields/{i}", limit=2000)
            if "accessory" in block:
                self.element(block["accessory"], f"{pointer}/accessory", set())
        elif kind == "header":
            self.text(block.get("text"), f"{pointer}/text", limit=150, plain_only=True)
        elif kind == "context":
            elements = block.get("elements")
            if self.array(elements, f"{pointer}/elements", 1, 10):
                for i, element in enumerate(elements):
                    if isinstance(element, dict) and element.get("type") in _TEXT_TYPES:
                        self.text(element, f"{pointer}/elements/{i}", limit=3000)
                    else:
                        self.element(element, f"{pointer}/elements/{i}", set())
        elif kind == "actions":
            elements = block.get("elements")
            if self.array(elements, f"{pointer}/elements", 1, 25):
                action_ids: set[str] = set()
                for i, element in enumerate(elements):
                    self.element(element, f"{pointer}/elements/{i}", action_ids)
        elif kind == "input":
            self.text(block.get("label"), f"{pointer}/label", limit=2000, plain_only=True)
            if "hint" in block:
                self.text(block["hint"], f"{pointer}/hint", limit=2000, plain_only=True)
            self.element(block.get("element"), f"{pointer}/element", set())
        elif kind == "image":
            self.string(block.get("alt_text"), f"{pointer}/alt_text", 2000)
        elif kind == "markdown":
            self.string(block.get("text"), f"{pointer}/text", 12000)

    def element(self, element: Any, pointer: str, action_ids: set[str]) -> None:
        if not isinstance(element, dict):
            self.fail(pointer, "must provide an object")
            return
        if self._sdk(BlockElement.parse, element, pointer, base=BlockElement) is None:
            return
        action_id = element.get("action_id")
        if action_id is not None:
            if self.string(action_id, f"{pointer}/action_id", 255) and action_id in action_ids:
                self.fail(f"{pointer}/action_id", f"duplicate action_id {action_id!r} in block")
            action_ids.add(str(action_id))
        kind = element["type"]
        if "placeholder" in element:
            self.text(element["placeholder"], f"{pointer}/placeholder", limit=150, plain_only=True)
        if "confirm" in element:
            self.confirm(element["confirm"], f"{pointer}/confirm")
        if kind == "button":
            self.text(element.get("text"), f"{pointer}/text", limit=75, plain_only=True)
            self.string(element.get("value"), f"{pointer}/value", 2000, required=False)
            self.string(element.get("url"), f"{pointer}/url", 3000, required=False)
            if element.get("style") not in (None, "primary", "danger"):
                self.fail(f"{pointer}/style", "must be one of primary, danger")
        elif kind in _OPTION_ELEMENTS:
            self.options(element, pointer)
        elif kind == "plain_text_input":
            self.string(element.get("initial_value"), f"{pointer}/initial_value", 3000, False)
        elif kind == "image":
            self.string(element.get("alt_text"), f"{pointer}/alt_text", 2000)

    def options(self, element: dict[str, Any], pointer: str) -> None:
        max_options, mrkdwn_ok = _OPTION_ELEMENTS[element["type"]]
        options: list[Any] = []
        if "option_groups" in element and element["type"] in (
            "static_select",
            "multi_static_select",
        ):
            groups = element["option_groups"]
            if self.array(groups, f"{pointer}/option_groups", 1, 100):
                for g, group in enumerate(groups):
                    gp = f"{pointer}/option_groups/{g}"
                    if not isinstance(group, dict):
                        self.fail(gp, "must provide an object")
                        continue
                    self.text(group.get("label"), f"{gp}/label", limit=75, plain_only=True)
                    if self.array(group.get("options"), f"{gp}/options", 1, 100):
                        options += [
                            (f"{gp}/options/{i}", o) for i, o in enumerate(group["options"])
                        ]
        else:
            listed = element.get("options")
            if self.array(listed, f"{pointer}/options", 1, max_options):
                options = [(f"{pointer}/options/{i}", o) for i, o in enumerate(listed)]
        values = set()
        for op_pointer, option in options:
            if not isinstance(option, dict):
                self.fail(op_pointer, "must provide an object")
                continue
            self.text(option.get("text"), f"{op_pointer}/text", limit=75, plain_only=not mrkdwn_ok)
            if self.string(option.get("value"), f"{op_pointer}/value", 150):
                values.add(option["value"])
            if "description" in option:
                self.text(option["description"], f"{op_pointer}/description", 75, plain_only=True)
        initial = element.get("initial_options", [])
        if "initial_option" in element:
            initial = [element["initial_option"]]
        for i, option in enumerate(initial if isinstance(initial, list) else [initial]):
            if not isinstance(option, dict) or option.get("value") not in values:
                self.fail(f"{pointer}/initial_option/{i}", "must match one of the options")

    def confirm(self, confirm: Any, pointer: str) -> None:
        if not isinstance(confirm, dict):
            self.fail(pointer, "must provide an object")
            return
        self.text(confirm.get("title"), f"{pointer}/title", limit=100, plain_only=True)
        self.text(confirm.get("text"), f"{pointer}/text", limit=300)
        self.text(confirm.get("confirm"), f"{pointer}/confirm", limit=30, plain_only=True)
        self.text(confirm.get("deny"), f"{pointer}/deny", limit=30, plain_only=True)

    def text(self, obj: Any, pointer: str, limit: int, plain_only: bool = False) -> None:
        if obj is None:
            self.fail(pointer, "missing required field")
            return
        if not isinstance(obj, dict):
            self.fail(pointer, "must provide an object")
            return
        allowed = ("plain_text",) if plain_only else _TEXT_TYPES
        if obj.get("type") not in allowed:
            self.fail(f"{pointer}/type", f"must be one of {', '.join(allowed)}")
        self.string(obj.get("text"), f"{pointer}/text", limit)
        extra = set(obj) - {"type", "text", "emoji", "verbatim"}
        for key in sorted(extra):
            self.fail(f"{pointer}/{key}", f"invalid additional property: {key}")

    def string(self, value: Any, pointer: str, limit: int, required: bool = True) -> bool:
        if value is None and not required:
            return False
        if not isinstance(value, str) or not value:
            self.fail(pointer, "must be a string of more than 0 characters")
            return False
        if len(value) > limit:
            self.fail(pointer, f"must be less than {limit + 1} characters")
            return False
        return True

    def array(self, value: Any, pointer: str, minimum: int, maximum: int) -> TypeGuard[list[Any]]:
        if not isinstance(value, list):
            self.fail(pointer, "must provide an array")
            return False
        if not minimum <= len(value) <= maximum:
            self.fail(pointer, f"must have between {minimum} and {maximum} items")
            return False
        return True

    def _sdk(
        self,
        parse: Callable[[dict[str, Any]], Any],
        obj: dict[str, Any],
        pointer: str,
        base: type | None = None,
        allowed: Iterable[str] | None = None,
    ) -> Any:
        """slack_sdk's own parser and validator; None when the object is unusable."""
        try:
            parsed = parse(obj)
        except (TypeError, ValueError, KeyError, AttributeError, SlackObjectFormationError) as e:
            self.fail(pointer, f"cannot be parsed: {e}")
            return None
        if parsed is None or (base is not None and type(parsed) is base):
            self.fail(f"{pointer}/type", f"unsupported type {obj.get('type')!r}")
            return None
        try:
            parsed.validate_json()
        except SlackObjectFormationError as e:
            self.fail(pointer, str(e))
        except (TypeError, AttributeError) as e:
            self.fail(pointer, f"invalid: {e}")
        known = set(allowed if allowed is not None else parsed.attributes) | {"type"}
        for key in sorted(set(obj) - known):
            self.fail(f"{pointer}/{key}", f"invalid additional property: {key}")
        return parsed


@dataclass(frozen=True)
class _BlockVerdict:
    parsed: bool
    valid_id: bool
    before_id_check: tuple[tuple[str, str], ...]
    after_id_check: tuple[tuple[str, str], ...]


# A block's verdict by its JSON (sorted keys): the same block is judged once per process.
# Checking is a pure function of the block, and the bot sends the same blocks again and
# again (each test's fresh database numbers its checks from 1), so this spares most of
# slack_sdk's parsing without letting anything through that it would refuse.
_VERDICTS: dict[str, _BlockVerdict] = {}
_VERDICTS_KEPT = 50_000


def _block_verdict(block: dict[str, Any]) -> _BlockVerdict:
    try:
        key = json.dumps(block, sort_keys=True)
    except (TypeError, ValueError):  # not JSON (a test's own object): judge it, keep nothing
        return _BlockKitChecker().judge_block(block)
    verdict = _VERDICTS.get(key)
    if verdict is None:
        verdict = _BlockKitChecker().judge_block(block)
        if len(_VERDICTS) >= _VERDICTS_KEPT:
            _VERDICTS.clear()
        _VERDICTS[key] = verdict
    return verdict


def block_kit_errors(blocks: Any, limit: int = MAX_MESSAGE_BLOCKS) -> list[str]:
    """Every problem Slack would report for a message's `blocks` ([] when valid)."""
    checker = _BlockKitChecker()
    checker.blocks(blocks, "/blocks", limit)
    return checker.errors


def view_errors(view: Any) -> list[str]:
    """Every problem Slack would report for a modal or Home tab `view` ([] when valid)."""
    checker = _BlockKitChecker()
    checker.view(view)
    return checker.errors
