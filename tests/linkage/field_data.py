"""Synthetic multi-agency batches with comparison encodings, for field-scoring tests."""

from dataclasses import dataclass
from pathlib import Path

from keys import LinkageSecret, ReferenceKey
from linkage.agency import encode_csv, read_refmap
from linkage.batch import Batch, read_batch
from linkage.schema import load_schema
from linkage.synth import generate
from linkage.synth.agencies import AGENCIES

PERSONS = 500
SEED = 11


@dataclass(frozen=True)
class SynthBatches:
    folder: Path
    batches: list[Batch]
    refmaps: dict[str, dict[str, str]]

    @property
    def truth(self) -> Path:
        return self.folder / "truth.csv"


def synth_batches(folder: Path, schema: str | None = None) -> SynthBatches:
    """Generate, then encode each agency's file with a schema (default: person; seeded,
    fixed key)."""
    generate(folder, persons=PERSONS, seed=SEED)
    secret = LinkageSecret(project="fields", value=bytes(range(32)))
    batches, refmaps = [], {}
    for agency in AGENCIES:
        summary = encode_csv(
            folder / f"{agency}.csv",
            schema=load_schema(schema),
            secret=secret,
            ref_key=ReferenceKey(agency=agency, value=bytes(32)),
            out=folder / f"{agency}.arrow",
        )
        batches.append(read_batch(summary.batch_path))
        refmaps[agency] = dict(read_refmap(summary.refmap_path))
    return SynthBatches(folder=folder, batches=batches, refmaps=refmaps)
