"""Reading feature rows from CSV: named columns, feature order = sorted names (as the ATT bot,
whose training DataFrame columns were sorted)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

#: Columns of the ATT notebooks and exports that are not model features.
NON_FEATURE_COLUMNS = frozenset({"tx_hash", "hash", "from_address", "block_timestamp", "block_number", "token_types", "scores", "score", "prediction", "label"})


class CsvError(ValueError):
    pass


def read_header(path: str | Path) -> list[str]:
    with open(path, newline="") as fh:
        header = next(csv.reader(fh), None)
    if not header:
        raise CsvError(f"{path}: empty file, expected a header row of column names")
    return header


def feature_columns(path: str | Path, exclude: frozenset[str] = NON_FEATURE_COLUMNS) -> list[str]:
    return sorted(c for c in read_header(path) if c not in exclude)


def read_matrix(path: str | Path, feature_names: list[str]) -> np.ndarray:
    """float64 matrix with columns in `feature_names` order; other columns are ignored."""
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [n for n in feature_names if n not in (reader.fieldnames or [])]
        if missing:
            raise CsvError(f"{path}: missing feature columns {missing}; the model expects {len(feature_names)} named columns")
        rows = []
        for line, rec in enumerate(reader, start=2):
            try:
                rows.append([float(rec[n]) for n in feature_names])
            except (TypeError, ValueError):
                bad = next(n for n in feature_names if not _is_float(rec[n]))
                raise CsvError(f"{path}:{line}: column {bad!r} is {rec[bad]!r}, expected a number") from None
    if not rows:
        raise CsvError(f"{path}: no data rows")
    return np.asarray(rows, dtype=np.float64)


def read_column(path: str | Path, name: str) -> np.ndarray | None:
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        if name not in (reader.fieldnames or []):
            return None
        return np.asarray([float(r[name]) for r in reader], dtype=np.float64)


def _is_float(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False
