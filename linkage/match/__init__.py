"""The matching core the hub runs and agencies may run for evaluation (pure, no I/O)."""

from linkage.match.dice import DicePairs, dice_pairs, popcounts

__all__ = ["DicePairs", "dice_pairs", "popcounts"]
