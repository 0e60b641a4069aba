"""An independent, slow, pure-Python model of the Bloom encoder: the oracle for the kernel.

Written from the construction described in linkage/bloom.py, sharing no code with it.
"""

import hashlib
import hmac
import struct

MASK = (1 << 64) - 1


def _rotl(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (64 - bits))) & MASK


def siphash24(key: bytes, message: bytes) -> int:
    k0, k1 = struct.unpack("<QQ", key)
    v = [
        k0 ^ 0x736F6D6570736575,
        k1 ^ 0x646F72616E646F6D,
        k0 ^ 0x6C7967656E657261,
        k1 ^ 0x7465646279746573,
    ]

    def sipround() -> None:
        v[0] = (v[0] + v[1]) & MASK
        v[1] = _rotl(v[1], 13) ^ v[0]
        v[0] = _rotl(v[0], 32)
        v[2] = (v[2] + v[3]) & MASK
        v[3] = _rotl(v[3], 16) ^ v[2]
        v[0] = (v[0] + v[3]) & MASK
        v[3] = _rotl(v[3], 21) ^ v[0]
        v[2] = (v[2] + v[1]) & MASK
        v[1] = _rotl(v[1], 17) ^ v[2]
        v[2] = _rotl(v[2], 32)

    tail = len(message) % 8
    blocks = [struct.unpack_from("<Q", message, i)[0] for i in range(0, len(message) - tail, 8)]
    last = ((len(message) & 0xFF) << 56) | int.from_bytes(message[len(message) - tail :], "little")
    for block in [*blocks, last]:
        v[3] ^= block
        sipround()
        sipround()
        v[0] ^= block
    v[2] ^= 0xFF
    for _ in range(4):
        sipround()
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def _mix(value: int) -> int:
    value ^= value >> 30
    value = (value * 0xBF58476D1CE4E5B9) & MASK
    value ^= value >> 27
    value = (value * 0x94D049BB133111EB) & MASK
    return value ^ (value >> 31)


def tokens(value: str, method: str, q: int, padded: bool) -> list[str]:
    if method == "exact":
        return [value]
    if method == "date_parts":
        year, month, day = value[0:4], value[5:7], value[8:10]
        return ["Y" + year, "M" + month, "D" + day, "P" + month, "P" + day]
    out = []
    for word in value.split(" "):
        if not word:
            continue
        text = ("\x02" * (q - 1) + word + "\x03" * (q - 1)) if padded else word
        if len(text) < q:
            out.append(text)
        out.extend(text[i : i + q] for i in range(len(text) - q + 1))
    return out


def positions(token_hash: int, count: int, filter_bits: int) -> list[int]:
    golden = 0x9E3779B97F4A7C15
    halves = []
    for pair in range((count + 1) // 2):
        mixed = _mix((token_hash + (pair + 1) * golden) & MASK)
        halves += [mixed >> 32, mixed & 0xFFFFFFFF]
    return [(half * filter_bits) >> 32 for half in halves[:count]]


def permutation(key: bytes, size: int) -> list[int]:
    scores = [hmac.new(key, i.to_bytes(4, "big"), hashlib.sha256).digest()[:8] for i in range(size)]
    return sorted(range(size), key=scores.__getitem__)


def encode(
    fields: list[dict],
    values: list[str | None],
    filter_bits: int,
    salt: bytes | None = None,
    balance_key: bytes | None = None,
    fold: bool = False,
    flip: tuple[bytes, float] | None = None,
) -> list[int]:
    """Set bits of one record. `fields`: dicts with key, method, q, padded, bits."""
    bits = [0] * filter_bits
    prefix = salt or b""
    for spec, value in zip(fields, values, strict=True):
        if not value or not spec["bits"]:
            continue
        for token in tokens(value, spec["method"], spec["q"], spec["padded"]):
            token_hash = siphash24(spec["key"], prefix + token.encode("utf-32-le"))
            for position in positions(token_hash, spec["bits"], filter_bits):
                bits[position] = 1
    if balance_key is not None:
        order = permutation(balance_key, 2 * filter_bits)
        doubled = bits + [1 - bit for bit in bits]
        bits = [0] * (2 * filter_bits)
        for index, bit in enumerate(doubled):
            bits[order[index]] = bit
    if fold:
        half = len(bits) // 2
        bits = [a ^ b for a, b in zip(bits[:half], bits[half:], strict=True)]
    if flip is not None:
        key, probability = flip
        packed = sum(bit << i for i, bit in enumerate(bits)).to_bytes(len(bits) // 8, "little")
        state = siphash24(key, packed)
        threshold = int(probability * 2.0**64)
        for index in range(len(bits)):
            state = (state + 0x9E3779B97F4A7C15) & MASK
            if _mix(state) < threshold:
                bits[index] ^= 1
    return bits
