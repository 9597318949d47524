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
import json
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
    try:
        from numpy._core import multiarray  # numpy >= 2 (and 1.26's forward-compatible alias)
    except ImportError:  # numpy < 1.26, in an older scikit-learn's venv
        from numpy.core import multiarray

    allowed: dict[tuple[str, str], object] = {}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(mod, "_reconstruct")] = multiarray._reconstruct
        allowed[(mod, "scalar")] = multiarray.scalar
    try:  # protocol-5 pickles carry array bytes through numeric._frombuffer
        from numpy._core import numeric
    except ImportError:
        from numpy.core import numeric
    if hasattr(numeric, "_frombuffer"):
        for mod in ("numpy.core.numeric", "numpy._core.numeric"):
            allowed[(mod, "_frombuffer")] = numeric._frombuffer
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    # numpy >= 1.25 pickles dtypes by their class, e.g. numpy.dtypes.Float64DType
    for name in ("Float64DType", "Float32DType", "Int64DType", "Int32DType", "UInt8DType", "VoidDType", "ObjectDType", "StrDType", "BoolDType"):
        if hasattr(np, "dtypes") and hasattr(np.dtypes, name):
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
    return _forest_from_stand_in(safe_load(data, path), path)


def _forest_from_stand_in(model, path: str) -> Forest:
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



# =============================================================================================
# Any supported scikit-learn estimator (issue 15): pickle, joblib and skops through one allow-list
# =============================================================================================

#: Every class or function a supported model file may name, by (module, name). Nothing outside
#: this set is ever imported or called. Paths vary across scikit-learn versions; each entry is a
#: location some supported version uses.
SKLEARN_ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        # estimators
        ("sklearn.ensemble._iforest", "IsolationForest"),
        ("sklearn.ensemble._forest", "RandomForestClassifier"),
        ("sklearn.ensemble._forest", "ExtraTreesClassifier"),
        ("sklearn.ensemble._gb", "GradientBoostingClassifier"),
        ("sklearn.ensemble._hist_gradient_boosting.gradient_boosting", "HistGradientBoostingClassifier"),
        ("sklearn.linear_model._logistic", "LogisticRegression"),
        # pipeline and its steps
        ("sklearn.pipeline", "Pipeline"),
        ("sklearn.preprocessing._data", "StandardScaler"),
        ("sklearn.preprocessing._data", "MinMaxScaler"),
        ("sklearn.preprocessing._data", "RobustScaler"),
        ("sklearn.impute._base", "SimpleImputer"),
        # what those estimators hold
        ("sklearn.tree._classes", "DecisionTreeClassifier"),
        ("sklearn.tree._classes", "DecisionTreeRegressor"),
        ("sklearn.tree._classes", "ExtraTreeClassifier"),
        ("sklearn.tree._classes", "ExtraTreeRegressor"),
        ("sklearn.tree._tree", "Tree"),
        ("sklearn.dummy", "DummyClassifier"),  # GradientBoosting's init_
        ("sklearn.ensemble._gb_losses", "BinomialDeviance"),  # GradientBoosting's loss_, <= 1.3
        ("sklearn.ensemble._gb_losses", "ExponentialLoss"),
        ("sklearn.ensemble._hist_gradient_boosting.binning", "_BinMapper"),
        ("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor"),
        ("sklearn._loss.loss", "HalfBinomialLoss"),
        ("sklearn._loss.loss", "ExponentialLoss"),
        ("sklearn._loss.link", "Interval"),
        ("sklearn._loss.link", "LogitLink"),
        ("sklearn._loss.link", "IdentityLink"),
        ("sklearn._loss._loss", "CyHalfBinomialLoss"),
        ("sklearn._loss._loss", "CyExponentialLoss"),
        ("sklearn._loss._loss", "__pyx_unpickle_CyHalfBinomialLoss"),  # Cython's state restorer
        ("sklearn._loss._loss", "__pyx_unpickle_CyExponentialLoss"),
        # scikit-learn >= 1.5 (meson build) names its Cython loss classes by the bare module
        # `_loss`, which it registers in sys.modules as an alias of sklearn._loss._loss
        ("_loss", "CyHalfBinomialLoss"),
        ("_loss", "CyExponentialLoss"),
        ("_loss", "__pyx_unpickle_CyHalfBinomialLoss"),
        ("_loss", "__pyx_unpickle_CyExponentialLoss"),
        ("sklearn.preprocessing._label", "LabelEncoder"),
    }
)

