"""The simulated OpenAI-compatible endpoint: a scripted world of synthetic puzzles over real HTTP.

It serves ``/v1/chat/completions`` (images, tools, tool_choice, JSON mode, streaming, usage, several
choices) and ``/v1/models`` on loopback, speaking the wire format through the `openai` package's
types. The model name picks the role: a name containing "student" is the student, any other the
teacher. It reads our prompts through the constants of `ted.prompts.framing`: the puzzle by its
question, the injected experiences from their frames, the kind of work from the tools on offer or the
frames shown. Everything it produces is marked as simulated (``system_fingerprint: "ted-sim"`` and
the ``x-ted-simulated: true`` header). It exists to test and benchmark the pipeline, never to claim
model quality.

Modules: `config` (knobs, latency), `world` (the puzzles), `wire` (request checks, openai response
types), `reading` (what a request shows), `behaviour` (what the models decide and how they write it),
`faults`, `simulator` (one request end to end, seeded), `server` (HTTP, request log), `errors`.

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
from ted.sim.server import RequestRecord, SimServer
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
