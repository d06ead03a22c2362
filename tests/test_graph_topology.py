"""Snapshots of the graphs' topology, so that a change in their shape shows in review.

After an intended change, rewrite the snapshots with
``UPDATE_SNAPSHOTS=1 pytest tests/test_graph_topology.py`` and commit them with the change.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ted.graph.distill import graph as distill_graph
from ted.graph.item_graph import graph as item_graph
from ted.graph.solve import graph as solve_graph

SNAPSHOTS = Path(__file__).parent / "snapshots"
GRAPHS = {"distill": distill_graph, "distill_item": item_graph, "solve": solve_graph}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_topology_matches_snapshot(name: str) -> None:
    mermaid = GRAPHS[name].get_graph(xray=1).draw_mermaid()
    snapshot = SNAPSHOTS / f"{name}.mmd"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        snapshot.write_text(mermaid)
    assert snapshot.exists(), f"no snapshot for {name}: run with UPDATE_SNAPSHOTS=1"
    assert mermaid == snapshot.read_text(), f"the {name} graph changed shape; see {snapshot}"


def test_item_graph_has_the_card_nodes() -> None:
    nodes = set(item_graph.get_graph().nodes)
    assert {"retrieve", "student", "teacher", "reflect", "compress"} <= nodes


def test_one_node_is_named_compress() -> None:
    # The per-item graph's node keeps the card's name; the dataset loop's compression has its own.
    loop = set(distill_graph.get_graph().nodes)
    assert "compress_between_items" in loop and "compress" not in loop
    assert "compress" in set(item_graph.get_graph().nodes)


def test_each_compiled_loop_has_its_own_checkpointer_and_store() -> None:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore

    from ted.graph.distill import compile_distill_graph

    first, second = InMemorySaver(), InMemorySaver()
    store = InMemoryStore()
    one = compile_distill_graph(checkpointer=first, store=store)
    two = compile_distill_graph(checkpointer=second)
    assert one.checkpointer is first and one.store is store
    assert two.checkpointer is second and two.store is None
    # The served graph (compiled without either) is left as it was.
    assert distill_graph.checkpointer is None and distill_graph.store is None
    assert one.get_graph().draw_mermaid() == distill_graph.get_graph().draw_mermaid()
