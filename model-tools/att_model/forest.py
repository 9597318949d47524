"""A library-free IsolationForest: the tree arrays, the exact scikit-learn arithmetic, and a
numpy reference scorer.

Everything downstream (ONNX export, forest.json, model card, `score`) works from a `Forest`,
whether it came from a restricted-unpickled file (`safe_pickle`) or from a freshly fitted
scikit-learn model (`from_sklearn`).

scikit-learn semantics reproduced here (sklearn/ensemble/_iforest.py, 1.1 and 1.7 alike):
  * X is converted to float32 and each split tests `X[:, f] <= threshold` with a float64
    threshold (`Tree.apply`); NaN goes to the child named by `missing_go_to_left` (>= 1.3),
    or right in older trees (NaN <= t is false).
  * per tree:  h(x) = (nodes on the root-to-leaf path) + c(n_node_samples[leaf]) - 1.0
    = depth(leaf) + c(n), the root having depth 0.
  * score_samples = -2 ** (-sum_trees(h) / (n_trees * c(max_samples)));
    the ATT score is its absolute value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: sklearn's TREE_LEAF marker in children arrays.
LEAF = -1


def average_path_length(n: np.ndarray | float) -> np.ndarray:
    """c(n) exactly as `sklearn.ensemble._iforest._average_path_length` computes it (float64).

    c(n) = 2 (ln(n - 1) + euler_gamma) - 2 (n - 1) / n, c(2) = 1, c(n <= 1) = 0.
    """
    n = np.asarray(n, dtype=np.float64)
    shape = n.shape
    n = n.reshape((1, -1))
    out = np.zeros(n.shape)
    mask_1 = n <= 1
    mask_2 = n == 2
    not_mask = ~np.logical_or(mask_1, mask_2)
    out[mask_1] = 0.0
    out[mask_2] = 1.0
    out[not_mask] = 2.0 * (np.log(n[not_mask] - 1.0) + np.euler_gamma) - 2.0 * (n[not_mask] - 1.0) / n[not_mask]
    return out.reshape(shape)


def float32_round_down(threshold: np.ndarray) -> np.ndarray:
    """Largest float32 <= each float64 threshold.

    For any float32 x:  x <= t64  <=>  x <= t32 with t32 = round_down_f32(t64), because no
    float32 lies strictly between t32 and t64. So a float32 BRANCH_LEQ on t32 sends every
    float32 input to the same child as sklearn's float32-vs-float64 comparison.
    """
    t64 = np.asarray(threshold, dtype=np.float64)
    with np.errstate(over="ignore"):
        t32 = t64.astype(np.float32)  # round to nearest (overflow -> inf, fixed below)
    too_big = t32.astype(np.float64) > t64
    t32[too_big] = np.nextafter(t32[too_big], np.float32(-np.inf))
    return t32


@dataclass
class Tree:
    """One isolation tree in sklearn's array layout, node 0 being the root.

    `feature` holds indices into the model's full feature vector (already mapped through
    `estimators_features_`); leaves have children == -1 and feature == -2 as in sklearn.
    """

    left: np.ndarray  # int64
    right: np.ndarray  # int64
    feature: np.ndarray  # int64
    threshold: np.ndarray  # float64, as sklearn stores it
    n_node_samples: np.ndarray  # int64
    missing_left: np.ndarray  # uint8: 1 when NaN goes left (sklearn >= 1.3), else 0

    def __post_init__(self) -> None:
        n = len(self.left)
        for name in ("right", "feature", "threshold", "n_node_samples", "missing_left"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"tree array {name!r} has {len(getattr(self, name))} entries, expected {n}")

    @property
    def node_count(self) -> int:
        return len(self.left)

    @property
    def is_leaf(self) -> np.ndarray:
        return self.left == LEAF

    def depths(self) -> np.ndarray:
        """Depth of every node, 0 at the root (parents always precede children in sklearn trees,
        but this does not rely on it)."""
        depth = np.full(self.node_count, -1, dtype=np.int64)
        depth[0] = 0
        stack = [0]
        while stack:
            i = stack.pop()
            if self.left[i] != LEAF:
                for child in (self.left[i], self.right[i]):
                    depth[child] = depth[i] + 1
                    stack.append(int(child))
        if (depth < 0).any():
            raise ValueError("tree has nodes unreachable from the root")
        return depth

    def threshold_f32(self) -> np.ndarray:
        """Split thresholds adjusted for float32 input (leaves: 0)."""
        t = float32_round_down(self.threshold)
        t[self.is_leaf] = 0.0
        return t

    def leaf_weights(self) -> np.ndarray:
        """Expected path length contribution of each node if it were the leaf reached:
        depth + c(n_node_samples), float64 (the TreeEnsembleRegressor leaf weight)."""
        return self.depths().astype(np.float64) + average_path_length(self.n_node_samples)

    def apply(self, x32: np.ndarray) -> np.ndarray:
        """Leaf index reached by each row of a float32 matrix (the full feature vector)."""
        node = np.zeros(x32.shape[0], dtype=np.int64)
        rows = np.arange(x32.shape[0])
        active = self.left[node] != LEAF
        while active.any():
            r = rows[active]
            nd = node[active]
            v = x32[r, self.feature[nd]].astype(np.float64)
            go_left = v <= self.threshold[nd]
            nan = np.isnan(v)
            go_left[nan] = self.missing_left[nd[nan]] == 1
            node[active] = np.where(go_left, self.left[nd], self.right[nd])
            active = self.left[node] != LEAF
        return node


@dataclass
class Forest:
    trees: list[Tree]
    n_features: int
    max_samples: int
    offset: float = -0.5
    feature_names: list[str] | None = None
    #: free-form facts about where the arrays came from (sklearn version, params...).
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.trees:
            raise ValueError("forest has no trees")
        if self.feature_names is not None and len(self.feature_names) != self.n_features:
            raise ValueError(f"{len(self.feature_names)} feature names for {self.n_features} features")
        for i, t in enumerate(self.trees):
            inner = ~t.is_leaf
            if inner.any() and (t.feature[inner].min() < 0 or t.feature[inner].max() >= self.n_features):
                raise ValueError(f"tree {i} splits on a feature index outside 0..{self.n_features - 1}")

    @property
    def n_trees(self) -> int:
        return len(self.trees)

    @property
    def average_path_length_max_samples(self) -> float:
        return float(average_path_length([self.max_samples])[0])

    def path_length_sum(self, X: np.ndarray) -> np.ndarray:
        """sum over trees of h(x), float64, with sklearn's exact expression and order:
        depths += node_depths_1based[leaf] + c(n[leaf]) - 1.0."""
        x32 = np.asarray(X, dtype=np.float32)
        if x32.ndim != 2 or x32.shape[1] != self.n_features:
            raise ValueError(f"expected an (N, {self.n_features}) matrix, got shape {x32.shape}")
        total = np.zeros(x32.shape[0], order="F")
        for t in self.trees:
            leaf = t.apply(x32)
            nodes_on_path = (t.depths() + 1).astype(np.float64)
            total += nodes_on_path[leaf] + average_path_length(t.n_node_samples)[leaf] - 1.0
        return total

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        """sklearn `score_samples` (negative, in [-1, 0])."""
        denominator = self.n_trees * self.average_path_length_max_samples
        depths = self.path_length_sum(X)
        return -(2 ** (-np.divide(depths, denominator, out=np.ones_like(depths), where=denominator != 0)))

    def score(self, X: np.ndarray) -> np.ndarray:
        """The ATT normalized score abs(score_samples) = 2^(-E[h(x)]/c(max_samples))."""
        return -self.score_samples(X)

    def node_count(self) -> int:
        return sum(t.node_count for t in self.trees)

    def max_depth(self) -> int:
        return max(int(t.depths().max()) for t in self.trees)
