"""forest.json: every tree as plain arrays, for TreeSHAP explanations and a reference scorer in
TypeScript. The format is documented in model-tools/README.md ("forest.json").

Invariants a reader can rely on:
  * node 0 is the root; a node is a leaf iff left[i] == -1 (then right[i] == -1, feature[i] == -1);
  * an input row x goes left at node i iff  fround(x[feature[i]]) <= threshold[i]
    (fround = round to float32, as Math.fround); NaN goes left iff missing_left[i] == 1;
  * threshold[i] is a float32 value written as the exact decimal of that value, so a JS number
    read from it equals the float32 bit for bit;
  * value[leaf] = depth(leaf) + c(cover[leaf]) (depth 0 at the root);
    value[inner] = (cover[left] * value[left] + cover[right] * value[right]) / cover[inner];
  * the model's path_sum(x) = sum over trees of value[leaf reached]; E[h(x)] = path_sum / n_trees;
    score = 2 ** (-E[h(x)] / average_path_length_max_samples).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .forest import LEAF, Forest, Tree, average_path_length

FORMAT = "att-forest/1"


def tree_values(tree: Tree) -> np.ndarray:
    """Leaf weights, and for inner nodes the cover-weighted mean of their children (bottom-up)."""
    value = tree.leaf_weights()
    cover = tree.n_node_samples.astype(np.float64)
    depth = tree.depths()
    for i in np.argsort(-depth, kind="stable"):  # deepest first: children before parents
        if tree.left[i] != LEAF:
            left, right = tree.left[i], tree.right[i]
            value[i] = (cover[left] * value[left] + cover[right] * value[right]) / (cover[left] + cover[right])
    return value


def to_dict(forest: Forest) -> dict:
    trees = []
    for t in forest.trees:
        leaf = t.is_leaf
        trees.append(
            {
                "left": t.left.tolist(),
                "right": t.right.tolist(),
                "feature": np.where(leaf, -1, t.feature).tolist(),
                "threshold": [float(v) for v in t.threshold_f32()],
                "missing_left": t.missing_left.astype(int).tolist(),
                "cover": t.n_node_samples.tolist(),
                "value": tree_values(t).tolist(),
            }
        )
    return {
        "format": FORMAT,
        "n_features": forest.n_features,
        "features": forest.feature_names,
        "n_trees": forest.n_trees,
        "max_samples": forest.max_samples,
        "average_path_length_max_samples": forest.average_path_length_max_samples,
        "trees": trees,
    }


def write(forest: Forest, path: str | Path) -> None:
    # Compact separators: the file is machine-read; float repr is the shortest exact decimal.
    Path(path).write_text(json.dumps(to_dict(forest), separators=(",", ":")) + "\n")


def read(path: str | Path) -> tuple[Forest, list[np.ndarray]]:
    """Forest (thresholds are the float32-adjusted values, which score identically) and the
    per-tree `value` arrays as written."""
    doc = json.loads(Path(path).read_text())
    if doc.get("format") != FORMAT:
        raise ValueError(f"{path}: format {doc.get('format')!r}, expected {FORMAT!r}")
    trees, values = [], []
    for t in doc["trees"]:
        left = np.asarray(t["left"], dtype=np.int64)
        feature = np.asarray(t["feature"], dtype=np.int64)
        feature[left == LEAF] = -2
        trees.append(
            Tree(
                left=left,
                right=np.asarray(t["right"], dtype=np.int64),
                feature=feature,
                threshold=np.asarray(t["threshold"], dtype=np.float64),
                n_node_samples=np.asarray(t["cover"], dtype=np.int64),
                missing_left=np.asarray(t["missing_left"], dtype=np.uint8),
            )
        )
        values.append(np.asarray(t["value"], dtype=np.float64))
    forest = Forest(trees=trees, n_features=int(doc["n_features"]), max_samples=int(doc["max_samples"]), feature_names=doc.get("features"))
    expected_c = float(average_path_length([forest.max_samples])[0])
    if doc["average_path_length_max_samples"] != expected_c:
        raise ValueError(f"{path}: average_path_length_max_samples {doc['average_path_length_max_samples']} != c({forest.max_samples}) = {expected_c}")
    return forest, values
