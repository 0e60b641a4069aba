"""The matching core the hub runs and agencies may run for evaluation (pure, no I/O).

Names load on first use (linkage.lazy): importing a submodule such as
linkage.match.layout does not compile the Dice kernels.
"""

from typing import TYPE_CHECKING

from linkage.lazy import lazy_exports

if TYPE_CHECKING:
    from linkage.match.dice import DicePairs, dice_pairs, popcounts

_HOMES = dict.fromkeys(("DicePairs", "dice_pairs", "popcounts"), "linkage.match.dice")
__all__ = ["DicePairs", "dice_pairs", "popcounts"]
__getattr__, __dir__ = lazy_exports(globals(), _HOMES)
