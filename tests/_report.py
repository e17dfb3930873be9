"""Conformance figures collected during the run and printed at its end (see conftest.py)."""

LINES: list[str] = []


def record(suite: str, passed: int, total: int, deviations: int = 0, extra: str = "") -> None:
    dev = f", {deviations} known deviations" if deviations else ""
    LINES.append(f"{suite}: {passed}/{total} pass{dev}{extra}")


def note(line: str) -> None:
    LINES.append(line)
