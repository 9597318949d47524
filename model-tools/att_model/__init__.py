"""att_model: the Python side of att-stream's IsolationForest models (import, train, export)."""
