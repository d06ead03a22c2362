"""The nodes of the TED graphs: small async functions that return partial state.

- `retrieve`: prepare the images, fetch and label the relevant experiences.
- `student` / `solve_student`: one graded student attempt with the experiences in its prompt.
- `teacher`: the teacher's own graded solution, without the library.
- `reflect` / `apply_tools`: the teacher editing the library, through tools or JSON operations.
- `record`: usage statistics for the injected experiences and the item's result.
- `compress`: merge near-duplicates, rewrite verbose entries, prune, enforce the cap.
"""
