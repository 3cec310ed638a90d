"""The products and goals a WebShop session serves.

Two sources, one code path: `generate_raw` writes a catalogue in the *official files'* raw
formats (`items_shuffle_1000.json`, `items_ins_v2_1000.json`, `items_human_ins.json`,
`reviews.json`), and `build_catalogue` turns raw data into WebShop's product schema and goals
exactly as WebShop's `load_products` / `get_human_goals` / `get_synthetic_goals` do.
`load_official(directory)` feeds the real files through the same `build_catalogue`.

WebShop draws prices inside a price range and the goals' `price_upper` from the global,
unseeded `random`; here both come from a generator seeded by the catalogue's seed, so a
catalogue is the same on every machine. Goals are then shuffled with seed 233 as WebShop
does; the first 500 are the evaluation split (PAPER.md), the rest the training split.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import string
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from gentax.envs.webshop.reward import EXACT_MATCH_OPTS, normalize_color, token_set_ratio
from gentax.envs.webshop.vocabulary import (
    BRANDS,
    DESCRIPTION_SENTENCES,
    PRODUCT_TYPES,
    REVIEW_LINES,
    ProductType,
)

EVAL_GOALS = 500  # PAPER.md: the first 500 goals are for evaluation
GOAL_SHUFFLE_SEED = 233  # WebShop's SimServer shuffles its goals with random.seed(233)
PRICE_RANGE = [10.0 * i for i in range(1, 100)]  # WebShop's price_upper candidates
DEFAULT_SEED = 0
DEFAULT_NUM_PRODUCTS = 1000

# File names WebShop's data download uses (the 1,000-product "small" set and the full set).
ITEM_FILES = ("items_shuffle_1000.json", "items_shuffle.json")
ATTRIBUTE_FILES = ("items_ins_v2_1000.json", "items_ins_v2.json")
HUMAN_INSTRUCTION_FILE = "items_human_ins.json"
REVIEW_FILE = "reviews.json"


@dataclass
class Catalogue:
    """Products in WebShop's schema, their prices, and the (shuffled) goals."""

    products: list[dict[str, Any]]
    by_asin: dict[str, dict[str, Any]]
    prices: dict[str, float]
    goals: list[dict[str, Any]]
    name: str  # where it came from, e.g. "generated(seed=0, n=1000)"
    eval_goals: int = EVAL_GOALS

    def goal_indices(self, split: str) -> range:
        """Goal indices of a split: the first `eval_goals` for eval, the rest for train."""
        cut = min(self.eval_goals, len(self.goals))
        return range(0, cut) if split == "eval" else range(cut, len(self.goals))


# ----- WebShop's processing of raw product files -------------------------------------------------
def _parse_pricing(pricing: Any) -> tuple[list[float], str]:
    """'$12.99' -> ([12.99], '$12.99'); '$10.99$15.99' -> ([10.99, 15.99], '$10.99 to $15.99')."""
    if not pricing:
        return [100.0], "$100.0"
    values = [float(Decimal(re.sub(r"[^\d.]", "", p))) for p in str(pricing).split("$")[1:]]
    if len(values) == 1:
        return values, f"${values[0]}"
    return values[:2], f"${values[0]} to ${values[1]}"


def process_products(
    items: list[dict[str, Any]],
    attributes: dict[str, Any],
    human_instructions: dict[str, Any] | None,
    reviews: list[dict[str, Any]] | None,
    human_goals: bool = True,
    num_products: int | None = None,
) -> list[dict[str, Any]]:
    """Raw product records -> WebShop's product schema (as `load_products` builds it)."""
    all_reviews = {r["asin"]: r["reviews"] for r in reviews or []}
    all_ratings = {r["asin"]: r["average_rating"] for r in reviews or []}
    if num_products is not None:
        items = items[:num_products]
    products, seen = [], set()
    for raw in items:
        asin = raw["asin"]
        if asin == "nan" or len(asin) > 10 or asin in seen:
            continue
        seen.add(asin)
        p = dict(raw)
        p["Title"] = raw["name"]
        p["Description"] = raw["full_description"]
        p["Reviews"] = []
        for r in all_reviews.get(asin, []):
            r = dict(r)
            if "score" not in r:
                r["score"] = r.pop("stars")
            r["body"] = r.pop("review") if "review" in r else ""
            p["Reviews"].append(r)
        p["Rating"] = all_ratings.get(asin, "N.A.")
        small = raw["small_description"]
        p["BulletPoints"] = small if isinstance(small, list) else [small]
        p["pricing"], p["Price"] = _parse_pricing(raw.get("pricing"))
        options: dict[str, list[str]] = {}
        option_to_image: dict[str, Any] = {}
        for option_name, contents in (raw.get("customization_options") or {}).items():
            if contents is None:
                continue
            values = []
            for content in contents:
                value = content["value"].strip().replace("/", " | ").lower()
                values.append(value)
                option_to_image[value] = content.get("image")
            options[option_name.lower()] = values
        p["options"], p["option_to_image"] = options, option_to_image
        record = attributes.get(asin, {})
        p["Attributes"] = record.get("attributes", ["DUMMY_ATTR"])
        if human_goals:
            if human_instructions and asin in human_instructions:
                p["instructions"] = human_instructions[asin]
        else:
            p["instruction_text"] = record.get("instruction")
            p["instruction_attributes"] = record.get("instruction_attributes")
        p["MainImage"] = (raw.get("images") or [None])[0]
        p["query"] = raw["query"].lower().strip()
        products.append(p)
    return products


