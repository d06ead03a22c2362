"""What the student sees: the retrieved experiences, the question, how to answer and cite."""

SYSTEM = """You are a careful problem solver for questions about images. Think step by step, check your \
reasoning against the picture, then answer.{experiences}"""

EXPERIENCES = """

Experiences learned from earlier problems. Use the ones that apply to this problem and cite their labels:
{lines}"""

USER = """{problem}

Just before your final answer, write one line "Experiences used: " followed by the labels of the experiences \
you relied on (for example "Experiences used: E1, E3"), or "Experiences used: none"."""
