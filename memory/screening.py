"""Screening of experience text: what the library refuses to store, and why.

Experiences are written by models or imported from files, and every stored experience later goes
into student prompts. A text that could act there as an instruction, or carry the answer of the item
it was learned from, is refused rather than quietly repaired, so that its writer learns why and can
write it again. `screen_text` applies the rules in this order; each refusal carries its reason code:

- ``control_character``: a control, bidirectional or zero-width character (`CONTROL`). Checked on
  the text as given, because collapsing whitespace would hide some of them; a CRLF line end is fine.
- ``empty``: no words at all.
- ``chat_token``: a chat-template or role token such as ``<|im_start|>`` or ``[INST]`` (`CHAT_TOKEN`).
- ``role_prefix``: the text, or one of its lines, starts with a role name and a colon
  (``system:``, ``assistant:``, ``developer:``, ``user:``, ``human:``).
- ``delimiter``: one of the tags our prompts frame data with, such as ``<experience>`` (`DELIMITER`).
- ``too_long``: more than `MAX_TEXT_CHARS` characters once whitespace is collapsed.
- ``too_many_words``: more words than the writer's limit, when it gives one (the editor does).
- ``item_leak``: a fragment of the item being learned from, when the writer gives them (see
  `item_fragments`), matched without regard to case or spacing and only as whole words.

Ordinary advice passes, mathematics included: ``x < y``, ``a [0, 1] interval``, ``f: X -> Y``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ted.memory.errors import TextRefused
from ted.memory.models import RefusalReason
from ted.prompts.framing import CHAT_TOKEN, CONTROL, DELIMITER

MAX_TEXT_CHARS = 600
"""The longest experience text the library stores, in characters."""

MIN_ANSWER_CHARS = 3
"""An answer (or correct option) shorter than this, such as ``B`` or ``12``, is no leak by itself."""

MIN_OPTION_CHARS = 12
"""Any option text at least this long is specific to its item, so copying it is a leak."""

# A role name and a colon at the start of a line, also behind Markdown quote, heading or emphasis marks.
_ROLE_PREFIX = re.compile(r"[\s>#*_-]*(?:system|assistant|developer|user|human)[\s*_]*:", re.IGNORECASE)


def _refuse(reason: RefusalReason, message: str) -> TextRefused:
    return TextRefused(message, reason=reason)


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def item_fragments(answer: str, options: Sequence[str] | None = None) -> list[str]:
    """The parts of an item that an experience learned from it must not copy.

    These are the answer, or for an option letter the text of that option, when at least
    `MIN_ANSWER_CHARS` long, and every option text at least `MIN_OPTION_CHARS` long. Shorter ones
    are the letters, numbers and words any general advice uses.

    Args:
        answer: The item's ground truth (an option letter for multiple choice).
        options: The item's option texts, in order (letters A, B, ... implied).
    """
    choices = list(options or [])
    truth = answer.strip()
    if len(truth) == 1 and truth.isalpha() and 0 <= ord(truth.upper()) - ord("A") < len(choices):
        truth = choices[ord(truth.upper()) - ord("A")]
    fragments: dict[str, str] = {}
    for text, shortest in [(truth, MIN_ANSWER_CHARS), *((o, MIN_OPTION_CHARS) for o in choices)]:
        spaced = " ".join(text.split())
        if len(spaced) >= shortest:
            fragments.setdefault(spaced.casefold(), spaced)
    return list(fragments.values())


def _copies(text: str, fragments: Sequence[str]) -> bool:
    haystack = _normal(text)
    for fragment in fragments:
        needle = _normal(fragment)
        # Whole words only, also for fragments that begin or end with punctuation ("3:05", "(2, 3)").
        if needle and re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack):
            return True
    return False


def screen_text(text: str, *, max_words: int | None = None, forbidden: Sequence[str] = ()) -> str:
    """The text as the library stores it (whitespace collapsed), or a refusal saying what to fix.

    Args:
        text: The experience text, as its writer gave it.
        max_words: The most words accepted (None: no word limit, only `MAX_TEXT_CHARS`).
        forbidden: Fragments of the item being learned from that the text must not copy.

    Raises:
        TextRefused: the text breaks a rule of the module docstring; ``reason`` names the rule.
    """
    raw = text.replace("\r\n", "\n")
    control = CONTROL.search(raw)
    if control:
        raise _refuse(
            RefusalReason.CONTROL_CHARACTER,
            f"the text holds the invisible or control character U+{ord(control.group()):04X}; "
            "write plain visible text",
        )
    cleaned = " ".join(raw.split())
    if not cleaned:
        raise _refuse(RefusalReason.EMPTY, "the text is empty; write the experience itself as one short rule")
    if CHAT_TOKEN.search(cleaned):
        raise _refuse(
            RefusalReason.CHAT_TOKEN,
            "the text holds a chat-template or role token; an experience is plain advice for a student, "
            "never a message or an instruction to a model",
        )
    if any(_ROLE_PREFIX.match(line) for line in [cleaned, *raw.splitlines()]):
        raise _refuse(
            RefusalReason.ROLE_PREFIX,
            "the text starts a line with a role name and a colon (such as 'system:'); "
            "write the advice itself, not a message",
        )
    tag = DELIMITER.search(cleaned)
    if tag:
        name = tag.group(0).strip("<>/ \t").lower()
        raise _refuse(
            RefusalReason.DELIMITER,
            f"the text holds the tag '{name}' that frames data in the prompts; "
            "write the advice without angle-bracket tags",
        )
    if len(cleaned) > MAX_TEXT_CHARS:
        raise _refuse(
            RefusalReason.TOO_LONG,
            f"the text has {len(cleaned)} characters; keep an experience to at most {MAX_TEXT_CHARS} "
            "characters: one general rule",
        )
    words = len(cleaned.split())
    if max_words is not None and words > max_words:
        raise _refuse(
            RefusalReason.TOO_MANY_WORDS,
            f"the text has {words} words; keep an experience to at most {max_words} words: "
            "one general rule, no details of this item",
        )
    if _copies(cleaned, forbidden):
        raise _refuse(
            RefusalReason.ITEM_LEAK,
            "the text copies this item's answer or one of its options; "
            "write a general lesson without this item's answer or options",
        )
    return cleaned
