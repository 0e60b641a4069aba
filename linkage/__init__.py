"""Agency-side PPRL: normalise, tokenise and Bloom-encode records into batch files.

The names below load on first use (PEP 562): `import linkage` stays cheap, so every
`fieldlink` command starts without compiling the encoder or the matching kernels.
"""

from typing import TYPE_CHECKING

from linkage.lazy import lazy_exports

if TYPE_CHECKING:
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

_HOMES = {
    "EncodeSummary": "linkage.agency",
    "encode_csv": "linkage.agency",
    "Batch": "linkage.batch",
    "import_clkhash": "linkage.batch",
    "read_batch": "linkage.batch",
    "write_batch": "linkage.batch",
    "BloomEncoder": "linkage.bloom",
    "EncodedRecords": "linkage.encode",
    "OnInvalid": "linkage.encode",
    "encode_records": "linkage.encode",
    "BatchError": "linkage.errors",
    "InputError": "linkage.errors",
    "InvalidValue": "linkage.errors",
    "LinkageError": "linkage.errors",
    "RecordError": "linkage.errors",
    "SchemaError": "linkage.errors",
    "FieldKind": "linkage.schema",
    "FieldSpec": "linkage.schema",
    "Hardening": "linkage.schema",
    "LinkageSchema": "linkage.schema",
    "load_schema": "linkage.schema",
}

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

__getattr__, __dir__ = lazy_exports(globals(), _HOMES)
