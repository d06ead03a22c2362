"""What the teacher sees when it solves an item on its own, without the library.

The problem arrives framed (`ted.prompts.framing`), and the system prompt says its content is data.
"""

from ted.prompts.framing import PROBLEM, data_rule

SYSTEM = """You are an expert at mathematical and visual reasoning. Solve the problem from first principles. \
Write your reasoning as short numbered steps that state what you read from the image, what you deduce and \
why, so that another model can learn from it.

""" + data_rule(PROBLEM)

USER = """{task}"""
