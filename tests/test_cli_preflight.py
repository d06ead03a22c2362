"""Checking endpoints before a run (`ted.graph.preflight`): what it learns and when it stops a run."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import STUB_MODEL, simulated, stub_url, synth_dataset, text_only_server

from ted.graph import ConfigurationError, Context, ModelCallError
from ted.graph.preflight import preflight, probe_image

pytestmark = pytest.mark.server


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return synth_dataset(tmp_path / "data", n=4)


def _context(tmp_path: Path, student_url: str, teacher_url: str, **values: object) -> Context:
    settings: dict[str, object] = {
        "library": str(tmp_path / "library"),
        "student_model": "sim-student",
        "student_base_url": student_url,
        "teacher_model": "sim-teacher",
        "teacher_base_url": teacher_url,
    }
    return Context(**{**settings, **values})  # type: ignore[arg-type]


async def test_the_simulated_endpoint_passes_and_says_it_is_simulated(dataset: Path, tmp_path: Path) -> None:
    with simulated(dataset) as sim:
        checked = await preflight(_context(tmp_path, sim.base_url, sim.base_url))
        kinds = [(record.role, record.kind) for record in sim.log if record.kind]
    assert checked.simulated
    student, teacher = checked.reports
    assert (student.role, student.vision, student.tools) == ("student", True, None)
    assert (teacher.role, teacher.vision, teacher.tools) == ("teacher", True, True)
    assert student.served_models == ["sim-student", "sim-teacher"]
    assert student.endpoint.startswith("http://127.0.0.1:") and not student.notes
    assert checked.context.tool_mode == "auto"
    # One image request per role and one tool request for the teacher, and nothing else.
    assert sorted(kinds) == [("student", "solve"), ("teacher", "solve"), ("teacher", "structured")]


async def test_auto_mode_falls_back_to_json_without_tool_calling(dataset: Path, tmp_path: Path) -> None:
    with simulated(dataset) as sim, text_only_server(vision=True) as server:
        context = _context(tmp_path, sim.base_url, stub_url(server), teacher_model=STUB_MODEL)
        checked = await preflight(context)
        with pytest.raises(ModelCallError, match="does not support tool calling") as raised:
            await preflight(Context(**{**context.__dict__, "tool_mode": "tools"}))
        requests = len(server.requests)
        json_only = await preflight(Context(**{**context.__dict__, "tool_mode": "json"}))
        tool_requests = [r for r in server.requests[requests:] if r.get("tools")]
    assert raised.value.fatal and raised.value.kind == "no_tools"
    teacher = checked.reports[1]
    assert teacher.tools is False and teacher.vision is True
    assert any("JSON operations" in note for note in teacher.notes)
    assert checked.context.tool_mode == "json", "the run edits the library through JSON instead"
    assert not checked.simulated, "one endpoint is not the simulator"
    assert json_only.reports[1].tools is None and not tool_requests


async def test_no_vision_and_unknown_models_are_fatal(tmp_path: Path) -> None:
    with text_only_server() as server:
        url = stub_url(server)
        with pytest.raises(ModelCallError, match="does not accept images") as no_vision:
            await preflight(_context(tmp_path, url, url, student_model=STUB_MODEL))
        with pytest.raises(ModelCallError, match=f"it serves: {STUB_MODEL}") as unknown:
            await preflight(_context(tmp_path, url, url))
        text_only = await preflight(
            _context(tmp_path, url, url, student_model=STUB_MODEL), roles=("student",), image=False
        )
    assert no_vision.value.kind == "no_vision" and unknown.value.kind == "model_not_found"
    assert text_only.reports[0].vision is None


async def test_a_separate_compress_model_is_checked_for_tools(dataset: Path, tmp_path: Path) -> None:
    with simulated(dataset) as sim:
        checked = await preflight(
            _context(tmp_path, sim.base_url, sim.base_url, compress_model="sim-compress")
        )
    assert [(r.role, r.model, r.vision, r.tools) for r in checked.reports] == [
        ("student", "sim-student", True, None),
        ("teacher", "sim-teacher", True, True),
        ("compress", "sim-compress", None, True),
    ]


@pytest.mark.usefixtures("no_api_keys")
async def test_without_an_endpoint_it_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="TED_STUDENT_BASE_URL"):
        await preflight(Context(library=str(tmp_path / "library")))


def test_the_probe_image_is_large_enough_for_vision_processors() -> None:
    import base64
    import io

    from PIL import Image

    data = probe_image().removeprefix("data:image/png;base64,")
    with Image.open(io.BytesIO(base64.b64decode(data))) as image:
        assert image.size == (64, 64)
