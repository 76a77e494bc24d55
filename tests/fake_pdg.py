"""A stand-in for the few members of PDG's work item API that pm_houdini.tops uses.

Every name and parameter here is one SideFX documents (tests/test_farm_tops.py checks
them against the documented list); the behaviour is the documented one as far as pm
relies on it: attributes are arrays, set by index, and reading a missing attribute
gives None."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class File:
    """pdg.File: a path with a tag."""

    path: str
    tag: str = "file"


@dataclass(frozen=True)
class Node:
    """pdg.Node: the TOP node that owns work items."""

    name: str


@dataclass
class WorkItem:
    """pdg.WorkItem, with its attributes in a dict of arrays."""

    name: str
    index: int
    node: Node
    inputFiles: list[File] = field(default_factory=list)
    frame: float = 0.0
    attributes: dict[str, list[Any]] = field(default_factory=dict)

    def _set(self, name: str, value: Any, index: int) -> None:
        values = self.attributes.setdefault(name, [])
        values.extend([None] * (index + 1 - len(values)))
        values[index] = value

    def setStringAttrib(self, name: str, value: str, index: int = 0) -> None:
        self._set(name, str(value), index)

    def setIntAttrib(self, name: str, value: int, index: int = 0) -> None:
        self._set(name, int(value), index)

    def stringAttribValue(self, name: str, index: int = 0) -> str | None:
        values = self.attributes.get(name)
        if values is None or index >= len(values):
            return None
        return str(values[index])

    def intAttribValue(self, name: str, index: int = 0) -> int | None:
        values = self.attributes.get(name)
        if values is None or index >= len(values):
            return None
        return int(values[index])
