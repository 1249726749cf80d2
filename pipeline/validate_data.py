"""Stage: check incoming training data against the data contract, then add it to training.

The contract is that of `data/prepared/train.csv`: its column names and types, checked with
specops's own contract code (`specops drift` checks production batches with the same). Each
batch in `data/incoming/` (added by the monitor workflow when a batch drifted) must keep it and
carry the label; the prediction log's own columns are left out. The training set is the
prepared one followed by every incoming batch, in the order of their names.
"""

from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]

from pipeline.service.predlog import LOG_COLUMNS
from specops.monitoring.contract import contract_breaches

PREPARED_CSV = Path("data/prepared/train.csv")
INCOMING_DIR = Path("data/incoming")
OUT_DIR = Path("data/validated")
TARGET = "target"


def main() -> None:
    """Write `data/validated/train.csv`, or fail naming every broken batch."""
    frames = [pd.read_csv(PREPARED_CSV)]
    problems = []
    batches = sorted(INCOMING_DIR.glob("*.csv"))
    for batch in batches:
        breaches = contract_breaches(PREPARED_CSV, batch, ignore=LOG_COLUMNS)
        problems += [f"{batch}: {b.column}: {b.problem}" for b in breaches]
        frame = pd.read_csv(batch)
        if TARGET not in frame.columns:
            problems.append(f"{batch}: {TARGET}: no label: a batch trains only once labelled")
        if not breaches and TARGET in frame.columns:
            frames.append(frame[list(frames[0].columns)])
    if problems:
        raise SystemExit("validate_data: " + "\nvalidate_data: ".join(problems))
    train = pd.concat(frames, ignore_index=True)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    train.to_csv(OUT_DIR / "train.csv", index=False)
    print(f"validate_data: {len(train)} rows ({len(batches)} incoming batch(es)) -> {OUT_DIR}")


if __name__ == "__main__":
    main()
