"""The importer never executes what a pickle names, and says why it refused."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from att_model.safe_pickle import UnsafePickleError, UnsupportedModelError, forest_from_pickle_bytes, list_globals, safe_load


def _unicode(s: str) -> bytes:
    b = s.encode()
    return b"X" + len(b).to_bytes(4, "little") + b


def _system_pickle(marker) -> bytes:
    """Protocol 0: os.system("touch <marker>")."""
    return b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."


def _iforest_with_system_in_state(marker) -> bytes:
    """A protocol-2 'IsolationForest' whose estimators_ is the result of os.system(...)."""
    return (
        b"\x80\x02csklearn.ensemble._iforest\nIsolationForest\n)\x81}"
        + _unicode("estimators_")
        + b"cos\nsystem\n"
        + _unicode(f"touch {marker}")
        + b"\x85Rsb."
    )


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_the_crafted_payload_is_live_under_plain_pickle(tmp_path):
    # control: the same bytes do run a command through pickle.loads, so the refusal below
    # is the unpickler's doing (run in a child process; the command only touches a file)
    marker = tmp_path / "pwned-control"
    code = f"import pickle; pickle.loads({_system_pickle(marker)!r})"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    assert marker.exists()


@pytest.mark.parametrize(
    "make",
    [_system_pickle, _iforest_with_system_in_state, lambda m: pickle.dumps(_Evil(m), protocol=4)],
    ids=["protocol0-GLOBAL", "inside-IsolationForest-state", "protocol4-STACK_GLOBAL"],
)
def test_a_pickle_calling_os_system_is_refused_without_running_it(tmp_path, make):
    marker = tmp_path / "pwned"
    payload = make(marker)
    with pytest.raises(UnsafePickleError, match=r"refusing to load global '(os|posix)\.system'.*nothing in the file was executed"):
        safe_load(payload)
    with pytest.raises(UnsafePickleError):
        forest_from_pickle_bytes(payload)
    assert not marker.exists()


@pytest.mark.parametrize("target", ["builtins.eval", "builtins.getattr", "copyreg._reconstructor", "numpy.load", "subprocess.Popen"])
def test_other_globals_are_refused(target):
    mod, name = target.rsplit(".", 1)
    payload = b"\x80\x02c" + mod.encode() + b"\n" + name.encode() + b"\n."
    with pytest.raises(UnsafePickleError, match=f"'{target}'"):
        safe_load(payload)


def test_list_globals_reads_without_executing(tmp_path):
    marker = tmp_path / "pwned"
    assert ("posix", "system") in list_globals(pickle.dumps(_Evil(marker), protocol=4)) or ("nt", "system") in list_globals(
        pickle.dumps(_Evil(marker), protocol=4)
    )
    assert not marker.exists()


def test_numpy_arrays_load_and_a_non_model_is_refused_clearly():
    arr = np.arange(5, dtype=np.int64)
    assert np.array_equal(safe_load(pickle.dumps(arr, protocol=4)), arr)
    with pytest.raises(UnsupportedModelError, match="expected an IsolationForest"):
        forest_from_pickle_bytes(pickle.dumps({"a": arr}, protocol=4))


def test_compressed_files_are_named_as_such():
    import gzip

    with pytest.raises(UnsupportedModelError, match="compressed"):
        safe_load(gzip.compress(pickle.dumps(1)))
