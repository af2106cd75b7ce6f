"""The Space's built-in examples: invented texts on which the strategies differ.

Each one is built around one kind of difference, and each packs several rare, long names, so the
bundled model gives at least one disagreement (checked on the MiniLM-L6 CoNLL-2003 runs at hand, the
"split by simple" one re-picked for the model trained with document context; tests/test_space_ui_examples.py
runs every example through ./model).
"""

from __future__ import annotations

_LONG = " ".join([
    "The organisers of the Bydgoszcz chamber music festival announced this year's programme on Thursday.",
    "Violinist Grzegorz Brzęczyszczykiewicz, who grew up in Chrząszczyżewoszyce, will open the first evening",
    "with cellist Þórunn Guðmundsdóttir from Hafnarfjörður.",
    "The second evening belongs to pianist Oyelaran Adebayo-Okafor, who studied in Saint-Étienne",
    "before joining the Mönchengladbach-Rheydt conservatory.",
    "Tickets are sold by Ticketmaster Polska and by the Filharmonia Pomorska box office on Gdańska Street.",
    "Sponsors include Żabka, Orlen and the Szczecin branch of Bank Pekao.",
    "Conductor Bożydar Żółtowski said the orchestra had rehearsed in Kołobrzeg and Świnoujście all summer,",
    "while the choir travelled from Ljubljana and Dubrovnik.",
    "Soloists Siobhán Ní Bhriain and Kwabena Nkrumah-Asante arrive from Galway and Kumasi next week.",
    "The festival director, Wojciech Szczęsny-Kowalczyk, thanked the mayor of Bydgoszcz, Rafał Bruski,",
    "and the Ministry of Culture in Warsaw for their support.",
    "Last year's edition drew visitors from Vilnius, Tartu, Debrecen and Cluj-Napoca,",
    "and critics from Gazeta Wyborcza and Le Monde praised the performance of Chiamaka Nwachukwu-Obi.",
    "This year the closing concert moves to the Opera Nova building on the banks of the Brda river,",
    "where Tedros Ghebremedhin and Aurélie Dupont-Moretti will perform a new work",
    "commissioned by the Fryderyk Chopin Institute.",
    "Rehearsals will be streamed by Polskie Radio and by TVP Kultura,",
    "and the programme notes were written by musicologist Hrafnhildur Sigurðardóttir of the University of Iceland.",
    "Organisers expect guests from Reykjavík, Akureyri, Kraków, Poznań, Łódź and Wrocław,",
    "and a delegation from the Goethe-Institut in Frankfurt am Main.",
    "Buses will run from Toruń, Grudziądz and Inowrocław every evening,",
    "and the regional railway operator Polregio has added late trains to Chełmno and Świecie.",
    "After the festival, the orchestra tours to Göteborg, Tromsø and Jyväskylä,",
    "where it will play with the Sinfonietta Cracovia and the Kuopio Symphony Orchestra.",
    "Festival spokeswoman Małgorzata Wójcik-Przybylska said the tour had been planned with",
    "the Adam Mickiewicz Institute and the Nordic Culture Fund in Copenhagen.",
])

# (label shown on the example button, text)
LABELED_EXAMPLES: list[tuple[str, str]] = [
    ("Diacritics",
     "Grzegorz Brzęczyszczykiewicz from Chrząszczyżewoszyce works at Ubisoft Montpellier with Bożydar Żółtowski "
     "and Małgorzata Wójcik of Szczebrzeszyn."),
    ("A word split by simple",
     "Wojciech Szczęsny-Kowalczyk and Siobhán Ní Bhriain flew from Reykjanesbær to Šiauliai, where they met "
     "Kwabena Nkrumah at Rabobank."),
    ("Punctuation in a word",
     "Oyelaran Adebayo-Okafor left AL-AIN for Saint-Étienne; Ngozi Okonjo-Iweala, Chiamaka Nwachukwu-Obi and "
     "Małgorzata Wójcik-Przybylska met Kwabena Nkrumah-Asante in Mönchengladbach-Rheydt and Cluj-Napoca."),
    ("Adjacent names",
     "The winners Þórunn Guðmundsdóttir Siobhán Ní Bhriain Hrafnhildur Sigurðardóttir and Bożydar Żółtowski came "
     "from Hafnarfjörður Kołobrzeg and Świnoujście; the runners-up Grzegorz Brzęczyszczykiewicz Oyelaran Adebayo "
     "and Chiamaka Nwachukwu came from Chrząszczyżewoszyce Mönchengladbach and Szczebrzeszyn."),
    ("Long text (windows)", _LONG),
    # On the bundled model (trained with document context) the second sentence alone tags "Ferreira" PER;
    # after the first sentence, LOC. Once it has run, the page offers the second sentence alone.
    ("Context from the sentence before",
     "The mayor of Ferreira, Wojciech Szczęsny-Kowalczyk, opened a new bridge over the river. "
     "Police in Ferreira said nobody was hurt."),
]
CONTEXT_LABEL, CONTEXT_TEXT = LABELED_EXAMPLES[-1]
CONTEXT_ALONE = "Police in Ferreira said nobody was hurt."  # its second sentence, with no sentence before it
assert CONTEXT_TEXT.endswith(" " + CONTEXT_ALONE)
EXAMPLES: list[str] = [text for _label, text in LABELED_EXAMPLES]
EXAMPLE_LABELS: list[str] = [label for label, _text in LABELED_EXAMPLES]

__all__ = ["CONTEXT_ALONE", "CONTEXT_LABEL", "CONTEXT_TEXT", "EXAMPLES", "EXAMPLE_LABELS", "LABELED_EXAMPLES"]
