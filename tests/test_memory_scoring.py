"""Utility score, token estimate, ranking, packing, labels and clustering: pure functions."""

from __future__ import annotations

import pytest

from ted.memory import Experience, UsageStats
from ted.memory.compression import clusters_from_pairs, similar_pairs
from ted.memory.editor import LabelBook
from ted.memory.errors import UnknownLabel
from ted.memory.models import ScoredExperience, evidence, utility
from ted.memory.retrieval import LINE_OVERHEAD, estimate_tokens, pack, rank


def scored(id: str, similarity: float, text: str = "advice", **stats: int) -> ScoredExperience:
    experience = Experience(id=id, text=text, stats=UsageStats(**stats))
    return ScoredExperience(experience=experience, similarity=similarity, score=similarity)


class TestUtility:
    def test_no_evidence_is_the_prior(self) -> None:
        assert utility(UsageStats()) == 0.5
        assert evidence(UsageStats()) == 0.0

    def test_documented_values(self) -> None:
        # positive = 2*1 + 3 = 5, negative = 2*0 + 1 + 0.1*(10 - 4) = 1.6
        stats = UsageStats(retrieved=10, cited=4, cited_correct=3, cited_wrong=1, helpful=1)
        assert utility(stats) == pytest.approx((5 + 1) / (5 + 1.6 + 2))
        assert evidence(stats) == pytest.approx(6.6)

    def test_votes_outweigh_citations(self) -> None:
        assert utility(UsageStats(helpful=1)) > utility(UsageStats(cited=1, cited_correct=1)) > 0.5
        assert utility(UsageStats(harmful=1)) < utility(UsageStats(cited=1, cited_wrong=1)) < 0.5

    def test_ignored_retrievals_lower_it_slowly(self) -> None:
        assert utility(UsageStats(retrieved=10)) == pytest.approx(1 / 3)
        assert utility(UsageStats(retrieved=10, cited=10, cited_correct=10)) > 0.9

    def test_stays_inside_zero_one(self) -> None:
        assert 0 < utility(UsageStats(harmful=1000, retrieved=10**6)) < 0.001
        assert 0.999 < utility(UsageStats(helpful=1000)) < 1

    def test_stats_add(self) -> None:
        total = UsageStats(retrieved=1, helpful=2) + UsageStats(retrieved=3, harmful=1)
        assert total == UsageStats(retrieved=4, helpful=2, harmful=1)
        assert UsageStats().is_zero() and not total.is_zero()


class TestTokens:
    def test_empty_and_short(self) -> None:
        assert estimate_tokens("") == 0
        assert estimate_tokens("Hi") == 2

    def test_english_sentence_costs_one_to_two_tokens_a_word(self) -> None:
        text = "Check the units of every quantity before you compare the answer options."
        words = len(text.split())
        assert words <= estimate_tokens(text) <= 2 * words

    def test_grows_with_length(self) -> None:
        assert estimate_tokens("word " * 100) > estimate_tokens("word " * 10) * 9


class TestRankAndPack:
    def test_utility_reorders_close_candidates(self) -> None:
        proven = scored("a", 0.70, helpful=5)
        unproven = scored("b", 0.75)
        assert [c.experience.id for c in rank([unproven, proven], utility_weight=0.0)] == ["b", "a"]
        ranked = rank([unproven, proven], utility_weight=0.3)
        assert [c.experience.id for c in ranked] == ["a", "b"]
        assert ranked[0].score == pytest.approx(0.7 * 0.70 + 0.3 * utility(UsageStats(helpful=5)))
        assert ranked[0].similarity == 0.70

    def test_ignored_retrievals_do_not_rank_an_experience_down(self) -> None:
        # Often injected for other questions and ignored there, right whenever it was used.
        busy = scored("a", 0.70, retrieved=200, cited=10, cited_correct=10)
        new = scored("b", 0.72)
        assert utility(busy.experience.stats) < 0.5
        assert [c.experience.id for c in rank([new, busy], utility_weight=0.3)] == ["a", "b"]

    def test_misleading_experiences_rank_down(self) -> None:
        misleading = scored("a", 0.75, retrieved=10, cited=8, cited_wrong=8)
        other = scored("b", 0.70)
        assert [c.experience.id for c in rank([misleading, other], utility_weight=0.3)] == ["b", "a"]

    def test_rank_rejects_bad_weight(self) -> None:
        with pytest.raises(ValueError, match="utility_weight"):
            rank([], utility_weight=1.5)

    def test_pack_respects_k_and_budget(self) -> None:
        items = [scored(str(n), 1 - n / 10, text="word " * 10) for n in range(5)]
        each = estimate_tokens(items[0].experience.text) + LINE_OVERHEAD
        assert len(pack(items, k=3, token_budget=10_000)) == 3
        assert len(pack(items, k=10, token_budget=each * 2)) == 2
        assert pack(items, k=5, token_budget=each - 1) == []

    def test_pack_skips_what_does_not_fit(self) -> None:
        long, short = scored("long", 0.9, text="word " * 200), scored("short", 0.8, text="Be brief.")
        assert [c.experience.id for c in pack([long, short], k=2, token_budget=50)] == ["short"]


class TestLabels:
    def test_labels_are_stable_and_resolvable(self) -> None:
        book = LabelBook()
        assert book.label("id-a") == "E1"
        assert book.label("id-b") == "E2"
        assert book.label("id-a") == "E1"
        for spelling in ("E2", "[E2]", "e2", " E2 "):
            assert book.resolve(spelling) == "id-b"
        assert book.resolve("id-a") == "id-a"  # a model that copied a real id
        assert book.as_mapping() == {"E1": "id-a", "E2": "id-b"}

    def test_unknown_label_says_what_is_known(self) -> None:
        book = LabelBook.from_mapping({"E1": "x", "E4": "y"})
        with pytest.raises(UnknownLabel, match=r"'E9'.*E1, E4"):
            book.resolve("E9")
        assert book.label("z") == "E5"

    def test_from_mapping_rejects_other_labels(self) -> None:
        with pytest.raises(ValueError, match="X1"):
            LabelBook.from_mapping({"X1": "x"})


class TestClustering:
    def test_pairs_are_distinct_and_thresholded(self) -> None:
        ids = ["a", "b", "c"]
        neighbours = [
            [("a", 1.0), ("b", 0.9), ("c", 0.5)],
            [("b", 1.0), ("a", 0.9)],
            [("c", 1.0), ("x", 0.99)],
        ]
        assert similar_pairs(ids, neighbours, 0.8) == [(0.9, "a", "b")]

    def test_union_find_with_size_cap(self) -> None:
        pairs = [(0.95, "a", "b"), (0.9, "b", "c"), (0.85, "c", "d"), (0.99, "x", "y")]
        assert clusters_from_pairs(pairs) == [["a", "b", "c", "d"], ["x", "y"]]
        assert clusters_from_pairs(pairs, max_size=2) == [["a", "b"], ["c", "d"], ["x", "y"]]

    def test_member_order_follows_the_key(self) -> None:
        order = {"a": 2, "b": 1}
        assert clusters_from_pairs([(0.9, "a", "b")], sort_key=lambda i: order[i]) == [["b", "a"]]


def test_counts_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        UsageStats(retrieved=-1)
