"""Forest from a fitted scikit-learn IsolationForest object (the `train` path)."""

from __future__ import annotations

import numpy as np

from .forest import LEAF, Forest, Tree


def forest_from_sklearn(model, feature_names: list[str] | None = None) -> Forest:
    n_features = int(model.n_features_in_)
    trees = []
    for est, feats in zip(model.estimators_, model.estimators_features_):
        t = est.tree_
        nodes = t.__getstate__()["nodes"]
        left = t.children_left.astype(np.int64)
        inner = left != LEAF
        feature = t.feature.astype(np.int64)
        feature[inner] = np.asarray(feats, dtype=np.int64)[feature[inner]]
        missing_left = (
            nodes["missing_go_to_left"].astype(np.uint8) if "missing_go_to_left" in nodes.dtype.names else np.zeros(t.node_count, np.uint8)
        )
        missing_left[~inner] = 0
        trees.append(
            Tree(
                left=left,
                right=t.children_right.astype(np.int64),
                feature=feature,
                threshold=t.threshold.astype(np.float64),
                n_node_samples=t.n_node_samples.astype(np.int64),
                missing_left=missing_left,
            )
        )
    max_samples = int(getattr(model, "_max_samples", model.max_samples_))
    if int(model.max_samples_) != max_samples:
        raise ValueError(f"max_samples_={model.max_samples_} disagrees with _max_samples={max_samples}")
    if feature_names is None and hasattr(model, "feature_names_in_"):
        feature_names = [str(n) for n in model.feature_names_in_]
    import sklearn

    return Forest(
        trees=trees,
        n_features=n_features,
        max_samples=max_samples,
        offset=float(model.offset_),
        feature_names=feature_names,
        meta={
            "sklearn_version": sklearn.__version__,
            "params": {k: v for k, v in model.get_params().items() if k in ("n_estimators", "max_samples", "contamination", "max_features", "bootstrap", "random_state")},
            "subsampled_features": any(len(f) != n_features for f in model.estimators_features_),
        },
    )
