"""Saved models: a fitted model as a zip of one JSON document and NumPy ``.npy`` arrays.

Nothing in a model file is executed or unpickled: the JSON names a mechanism class from a
fixed list (:data:`SAVED_TYPES`) and gives its fields; arrays are read with
``allow_pickle=False``; text arrays are stored as fixed-width Unicode. A SHA-256 digest of
the document and every array is checked on reading, so a truncated, edited or foreign file
is refused with one line (:class:`~causal_attrib.errors.ModelFileError`). Entries are
written in a fixed order with a fixed timestamp, so the same model saves to the same bytes.

The document's top level is described by ``causal_attrib/schemas/model.schema.json``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFileError
from .bases import Basis
from .categorical import Cells, SoftmaxModel, TableMechanism
from .mechanisms import (
    AdditiveNoiseMechanism,
    ClassifierMechanism,
    EmpiricalMechanism,
    LogisticModel,
)

FORMAT = "causal-attrib model"
"""What a model file's document says it is (a foreign zip does not)."""

FORMAT_VERSION = 1
"""The layout of the document; a reader refuses a newer one."""

DOCUMENT = "model.json"

SAVED_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (EmpiricalMechanism, AdditiveNoiseMechanism, ClassifierMechanism, LogisticModel,
                TableMechanism, Cells, SoftmaxModel, Basis)  # fmt: skip
}
"""The only classes a model file may name; a new mechanism family adds itself here."""

FLOAT_FIELDS = {
    "AdditiveNoiseMechanism": ("coef", "residuals"),
    "LogisticModel": ("mean", "scale", "coef", "intercept"),
    "SoftmaxModel": ("coef",),
}
"""Array fields read as floats whatever dtype a file gives them (an edited file's integers
must not reach arithmetic done in place)."""

MAX_ENTRY_BYTES = 2 << 30
"""Largest uncompressed entry read (a guard against zip bombs)."""

_STAMP = (1980, 1, 1, 0, 0, 0)


class _Arrays:
    """Arrays collected while encoding (written as ``arrays/NNNNNN.npy``)."""

    def __init__(self) -> None:
        self.items: list[np.ndarray] = []

    def add(self, array: np.ndarray) -> dict:
        if array.dtype == object:
            if any(not isinstance(v, str) for v in array.ravel()):
                raise ModelFileError("a text array to save holds something other than text")
            self.items.append(array.astype(str))
            return {"$array": len(self.items) - 1, "object": True}
        if array.dtype.kind not in "biuf":
            raise ModelFileError(f"cannot save an array of dtype {array.dtype}")
        self.items.append(np.ascontiguousarray(array))
        return {"$array": len(self.items) - 1}


def encode(value: Any, arrays: _Arrays) -> Any:
    """``value`` as JSON, arrays set aside; only the types a fitted model holds."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return arrays.add(value)
    if isinstance(value, tuple):
        return {"$tuple": [encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [encode(v, arrays) for v in value]
    if isinstance(value, frozenset | set):
        return {"$frozenset": [encode(v, arrays) for v in sorted(value)]}
    if isinstance(value, Mapping):
        return {"$pairs": [[encode(k, arrays), encode(v, arrays)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and type(value).__name__ in SAVED_TYPES:
        fields = {
            f.name: encode(getattr(value, f.name), arrays)
            for f in dataclasses.fields(value)
            if f.init
        }
        return {"$type": type(value).__name__, "fields": fields}
    raise ModelFileError(f"cannot save a {type(value).__name__} in a model file")


def decode(value: Any, arrays: list[np.ndarray]) -> Any:
    """The inverse of :func:`encode`; anything unexpected is a :class:`ModelFileError`."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [decode(v, arrays) for v in value]
    if not isinstance(value, dict) or len(value) not in (1, 2):
        raise ModelFileError("the model file's document is malformed")
    if "$array" in value:
        k = value["$array"]
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < len(arrays):
            raise ModelFileError("the model file refers to an array it does not hold")
        return arrays[k].astype(object) if value.get("object") else arrays[k]
    if "$tuple" in value:
        return tuple(decode(v, arrays) for v in value["$tuple"])
    if "$frozenset" in value:
        return frozenset(decode(v, arrays) for v in value["$frozenset"])
    if "$pairs" in value:
        return {decode(k, arrays): decode(v, arrays) for k, v in value["$pairs"]}
    if "$type" in value:
        cls = SAVED_TYPES.get(value["$type"])
        if cls is None or not isinstance(value.get("fields"), dict):
            raise ModelFileError(f"the model file names an unknown type {value['$type']!r}")
        fields = {k: decode(v, arrays) for k, v in value["fields"].items()}
        for name in FLOAT_FIELDS.get(value["$type"], ()):
            if name in fields:  # numbers the mechanism computes with in place
                fields[name] = np.asarray(fields[name], dtype=float)
        try:
            return cls(**fields)
        except TypeError as error:
            raise ModelFileError(f"the model file's {cls.__name__} is malformed: {error}") from None
    raise ModelFileError("the model file's document is malformed")


