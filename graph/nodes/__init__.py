"""The nodes of the TED graphs, one module per role: small async functions that return partial state.

- `retrieve`: prepare the images, fetch and label the relevant experiences (`retrieve_for_solve`
  with the contamination guard).
- `student`: one graded student attempt with the experiences in its prompt (`student` for the
  distillation rollouts, `solve_student` for the solve graph's answer).
- `teacher`: the teacher's own graded solution, without the library.
- `reflect`: the teacher editing the library, through tools or JSON operations (`reflect`, and
  `apply_edits` which applies each round's edits), with its routing.
- `record`: usage statistics for the injected experiences and the item's result.
- `compress`: the per-item graph's compression when the library is over its cap.

Nodes never import one another; what they share lives in the modules of `ted.graph`.
"""
