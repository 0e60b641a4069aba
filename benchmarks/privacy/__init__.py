"""Privacy benchmark: attacks on fieldlink's encodings, next to linkage quality.

A synthetic population with a long tail of names (`population`), a victim file encoded
with a secret the attacker never gets, and an attacker's plaintext register that covers a
share of the victim's persons. Attacks: the hub's attack on the per-field comparison
encodings without the key (`comparison_attack`), the key holder's dictionary decoding
(`keyholder`), and, when present, graph matching and probing. `run` ties them together:

    python -m benchmarks.privacy.run --records 1000 --seeds 0
"""
