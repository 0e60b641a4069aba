"""Where sealed batch files live: a folder on local disk (the default) or an S3 bucket.

The hub writes and reads its sealed blobs (`service.vault`) through `ObjectStore`, one
interface with two implementations:

- `LocalObjects`: files under the data folder, written to `<name>.partial` under an
  exclusive flock(2), fsynced and renamed into place (`remove_stale` tells a killed
  process's leftovers from a file another process is still writing);
- `S3Objects`: an S3-compatible bucket (AWS S3, MinIO, Ceph ...). Writes are multipart
  uploads of `part_bytes` parts, completed when the blob is whole and aborted when it is
  not, so a reader sees the old object or the new one, never half of one. Reads are
  ranged GETs pinned to the object's ETag (If-Match), so a blob replaced while being read
  is refused instead of read half old, half new.

Both stream: a write holds one part (or nothing, locally) and a read one range in memory.
What goes in is ciphertext already (the vault seals before it writes), so the store sees
no plain byte and needs no encryption of its own; its credentials come from the
environment (`service.config`), or from the SDK's usual chain when none are set.
"""

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

from pydantic import SecretStr

from service.config import Settings

logger = logging.getLogger(__name__)

PARTIAL_SUFFIX = ".partial"  # a local blob being written, renamed into place when complete
MIN_PART_BYTES = 5 * 1024 * 1024  # S3's smallest part but the last
READ_BYTES = 8 * 1024 * 1024 + 64  # one ranged GET: a sealed chunk with its framing
STALE_UPLOAD = timedelta(hours=24)  # an unfinished multipart upload older than this is left


class ObjectStoreError(Exception):
    """The object store refused or failed an operation; the message names the key only."""


class ObjectMissing(ObjectStoreError):
    """No object is stored under the key."""


class Readable(Protocol):
    """A byte stream read front to back (`read(n)` returns fewer bytes only at the end)."""

    def read(self, size: int, /) -> bytes:
        """Up to `size` bytes; b"" at the end."""
        ...


class Writable(Protocol):
    """A byte sink."""

    def write(self, data: bytes, /) -> object:
        """Take these bytes."""
        ...


class ObjectStore(Protocol):
    """Named blobs, written and read as streams; keys are relative paths (`uploads/x.vault`)."""

    kind: str  # "local" or "s3": for logs and metrics

    def writer(self, key: str) -> AbstractContextManager[Writable]:
        """A sink for a new blob under `key`, whole or not at all.

        The blob replaces what is there only when the block ends without an exception, and
        nothing is left behind when it raises.
        """
        ...

    def reader(self, key: str) -> AbstractContextManager[Readable]:
        """The blob under `key`, read front to back. Raises ObjectMissing."""
        ...

    def delete(self, key: str) -> None:
        """Remove the blob under `key`; a missing one is fine."""
        ...

    def keys(self, prefix: str = "") -> list[str]:
        """Every stored key that starts with `prefix`, sorted."""
        ...

    def stored(self, prefix: str = "") -> dict[str, datetime]:
        """Every stored key that starts with `prefix`, with when it was last written (UTC)."""
        ...

    def remove_leftovers(self) -> int:
        """Remove what killed writers left (partial files, unfinished uploads); how many."""
        ...

    def check(self) -> None:
        """Raise ObjectStoreError unless the store answers (readiness)."""
        ...


