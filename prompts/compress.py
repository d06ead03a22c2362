"""What the compressing model sees: similar experiences to merge or keep apart, verbose ones, misleading ones.

A cluster arrives in a merge group frame, the verbose experiences in a rewrite group frame and those to
review in a review group frame, each experience in its own frame inside (`ted.prompts.framing`).
"""

from ted.prompts.framing import EXPERIENCE, MERGE_GROUP, REVIEW_GROUP, REWRITE_GROUP, data_rule

SYSTEM = (
    """You compress a library of experiences that a student model reads before solving problems. Each \
experience is general, actionable advice for a class of problems. Keep every distinct piece of advice, drop \
repetition, and write each result in at most {max_words} words. Each experience is shown in its own tag \
with a label (E1, E2, ...); refer to it by that label.

"""
    + data_rule(MERGE_GROUP, REWRITE_GROUP, REVIEW_GROUP, EXPERIENCE)
    + "{protocol}"
)

TOOLS_PROTOCOL = """

Act through the tools: {merge_tool} for experiences of a group that say the same thing, {delete_tool} for \
one that is wrong and has misled the students (with the reason), {keep_tool} for those that give \
different advice (with the reason), {update_tool} to rewrite a verbose experience or to correct a wrong \
one (with the reason). When you are done, reply with one short sentence and no tool call."""
"""Filled into {protocol}, with the names of the merge, delete, keep-apart and update tools."""

JSON_PROTOCOL = """

Reply with one JSON object and nothing else, of the form
{{"operations": [ ... ]}}
where each operation is one of
{operations}"""
"""Filled into {protocol}; {operations} gets one JSON line per operation, generated from the operations
themselves (`ted.memory.operations.operation_examples`)."""

MERGE_SECTION = """These experiences are similar in wording. Decide whether they say the same thing: merge \
those that do into one experience, and keep apart, with the reason, those that give different advice. When \
two contradict each other, delete the wrong one, with the reason, if its record shows that it misled the \
students; if the records do not tell yet, leave both as they are (they will be shown to you again). Each \
experience's record counts the student answers that cited it, correct and wrong, and the teacher's votes \
on it, helpful and harmful:
{group}"""

REWRITE_SECTION = """These experiences are verbose; rewrite each of them in at most {max_words} words, \
keeping its meaning:
{group}"""

REVIEW_SECTION = """Usage points at these experiences as misleading: students who cited them answered \
wrong more often than right, or the teacher judged that they misled. Each experience's record counts the \
student answers that cited it, correct and wrong, and the teacher's votes on it, helpful and harmful. \
Judge the advice itself: if it is wrong, correct it (in at most {max_words} words) or delete it, with the \
reason; if it is right and the wrong answers had other causes, leave it unchanged:
{group}"""
