"""`benchmarks.salt_group_pairs`: candidate pairs per family counted from digests alone."""

import numpy as np

from benchmarks.salt_group_pairs import family_pairs


def test_pairs_are_the_products_of_shared_groups_and_absent_records_count_nothing() -> None:
    a = np.array([5, 5, 7, 0, 0, 9], dtype=np.uint64)  # 0: not in the family
    b = np.array([5, 7, 7, 7, 0, 8], dtype=np.uint64)

    pairs, largest = family_pairs(a, b)

    assert pairs == 2 * 1 + 1 * 3  # digest 5: 2 x 1, digest 7: 1 x 3; 9 and 8 unshared
    assert largest == 3


def test_no_shared_group_means_no_pairs() -> None:
    assert family_pairs(np.array([1], np.uint64), np.array([2], np.uint64)) == (0, 0)
