"""Salt families: several independently salted encodings of each record (hardening).

Why: an unsalted encoding makes every record comparable with every other one. A hub that
holds a population register can then align the similarity graph of the encodings with the
register's (graph matching) and read names off repeated per-field filters (frequency
alignment and bit-position cryptanalysis). Salting a record's every token with a value of
the record limits comparability to records that share that value: the similarity graph
falls apart into small groups that carry too little structure to align, and repeated
filters occur only inside a group. A single salt loses every pair whose salt value is
missing or mistyped on one side; a salt with few values (a birth year) leaves groups large
enough to attack on their own.

So each record is encoded once per *family*, each family salted with a different
combination of its values (`linkage.schema.SaltFamily`): in the shipped person schema the
full date of birth with the sound key of the surname or of the given name, an order-free
sound key of the names with year and month, year and day, day and month, or the postcode,
the phone number, and the document number. A true pair needs to share one family's salt to
be found; every family's values have many distinct values, so its groups stay small. With
`hardening.group_filters`, a family's record-level filter encodes the salt alone, so the
hub sees group membership and nothing of who in a group resembles whom. What the hub still
learns is stated plainly in the README: which records share a family's salt (group
structure), and group sizes.

* `namekey` turns a name word into a coarse sound key and initial;
* `families` computes every record's salt value of one family from normalised values;
* `group_filter` writes a family's record filter from the salt alone;
* `exposure` measures what the hub could count in a batch (`fieldlink batch risk`).
"""

from linkage.salting.families import family_salts, salt_part
from linkage.salting.namekey import name_initial, name_key

__all__ = ["family_salts", "name_initial", "name_key", "salt_part"]
