"""Strict prompt rendering: every placeholder filled, every value used."""

from __future__ import annotations

from string import Formatter


class PromptError(ValueError):
    """A template and the values given to it do not match."""


def placeholders(template: str) -> set[str]:
    """Return the names of the ``{placeholders}`` in ``template``."""
    names: set[str] = set()
    for _, field_name, format_spec, _ in Formatter().parse(template):
        if field_name is None:
            continue
        if not field_name.isidentifier() or format_spec:
            raise PromptError(f"placeholder {{{field_name}}} must be a plain name without format spec")
        names.add(field_name)
    return names


def render(template: str, **values: object) -> str:
    """Fill ``template`` with ``values``.

    Unlike ``str.format``, a placeholder without a value and a value without a placeholder are both
    errors: a prompt override that drops a variable would otherwise silently lose information.

    Raises:
        PromptError: when the placeholders and the values differ.
    """
    expected = placeholders(template)
    given = set(values)
    if expected != given:
        problems = []
        if missing := sorted(expected - given):
            problems.append(f"no value for {', '.join(missing)}")
        if unused := sorted(given - expected):
            problems.append(f"the template does not use {', '.join(unused)}")
        raise PromptError("prompt template mismatch: " + "; ".join(problems))
    return template.format(**values)
