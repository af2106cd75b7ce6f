"""Stage after predict: find the labels of a split that are probably wrong (`nerkit audit`, docs/audit.md).

Out-of-sample word probabilities (`probabilities`: a trained model reading a split it did not
learn from; `crossval`: K folds, K trainings) are ranked by cleanlab (`rank`), written as
`audit.jsonl` (`records`, with its typed reader) and, for review, as annotation-tool tasks
(`exports`); `report` prints the summary. cleanlab is the optional extra `nerkit[audit]`.

The names below load on first use, so that `nerkit --help` (which reads `rank.QUALITIES`) does not
import `datasets`.
"""

from importlib import import_module

_HOMES = {
    "audit_cross_validated": "crossval", "AUDIT_FILE": "records", "AuditRow": "records", "read_audit": "records",
    "summary": "report", "AuditResult": "run", "audit_model": "run",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
