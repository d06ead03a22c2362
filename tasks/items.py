"""The labelled item every dataset loader produces and every graph consumes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Benchmark = Literal["mathvision", "visualpuzzles", "generic"]


class Item(BaseModel):
    """One labelled multimodal question.

    Items are plain JSON-serialisable data: they travel in LangGraph state, through checkpoints and over
    the `langgraph dev` API.
    """

    id: str = Field(description="Identifier, unique within its dataset.")
    question: str = Field(description="The question text, without the options.")
    answer: str = Field(
        description="The ground truth: an option letter for multiple choice, else the answer."
    )
    options: list[str] | None = Field(
        default=None, description="Option texts in order; letters A, B, ... are implied."
    )
    images: list[str] = Field(
        default_factory=list,
        description="Images, each an absolute file path inside the dataset folder or a data URL.",
    )
    category: str | None = Field(default=None, description="Subject or reasoning category.")
    level: str | None = Field(default=None, description="Difficulty level, when the dataset has one.")
    benchmark: Benchmark = Field(
        default="generic", description="Which scoring rules and answer instruction apply."
    )
    metadata: dict[str, Any] = Field(default_factory=dict, description="Source metadata (file, row, ...).")