def product_prices(products: list[dict[str, Any]], rng: random.Random) -> dict[str, float]:
    """The price each product sells at: its single price, or uniform within its range."""
    prices = {}
    for p in products:
        pricing = p["pricing"]
        prices[p["asin"]] = pricing[0] if len(pricing) == 1 else rng.uniform(*pricing[:2])
    return prices


def _price_upper(price: float, rng: random.Random) -> tuple[float, str]:
    candidates = [p for p in PRICE_RANGE if p > price][:4]
    if len(candidates) < 2:
        return 1000000, ""
    _, upper = sorted(rng.sample(candidates, 2))
    return upper, f", and price lower than {upper:.2f} dollars"


def human_goals(products: list[dict[str, Any]], prices: dict[str, float], rng: random.Random) -> list[dict]:
    """Goals from human-written instructions (`items_human_ins.json`), as WebShop makes them."""
    goals = []
    for item in products:
        for ins in item.get("instructions", []):
            if not ins["instruction_attributes"]:
                continue  # WebShop skips instructions without attributes
            upper, price_text = _price_upper(prices[item["asin"]], rng)
            goals.append(
                {
                    "asin": item["asin"],
                    "category": item["category"],
                    "query": item["query"],
                    "name": item["name"],
                    "product_category": item["product_category"],
                    "instruction_text": ins["instruction"].strip(".") + price_text,
                    "attributes": ins["instruction_attributes"],
                    "price_upper": upper,
                    "goal_options": ins["instruction_options"],
                    "weight": 1,
                }
            )
    return goals


def synthetic_goals(
    products: list[dict[str, Any]], prices: dict[str, float], rng: random.Random
) -> list[dict]:
    """Goals from `items_ins_v2` instructions: one per combination of option values."""
    goals = []
    attribute_counts: dict[str, int] = defaultdict(int)
    for product in products:
        if not product.get("instruction_text") or not product.get("instruction_attributes"):
            continue
        upper, price_text = _price_upper(prices[product["asin"]], rng)
        names = sorted(product["options"])
        for combination in itertools.product(*(product["options"][n] for n in names)):
            goal_options = dict(zip(names, combination, strict=True))
            option_text = ", and ".join(f"{k}: {v}" for k, v in goal_options.items())
            option_text = " with " + option_text if option_text else ""
            goals.append(
                {
                    "asin": product["asin"],
                    "category": product["category"],
                    "query": product["query"],
                    "name": product["Title"],
                    "product_category": product["product_category"],
                    "instruction_text": f"{product['instruction_text']}{option_text}{price_text}",
                    "attributes": product["instruction_attributes"],
                    "price_upper": upper,
                    "goal_options": goal_options,
                }
            )
            for att in product["instruction_attributes"]:
                attribute_counts[att] += 1
    for goal in goals:  # rarer attributes weigh more (WebShop's sampling weight)
        goal["weight"] = sum(1.0 / attribute_counts[a] for a in goal["attributes"]) / len(goal["attributes"])
    return goals


