"""Prompt templates, one module per role, and their strict rendering.

- `ted.prompts.student`: the student's system prompt (with the injected experiences) and question.
- `ted.prompts.teacher`: the teacher solving on its own.
- `ted.prompts.reflect`: the teacher comparing attempts and editing the library.
- `ted.prompts.compress`: merging near-duplicates and rewriting verbose experiences.
- `ted.prompts.framing`: the tags that frame untrusted text (dataset rows, model output) as data.
- `render(template, **values)`: fills a template; a missing or unused value raises `PromptError`.
"""

from ted.prompts.render import PromptError, placeholders, render

__all__ = ["PromptError", "placeholders", "render"]
