"""What the compressing model sees: near-duplicate clusters to merge, verbose entries to rewrite."""

SYSTEM = """You compress a library of experiences that a student model reads before solving problems. Each \
experience is general, actionable advice for a class of problems. Keep every distinct piece of advice, drop \
repetition, and write each result in at most {max_words} words.{protocol}"""

TOOLS_PROTOCOL = """

Act through the tools: merge_experiences for a group of near-duplicates, update_experience to rewrite a \
verbose experience. When you are done, reply with one short sentence and no tool call."""

JSON_PROTOCOL = """

Reply with one JSON object and nothing else, of the form
{{"operations": [ ... ]}}
where each operation is one of
{{"op": "merge", "labels": ["E1", "E2"], "text": "...", "reason": "..."}}
{{"op": "update", "label": "E3", "text": "...", "reason": "..."}}"""

MERGE_SECTION = """## Near-duplicates to merge
{lines}

Merge these into one experience."""

REWRITE_SECTION = """## Verbose experiences to rewrite
{lines}

Rewrite each of these in at most {max_words} words, keeping its meaning."""
