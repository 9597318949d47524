"""Read a scikit-learn IsolationForest pickle without executing its code and without sklearn.

A pickle is a program: `pickle.load` calls whatever callables the file names. This module's
`RestrictedUnpickler.find_class` admits only
  * numpy's array reconstruction (`_reconstruct`, `ndarray`, `dtype`, `scalar`), under both
    numpy 1.x (`numpy.core.*`) and numpy 2.x (`numpy._core.*`) module names, and
  * the scikit-learn class names an IsolationForest pickle references, each mapped to an inert
    stand-in that only records its constructor arguments and `__setstate__` state.
Any other global (os.system, builtins.eval, subprocess.Popen, ...) raises `UnsafePickleError`
before anything is called. Tree arrays are then read from the recorded state, so the file
loads whichever sklearn version wrote it (1.1.1 trees have a 7-field node dtype; >= 1.3 adds
`missing_go_to_left`), and no sklearn is needed at all.
"""

from __future__ import annotations

import io
import pickle
import pickletools
from collections import Counter
from pathlib import Path

import numpy as np

from .forest import LEAF, Forest, Tree


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle references something outside the allow-list; nothing was executed."""


class UnsupportedModelError(ValueError):
    """The pickle is safe but does not hold a model this importer understands."""


class _Recorded:
    """Inert stand-in for a scikit-learn class: keeps args and state, runs nothing."""

    sklearn_path = "?"

    def __init__(self, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs
        self.state: dict = {}

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2 and (state[0] is None or isinstance(state[0], dict)):
            # (dict, slotstate) form
            state = {**(state[0] or {}), **(state[1] or {})}
        if not isinstance(state, dict):
            raise UnsupportedModelError(f"{self.sklearn_path}: unexpected pickled state of type {type(state).__name__}")
        self.state = state

    def __repr__(self) -> str:
        return f"<stand-in {self.sklearn_path} with {sorted(self.state)}>"


def _stand_in(path: str) -> type:
    return type(path.rsplit(".", 1)[1], (_Recorded,), {"sklearn_path": path})


# sklearn moved these modules over the years; accept the known locations only.
_SKLEARN_CLASSES = {
    ("sklearn.ensemble._iforest", "IsolationForest"),
    ("sklearn.ensemble.iforest", "IsolationForest"),  # < 0.22
    ("sklearn.tree._classes", "ExtraTreeRegressor"),
    ("sklearn.tree.tree", "ExtraTreeRegressor"),  # < 0.22
    ("sklearn.tree._tree", "Tree"),
}
_STAND_INS = {key: _stand_in(f"{key[0]}.{key[1]}") for key in _SKLEARN_CLASSES}


def _numpy_allowed() -> dict[tuple[str, str], object]:
    from numpy._core import multiarray  # numpy >= 2 (requirements pin numpy 2.x)

    allowed: dict[tuple[str, str], object] = {}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(mod, "_reconstruct")] = multiarray._reconstruct
        allowed[(mod, "scalar")] = multiarray.scalar
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    # numpy >= 1.25 pickles dtypes by their class, e.g. numpy.dtypes.Float64DType
    for name in ("Float64DType", "Float32DType", "Int64DType", "Int32DType", "UInt8DType", "VoidDType", "ObjectDType", "StrDType", "BoolDType"):
        if hasattr(np.dtypes, name):
            allowed[("numpy.dtypes", name)] = getattr(np.dtypes, name)
    return allowed


_NUMPY_ALLOWED = _numpy_allowed()


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        key = (module, name)
        if key in _NUMPY_ALLOWED:
            return _NUMPY_ALLOWED[key]
        if key in _STAND_INS:
            return _STAND_INS[key]
        if module.split(".", 1)[0] == "joblib" or module.startswith("sklearn.externals.joblib"):
            # joblib writes each array's raw bytes into the file between pickle opcodes and reads
            # them back with its own unpickler; admitting its wrapper class would mean parsing
            # that side format here too, so such files are refused with the way out instead.
            raise UnsafePickleError(
                f"refusing to load global '{module}.{name}': this is a joblib.dump file (its numpy arrays are "
                "stored beside the pickle stream as joblib NumpyArrayWrapper records, which this importer does "
                "not read; nothing in the file was executed). Re-save the model as a plain pickle, where you "
                "trust the file since joblib.load runs its code: "
                "python -c \"import joblib, pickle; pickle.dump(joblib.load('model.joblib'), open('model.pkl', 'wb'))\""
            )
        raise UnsafePickleError(
            f"refusing to load global '{module}.{name}': only numpy arrays and the scikit-learn "
            "classes IsolationForest, ExtraTreeRegressor and Tree are allowed in a model pickle "
            "(nothing in the file was executed)"
        )

    def persistent_load(self, pid):
        raise UnsafePickleError(f"refusing persistent id {pid!r}: model pickles do not use persistent ids")


def list_globals(data: bytes) -> Counter:
    """Every (module, name) a pickle would import, read statically with pickletools."""
    found: Counter = Counter()
    # Enough of a stack model for STACK_GLOBAL: the last pushed values, with memo lookups
    # resolved (the module string is usually memoized once and fetched again with BINGET).
    pushed: list = []
    memo: dict = {}
    for op, arg, _pos in pickletools.genops(data):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
            pushed.append(arg)
        elif op.name in ("BINGET", "LONG_BINGET", "GET"):
            pushed.append(memo.get(int(arg)))
        elif op.name == "MEMOIZE":
            memo[len(memo)] = pushed[-1] if pushed else None
        elif op.name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[int(arg)] = pushed[-1] if pushed else None
        elif op.name == "GLOBAL":
            mod, name = arg.split(" ", 1)
            found[(mod, name)] += 1
            pushed.append(None)
        elif op.name == "STACK_GLOBAL":
            if len(pushed) >= 2 and isinstance(pushed[-2], str) and isinstance(pushed[-1], str):
                found[(pushed[-2], pushed[-1])] += 1
            else:
                found[("?", "?")] += 1
            pushed.append(None)
        else:
            pushed.append(None)
    return found


def _check_format(data: bytes, path: str) -> None:
    if data[:2] == b"\x1f\x8b" or data[:3] == b"BZh" or data[:6] == b"\xfd7zXZ\x00" or data[:1] == b"\x78":
        raise UnsupportedModelError(f"{path}: compressed file (gzip/bz2/xz/zlib); decompress it first")
    if not data:
        raise UnsupportedModelError(f"{path}: empty file")


def safe_load(data: bytes, path: str = "<bytes>"):
    _check_format(data, path)
    return RestrictedUnpickler(io.BytesIO(data)).load()


def _get(obj: _Recorded, *names: str, default=KeyError):
    for name in names:
        if name in obj.state:
            return obj.state[name]
    if default is KeyError:
        raise UnsupportedModelError(f"{obj.sklearn_path} state has none of {names}; keys: {sorted(obj.state)}")
    return default


_NODE_FIELDS = ("left_child", "right_child", "feature", "threshold", "n_node_samples")


def _tree_from_state(tree: _Recorded, features: np.ndarray, index: int) -> Tree:
    nodes = _get(tree, "nodes")
    if not isinstance(nodes, np.ndarray) or nodes.dtype.names is None:
        raise UnsupportedModelError(f"tree {index}: 'nodes' is not a structured array")
    missing = [f for f in _NODE_FIELDS if f not in nodes.dtype.names]
    if missing:
        raise UnsupportedModelError(f"tree {index}: node dtype lacks {missing}; has {nodes.dtype.names}")
    node_count = int(_get(tree, "node_count", default=len(nodes)))
    nodes = nodes[:node_count]
    left = nodes["left_child"].astype(np.int64)
    right = nodes["right_child"].astype(np.int64)
    local = nodes["feature"].astype(np.int64)
    leaf = left == LEAF
    if not np.array_equal(leaf, right == LEAF):
        raise UnsupportedModelError(f"tree {index}: a node has exactly one child")
    inner = ~leaf
    if inner.any() and (local[inner].min() < 0 or local[inner].max() >= len(features)):
        raise UnsupportedModelError(f"tree {index}: split feature outside its {len(features)} subsampled features")
    feature = local.copy()
    feature[inner] = features[local[inner]]  # map through estimators_features_
    if "missing_go_to_left" in nodes.dtype.names:
        missing_left = nodes["missing_go_to_left"].astype(np.uint8)
    else:
        missing_left = np.zeros(node_count, dtype=np.uint8)
    missing_left[leaf] = 0
    return Tree(
        left=left,
        right=right,
        feature=feature,
        threshold=nodes["threshold"].astype(np.float64),
        n_node_samples=nodes["n_node_samples"].astype(np.int64),
        missing_left=missing_left,
    )


def forest_from_pickle_bytes(data: bytes, path: str = "<bytes>") -> Forest:
    model = safe_load(data, path)
    if type(model) not in (_STAND_INS[("sklearn.ensemble._iforest", "IsolationForest")], _STAND_INS[("sklearn.ensemble.iforest", "IsolationForest")]):
        raise UnsupportedModelError(f"{path}: top-level object is {type(model).__name__}, expected an IsolationForest")
    estimators = _get(model, "estimators_")
    n_features = int(_get(model, "n_features_in_", "n_features_", "_n_features"))
    features_per_tree = _get(model, "estimators_features_", default=None)
    if features_per_tree is None:
        features_per_tree = [np.arange(n_features)] * len(estimators)
    if len(features_per_tree) != len(estimators):
        raise UnsupportedModelError(f"{path}: {len(estimators)} estimators but {len(features_per_tree)} feature subsets")
    trees = []
    for i, (est, feats) in enumerate(zip(estimators, features_per_tree)):
        if not isinstance(est, _Recorded) or not est.sklearn_path.endswith("ExtraTreeRegressor"):
            raise UnsupportedModelError(f"{path}: estimator {i} is {type(est).__name__}, expected ExtraTreeRegressor")
        tree = _get(est, "tree_")
        if not isinstance(tree, _Recorded) or not tree.sklearn_path.endswith("Tree"):
            raise UnsupportedModelError(f"{path}: estimator {i} has no Tree")
        trees.append(_tree_from_state(tree, np.asarray(feats, dtype=np.int64), i))
    max_samples_ = _get(model, "max_samples_", default=None)
    _max_samples = _get(model, "_max_samples", default=None)
    if max_samples_ is None and _max_samples is None:
        raise UnsupportedModelError(f"{path}: neither max_samples_ nor _max_samples in the IsolationForest state")
    # sklearn's score uses _max_samples when present (>= 0.22), else max_samples_.
    max_samples = int(_max_samples if _max_samples is not None else max_samples_)
    if max_samples_ is not None and int(max_samples_) != max_samples:
        raise UnsupportedModelError(f"{path}: max_samples_={max_samples_} disagrees with _max_samples={_max_samples}")
    names = _get(model, "feature_names_in_", default=None)
    params = {k: _plain(v) for k, v in model.state.items() if k in ("n_estimators", "max_samples", "contamination", "max_features", "bootstrap", "random_state")}
    return Forest(
        trees=trees,
        n_features=n_features,
        max_samples=max_samples,
        offset=float(_get(model, "offset_")),
        feature_names=[str(n) for n in names] if names is not None else None,
        meta={
            "sklearn_version": _get(model, "_sklearn_version", default=None),
            "params": params,
            "state_keys": sorted(model.state),
            "node_fields": list(_get(estimators[0], "tree_").state["nodes"].dtype.names),
            "subsampled_features": any(len(f) != n_features for f in features_per_tree),
        },
    )


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return v


def forest_from_pickle(path: str | Path) -> Forest:
    path = Path(path)
    return forest_from_pickle_bytes(path.read_bytes(), str(path))
