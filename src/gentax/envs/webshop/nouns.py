"""Offline noun extraction for WebShop's type reward.

WebShop tags product names with spaCy's `en_core_web_lg` and keeps tokens tagged NOUN or
PROPN. That model cannot be downloaded here, so this module approximates it with a small
rule-based tagger for the one kind of text it sees, product titles:
  - tokens are split the way spaCy splits titles (hyphens and slashes between words become
    their own tokens; "3.1", "D.o.n." and "4K" stay whole);
  - numbers, punctuation and closed-class words (determiners, prepositions, conjunctions,
    pronouns, auxiliaries) are not nouns;
  - a bundled list of adjectives and verbs common in product titles, and past participles
    ("Listed", "Certified"), are not nouns;
  - everything else is a noun (titles are mostly noun compounds and brand names).
It reproduces WebShop's published type-reward cases (tests/test_webshop_reward.py); on other
titles it can disagree with spaCy on an ambiguous word, which moves the title score a little.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Closed-class words: never nouns.
_FUNCTION_WORDS = frozenset(
    """
a an the this that these those some any each every no all both either neither
for with without of in on at by to from into onto over under up down out off about above below
between among through during before after against within along across around near per via than
and or but nor so yet plus
i me my mine you your yours he him his she her hers it its we us our ours they them their theirs
is are was were be been being am do does did has have had can could will would shall should may
might must not also only just very too more most less least
""".split()
)

# Adjectives, adverbs and verbs frequent in product titles (spaCy tags them ADJ / VERB / ADV).
_NON_NOUN_WORDS = frozenset(
    """
new natural organic pure fresh premium ultra super extra best great good high low soft hard
light heavy small large big mini little long short wide narrow thin thick slim full half
portable wireless waterproof stainless adjustable durable reusable rechargeable compatible
professional original classic modern vintage rustic elegant cute comfortable lightweight
breathable indoor outdoor electric digital automatic manual universal multi multiple
black white red blue green yellow pink purple grey gray brown orange beige navy gold silver
clear dark bright deep warm cool cold hot dry wet sensitive gentle strong fast quick easy
free sweet salty spicy crispy creamy healthy daily non anti first second third single double
triple dual casual formal athletic active relaxed regular ergonomic upholstered folding foldable
hooded packable cushioned flexible
make makes made use uses using fits fit get keep keeps buy includes include including
""".split()
)

# Words ending in -ed / -ing that are nouns all the same.
_NOUN_EXCEPTIONS = frozenset(
    """
bed seed speed shed sled reed need feed weed steed
ring string spring king wing ceiling clothing bedding filling lighting flooring siding
padding stuffing topping frosting seasoning dressing pudding charging building wedding
""".split()
)

# Split hyphens / slashes / pipes / brackets / commas off words; keep "3.1", "D.o.n." and "4K".
_SPLIT = re.compile(r"[\s,;:!?()\[\]{}\"|/+&*]+|(?<=[A-Za-z])-(?=[A-Za-z])|(?<!\w)-|-(?!\w)")
_NUMBER = re.compile(r"^[#$]?\d+([.,]\d+)*%?$")


def tokenize(text: str) -> list[str]:
    """Word tokens of a title, split roughly as spaCy does."""
    tokens = []
    for raw in _SPLIT.split(text):
        token = raw.strip(".'`-_")
        if raw.count(".") >= 2:  # abbreviations such as "D.o.n." keep their dots
            token = raw.strip("'`-_")
        if token:
            tokens.append(token)
    return tokens


def is_noun(token: str) -> bool:
    """Whether `token` would be tagged NOUN or PROPN in a product title."""
    word = token.lower()
    if _NUMBER.match(word) or not any(ch.isalpha() for ch in word):
        return False
    if word in _FUNCTION_WORDS or word in _NON_NOUN_WORDS:
        return False
    if word in _NOUN_EXCEPTIONS:
        return True
    # Past participles and gerunds ("Listed", "Certified", "Running") are verbs, but not
    # "-eed" words ("Saireed") or short words ("Red" is handled above, "Ted" is a name).
    if len(word) > 4 and word.isalpha() and (word.endswith("ed") and not word.endswith("eed")):
        return False
    if len(word) > 5 and word.isalpha() and word.endswith("ing"):
        return False
    return True


@lru_cache(maxsize=65536)
def nouns(text: str) -> tuple[str, ...]:
    """Lower-cased noun tokens of `text`, in order, duplicates kept (WebShop counts them)."""
    return tuple(t.lower() for t in tokenize(text) if is_noun(t))
