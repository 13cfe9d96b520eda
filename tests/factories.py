"""Payload factories for the registries (valid by construction)."""

from __future__ import annotations

import itertools
from typing import Any

from inspect_core.simulate import make_uscc

_seq = itertools.count(900_000)


def uscc() -> str:
    """A fresh valid USCC."""
    return make_uscc(next(_seq))


def enterprise(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uscc": uscc(),
        "name": "重庆渝味火锅有限公司",
        "sectors": ["food"],
        "region": "杨家坪街道",
        "address": "重庆市九龙坡区杨家坪步行街1号",
    }
    body.update(overrides)
    return body


def inspector(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "badge": f"T-{next(_seq)}",
        "name": "张伟",
        "unit": "九龙坡区市场监督管理局杨家坪市场监督管理所",
        "region": "杨家坪街道",
        "qualifications": ["food"],
    }
    body.update(overrides)
    return body