def document_digest(document: dict, arrays: list[np.ndarray]) -> str:
    """SHA-256 of a document (without its digest) and of every array, as files record it."""
    h = hashlib.sha256(json.dumps(document, sort_keys=True).encode())
    for a in arrays:
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def write_model(path: str | Path, document: dict, content: Any) -> None:
    """Save ``document`` (JSON metadata) and ``content`` (encoded with its arrays)."""
    arrays = _Arrays()
    body = dict(document, format=FORMAT, format_version=FORMAT_VERSION)
    body["content"] = encode(content, arrays)
    body["digest"] = document_digest(body, arrays.items)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo(DOCUMENT, _STAMP), json.dumps(body, sort_keys=True, indent=1))
        for k, a in enumerate(arrays.items):
            out = io.BytesIO()
            np.save(out, a, allow_pickle=False)
            info = zipfile.ZipInfo(f"arrays/{k:06d}.npy", _STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, out.getvalue())
    _replace_file(Path(path), buffer.getvalue())


def _replace_file(path: Path, data: bytes) -> None:
    """Write a temporary file beside ``path``, then rename it over ``path``: a full disk or
    an interruption leaves the old file (or none), never half a model."""
    path = path.resolve() if path.is_symlink() else path  # a link keeps pointing at the model
    if path.exists() and not path.is_file():
        raise ModelFileError(
            f"cannot write the model to {str(path)!r}: it is not a regular file",
            parameter="path",
        )
    if not path.parent.is_dir():
        raise ModelFileError(
            f"cannot write the model to {str(path)!r}: directory {str(path.parent)!r} does "
            "not exist",
            parameter="path",
        )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ModelFileError(
            f"cannot write the model to {str(path)!r}: {error.strerror or error}",
            parameter="path",
        ) from None


def read_model(path: str | Path) -> tuple[dict, Any]:
    """The document and decoded content of a model file, checked; else one-line errors."""
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ModelFileError(f"no model file at {str(path)!r}", parameter="model") from None
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ModelFileError(
            f"{str(path)!r} is not a causal-attrib model file (not a complete zip: {error})",
            parameter="model",
        ) from None
    with zf:
        body = _read_document(zf, path)
        names = set(zf.namelist())
        arrays = [
            _read_array(zf, f"arrays/{k:06d}.npy", path, names) for k in range(body["arrays"])
        ]
    digest = body.pop("digest")
    body.pop("arrays")
    if document_digest(body, arrays) != digest:
        raise ModelFileError(
            f"{str(path)!r} was changed after it was saved (its checksum does not match)",
            parameter="model",
        )
    try:
        return body, decode(body["content"], arrays)
    except ModelFileError:
        raise
    except (TypeError, KeyError, ValueError, AttributeError, RecursionError) as error:
        raise ModelFileError(
            f"{str(path)!r}: the model document is malformed ({type(error).__name__})",
            parameter="model",
        ) from None


def _read_document(zf: zipfile.ZipFile, path) -> dict:
    names = zf.namelist()
    if DOCUMENT not in names:
        raise ModelFileError(f"{str(path)!r} is not a causal-attrib model file", parameter="model")
    raw = _entry(zf, DOCUMENT, path)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ModelFileError(f"{str(path)!r}: the model document is not JSON") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise ModelFileError(f"{str(path)!r} is not a causal-attrib model file", parameter="model")
    version = body.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise ModelFileError(
            f"{str(path)!r} has model format {version!r}, written by causal-attrib "
            f"{_writer(body)}; this version reads format "
            f"{FORMAT_VERSION}: fit the model again",
            parameter="model",
        )
    if not isinstance(body.get("digest"), str) or "content" not in body:
        raise ModelFileError(f"{str(path)!r}: the model document is incomplete")
    body["arrays"] = sum(1 for n in names if n.startswith("arrays/"))
    return body


def _writer(body: dict) -> str:
    """The version of causal-attrib a document says wrote it, or ``?``."""
    library = body.get("library")
    version = library.get("causal_attrib") if isinstance(library, dict) else None
    return str(version) if isinstance(version, str | int | float) else "?"


def _entry(zf: zipfile.ZipFile, name: str, path) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > MAX_ENTRY_BYTES:
        raise ModelFileError(f"{str(path)!r}: entry {name} is implausibly large")
    try:
        return zf.read(name)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error, NotImplementedError,
            RuntimeError) as error:  # fmt: skip
        raise ModelFileError(f"{str(path)!r} is damaged: {error}", parameter="model") from None


def _read_array(zf: zipfile.ZipFile, name: str, path, names: set[str]) -> np.ndarray:
    if name not in names:
        raise ModelFileError(f"{str(path)!r} is missing {name}", parameter="model")
    try:
        array = np.load(io.BytesIO(_entry(zf, name, path)), allow_pickle=False)
    except (ValueError, EOFError, OSError, MemoryError) as error:
        raise ModelFileError(
            f"{str(path)!r}: {name} is not a plain array ({type(error).__name__})",
            parameter="model",
        ) from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biufU":
        raise ModelFileError(
            f"{str(path)!r}: {name} is not an array of numbers or text", parameter="model"
        )
    return array
