from __future__ import annotations

import pytest

from mnemo_dagster.indexing.batching import (
    BatchLimits,
    batch_key,
    group_by_batch,
    plan_batches,
    split_batch_key,
    valid_repository_name,
)

LIMITS = BatchLimits(max_bytes=1000, max_files=3)


def test_first_plan_fills_batches_in_path_order() -> None:
    sizes = {"a.py": 100, "b.py": 100, "c.py": 100, "d.py": 900, "e.py": 50}
    plan = plan_batches("repo", sizes, {}, LIMITS)
    assert group_by_batch(plan) == {
        "repo__0001": ["a.py", "b.py", "c.py"],  # file cap
        "repo__0002": ["d.py", "e.py"],  # 950 bytes
    }


def test_a_file_bigger_than_the_byte_limit_gets_a_batch_of_its_own() -> None:
    plan = plan_batches("repo", {"a.py": 10, "big.py": 5000, "z.py": 10}, {}, LIMITS)
    assert group_by_batch(plan) == {"repo__0001": ["a.py"], "repo__0002": ["big.py"], "repo__0003": ["z.py"]}


def test_edits_and_deletions_never_move_other_files() -> None:
    sizes = {f"f{i:02d}.py": 100 for i in range(9)}
    first = plan_batches("repo", sizes, {}, LIMITS)
    # f04 grows tenfold, f00 is deleted, two files are added in the middle of the path order.
    sizes2 = {**sizes, "f04.py": 1000, "f03a.py": 10, "f05a.py": 10}
    del sizes2["f00.py"]
    second = plan_batches("repo", sizes2, {p: first[p] for p in sizes2 if p in first}, LIMITS)
    for path in sizes2:
        if path in first:
            assert second[path] == first[path], path
    assert second["f03a.py"] == second["f05a.py"] == "repo__0004"


def test_newcomers_fill_the_newest_batch_before_opening_another() -> None:
    first = plan_batches("repo", {"a.py": 100}, {}, LIMITS)
    second = plan_batches("repo", {"a.py": 100, "b.py": 100, "c.py": 100, "d.py": 100}, first, LIMITS)
    assert group_by_batch(second) == {"repo__0001": ["a.py", "b.py", "c.py"], "repo__0002": ["d.py"]}


def test_keys_round_trip_and_avoid_characters_dagster_mishandles() -> None:
    key = batch_key("my-repo.v2", 7)
    assert key == "my-repo.v2__0007"
    assert split_batch_key(key) == ("my-repo.v2", 7)
    assert not any(bad in key for bad in ("/", ",", "..."))
    with pytest.raises(ValueError):
        split_batch_key("no-separator")


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("repo", True),
        ("my_repo-2.x", True),
        ("a__b", False),
        ("a/b", False),
        ("x...y", False),
        ("", False),
        ("-lead", False),
    ],
)
def test_repository_names(name: str, ok: bool) -> None:
    assert valid_repository_name(name) is ok
