"""The terminal summary of an audit: counts per kind and per entity type, then the top suspects."""

from __future__ import annotations

from collections import Counter

from nercore.tags import entity_type
from toolkit.audit.rank import KINDS


def issue_type(issue: dict) -> str:
    """The entity type a suspect word is about: the given one, else the one the model sees."""
    return entity_type(issue["given"]) if issue["given"] != "O" else entity_type(issue["predicted"])


def summary(result, top: int = 10) -> str:
    """Counts per kind and per type, and the `top` sentences most likely mislabelled."""
    issues = [issue for row in result.rows for issue in row.issues]
    kinds = Counter(issue["kind"] for issue in issues)
    types = Counter(issue_type(issue) for issue in issues)
    lines = [
        f"audit of {result.split!r}: {len(issues)} suspect word(s) in {len(result.rows)} of "
        f"{result.num_sentences} sentence(s) (cleanlab: find_label_issues, get_label_quality_scores, "
        f"{result.ranking.quality} label quality)",
    ]
    if result.temperature is not None:
        lines.append(f"probabilities of the calibrated model (temperature {result.temperature:.3f} baked in)")
    if result.cut_words:
        lines.append(f"{result.cut_words} word(s) past the model's max length were not audited")
    lines.append("per kind: " + (", ".join(f"{kind} {kinds[kind]}" for kind in KINDS if kinds[kind]) or "none"))
    lines.append("per type: " + (", ".join(f"{kind} {n}" for kind, n in sorted(types.items())) or "none"))
    if result.rows:
        lines.append(f"top {min(top, len(result.rows))} (lowest label quality first):")
    for row in result.rows[:top]:
        lines.append(f"{row.rank:>3}. {row.where}  quality {row.score:.3f}")
        lines.append(f"     {row.marked}")
        for issue in row.issues:
            lines.append(f"     {issue['token']}: given {issue['given']}, model {issue['predicted']} "
                         f"({issue['probability']:.2f}); {issue['kind']}")
    lines.append(f"written: {result.path}" + "".join(f", {path}" for path in result.exports))
    return "\n".join(lines)
