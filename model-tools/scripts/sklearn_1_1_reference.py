"""Runs inside the throwaway scikit-learn 1.1 venv of verify-att-against-sklearn-1.1.sh (never
in model-tools/.venv): scores `rows.npy` with the ATT pickle's own scikit-learn and with
skl2onnx's own conversion of that pickle (onnxruntime), and saves the raw outputs beside it.

It unpickles with plain pickle.load: acceptable only for the trusted reference file in
../shared/data, never for a pickle of unknown origin (att_model's restricted unpickler is the
rule everywhere else)."""

import pickle
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime
import skl2onnx
import sklearn
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType

pickle_path, work = Path(sys.argv[1]), Path(sys.argv[2])
with open(pickle_path, "rb") as f:
    model = pickle.load(f)
X = np.load(work / "rows.npy")

np.save(work / "sklearn.npy", model.score_samples(X))
np.save(work / "sklearn_predict.npy", model.predict(X))
np.save(work / "offset.npy", np.array(model.offset_))

# skl2onnx's default conversion, as a user would call it. Its outputs are `label` (-1 anomaly,
# 1 normal, like predict) and `scores`, which is decision_function = score_samples - offset_,
# not score_samples: verify_att.py converts it back with the pickle's offset_.
started = time.perf_counter()
onx = convert_sklearn(
    model,
    initial_types=[("X", FloatTensorType([None, model.n_features_in_]))],
    target_opset={"": 15, "ai.onnx.ml": 3},
)
converted = time.perf_counter() - started
session = onnxruntime.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
outputs = [o.name for o in session.get_outputs()]
assert outputs == ["label", "scores"], f"unexpected skl2onnx outputs {outputs}"
label, scores = session.run(outputs, {"X": X.astype(np.float32)})
np.save(work / "skl2onnx_label.npy", label.ravel())
np.save(work / "skl2onnx_scores.npy", scores.ravel())

opsets = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in onx.opset_import)
print(
    f"scored with scikit-learn {sklearn.__version__}; skl2onnx {skl2onnx.__version__} conversion "
    f"({len(onx.graph.node)} nodes, opsets {opsets}, converted in {converted:.1f} s) "
    f"run by onnxruntime {onnxruntime.__version__}"
)