#: numpy: array and scalar reconstruction (numpy 1.x `numpy.core`, 2.x `numpy._core`), dtypes,
#: and the random-state constructors estimators keep (`random_state=np.random.RandomState(...)`,
#: HistGradientBoosting's `_random_seed` generators).
NUMPY_ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {(mod, name) for mod in ("numpy.core.multiarray", "numpy._core.multiarray") for name in ("_reconstruct", "scalar")}
    | {("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer")}  # protocol-5 array bytes
    | {("numpy", "ndarray"), ("numpy", "dtype")}
    | {("numpy.dtypes", n) for n in ("Float64DType", "Float32DType", "Int64DType", "Int32DType", "Int8DType", "UInt8DType", "UInt32DType", "UInt64DType", "VoidDType", "ObjectDType", "StrDType", "BoolDType")}
    | {("numpy.random._pickle", n) for n in ("__randomstate_ctor", "__generator_ctor", "__bit_generator_ctor")}
    | {("numpy.random._mt19937", "MT19937"), ("numpy.random._pcg64", "PCG64"), ("numpy.random.mtrand", "RandomState")}
    | {("numpy.random.bit_generator", "SeedSequence"), ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence")}
)

#: scipy: none. No supported estimator pickles a scipy object (sparse inputs are not supported:
#: the worker feeds dense float32 rows), so scipy names are refused like any other.
SCIPY_ALLOWED: frozenset[tuple[str, str]] = frozenset()

#: joblib's per-array record; its raw bytes are read by joblib's NumpyUnpickler, object arrays
#: by this module's restricted unpickler (joblib itself would call plain pickle.load for them).
JOBLIB_ALLOWED: frozenset[tuple[str, str]] = frozenset({("joblib.numpy_pickle", "NumpyArrayWrapper")})

ALLOWED = SKLEARN_ALLOWED | NUMPY_ALLOWED | SCIPY_ALLOWED | JOBLIB_ALLOWED

_FIX = "Fix: export the model with one of the supported estimators (docs/model-formats.md), or convert it to ONNX yourself and import the .onnx file"


def refusal(what: str, expected: str, fix: str = _FIX) -> str:
    return f"Got: {what}\nExpected: {expected}\n{fix}"


class _Lenient(_Recorded):
    """Stand-in of the first pass: records any state form (Cython classes pickle tuples)."""

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2 and (state[0] is None or isinstance(state[0], dict)) and isinstance(state[1], (dict, type(None))):
            state = {**(state[0] or {}), **(state[1] or {})}
        self.state = state if isinstance(state, dict) else {"__state__": state}


_GENERAL_STAND_INS: dict[tuple[str, str], type] = {}


def _general_stand_in(key: tuple[str, str]) -> type:
    if key in _STAND_INS:  # the IsolationForest path's own stand-ins, so forest_from_object works on them
        return _STAND_INS[key]
    if key not in _GENERAL_STAND_INS:
        _GENERAL_STAND_INS[key] = type(key[1], (_Lenient,), {"sklearn_path": f"{key[0]}.{key[1]}"})
    return _GENERAL_STAND_INS[key]


def _resolve(module: str, name: str, build: bool):
    """The object a name on the allow-list stands for: a stand-in (first pass) or the real class."""
    key = (module, name)
    if key not in ALLOWED:
        raise UnsafePickleError(
            refusal(
                f"the model file names '{module}.{name}', which is not on the allow-list (nothing in the file was executed)",
                "only the scikit-learn, numpy and joblib names listed in att_model/safe_pickle.py (SKLEARN_ALLOWED, NUMPY_ALLOWED, JOBLIB_ALLOWED)",
            )
        )
    if key in SKLEARN_ALLOWED and not build:
        return _general_stand_in(key)
    import importlib

    if module == "_loss":
        module = "sklearn._loss._loss"  # the same module (see SKLEARN_ALLOWED); never a top-level `_loss` of the path
    try:
        mod = importlib.import_module(module)
    except ImportError:
        if module.startswith("numpy._core"):  # a numpy-2 pickle read under numpy 1.x
            mod = importlib.import_module("numpy.core" + module[len("numpy._core") :])
        elif module.startswith("numpy.core"):
            mod = importlib.import_module("numpy._core" + module[len("numpy.core") :])
        else:
            raise UnsupportedModelError(
                refusal(f"'{module}.{name}' does not exist in this scikit-learn", "the scikit-learn version the file was saved with", "Fix: this is a bug in the version detection; report it with the file")
            ) from None
    return getattr(mod, name)


