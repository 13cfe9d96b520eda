"""Saving and loading fitted models with their version, window, features, metrics and
scaling, so a reloaded model scores exactly as the saved one did."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from dataclasses import dataclass, field
from typing import Any

import sklearn

FORMAT = "inspect-core-model/1"


@dataclass
class ModelBundle:
    """A fitted estimator and everything needed to use and audit it."""

    estimator: Any
    kind: str
    version: str
    features: list[str]
    feature_config: dict[str, Any]
    window: tuple[str | None, str | None]
    metrics: dict[str, Any] = field(default_factory=dict)
    scaling: dict[str, float] = field(default_factory=dict)
    monitoring: dict[str, Any] = field(default_factory=dict)


def dumps(bundle: ModelBundle) -> bytes:
    """Header line (JSON metadata with a SHA-256 of the pickle) + the pickled bundle."""
    body = pickle.dumps(bundle, protocol=pickle.HIGHEST_PROTOCOL)
    header = {
        "format": FORMAT, "kind": bundle.kind, "version": bundle.version,
        "sklearn": sklearn.__version__, "sha256": hashlib.sha256(body).hexdigest(),
    }  # fmt: skip
    return json.dumps(header).encode() + b"\n" + body


def loads(data: bytes) -> ModelBundle:
    """Refuse a blob whose checksum or format does not match (a model is code: check it)."""
    buffer = io.BytesIO(data)
    header = json.loads(buffer.readline())
    body = buffer.read()
    if header.get("format") != FORMAT:
        raise ValueError(f"not an inspect-core model ({header.get('format')!r})")
    if hashlib.sha256(body).hexdigest() != header["sha256"]:
        raise ValueError("model blob is corrupt: checksum mismatch")
    bundle = pickle.loads(body)  # noqa: S301 - our own blob, checksum verified above
    if not isinstance(bundle, ModelBundle):
        raise ValueError("model blob does not hold a ModelBundle")
    return bundle