def build_catalogue(
    items: list[dict[str, Any]],
    attributes: dict[str, Any],
    human_instructions: dict[str, Any] | None = None,
    reviews: list[dict[str, Any]] | None = None,
    *,
    human_goals_mode: bool = True,
    num_products: int | None = None,
    seed: int = DEFAULT_SEED,
    name: str = "catalogue",
    eval_goals: int = EVAL_GOALS,
) -> Catalogue:
    """Raw WebShop data -> a Catalogue (products in WebShop's schema, prices, shuffled goals)."""
    products = process_products(
        items, attributes, human_instructions, reviews, human_goals_mode, num_products
    )
    if not products:
        raise ValueError(f"{name}: no usable products")
    rng = random.Random(seed)
    prices = product_prices(products, rng)
    make = human_goals if human_goals_mode else synthetic_goals
    goals = make(products, prices, rng)
    if not goals:
        raise ValueError(f"{name}: no goals (no instruction with attributes)")
    random.Random(GOAL_SHUFFLE_SEED).shuffle(goals)
    return Catalogue(products, {p["asin"]: p for p in products}, prices, goals, name, eval_goals)


def _first_existing(directory: Path, names: tuple[str, ...]) -> Path:
    for n in names:
        if (directory / n).is_file():
            return directory / n
    raise FileNotFoundError(f"{directory}: none of {', '.join(names)} found (WebShop's data files)")


