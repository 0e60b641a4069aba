"""The object store under the vault: local files and a real S3 API server (moto), alike.

Every behaviour the hub relies on is checked on both implementations: sealed round trips,
a blob appearing whole or not at all, deletes, listing under a prefix. The S3-only tests
show that writes go out as multipart parts while the plaintext still arrives and that
reads are ranged GETs pinned to one object version.
"""

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service import objects, vault
from service.hub_keys import Keyring, load_hub_keys
from service.objects import LocalObjects, ObjectStore, ObjectStoreError, S3Objects
from service.vault import MAGIC, VaultError, iter_object, open_object, reseal_object, seal_object
from tests.service.s3_server import S3Server, running_s3

PART = objects.MIN_PART_BYTES


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with running_s3() as server:
        yield server


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return load_hub_keys(tmp_path / "keys-home", create=True).storage


def s3_store(server: S3Server, **options: Any) -> S3Objects:
    return S3Objects(server.client(), server.fresh_bucket(), prefix="hub-a/", **options)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalObjects(tmp_path / "hub-data")
    server: S3Server = request.getfixturevalue("s3")
    return s3_store(server)


def raw(store: ObjectStore, key: str) -> bytes:
    with store.reader(key) as stream:
        return b"".join(iter(lambda: stream.read(1 << 20), b""))


def test_a_sealed_blob_round_trips_and_is_stored_as_ciphertext(
    store: ObjectStore, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vault, "CHUNK_BYTES", 1000)
    data = secrets.token_bytes(12_345)

    written = seal_object(
        iter([data[:7000], data[7000:]]), store, "uploads/a.vault", keyring=keyring, name="a"
    )

    assert written == len(data)
    assert open_object(store, "uploads/a.vault", keyring=keyring, name="a") == data
    stored = raw(store, "uploads/a.vault")
    assert stored.startswith(MAGIC) and data[:32] not in stored and data[-32:] not in stored
    assert store.keys("uploads/") == ["uploads/a.vault"]


def test_a_write_that_fails_leaves_the_blob_before_it(store: ObjectStore, keyring: Keyring) -> None:
    seal_object(iter([b"first version"]), store, "uploads/b.vault", keyring=keyring, name="b")

    def failing() -> Iterator[bytes]:
        yield secrets.token_bytes(PART + 1000)  # one part out already, on S3
        raise RuntimeError("the spool broke")

    with pytest.raises(RuntimeError):
        seal_object(failing(), store, "uploads/b.vault", keyring=keyring, name="b")

    assert open_object(store, "uploads/b.vault", keyring=keyring, name="b") == b"first version"
    assert store.keys() == ["uploads/b.vault"]
    assert store.remove_leftovers() == 0  # the failed write cleaned up after itself


def test_delete_removes_a_blob_and_a_missing_one_is_no_error(
    store: ObjectStore, keyring: Keyring
) -> None:
    seal_object(iter([b"x"]), store, "uploads/c.vault", keyring=keyring, name="c")

    store.delete("uploads/c.vault")
    store.delete("uploads/c.vault")

    assert store.keys() == []
    with pytest.raises(VaultError, match=r"uploads/c\.vault: not stored"):
        open_object(store, "uploads/c.vault", keyring=keyring, name="c")


def test_a_blob_opened_under_another_name_is_refused(store: ObjectStore, keyring: Keyring) -> None:
    seal_object(iter([b"batch"]), store, "uploads/d.vault", keyring=keyring, name="d")

    with pytest.raises(VaultError, match="fails authentication"):
        open_object(store, "uploads/d.vault", keyring=keyring, name="e")


def test_reseal_moves_a_blob_to_the_active_key(
    store: ObjectStore, keyring: Keyring, tmp_path: Path
) -> None:
    data = secrets.token_bytes(3000)
    seal_object(iter([data]), store, "uploads/f.vault", keyring=keyring, name="f")
    newer = Keyring(keys=keyring.keys | {"0" * 16: secrets.token_bytes(32)}, active_id="0" * 16)

    assert reseal_object(store, "uploads/f.vault", keyring=newer, name="f")
    assert not reseal_object(store, "uploads/f.vault", keyring=newer, name="f")

    only_new = Keyring(keys={"0" * 16: newer.keys["0" * 16]}, active_id="0" * 16)
    assert open_object(store, "uploads/f.vault", keyring=only_new, name="f") == data


