import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from linkage.compiled.siphash import siphash_codepoints
from linkage.siphash import key_halves, siphash, siphash_rows, siphash_spans
from tests.linkage.reference_encoder import siphash24

PAPER_KEY = bytes(range(16))
# SipHash-2-4 reference outputs (Aumasson and Bernstein, vectors.h) for messages 00 01 02 ...
PAPER_VECTORS = {0: 0x726FDB47DD0E0E31, 4: 0xCF2794E0277187B7, 8: 0x93F5F5799A932462}


def test_compiled_siphash_matches_the_paper_vectors() -> None:
    key0, key1 = key_halves(PAPER_KEY)
    for length_bytes, expected in PAPER_VECTORS.items():
        message = np.frombuffer(bytes(range(length_bytes)), dtype=np.uint32)

        assert siphash_codepoints(key0, key1, message, len(message)) == expected


def test_numpy_siphash_matches_the_paper_vectors() -> None:
    key0, key1 = key_halves(PAPER_KEY)
    for length_bytes, expected in PAPER_VECTORS.items():
        message = np.frombuffer(bytes(range(length_bytes)), dtype=np.uint32)

        assert siphash_rows(int(key0), int(key1), message.reshape(1, -1))[0] == expected


def test_python_oracle_matches_the_paper_vectors() -> None:
    for length_bytes, expected in PAPER_VECTORS.items():
        assert siphash24(PAPER_KEY, bytes(range(length_bytes))) == expected


@given(st.binary(min_size=16, max_size=16), st.text(max_size=40))
def test_numpy_siphash_equals_the_oracle_on_any_text(key: bytes, text: str) -> None:
    assert siphash(key, text) == siphash24(key, text.encode("utf-32-le", "surrogatepass"))


@given(
    st.binary(min_size=16, max_size=16),
    st.lists(st.text(max_size=12), max_size=20),
    st.lists(st.integers(0, 0x10FFFF), min_size=2, max_size=2),
)
def test_many_messages_at_once_equal_the_compiled_hash_of_each(
    key: bytes, texts: list[str], prefix: list[int]
) -> None:
    key0, key1 = key_halves(key)
    buffer = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    lengths = np.array([len(text) for text in texts], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    prefixes = np.tile(np.array(prefix, dtype=np.uint32), (len(texts), 1))

    plain = siphash_spans(int(key0), int(key1), buffer, starts, lengths)
    salted = siphash_spans(int(key0), int(key1), buffer, starts, lengths, prefixes)

    for index, text in enumerate(texts):
        message = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        with_prefix = np.concatenate([prefixes[index], message])
        assert plain[index] == siphash_codepoints(key0, key1, message, len(message))
        assert salted[index] == siphash_codepoints(key0, key1, with_prefix, len(with_prefix))
