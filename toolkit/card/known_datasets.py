"""Facts the card states about well-known datasets: Hub id, licence note, citation, safe widget text.

A dataset is recognised by its name (a Hub id or a local file/folder name). Adding one means
adding a `KnownDataset` to `KNOWN`; sections read these facts, never a dataset's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownDataset:
    pretty: str
    hub_id: str
    name_pattern: str  # full match on the lower-cased last part of the name
    tag: str  # added to the card's Hub tags
    licence: str
    citation: str  # BibTeX
    # Invented (text, title) widget sentences for data whose text may not be quoted; empty: quote freely.
    widget: tuple[tuple[str, str], ...] = ()
    limitation: str | None = None  # a Markdown bullet for the card's Limitations

    def matches(self, name: str) -> bool:
        return bool(re.fullmatch(self.name_pattern, name.lower().split("/")[-1]))


CONLL2003 = KnownDataset(
    pretty="CoNLL-2003",
    hub_id="eriktks/conll2003",
    name_pattern=r"conll[-_]?2003",
    tag="conll2003",
    licence=(
        "The English CoNLL-2003 data annotates Reuters newswire articles from 1996-1997 taken from the "
        "Reuters Corpus (RCV1). Only the annotations are freely distributed; the text itself is available "
        "from NIST for research purposes only, under the Reuters Corpus agreements. The training data is "
        "therefore research-only and is not included with this model: check that your use is compatible "
        "before deploying the model commercially."
    ),
    citation="""\
@inproceedings{tjong-kim-sang-de-meulder-2003-introduction,
    title = "Introduction to the {C}o{NLL}-2003 Shared Task: Language-Independent Named Entity Recognition",
    author = "Tjong Kim Sang, Erik F. and De Meulder, Fien",
    booktitle = "Proceedings of the Seventh Conference on Natural Language Learning at {HLT}-{NAACL} 2003",
    year = "2003",
    pages = "142--147",
    url = "https://aclanthology.org/W03-0419",
}""",
    # Reuters text is research-only: a pushed card must not quote it, so these sentences are invented.
    widget=(
        ("Barack Obama visited the United Nations offices in New York City.", "PER, ORG, LOC"),
        ("Angela Merkel met Emmanuel Macron in Berlin to discuss the European Union budget.", "PER, LOC, ORG"),
        ("Lionel Messi scored twice in the World Cup final for Argentina.", "PER, MISC, LOC"),
    ),
    limitation=(
        "**News domain, 1996–1997.** CoNLL-2003 is Reuters newswire; expect lower accuracy on other domains "
        "(social media, science, law) and on names that became common after 1997."
    ),
)

KNOWN = (CONLL2003,)


def find_known(name: str) -> KnownDataset | None:
    """The known dataset a (base) name stands for, if any."""
    return next((known for known in KNOWN if name and known.matches(name)), None)