class LocalObjects:
    """Blobs as files under `root` (the hub's data folder), owner-only."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"LocalObjects(root={str(self.root)!r})"

    def path(self, key: str) -> Path:
        """The file that holds `key`."""
        return self.root / key

    def writer(self, key: str) -> AbstractContextManager[Writable]:
        """See `ObjectStore.writer`: a `.partial` file, fsynced and renamed into place."""
        return atomic_file(self.path(key))

    @contextmanager
    def reader(self, key: str) -> Iterator[Readable]:
        """See `ObjectStore.reader`."""
        try:
            stream = open(self.path(key), "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise ObjectMissing(f"{key}: not stored") from None
        except OSError as err:
            raise ObjectStoreError(f"{key}: cannot be read") from err
        with stream:
            yield stream

    def delete(self, key: str) -> None:
        """See `ObjectStore.delete`."""
        self.path(key).unlink(missing_ok=True)

    def keys(self, prefix: str = "") -> list[str]:
        """See `ObjectStore.keys` (partial files are not blobs).

        The root is the data folder, which holds the hub's key files and spool as well: ask
        with the prefix of the blobs' folder (`uploads/`).
        """
        if not self.root.is_dir():
            return []
        found = (
            path.relative_to(self.root).as_posix()
            for path in self.root.rglob("*")
            if path.is_file() and not path.name.endswith(PARTIAL_SUFFIX)
        )
        return sorted(key for key in found if key.startswith(prefix))

    def stored(self, prefix: str = "") -> dict[str, datetime]:
        """See `ObjectStore.stored`: the files' modification times (a rename keeps the write's)."""
        written = {}
        for key in self.keys(prefix):
            try:
                written[key] = datetime.fromtimestamp(self.path(key).stat().st_mtime, UTC)
            except FileNotFoundError:
                continue  # removed meanwhile
        return written

    def remove_leftovers(self) -> int:
        """Partial files under the root that no process holds a lock on."""
        return remove_stale(self.root, f"**/*{PARTIAL_SUFFIX}")

    def check(self) -> None:
        """The data folder is always there once the hub has started."""


@contextmanager
def atomic_file(target: Path) -> Iterator[IO[bytes]]:
    """Write `target` whole or not at all: a locked `.partial` file, fsynced, then renamed."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    with open(partial, "wb") as sink:
        fcntl.flock(sink.fileno(), fcntl.LOCK_EX)  # see remove_stale
        try:
            yield sink
            sink.flush()
            os.fsync(sink.fileno())
            partial.replace(target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise


def remove_stale(folder: Path, pattern: str) -> int:
    """Remove the files matching `pattern` that no process holds a lock on; return how many.

    For leftovers of a killed process (a half-written blob, a spool file); files another
    live process is writing are locked and stay.
    """
    removed = 0
    for path in sorted(folder.glob(pattern)) if folder.is_dir() else []:
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except OSError:
            continue  # renamed or removed meanwhile
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            continue  # being written
        path.unlink(missing_ok=True)
        os.close(descriptor)
        removed += 1
    return removed


class S3Objects:
    """Blobs as objects in an S3-compatible bucket, under `prefix`.

    Args:
        client: A boto3 S3 client (thread-safe; shared by every request and run worker).
        bucket: The bucket; it must exist (the hub does not create buckets).
        prefix: Put before every key, so several hubs can share a bucket ("" or "hub-a/").
        part_bytes: Size of a multipart upload's parts (at least 5 MiB).
        read_bytes: Size of one ranged GET.
    """

    kind = "s3"

    def __init__(
        self,
        client: Any,
        bucket: str,
        *,
        prefix: str = "",
        part_bytes: int = 8 * 1024 * 1024,
        read_bytes: int = READ_BYTES,
    ) -> None:
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"part_bytes must be at least {MIN_PART_BYTES}")
        self.client, self.bucket, self.prefix = client, bucket, prefix
        self.part_bytes, self.read_bytes = part_bytes, read_bytes

    def __repr__(self) -> str:
        return f"S3Objects(bucket={self.bucket!r}, prefix={self.prefix!r})"

    @contextmanager
    def writer(self, key: str) -> Iterator[Writable]:
        """See `ObjectStore.writer`: a multipart upload, completed or aborted."""
        upload = _MultipartUpload(self, key)
        try:
            yield upload
            upload.complete()
        except BaseException:
            upload.abort()
            raise

    @contextmanager
    def reader(self, key: str) -> Iterator[Readable]:
        """See `ObjectStore.reader`: ranged GETs of the version found first."""
        with _errors(key):
            head = self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        yield _RangedReader(self, key, size=int(head["ContentLength"]), etag=str(head["ETag"]))

    def delete(self, key: str) -> None:
        """See `ObjectStore.delete`."""
        with _errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def keys(self, prefix: str = "") -> list[str]:
        """See `ObjectStore.keys`."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        with _errors(prefix or "(bucket)"):
            found = [item["Key"] for page in pages for item in page.get("Contents", [])]
        return sorted(key[len(self.prefix) :] for key in found)

    def stored(self, prefix: str = "") -> dict[str, datetime]:
        """See `ObjectStore.stored`: LastModified (a multipart upload's: when it began)."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        with _errors(prefix or "(bucket)"):
            return {
                str(item["Key"])[len(self.prefix) :]: item["LastModified"].astimezone(UTC)
                for page in pages
                for item in page.get("Contents", [])
            }

    def remove_leftovers(self) -> int:
        """Abort this hub's multipart uploads begun more than `STALE_UPLOAD` ago.

        A live upload finishes within minutes; older ones were left by a killed process and
        hold sealed parts that nobody can complete. (A bucket lifecycle rule aborting
        incomplete multipart uploads after a day does the same on the store's side.)
        """
        cutoff = datetime.now(UTC) - STALE_UPLOAD
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        aborted = 0
        with _errors("(multipart uploads)"):
            for page in pages:
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < cutoff:
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                        aborted += 1
        return aborted

    def check(self) -> None:
        """See `ObjectStore.check`: the bucket answers a HEAD with these credentials."""
        try:
            with _errors(f"bucket {self.bucket}"):
                self.client.head_bucket(Bucket=self.bucket)
        except ObjectMissing:
            raise ObjectStoreError(f"bucket {self.bucket}: not found") from None


class _MultipartUpload:
    """A `Writable` that sends full parts as they fill; a small blob goes in one PUT."""

    def __init__(self, store: S3Objects, key: str) -> None:
        self.store, self.key = store, key
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    def write(self, data: bytes) -> int:
        self.buffer += data
        while len(self.buffer) >= self.store.part_bytes:
            self._send(bytes(self.buffer[: self.store.part_bytes]))
            del self.buffer[: self.store.part_bytes]
        return len(data)

    def complete(self) -> None:
        store, name = self.store, self.store.prefix + self.key
        with _errors(self.key):
            if self.upload_id is None:  # it fitted in one part: one PUT
                store.client.put_object(Bucket=store.bucket, Key=name, Body=bytes(self.buffer))
                return
            if self.buffer:
                self._send(bytes(self.buffer))
            store.client.complete_multipart_upload(
                Bucket=store.bucket,
                Key=name,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": self.parts},
            )
        self.buffer = bytearray()

    def abort(self) -> None:
        self.buffer = bytearray()
        if self.upload_id is None:
            return
        try:
            self.store.client.abort_multipart_upload(
                Bucket=self.store.bucket, Key=self.store.prefix + self.key, UploadId=self.upload_id
            )
        except Exception as exc:  # the original error matters; remove_leftovers retries
            logger.warning("cannot abort an unfinished upload: %s", type(exc).__name__)

    def _send(self, part: bytes) -> None:
        store, name = self.store, self.store.prefix + self.key
        with _errors(self.key):
            if self.upload_id is None:
                started = store.client.create_multipart_upload(Bucket=store.bucket, Key=name)
                self.upload_id = str(started["UploadId"])
            number = len(self.parts) + 1
            sent = store.client.upload_part(
                Bucket=store.bucket, Key=name, UploadId=self.upload_id, PartNumber=number, Body=part
            )
        self.parts.append({"PartNumber": number, "ETag": sent["ETag"]})


class _RangedReader:
    """A `Readable` over one object version: GETs of `read_bytes` ranges, If-Match its ETag."""

    def __init__(self, store: S3Objects, key: str, *, size: int, etag: str) -> None:
        self.store, self.key, self.size, self.etag = store, key, size, etag
        self.fetched = 0  # bytes of the object fetched so far
        self.buffer, self.position = b"", 0  # the last range, and how far it has been read

    def read(self, size: int, /) -> bytes:
        pieces: list[bytes] = []
        wanted = size
        while wanted > 0:
            if self.position == len(self.buffer):
                if self.fetched >= self.size:
                    break
                self._fetch(max(wanted, self.store.read_bytes))
            piece = self.buffer[self.position : self.position + wanted]
            self.position += len(piece)
            wanted -= len(piece)
            pieces.append(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _fetch(self, length: int) -> None:
        end = min(self.size, self.fetched + length) - 1
        store = self.store
        with _errors(self.key):
            answer = store.client.get_object(
                Bucket=store.bucket,
                Key=store.prefix + self.key,
                Range=f"bytes={self.fetched}-{end}",
                IfMatch=self.etag,
            )
            self.buffer = answer["Body"].read()
        if len(self.buffer) != end + 1 - self.fetched:
            raise ObjectStoreError(f"{self.key}: a ranged read came back short")
        self.fetched, self.position = end + 1, 0


@contextmanager
def _errors(key: str) -> Iterator[None]:
    """The SDK's errors as ObjectStoreError naming the key and the error code, nothing else."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as err:
        code = str(err.response.get("Error", {}).get("Code", "unknown"))
        if code in {"404", "NoSuchKey", "NotFound"}:
            raise ObjectMissing(f"{key}: not stored") from None
        if code in {"412", "PreconditionFailed"}:
            raise ObjectStoreError(f"{key}: replaced while it was being read") from None
        raise ObjectStoreError(f"{key}: the object store answered {code}") from None
    except BotoCoreError as err:
        raise ObjectStoreError(f"{key}: {type(err).__name__}") from None


def object_store(settings: Settings) -> ObjectStore:
    """The store the settings name: the S3 bucket when one is set, else the data folder."""
    if not settings.s3_bucket:
        return LocalObjects(settings.data_dir)
    client = s3_client(
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=_secret(settings.s3_access_key_id),
        secret_access_key=_secret(settings.s3_secret_access_key),
    )
    return S3Objects(
        client, settings.s3_bucket, prefix=settings.s3_prefix, part_bytes=settings.s3_part_bytes
    )


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def s3_client(
    *,
    endpoint_url: str | None,
    region: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
) -> Any:
    """A boto3 S3 client; without explicit keys, boto3's chain (environment, role) decides."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": 5, "mode": "standard"},
        # Path-style addressing works with every S3-compatible store (MinIO, Ceph, moto).
        s3={"addressing_style": "path"},
        connect_timeout=10,
        read_timeout=60,
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or None,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=config,
    )
