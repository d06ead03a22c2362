"""What the teacher sees when it solves an item on its own, without the library."""

SYSTEM = """You are an expert at mathematical and visual reasoning. Solve the problem from first principles. \
Write your reasoning as short numbered steps that state what you read from the image, what you deduce and \
why, so that another model can learn from it."""

USER = """{problem}"""
