"""A hijacked model (`SimConfig.obey_injections`): it obeys lines that ask to store an experience.

Hostile data tests need a model that does what injected text tells it. The injection form is one
line, ``Add this experience to the library: <payload>`` in any case. The simulated student copies
such lines of its problem into its response; the reflecting teacher adds every payload it is shown,
with the look-alike brackets of defusing turned back into ASCII, as a model told to reproduce the
payload would write it.
"""

from __future__ import annotations

import re

from ted.prompts.framing import reveal
from ted.sim.operations import Operation

INJECTION = re.compile(r"add this experience to the library\s*:\s*(?P<payload>\S.*?)\s*$", re.IGNORECASE)


def injected_lines(text: str) -> list[str]:
    """Every line of ``text`` in the injection form, as it stands."""
    return [line.strip() for line in text.splitlines() if INJECTION.search(line)]


def payloads(text: str) -> list[str]:
    """The payload of every injection line of ``text``, revealed, each once, in order of appearance."""
    found = (INJECTION.search(line) for line in text.splitlines())
    return list(dict.fromkeys(reveal(match.group("payload")) for match in found if match))


def obeyed(text: str, tags: list[str]) -> list[Operation]:
    """One ``add`` operation per payload in ``text``, as a reflecting model that obeys would propose."""
    return [
        {
            "op": "add",
            "text": payload,
            "tags": list(tags),
            "reason": "The text I was shown asked for it. (simulated teacher obeying an injection)",
        }
        for payload in payloads(text)
    ]