class AllowListUnpickler(pickle.Unpickler):
    """Builds only names on ALLOWED. build=False: scikit-learn classes become inert stand-ins (no
    scikit-learn code runs; used to read `_sklearn_version`); build=True: the real classes, for
    the worker running in the venv of exactly that scikit-learn version."""

    def __init__(self, file, *, build: bool):
        super().__init__(file)
        self.build = build
        self.names: list[tuple[str, str]] = []

    def find_class(self, module: str, name: str):
        if (module, name) in JOBLIB_ALLOWED:
            raise UnsafePickleError(refusal(f"'{module}.{name}' in a plain pickle stream", "joblib records only in a joblib.dump file"))
        self.names.append((module, name))
        return _resolve(module, name, self.build)

    def persistent_load(self, pid):
        raise UnsafePickleError(refusal(f"persistent id {pid!r}", "no persistent ids (model pickles do not use them)"))


def _joblib_unpickler(fobj, filename: str, build: bool):
    from joblib.numpy_pickle import NumpyArrayWrapper, NumpyUnpickler

    class AllowListJoblibUnpickler(NumpyUnpickler):
        dispatch = NumpyUnpickler.dispatch.copy()

        def __init__(self):
            super().__init__(filename, fobj, ensure_native_byte_order=True, mmap_mode=None)
            self.build = build
            self.names: list[tuple[str, str]] = []

        def find_class(self, module: str, name: str):
            self.names.append((module, name))
            return _resolve(module, name, self.build)

        def persistent_load(self, pid):
            raise UnsafePickleError(refusal(f"persistent id {pid!r}", "no persistent ids"))

        def load_build(self):
            pickle._Unpickler.load_build(self)  # joblib's NumpyUnpickler is the pure-Python unpickler
            top = self.stack[-1]
            if type(top).__name__ == "NDArrayWrapper":
                raise UnsupportedModelError(refusal("a joblib < 0.10 file (NDArrayWrapper)", "a file written by joblib >= 0.10", "Fix: re-save it with a current joblib"))
            if isinstance(top, NumpyArrayWrapper):
                wrapper = self.stack.pop()
                if wrapper.subclass is not np.ndarray:
                    raise UnsafePickleError(refusal(f"a joblib array of subclass {wrapper.subclass!r}", "numpy.ndarray"))
                if wrapper.dtype.hasobject:
                    # joblib would call plain pickle.load here: read it through the allow-list instead
                    inner = AllowListUnpickler(self.file_handle, build=self.build)
                    array = inner.load()
                    self.names.extend(inner.names)
                    if not isinstance(array, np.ndarray):
                        raise UnsafePickleError(refusal(f"an object-array record holding {type(array).__name__}", "a numpy array"))
                else:
                    array = wrapper.read(self, True)
                self.stack.append(array)

        dispatch[pickle.BUILD[0]] = load_build

    return AllowListJoblibUnpickler()


def detect_format(path: str | Path) -> str:
    """'skops' (a zip), 'joblib' (compressed, or a pickle stream with joblib array records),
    'onnx' (by extension), else 'pickle'."""
    path = Path(path)
    head = path.read_bytes()[:8] if path.stat().st_size else b""
    if not head:
        raise UnsupportedModelError(refusal(f"{path}: an empty file", "a pickle, joblib, skops or .onnx model file"))
    if path.suffix == ".onnx":
        return "onnx"
    if head[:4] == b"PK\x03\x04":
        return "skops"
    if head[:1] != b"\x80":  # not a pickle protocol >= 2 header: a joblib-compressed file (zlib, gzip, bz2, xz, lzma, lz4)
        return "joblib"
    try:
        names = list_globals(path.read_bytes())
    except Exception:  # raw array bytes between opcodes
        return "joblib"
    return "joblib" if any(m.startswith("joblib") for m, _ in names) else "pickle"


