"""Passphrase protection of private key material: scrypt, then AES-256-GCM.

The parameters travel with the protected value (as JSON), so they can be raised later
without breaking older files; reading bounds them, so a crafted file cannot make scrypt
claim gigabytes of memory.
"""

import base64
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from keys.errors import KeyFileError, WeakSecretError, WrongPassphrase

SCRYPT_N = 2**15  # 32 MiB with r = 8; about 0.1 s on a laptop core
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
NONCE_BYTES = 12
MIN_PASSPHRASE_CHARS = 8
MAX_SCRYPT_MEMORY_BYTES = 2**28  # the most a file may ask for when read (256 MiB)


def lock(value: bytes, passphrase: str, *, bound: bytes) -> tuple[dict[str, Any], bytes]:
    """Encrypt `value` under a key derived from `passphrase` with a fresh random salt.

    Args:
        value: The private material.
        passphrase: At least 8 characters.
        bound: Associated data the decryption must be given again (the file's labels).

    Returns:
        The protection parameters (JSON-ready) and the ciphertext with its tag.
    """
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise WeakSecretError(f"a passphrase must have at least {MIN_PASSPHRASE_CHARS} characters")
    salt, nonce = os.urandom(SALT_BYTES), os.urandom(NONCE_BYTES)
    key = _scrypt(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    protection = {
        "kdf": "scrypt",
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": base64.b64encode(salt).decode(),
        "cipher": "aes-256-gcm",
        "nonce": base64.b64encode(nonce).decode(),
    }
    return protection, AESGCM(key).encrypt(nonce, value, bound)


def unlock(path: Path, protection: Any, sealed: bytes, passphrase: str, *, bound: bytes) -> bytes:
    """Decrypt what `lock` produced; `path` only names the file in errors.

    Raises:
        KeyFileError: The protection parameters are malformed, unsupported or out of bounds.
        WrongPassphrase: The passphrase is wrong, or the file was altered.
    """
    try:
        salt, nonce, cost = _parameters(protection)
    except (ValueError, TypeError, KeyError, AttributeError) as err:  # binascii.Error too
        raise KeyFileError(str(path), "its passphrase protection is malformed") from err
    key = _scrypt(passphrase, salt, *cost)
    try:
        return AESGCM(key).decrypt(nonce, sealed, bound)
    except InvalidTag as err:
        raise WrongPassphrase(str(path), "wrong passphrase (or the file was altered)") from err


def _parameters(protection: Any) -> tuple[bytes, bytes, tuple[int, int, int]]:
    if protection.get("kdf") != "scrypt" or protection.get("cipher") != "aes-256-gcm":
        raise ValueError("unsupported protection")
    cost = (protection["n"], protection["r"], protection["p"])
    if not all(type(number) is int and number > 0 for number in cost):
        raise ValueError("scrypt parameters must be positive whole numbers")
    cost_n, block_r, parallel_p = cost
    if cost_n < 2 or cost_n & (cost_n - 1) or parallel_p > 16:
        raise ValueError("scrypt parameters out of range")
    if 128 * cost_n * block_r > MAX_SCRYPT_MEMORY_BYTES:
        raise ValueError("scrypt parameters ask for too much memory")
    salt = base64.b64decode(protection["salt"], validate=True)
    nonce = base64.b64decode(protection["nonce"], validate=True)
    if len(salt) < SALT_BYTES or len(nonce) != NONCE_BYTES:
        raise ValueError("salt or nonce of the wrong length")
    return salt, nonce, cost


def _scrypt(passphrase: str, salt: bytes, cost_n: int, block_r: int, parallel_p: int) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=cost_n, r=block_r, p=parallel_p)
    return kdf.derive(passphrase.encode("utf-8"))