class Calls:
    """The S3 operations the client made, with their parameters (botocore's event hooks)."""

    def __init__(self, client: Any) -> None:
        self.made: list[tuple[str, dict[str, Any]]] = []
        client.meta.events.register("provide-client-params.s3.*", self._note)

    def _note(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.made.append((model.name, dict(params)))

    def named(self, name: str) -> list[dict[str, Any]]:
        return [params for made, params in self.made if made == name]


def test_s3_writes_stream_out_in_parts_while_the_plaintext_arrives(
    s3: S3Server, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vault, "CHUNK_BYTES", 1024 * 1024)
    store = s3_store(s3, part_bytes=PART)
    calls = Calls(store.client)
    pieces = [secrets.token_bytes(1024 * 1024) for _ in range(13)]  # 13 MiB
    parts_out_while_arriving: list[int] = []

    def arriving() -> Iterator[bytes]:
        for piece in pieces:
            parts_out_while_arriving.append(len(calls.named("UploadPart")))
            yield piece

    seal_object(arriving(), store, "uploads/big.vault", keyring=keyring, name="big")

    sizes = [len(params["Body"]) for params in calls.named("UploadPart")]
    assert sizes[:-1] == [PART] * (len(sizes) - 1) and 0 < sizes[-1] <= PART
    assert len(sizes) == 3  # 13 MiB of ciphertext and framing: two full parts and the rest
    # 11 sealed chunks were out before the 13th MiB came in: two parts had gone already.
    assert parts_out_while_arriving[-1] == 2
    assert len(calls.named("CompleteMultipartUpload")) == 1
    assert b"".join(iter_object(store, "uploads/big.vault", keyring=keyring, name="big")) == (
        b"".join(pieces)
    )


def test_s3_reads_are_ranged_gets_of_one_version(
    s3: S3Server, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vault, "CHUNK_BYTES", 10_000)
    store = s3_store(s3, read_bytes=64 * 1024)
    data = secrets.token_bytes(300_000)
    seal_object(iter([data]), store, "uploads/r.vault", keyring=keyring, name="r")
    calls = Calls(store.client)

    assert open_object(store, "uploads/r.vault", keyring=keyring, name="r") == data

    gets = calls.named("GetObject")
    assert len(gets) >= 5 and all(params["IfMatch"] == gets[0]["IfMatch"] for params in gets)
    spans = [params["Range"].removeprefix("bytes=").split("-") for params in gets]
    assert all(int(last) + 1 - int(first) == 64 * 1024 for first, last in spans[:-1])


def test_s3_a_blob_replaced_while_it_is_read_is_refused(
    s3: S3Server, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vault, "CHUNK_BYTES", 10_000)
    store = s3_store(s3, read_bytes=64 * 1024)
    seal_object(
        iter([secrets.token_bytes(200_000)]), store, "uploads/s.vault", keyring=keyring, name="s"
    )
    chunks = iter_object(store, "uploads/s.vault", keyring=keyring, name="s")

    with pytest.raises(VaultError, match="replaced while it was being read"):
        next(chunks)  # the first range is read; the blob changes before the next one
        seal_object(iter([b"new"]), store, "uploads/s.vault", keyring=keyring, name="s")
        list(chunks)


def test_s3_unfinished_uploads_of_killed_writers_are_aborted(s3: S3Server) -> None:
    store = s3_store(s3)
    left = store.client.create_multipart_upload(Bucket=store.bucket, Key="hub-a/uploads/k.vault")
    store.client.upload_part(
        Bucket=store.bucket,
        Key="hub-a/uploads/k.vault",
        UploadId=left["UploadId"],
        PartNumber=1,
        Body=b"sealed part",
    )
    other = store.client.create_multipart_upload(Bucket=store.bucket, Key="hub-b/x")

    # moto dates every upload long ago, so both are stale; only this hub's prefix is touched.
    assert store.remove_leftovers() == 1
    remaining = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
    assert [upload["UploadId"] for upload in remaining] == [other["UploadId"]]


def test_s3_prefixes_keep_hubs_sharing_a_bucket_apart(s3: S3Server, keyring: Keyring) -> None:
    first = s3_store(s3)
    second = S3Objects(first.client, first.bucket, prefix="hub-b/")
    seal_object(iter([b"a"]), first, "uploads/1.vault", keyring=keyring, name="1")

    assert (first.keys(), second.keys()) == (["uploads/1.vault"], [])
    listed = first.client.list_objects_v2(Bucket=first.bucket)["Contents"]
    assert [item["Key"] for item in listed] == ["hub-a/uploads/1.vault"]


def test_s3_errors_name_the_key_and_the_answer_only(s3: S3Server) -> None:
    missing = S3Objects(s3.client(), "fieldlink-no-such-bucket")

    with pytest.raises(ObjectStoreError) as raised:
        missing.check()
    refused = r"^uploads/x\.vault: the object store answered"
    with pytest.raises(ObjectStoreError, match=refused), missing.writer("uploads/x.vault") as sink:
        sink.write(b"secret bytes")

    assert str(raised.value) == "bucket fieldlink-no-such-bucket: not found"
    s3_store(s3).check()  # an existing bucket answers


def test_the_settings_choose_the_store(tmp_path: Path, s3: S3Server) -> None:
    from pydantic import SecretStr

    from service.config import Settings
    from tests.service.s3_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

    local = objects.object_store(Settings(data_dir=tmp_path))
    bucket = s3.fresh_bucket()
    remote = objects.object_store(
        Settings(
            data_dir=tmp_path,
            s3_bucket=bucket,
            s3_endpoint_url=s3.url,
            s3_region=REGION,
            s3_prefix="p/",
            s3_access_key_id=SecretStr(ACCESS_KEY_ID),
            s3_secret_access_key=SecretStr(SECRET_ACCESS_KEY),
        )
    )

    assert isinstance(local, LocalObjects) and local.root == tmp_path
    assert isinstance(remote, S3Objects) and (remote.bucket, remote.prefix) == (bucket, "p/")
    remote.check()
    assert "secret" not in repr(remote).lower()
