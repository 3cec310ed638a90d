"""WebShop's search engine: BM25 over each product's indexed text, top 50 hits.

WebShop indexes, per product, `Title + Description + BulletPoints[0] + option text`
(lower-cased; search_engine/convert_product_file_format.py) with Lucene (pyserini), whose
default English analyser drops stop words and Porter-stems. Here the index is `bm25s`
(BM25, k1 = 1.5, b = 0.75) with bm25s's English stop words and the Snowball English stemmer
(PyStemmer), built once per catalogue and cached. Only documents sharing a term with the
query are returned, best first, ties in catalogue order, as Lucene does.
"""

from __future__ import annotations

from typing import Any

import bm25s
import numpy as np
import Stemmer
from bm25s.tokenization import Tokenizer

SEARCH_RETURN_N = 50  # WebShop returns the top 50 products of a search
# Unlike bm25s's default, keep one-character tokens ("8 fl oz", "size 7"), as Lucene does.
TOKEN_PATTERN = r"(?u)\b\w+\b"


def document_text(product: dict[str, Any]) -> str:
    """The text WebShop indexes for a product."""
    option_texts = [f"{name}: {', '.join(values)}" for name, values in product.get("options", {}).items()]
    bullets = product["BulletPoints"]
    return " ".join(
        [
            product["Title"],
            product["Description"],
            bullets[0] if bullets else "",
            ", and ".join(option_texts),
        ]
    ).lower()


class SearchEngine:
    """A BM25 index over a list of products; `search(keywords)` -> up to 50 asins."""

    def __init__(self, products: list[dict[str, Any]], k1: float = 1.5, b: float = 0.75):
        self.asins = [p["asin"] for p in products]
        self.tokenizer = Tokenizer(splitter=TOKEN_PATTERN, stopwords="en", stemmer=Stemmer.Stemmer("english"))
        corpus_ids = self.tokenizer.tokenize([document_text(p) for p in products], show_progress=False)
        self.bm25 = bm25s.BM25(k1=k1, b=b)
        self.bm25.index(corpus_ids, show_progress=False)
        self._vocab = self.tokenizer.get_vocab_dict()

    def query_tokens(self, keywords: str) -> list[int]:
        """Term ids of the query (stop words and words absent from the index dropped)."""
        terms = self.tokenizer.tokenize(
            [keywords.lower()], update_vocab=False, return_as="string", show_progress=False
        )[0]
        return [self._vocab[t] for t in terms if t in self._vocab]

    def scores(self, keywords: str) -> np.ndarray:
        """BM25 score of every product for `keywords` (the raw library call)."""
        ids = self.query_tokens(keywords)
        if not ids:
            return np.zeros(len(self.asins), dtype=np.float32)
        return self.bm25.get_scores(ids)

    def search(self, keywords: str, k: int = SEARCH_RETURN_N) -> list[str]:
        """Asins of the best `k` products for `keywords`, best first."""
        scores = self.scores(keywords)
        hits = np.flatnonzero(scores > 0)
        order = hits[np.lexsort((hits, -scores[hits]))][:k]  # score desc, then catalogue order
        return [self.asins[i] for i in order]
