"""Hooks for pipelines: the in-process checker, the HTTP service and pipeline adapters."""

from scanner.hook.checker import Checker, ExclusionLog

__all__ = ["Checker", "ExclusionLog"]
