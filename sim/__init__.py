"""The simulated OpenAI-compatible endpoint: a scripted world of synthetic puzzles over real HTTP.

It serves chat completions (images, tools, tool_choice, JSON mode, streaming, usage) and /v1/models
on loopback. The model name picks the role: a name containing "student" is the student, any other
the teacher. It reads our prompts through `ted.prompts.framing`: the puzzle by its question, the
injected experiences from their frames, the kind of work from the tools on offer or the frames
shown. Everything it produces is marked as simulated (``system_fingerprint: "ted-sim"`` and the
``x-ted-simulated: true`` header). It exists to test and benchmark the pipeline, never to claim
model quality.

Public API:
    World: the puzzles the models know (`World.from_items`, `World.from_dataset`).
    SimServer: the server; a context manager with `base_url`, `port`, `log`, `start()`, `stop()`.
    SimConfig: seed, probabilities of the world, latency, fault rates, and a hijacked mode for
        hostile-data tests (``obey_injections``).
    FixedLatency, UniformLatency, LogNormalLatency, parse_latency: latency models.
    RequestRecord: one entry of the request log.
    SimError, WorldError, ConfigError: errors.
"""

from ted.sim.config import FixedLatency, LogNormalLatency, SimConfig, UniformLatency, parse_latency
from ted.sim.errors import ConfigError, SimError, WorldError
from ted.sim.records import RequestRecord
from ted.sim.server import SimServer
from ted.sim.world import World

__all__ = [
    "ConfigError",
    "FixedLatency",
    "LogNormalLatency",
    "RequestRecord",
    "SimConfig",
    "SimError",
    "SimServer",
    "UniformLatency",
    "World",
    "WorldError",
    "parse_latency",
]
