"""Writes a model folder (model.onnx, forest.json, model.json) from a Forest and checks the
exported ONNX against the exact scorer before the card is written."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from . import card, forest_json, onnx_export
from .forest import Forest


class ParityError(RuntimeError):
    pass


#: Leaf weights are float32 and onnxruntime sums them in float32: measured differences are
#: ~1e-7 on the score; anything above this means a wrong export, not rounding.
MAX_SCORE_DIFF = 1e-5


def onnx_scores(model_path: str | Path, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
    score, path_length = sess.run(["score", "path_length"], {onnx_export.INPUT: np.asarray(X, dtype=np.float32)})
    return score.ravel().astype(np.float64), path_length.ravel().astype(np.float64)


def parity(forest: Forest, model_path: Path, X: np.ndarray, threshold: float, label: str) -> dict:
    exact = forest.score(X)
    got, _ = onnx_scores(model_path, X)
    diff = np.abs(got - exact)
    return {
        "rows": label,
        "n_rows": int(len(X)),
        "max_abs_score_diff": float(diff.max()),
        "prediction_mismatches": int(((got >= threshold) != (exact >= threshold)).sum()),
    }


def resolve_out(out: str, version: str, force: bool) -> Path:
    path = Path(out.replace("{version}", version))
    if path.exists():
        if not force:
            raise FileExistsError(f"{path} exists; a model version is immutable (use another --out, or --force to replace it)")
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def write_model(
    forest: Forest,
    out_dir: Path,
    *,
    version: str,
    created_at: str,
    threshold: float,
    token_match: str,
    tokens: list[dict],
    training: dict,
    source: dict,
    parity_rows: list[tuple[str, np.ndarray]],
) -> dict:
    onnx_export.export(forest, str(out_dir / "model.onnx"))
    forest_json.write(forest, out_dir / "forest.json")
    checks = [parity(forest, out_dir / "model.onnx", X, threshold, label) for label, X in parity_rows]
    for c in checks:
        if c["max_abs_score_diff"] > MAX_SCORE_DIFF:
            raise ParityError(f"exported ONNX disagrees with the exact scorer on {c['rows']}: {c}")
    source = {**source, "onnx_parity": checks}
    doc = card.build_card(
        forest=forest,
        version=version,
        created_at=created_at,
        threshold=threshold,
        token_match=token_match,
        tokens=tokens,
        training=training,
        source=source,
        model_dir=out_dir,
    )
    card.write_card(doc, out_dir)
    return doc
