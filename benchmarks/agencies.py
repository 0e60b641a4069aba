"""The synthetic agencies' files encoded with one schema: where quality benchmarks start."""

from pathlib import Path

from keys import LinkageSecret, ReferenceKey
from linkage.agency import encode_csv, read_refmap
from linkage.batch import Batch, read_batch
from linkage.schema import LinkageSchema
from linkage.synth.agencies import AGENCIES

SECRET = LinkageSecret(project="bench", value=bytes(range(32)))


def encode_agencies(
    data: Path, schema: LinkageSchema, *, label: str = "", workers: int = 1
) -> tuple[list[Batch], dict[str, dict[str, str]]]:
    """Encode each agency's CSV in `data` (from `linkage.synth.generate`) with `schema`.

    Args:
        data: The generated files.
        schema: The schema to encode with (fixed benchmark secret and reference keys).
        label: Put into the batch file names, so that schemas do not overwrite each other.
        workers: Encoding processes per file.

    Returns:
        The batches in agency order, and per agency its reference -> record id map.
    """
    batches, refmaps = [], {}
    for agency in AGENCIES:
        summary = encode_csv(
            data / f"{agency}.csv",
            schema=schema,
            secret=SECRET,
            ref_key=ReferenceKey(agency=agency, value=bytes(32)),
            out=data / (f"{agency}.{label}.arrow" if label else f"{agency}.arrow"),
            workers=workers,
        )
        batches.append(read_batch(summary.batch_path))
        refmaps[agency] = dict(read_refmap(summary.refmap_path))
    return batches, refmaps
