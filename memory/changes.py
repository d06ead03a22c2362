"""What each library operation does to the records, run inside one database transaction.

Each function takes the open `Transaction` and returns the experiences the operation returns. They
hold the rules: which states may change, the version check, what a merge carries over, what a
rollback restores. `ExperienceStore` runs them; they never touch the vector index.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ted.memory.database import Transaction, text_sha
from ted.memory.errors import ExperienceNotFound, InactiveExperience, VersionConflict
from ted.memory.models import (
    Experience,
    Origin,
    Provenance,
    Status,
    UsageStats,
    normalize_tags,
    utc_now,
)


def _union(*lists: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(item for items in lists for item in items))


def current(transaction: Transaction, experience_id: str, *, active: bool = True) -> Experience:
    """The experience with this id; an error if it is missing (or, with ``active``, not active)."""
    experience = transaction.get(experience_id)
    if experience is None:
        raise ExperienceNotFound(f"no experience with id {experience_id!r} in this library")
    if active and experience.status is not Status.ACTIVE:
        hint = f" into {experience.superseded_by}" if experience.superseded_by else ""
        raise InactiveExperience(
            f"experience {experience_id} is {experience.status.value}{hint}; only active experiences change"
        )
    return experience


def insert(
    transaction: Transaction,
    experiences: Sequence[Experience],
    vectors: Mapping[str, bytes],
    *,
    kind: str,
    reason: str,
    step: str | None,
) -> list[Experience]:
    """Add new experiences (vectors keyed by text hash); ids already in the library are skipped."""
    added: list[Experience] = []
    for experience in experiences:
        if transaction.get(experience.id) is not None:
            continue
        sha = text_sha(experience.text)
        if not transaction.has_vector(sha):
            transaction.put_vector(sha, vectors[sha])
        transaction.write(kind, experience.id, None, experience, reason=reason, step=step)
        added.append(experience)
    return added


def update(
    transaction: Transaction,
    experience_id: str,
    *,
    text: str | None,
    tags: Sequence[str] | None,
    source_items: Sequence[str],
    expected_version: int | None,
    origin: Origin,
    reason: str,
    step: str | None,
) -> Experience:
    """Change text, tags or sources of an active experience, after the optional version check."""
    before = current(transaction, experience_id)
    if expected_version is not None and before.version != expected_version:
        raise VersionConflict(
            f"experience {experience_id} is at version {before.version}, not {expected_version}; "
            "read it again and redo the change",
            current_version=before.version,
        )
    new_text = before.text if text is None else text
    new_tags = before.tags if tags is None else normalize_tags(tags)
    new_sources = _union(before.provenance.source_items, source_items)
    if (new_text, new_tags, new_sources) == (before.text, before.tags, before.provenance.source_items):
        return before
    provenance = before.provenance.model_copy(
        update={
            "source_items": new_sources,
            "origin": origin if new_text != before.text else before.provenance.origin,
        }
    )
    after = before.model_copy(
        update={
            "text": new_text,
            "tags": new_tags,
            "provenance": provenance,
            "version": before.version + 1,
            "updated_at": utc_now(),
        }
    )
    kind = "rewrite" if origin is Origin.REWRITE else "update"
    transaction.write(kind, experience_id, before, after, reason=reason, step=step)
    return after


def delete(transaction: Transaction, experience_id: str, *, reason: str, step: str | None) -> Experience:
    """Soft-delete: the experience stays in the library with status deleted."""
    before = current(transaction, experience_id, active=False)
    if before.status is Status.DELETED:
        return before
    if before.status is not Status.ACTIVE:
        current(transaction, experience_id)  # raises the "not active" error
    after = before.model_copy(
        update={"status": Status.DELETED, "version": before.version + 1, "updated_at": utc_now()}
    )
    transaction.write("delete", experience_id, before, after, reason=reason, step=step)
    return after


def merge(
    transaction: Transaction,
    ids: Sequence[str],
    merged: Experience,
    *,
    reason: str,
    step: str | None,
) -> Experience:
    """Replace active experiences by ``merged`` (a new id), which inherits their sources and counts."""
    olds = [current(transaction, i) for i in ids]
    new = merged.model_copy(
        update={
            "tags": merged.tags or _union(*(o.tags for o in olds)),
            "provenance": Provenance(
                origin=Origin.MERGE,
                source_items=_union(
                    merged.provenance.source_items, *(o.provenance.source_items for o in olds)
                ),
                merged_from=list(ids),
                run=merged.provenance.run,
            ),
            "stats": sum((o.stats for o in olds), UsageStats()),
            "student_model": merged.student_model or olds[0].student_model,
        }
    )
    transaction.write("merge", new.id, None, new, reason=reason, step=step)
    now = utc_now()
    for old in olds:
        superseded = old.model_copy(
            update={
                "status": Status.SUPERSEDED,
                "superseded_by": new.id,
                "version": old.version + 1,
                "updated_at": now,
            }
        )
        transaction.write("supersede", old.id, old, superseded, reason=reason, step=step)
    return new


def keep_apart(transaction: Transaction, ids: Sequence[str], *, reason: str, step: str | None) -> None:
    """Record that active experiences give different advice: a journal entry each, nothing changed."""
    for experience_id in ids:
        experience = current(transaction, experience_id)
        transaction.write(
            "keep_apart", experience_id, experience, experience, reason=reason, step=step, reindex=False
        )


def record_usage(transaction: Transaction, deltas: Mapping[str, UsageStats], *, step: str | None) -> None:
    """Add usage counts (any status: a merged-away experience may still be counted for a past use)."""
    for experience_id in sorted(deltas):
        delta = deltas[experience_id]
        if delta.is_zero():
            continue
        before = current(transaction, experience_id, active=False)
        after = before.model_copy(update={"stats": before.stats + delta})
        transaction.write("usage", experience_id, before, after, step=step, reindex=False)


def rollback(transaction: Transaction, version: int, *, reason: str, step: str | None) -> None:
    """Bring every experience changed after ``version`` back to its state then.

    Experiences that did not exist at ``version`` are removed. Restored experiences get a version
    number above any they had, so a stale ``expected_version`` can never match by accident.
    """
    for experience_id, then in transaction.states_at(version).items():
        now = transaction.get(experience_id)
        if then is None:
            if now is not None:
                transaction.write("rollback", experience_id, now, None, reason=reason, step=step)
            continue
        restored = then.model_copy(update={"version": max(then.version, now.version if now else 0) + 1})
        transaction.write("rollback", experience_id, now, restored, reason=reason, step=step)