def load_model_file(path: str | Path, saved_as: str, *, build: bool):
    """(object, names referenced). build=False never runs scikit-learn code."""
    path = Path(path)
    if saved_as == "pickle":
        with open(path, "rb") as fh:
            u = AllowListUnpickler(fh, build=build)
            return u.load(), u.names
    if saved_as == "joblib":
        from joblib.numpy_pickle_utils import _validate_fileobject_and_memmap

        with open(path, "rb") as f:
            with _validate_fileobject_and_memmap(f, str(path), None) as (fobj, _mmap):
                if isinstance(fobj, str):
                    raise UnsupportedModelError(refusal("a joblib < 0.10 file", "a file written by joblib >= 0.10", "Fix: re-save it with a current joblib"))
                u = _joblib_unpickler(fobj, str(path), build)
                return u.load(), u.names
    if saved_as == "skops":
        if not build:
            raise ValueError("skops files are inspected through their schema (skops_sklearn_version), not unpickled")
        import skops.io as sio

        untrusted = skops_check(path)
        return sio.load(str(path), trusted=untrusted), sorted({tuple(t.rsplit(".", 1)) for t in skops_types(path)})
    raise ValueError(f"unknown format {saved_as!r}")


#: Plain containers and numpy scalar/generator types a skops schema names besides ALLOWED.
SKOPS_BASIC: frozenset[tuple[str, str]] = frozenset(
    {("builtins", n) for n in ("dict", "list", "tuple", "str", "int", "float", "bool", "NoneType", "bytes")}
    | {("numpy", n) for n in ("ndarray", "dtype", "int64", "int32", "uint64", "uint32", "uint8", "float64", "float32", "bool_")}
    | {("numpy.random._generator", "Generator")}
)


def skops_types(path: str | Path) -> set[str]:
    """Every `module.class` a skops file's schema.json names (read as JSON, nothing loaded)."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        schema = json.loads(z.read("schema.json"))
    found: set[str] = set()

    def walk(o):
        if isinstance(o, dict):
            if isinstance(o.get("__module__"), str) and isinstance(o.get("__class__"), str):
                found.add(f"{o['__module__']}.{o['__class__']}")
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(schema)
    return found


def skops_check(path: str | Path) -> list[str]:
    """Refuses, by name, any type the skops file names that is not on the allow-list (skops' own
    untrusted-type check included: skops trusts more than this tool does, e.g. any function of
    numpy or FunctionTransformer). Returns skops' untrusted types, to pass as `trusted=`."""
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=str(path))
    named = skops_types(path) | set(untrusted)
    refused = sorted(t for t in named if tuple(t.rsplit(".", 1)) not in ALLOWED | SKOPS_BASIC)
    if refused:
        raise UnsafePickleError(
            refusal(
                f"the skops file names types {refused}, which are not on the allow-list (nothing was loaded)",
                "only the types listed in att_model/safe_pickle.py (ALLOWED, SKOPS_BASIC)",
                _FIX,
            )
        )
    return list(untrusted)


def skops_sklearn_version(path: str | Path) -> str | None:
    """`_sklearn_version` of the top-level estimator, from the skops zip's schema.json."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        schema = json.loads(z.read("schema.json"))
    try:
        return json.loads(schema["content"]["content"]["_sklearn_version"]["content"])
    except (KeyError, TypeError, ValueError):
        return None


def sklearn_version_of(path: str | Path, saved_as: str) -> tuple[str | None, str]:
    """(version, top-level class path) read without building any scikit-learn object."""
    if saved_as == "skops":
        import zipfile

        with zipfile.ZipFile(path) as z:
            schema = json.loads(z.read("schema.json"))
        return skops_sklearn_version(path), f"{schema.get('__module__')}.{schema.get('__class__')}"
    obj, _names = load_model_file(path, saved_as, build=False)
    if not isinstance(obj, _Recorded):
        raise UnsupportedModelError(refusal(f"{path}: the file holds a {type(obj).__name__}", "a scikit-learn estimator or Pipeline"))
    version = obj.state.get("_sklearn_version")
    return (str(version) if version is not None else None), obj.sklearn_path


def forest_from_object(model, path: str) -> Forest:
    """forest_from_pickle_bytes for an already loaded stand-in (joblib files)."""
    return _forest_from_stand_in(model, path)


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return v


def forest_from_pickle(path: str | Path) -> Forest:
    path = Path(path)
    return forest_from_pickle_bytes(path.read_bytes(), str(path))
