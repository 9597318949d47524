"""`att stats --export-features` writes the CSV that `att_model train` retrains on: its id
columns (src/tools/stats/export-features.ts EXPORT_ID_COLUMNS) must all be non-feature columns here,
or train would fit on them (a numeric id) or stop at them (a text id)."""

import json
import re

import numpy as np

from att_model import data

from .conftest import REPO
from .test_cli import att_model


def ts_string_array(path, name: str) -> list[str]:
    """The string literals of `export const <name> = [...]` (or `new Set([...])`) in a TS file."""
    text = (REPO / path).read_text()
    m = re.search(rf"export const {name}\b[^=]*=\s*(?:new Set\()?\[(.*?)\]", text, re.S)
    assert m, f"{path}: no `export const {name} = [...]` array found; update this test's parser"
    items = re.findall(r'"([^"]*)"', m.group(1))
    assert items, f"{path}: {name} holds no string literals"
    return items


def export_id_columns() -> list[str]:
    return ts_string_array("src/tools/stats/export-features.ts", "EXPORT_ID_COLUMNS")


def test_every_export_id_column_is_a_non_feature_column_for_training():
    ids = export_id_columns()
    assert "tx_hash" in ids and "score" in ids  # the parser read the real list
    assert sorted(set(ids) - data.NON_FEATURE_COLUMNS) == []


def test_the_worker_and_the_trainer_skip_the_same_bookkeeping_columns():
    # src/model/csv.ts keeps its own copy for `att model score`
    assert set(ts_string_array("src/model/csv.ts", "NON_FEATURE_COLUMNS")) == data.NON_FEATURE_COLUMNS


def test_train_accepts_a_features_export(tmp_path):
    ids = export_id_columns()
    features = ["USDC_transfers", "USDC_value", "account_age_in_minutes", "transfer_counts"]
    rng = np.random.default_rng(4)
    lines = [",".join(ids + features)]
    for i in range(300):
        id_cells = {
            "tx_hash": f"0x{i:064x}",
            "block_number": "" if i == 7 else str(19_000_000 + i),  # the export leaves unknown ids empty
            "block_timestamp": str(1_700_000_000 + 12 * i),
            "from_address": f"0x{rng.integers(1 << 62):040x}",
            "prediction": "ANOMALY" if i % 50 == 0 else "NORMAL",
            "score": f"{rng.uniform(0.3, 0.7):.6f}",
        }
        values = [str(int(rng.integers(0, 5))), repr(float(rng.exponential(1e9))), str(int(rng.integers(0, 10**6))), str(int(rng.integers(1, 20)))]
        lines.append(",".join([id_cells.get(c, "x") for c in ids] + values))
    (tmp_path / "export.csv").write_text("\n".join(lines) + "\n")
    summary = json.loads(att_model("train", "--input", tmp_path / "export.csv", "--out", tmp_path / "m", "--n-estimators", 10).stdout)
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert card["features"] == sorted(features) and summary["n_features"] == len(features)
    assert card["training"]["n_rows"] == 300
    assert [t["symbol"] for t in card["tokens"]] == ["USDC"]
