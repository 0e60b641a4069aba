"""Agency-side PPRL: normalise, tokenise and Bloom-encode records into batch files."""

from linkage.agency import EncodeSummary, encode_csv
from linkage.batch import Batch, import_clkhash, read_batch, write_batch
from linkage.bloom import BloomEncoder
from linkage.encode import EncodedRecords, OnInvalid, encode_records
from linkage.errors import (
    BatchError,
    InputError,
    InvalidValue,
    LinkageError,
    RecordError,
    SchemaError,
)
from linkage.schema import FieldKind, FieldSpec, Hardening, LinkageSchema, load_schema

__all__ = [
    "Batch",
    "BatchError",
    "BloomEncoder",
    "EncodeSummary",
    "EncodedRecords",
    "FieldKind",
    "FieldSpec",
    "Hardening",
    "InputError",
    "InvalidValue",
    "LinkageError",
    "LinkageSchema",
    "OnInvalid",
    "RecordError",
    "SchemaError",
    "encode_csv",
    "encode_records",
    "import_clkhash",
    "load_schema",
    "read_batch",
    "write_batch",
]
