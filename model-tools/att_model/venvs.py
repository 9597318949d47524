"""Virtualenvs holding exactly one scikit-learn version, created on demand from PyPI.

A model file is loaded, converted and scored by the scikit-learn version that saved it: the
tooling's own venv when that is the pinned version (requirements.txt), else
`<repo>/.local/sklearn-envs/<version>/` (ATT_SKLEARN_ENVS_DIR overrides the parent folder),
created once with the numpy/scipy pins of PINS and reused while its pin list is unchanged
(sha256 marker). Creation shows pip's progress on stderr. See docs/model-formats.md.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .safe_pickle import refusal

HERE = Path(__file__).resolve().parents[1]  # model-tools/
REPO = HERE.parent

#: scikit-learn minor -> (numpy, scipy) known to install from Python 3.11 wheels and import together.
PINS: dict[str, tuple[str, str]] = {
    "1.2": ("1.24.4", "1.10.1"),
    "1.3": ("1.26.4", "1.11.4"),
    "1.4": ("1.26.4", "1.12.0"),
    "1.5": ("1.26.4", "1.13.1"),
    "1.6": ("2.2.6", "1.15.3"),
    "1.7": ("2.3.5", "1.16.3"),
}
#: Versions of a minor that have no Python 3.11 wheel on PyPI.
NO_WHEEL = {"1.2.0"}
#: The same converter and runtime in every env (the tooling's pins), so conversions are comparable.
COMMON = ["joblib==1.5.2", "threadpoolctl==3.6.0", "skl2onnx==1.19.1", "onnx==1.19.1", "onnxruntime==1.23.2", "protobuf==6.33.1", "skops==0.13.0"]


def tooling_sklearn_version() -> str:
    for line in (HERE / "requirements.txt").read_text().splitlines():
        if line.startswith("scikit-learn=="):
            return line.split("==", 1)[1].strip()
    raise RuntimeError("model-tools/requirements.txt pins no scikit-learn")


def envs_dir() -> Path:
    return Path(os.environ.get("ATT_SKLEARN_ENVS_DIR") or (REPO / ".local" / "sklearn-envs"))


def requirements(version: str) -> list[str]:
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)(?:\.post\d+)?", version)
    if not m:
        raise ValueError(refusal(f"scikit-learn version {version!r} recorded in the file", "a release version x.y.z", "Fix: re-save the model with a released scikit-learn"))
    minor = f"{m.group(1)}.{m.group(2)}"
    if minor not in PINS or version in NO_WHEEL:
        raise ValueError(
            refusal(
                f"a model saved with scikit-learn {version}",
                "scikit-learn " + ", ".join(f"{k}.x" for k in PINS) + (" (not " + ", ".join(sorted(NO_WHEEL)) + ": no Python 3.11 wheel)" if NO_WHEEL else ""),
                "Fix: load it in its own scikit-learn and re-save it with a supported one, or export it to ONNX yourself and import the .onnx file",
            )
        )
    numpy, scipy = PINS[minor]
    return [f"scikit-learn=={version}", f"numpy=={numpy}", f"scipy=={scipy}", *COMMON]


def python_for(version: str, *, log=sys.stderr) -> str:
    """The Python of a venv with exactly scikit-learn `version` (created if needed)."""
    if version == tooling_sklearn_version():
        return sys.executable
    reqs = requirements(version)
    env = envs_dir() / version
    marker = env / ".att-pins.sha256"
    want = hashlib.sha256(("\n".join(reqs) + "\n" + sys.version).encode()).hexdigest()
    py = env / "bin" / "python"
    envs_dir().mkdir(parents=True, exist_ok=True)
    with open(envs_dir() / f".{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two imports of the same version wait for one creation
        if py.exists() and marker.exists() and marker.read_text().strip() == want:
            _link(py)
            return str(py)
        started = time.monotonic()
        print(f"att_model: creating a scikit-learn {version} environment in {env} (once; cached) ...", file=log, flush=True)
        if env.exists():
            shutil.rmtree(env)
        base = getattr(sys, "_base_executable", None) or sys.executable
        subprocess.run([base, "-m", "venv", str(env)], check=True)
        print(f"att_model: pip install {' '.join(reqs)}", file=log, flush=True)
        cmd = [str(py), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", *reqs]
        tail: list[str] = []
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:  # live progress: one line per package collected / installed
                tail = (tail + [line])[-40:]
                if line.startswith(("Collecting", "Installing", "Successfully", "ERROR")):
                    print(f"  [{time.monotonic() - started:5.0f} s] {line.rstrip()}", file=log, flush=True)
        if proc.returncode != 0:
            shutil.rmtree(env, ignore_errors=True)
            raise RuntimeError(refusal(f"pip could not create the scikit-learn {version} environment:\n{''.join(tail)}", f"the pins {reqs} to install from PyPI", "Fix: check the network to PyPI; the table PINS in att_model/venvs.py lists known-good pins"))
        _link(py)
        marker.write_text(want + "\n")
        print(f"att_model: scikit-learn {version} environment ready in {time.monotonic() - started:.0f} s", file=log, flush=True)
        return str(py)


def _link(py: Path) -> None:
    """Makes `python -m att_model.byom_worker` importable in that venv (as setup.sh does)."""
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True, capture_output=True, text=True).stdout.strip()
    pth = Path(site) / "att_model_src.pth"
    if not pth.exists() or pth.read_text().strip() != str(HERE):
        pth.write_text(str(HERE) + "\n")
