"""Stage after predict: find the labels of a split that are probably wrong (`nerkit audit`, docs/audit.md).

Out-of-sample word probabilities (`probabilities`: a trained model reading a split it did not
learn from; `crossval`: K folds, K trainings) are ranked by cleanlab (`rank`), written as
`audit.jsonl` (`records`, with its typed reader) and, for review, as annotation-tool tasks
(`exports`); `report` prints the summary. cleanlab is the optional extra `nerkit[audit]`.
"""

from toolkit.audit.crossval import audit_cross_validated
from toolkit.audit.records import AUDIT_FILE, AuditRow, read_audit
from toolkit.audit.report import summary
from toolkit.audit.run import AuditResult, audit_model

__all__ = ["AUDIT_FILE", "AuditResult", "AuditRow", "audit_cross_validated", "audit_model", "read_audit", "summary"]