def load_official(
    directory: str | Path,
    num_products: int | None = None,
    human_goals_mode: bool = True,
    seed: int = DEFAULT_SEED,
) -> Catalogue:
    """Load WebShop's own data files from `directory` (items, attributes, human instructions,
    optional reviews), through the same processing as the bundled catalogue."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"WebShop data directory {directory} does not exist")
    items = json.loads(_first_existing(directory, ITEM_FILES).read_text())
    attributes = json.loads(_first_existing(directory, ATTRIBUTE_FILES).read_text())
    human = None
    if human_goals_mode:
        human = json.loads(_first_existing(directory, (HUMAN_INSTRUCTION_FILE,)).read_text())
    reviews = (
        json.loads((directory / REVIEW_FILE).read_text()) if (directory / REVIEW_FILE).is_file() else None
    )
    return build_catalogue(
        items,
        attributes,
        human,
        reviews,
        human_goals_mode=human_goals_mode,
        num_products=num_products,
        seed=seed,
        name=f"official({directory}, n={num_products}, human_goals={human_goals_mode})",
    )


# ----- the bundled, generated catalogue ---------------------------------------------------------
OPENERS = ("i need", "i am looking for", "i want", "find me", "i would like", "i'm searching for")


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _pick_options(rng: random.Random, kind: ProductType, text: str) -> dict[str, list[str]]:
    """Option values such that no two are confusable under WebShop's option matching (colour
    normalisation, fuzzy > 85) and none shows up in the product's own texts, so a wrong
    option really scores as wrong."""
    kept: list[tuple[str, bool]] = []  # (normalised value, matched fuzzily)
    options: dict[str, list[str]] = {}
    for group, values in kind.options.items():
        fuzzy = group not in EXACT_MATCH_OPTS
        chosen = []
        for v in rng.sample(values, k=min(len(values), rng.randint(2, 5))):
            nv = normalize_color(v)
            if nv in text or any(
                nu == nv or ((fuzzy or u_fuzzy) and token_set_ratio(nu, nv) > 85) for nu, u_fuzzy in kept
            ):
                continue
            chosen.append(v)
            kept.append((nv, fuzzy))
        if chosen:
            options[group] = chosen
    return options


def _one_product(rng: random.Random, kind: ProductType, asin: str) -> tuple[dict, dict, list[dict], dict]:
    brand = rng.choice(BRANDS[kind.category])
    attrs = rng.sample(kind.attributes, k=min(len(kind.attributes), rng.randint(3, 5)))
    in_title = attrs[: rng.randint(1, 2)]
    title = " ".join([brand, *(string.capwords(a) for a in in_title), string.capwords(kind.noun)])
    if kind.extras:
        title += " " + rng.choice(kind.extras)
    bullets = [
        f"{string.capwords(a)}: "
        + rng.choice(
            (
                f"this {kind.noun} is {a}.",
                f"{a} by design.",
                f"customers choose it for being {a}.",
            )
        )
        for a in attrs
    ]
    bullets.append(rng.choice(DESCRIPTION_SENTENCES[kind.category]))
    description = " ".join(
        [f"The {brand} {kind.noun}."] + rng.sample(DESCRIPTION_SENTENCES[kind.category], k=2)
    )
    text = " ".join([title, *bullets, description]).lower()
    options = _pick_options(rng, kind, text)
    low, high = kind.price
    price = round(rng.uniform(low, high), 2)
    pricing = f"${price:.2f}"
    if rng.random() < 0.15:  # some listings show a price range, as on Amazon
        pricing += f"${price + round(rng.uniform(1, 0.3 * high), 2):.2f}"
    reviews = [
        {"title": t, "review": body, "stars": str(stars)}
        for t, body, stars in rng.sample(REVIEW_LINES, k=rng.randint(0, 3))
    ]
    rating = round(sum(int(r["stars"]) for r in reviews) / len(reviews), 1) if reviews else "N.A."
    item = {
        "asin": asin,
        "name": title,
        "full_description": description,
        "small_description": bullets,
        "pricing": pricing,
        "category": kind.category,
        "query": kind.noun,
        "product_category": kind.product_category,
        "images": [f"images/{asin}.jpg"],
        "customization_options": {g: [{"value": v, "image": None} for v in vs] for g, vs in options.items()},
    }
    # Instructions: a subset of the product's attributes and one value per option group.
    human = []
    for _ in range(1 if rng.random() < 0.5 else 2):
        wanted = rng.sample(attrs, k=rng.randint(1, min(3, len(attrs))))
        picked = {g: rng.choice(vs) for g, vs in options.items()}
        noun = kind.noun
        if rng.random() < 0.5:
            ask = f"{rng.choice(OPENERS)} {_article(noun)} {noun} that is {' and '.join(wanted)}"
        else:
            ask = f"{rng.choice(OPENERS)} {_article(wanted[0])} {wanted[0]} {noun}"
            if len(wanted) > 1:
                ask += f" that is {' and '.join(wanted[1:])}"
        if picked:
            ask += " with " + ", and ".join(f"{g}: {v}" for g, v in picked.items())
        human.append(
            {
                "instruction": ask,
                "instruction_attributes": wanted,
                "instruction_options": list(picked.values()),
            }
        )
    synthetic = {
        "attributes": attrs,
        "instruction": human[0]["instruction"].split(" with ")[0],
        "instruction_attributes": human[0]["instruction_attributes"],
    }
    review_record = {"asin": asin, "reviews": reviews, "average_rating": rating}
    return item, synthetic, human, review_record


def generate_raw(seed: int = DEFAULT_SEED, num_products: int = DEFAULT_NUM_PRODUCTS) -> dict[str, Any]:
    """A catalogue in the official files' formats: {file name: content}. Product types are
    used round-robin (every category equally), then the items are shuffled."""
    if num_products < 1:
        raise ValueError("num_products must be >= 1")
    rng = random.Random(seed)
    items, attributes, human, reviews = [], {}, {}, []
    asins: set[str] = set()
    for i in range(num_products):
        kind = PRODUCT_TYPES[i % len(PRODUCT_TYPES)]
        asin = ""
        while not asin or asin in asins:
            asin = "B0" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=8))
        asins.add(asin)
        item, synthetic, ins, review = _one_product(rng, kind, asin)
        items.append(item)
        attributes[asin] = synthetic
        human[asin] = ins
        reviews.append(review)
    rng.shuffle(items)
    return {
        ITEM_FILES[0]: items,
        ATTRIBUTE_FILES[0]: attributes,
        HUMAN_INSTRUCTION_FILE: human,
        REVIEW_FILE: reviews,
    }


def write_raw(raw: dict[str, Any], directory: str | Path) -> Path:
    """Write `generate_raw` output as WebShop's files (so it can be reloaded with load_official)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for file_name, content in raw.items():
        (directory / file_name).write_text(json.dumps(content))
    return directory


@lru_cache(maxsize=4)
def generated_catalogue(seed: int = DEFAULT_SEED, num_products: int = DEFAULT_NUM_PRODUCTS) -> Catalogue:
    """The bundled catalogue, generated on first use and cached for the process."""
    raw = generate_raw(seed, num_products)
    return build_catalogue(
        raw[ITEM_FILES[0]],
        raw[ATTRIBUTE_FILES[0]],
        raw[HUMAN_INSTRUCTION_FILE],
        raw[REVIEW_FILE],
        seed=seed,
        name=f"generated(seed={seed}, n={num_products})",
    )


@lru_cache(maxsize=4)
def official_catalogue(
    directory: str, num_products: int | None = None, human_goals_mode: bool = True
) -> Catalogue:
    """`load_official`, cached per directory for the process."""
    return load_official(directory, num_products=num_products, human_goals_mode=human_goals_mode)
