"""Validate the fictional demo data set in scripts/demo_data/.

    .venv/bin/python scripts/demo_data/check.py [DATA_DIR]

Standard library only. Exits with status 1 and lists every problem found,
or prints a short summary and exits 0.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from datetime import date
from pathlib import Path

from core.taxonomy import (
    Confidentiality,
    Currency,
    IPStatus,
    Language,
    ListingStatus,
    OrgKind,
    Region,
    Sector,
    TransferType,
)

SECTORS = {sector.value for sector in Sector}
PRIORITY_SECTORS = {"ai", "fintech", "edtech", "3d_printing", "robotics", "smart_agriculture"}
ORG_KINDS = {kind.value for kind in OrgKind}
REGIONS = {region.value for region in Region}
IP_STATUSES = {status.value for status in IPStatus}
TRANSFER_TYPES = {transfer.value for transfer in TransferType}
CURRENCIES = {currency.value for currency in Currency}
LANGUAGES = {language.value for language in Language}
STATUSES = {status.value for status in ListingStatus}
CONFIDENTIALITY = {level.value for level in Confidentiality}

ORG_FIELDS = {"slug", "name", "kind", "region", "website", "contact_email", "webhook_url"}
OFFER_FIELDS = {
    "ref",
    "org",
    "title",
    "description",
    "sector",
    "keywords",
    "trl",
    "ip_status",
    "transfer_types",
    "price_min",
    "price_max",
    "currency",
    "region",
    "language",
    "status",
}
NEED_FIELDS = {
    "ref",
    "org",
    "title",
    "description",
    "sector",
    "keywords",
    "min_trl",
    "budget_min",
    "budget_max",
    "currency",
    "deadline",
    "region",
    "language",
    "transfer_types",
    "confidentiality",
    "status",
}

MIN_OFFERS, MIN_NEEDS, MIN_ORGS = 150, 60, 25
MIN_OFFERS_PER_SECTOR, MIN_OFFERS_PER_PRIORITY_SECTOR = 6, 12
MIN_INSTITUTES, MIN_ENTERPRISES = 14, 14
MAX_DESCRIPTION_CHARS = 5000
DESCRIPTION_WORDS = (40, 250)
KEYWORDS_PER_LISTING = (3, 8)
LANGUAGE_SHARE = (0.40, 0.60)
MIN_NO_MATCH_NEEDS = 3

VI_DIACRITICS = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.I)


class Report:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.notes: list[str] = []

    def err(self, where: str, msg: str) -> None:
        self.errors.append(f"{where}: {msg}")

    def note(self, msg: str) -> None:
        self.notes.append(msg)


def load_jsonl(path: Path, rep: Report) -> list[dict]:
    rows: list[dict] = []
    if not path.exists():
        rep.err(path.name, "file missing")
        return rows
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                rep.err(f"{path.name}:{i}", "blank line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                rep.err(f"{path.name}:{i}", f"invalid JSON ({exc})")
                continue
            if not isinstance(obj, dict):
                rep.err(f"{path.name}:{i}", "line is not a JSON object")
                continue
            rows.append(obj)
    return rows


def check_fields(where: str, obj: dict, required: set[str], rep: Report) -> bool:
    missing = required - obj.keys()
    extra = obj.keys() - required
    if missing:
        rep.err(where, f"missing fields {sorted(missing)}")
    if extra:
        rep.err(where, f"unexpected fields {sorted(extra)}")
    return not missing


def is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_text(where: str, obj: dict, rep: Report) -> None:
    title, desc = obj.get("title"), obj.get("description")
    if not isinstance(title, str) or not title.strip():
        rep.err(where, "empty title")
    if not isinstance(desc, str) or not desc.strip():
        rep.err(where, "empty description")
        return
    if len(desc) > MAX_DESCRIPTION_CHARS:
        rep.err(where, f"description longer than {MAX_DESCRIPTION_CHARS} characters ({len(desc)})")
    words = len(desc.split())
    if not DESCRIPTION_WORDS[0] <= words <= DESCRIPTION_WORDS[1]:
        rep.err(
            where, f"description has {words} words (expected {DESCRIPTION_WORDS[0]}–{DESCRIPTION_WORDS[1]})"
        )
    # English listings may quote Vietnamese names; only flag heavy use
    if obj.get("language") == "en" and len(VI_DIACRITICS.findall(title + " " + desc)) > 8:
        rep.err(where, "English listing contains a lot of Vietnamese text")


def check_common(where: str, obj: dict, orgs: dict, rep: Report) -> None:
    check_text(where, obj, rep)
    if obj.get("sector") not in SECTORS:
        rep.err(where, f"unknown sector {obj.get('sector')!r}")
    if obj.get("region") not in REGIONS:
        rep.err(where, f"unknown region {obj.get('region')!r}")
    if obj.get("language") not in LANGUAGES:
        rep.err(where, f"unknown language {obj.get('language')!r}")
    if obj.get("currency") not in CURRENCIES:
        rep.err(where, f"unknown currency {obj.get('currency')!r}")
    if obj.get("status") not in STATUSES:
        rep.err(where, f"unknown status {obj.get('status')!r}")
    if obj.get("org") not in orgs:
        rep.err(where, f"unknown org {obj.get('org')!r}")
    kws = obj.get("keywords")
    if not isinstance(kws, list) or not all(isinstance(k, str) and k.strip() for k in kws):
        rep.err(where, "keywords must be a list of non-empty strings")
    else:
        if not KEYWORDS_PER_LISTING[0] <= len(kws) <= KEYWORDS_PER_LISTING[1]:
            rep.err(
                where, f"{len(kws)} keywords (expected {KEYWORDS_PER_LISTING[0]}–{KEYWORDS_PER_LISTING[1]})"
            )
        if len({k.lower() for k in kws}) != len(kws):
            rep.err(where, "duplicate keywords")
    tts = obj.get("transfer_types")
    if not isinstance(tts, list) or not tts:
        rep.err(where, "transfer_types must be a non-empty list")
    else:
        bad = [t for t in tts if t not in TRANSFER_TYPES]
        if bad:
            rep.err(where, f"unknown transfer_types {bad}")
        if len(set(tts)) != len(tts):
            rep.err(where, "duplicate transfer_types")


def check_amounts(where: str, lo, hi, currency, rep: Report, label: str) -> None:
    for name, v in ((f"{label}_min", lo), (f"{label}_max", hi)):
        if v is not None and (not is_num(v) or v <= 0):
            rep.err(where, f"{name} must be a positive number or null, got {v!r}")
    if (lo is None) != (hi is None):
        rep.err(where, f"{label}_min and {label}_max must both be set or both be null")
    if is_num(lo) and is_num(hi):
        if lo > hi:
            rep.err(where, f"{label}_min {lo} > {label}_max {hi}")
        if label == "price":
            rng = (50_000_000, 20_000_000_000) if currency == "VND" else (2_000, 2_000_000)
            if not (rng[0] <= lo and hi <= rng[1]):
                rep.err(where, f"implausible {currency} price range {lo}–{hi}")


def check_share(label: str, rows: list[dict], rep: Report) -> None:
    if not rows:
        return
    langs = Counter(r.get("language") for r in rows)
    share = langs["vi"] / len(rows)
    if not LANGUAGE_SHARE[0] <= share <= LANGUAGE_SHARE[1]:
        rep.err(
            label, f"Vietnamese share {share:.0%} outside {LANGUAGE_SHARE[0]:.0%}–{LANGUAGE_SHARE[1]:.0%}"
        )
    rep.note(f"{label}: {langs['vi']} vi / {langs['en']} en ({share:.0%} vi)")


def main(data_dir: Path) -> int:
    rep = Report()

    # ---------------- organizations
    orgs_rows = load_jsonl(data_dir / "organizations.jsonl", rep)
    orgs: dict[str, dict] = {}
    for i, o in enumerate(orgs_rows, 1):
        where = f"organizations.jsonl:{i} ({o.get('slug')})"
        if not check_fields(where, o, ORG_FIELDS, rep):
            continue
        slug = o["slug"]
        if not isinstance(slug, str) or not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug):
            rep.err(where, f"bad slug {slug!r}")
        if slug in orgs:
            rep.err(where, f"duplicate slug {slug}")
        orgs[slug] = o
        if not isinstance(o["name"], str) or not o["name"].strip():
            rep.err(where, "empty name")
        if o["kind"] not in ORG_KINDS:
            rep.err(where, f"unknown kind {o['kind']!r}")
        if o["region"] not in REGIONS:
            rep.err(where, f"unknown region {o['region']!r}")
        if o["website"] is not None and not (
            isinstance(o["website"], str) and o["website"].startswith("https://")
        ):
            rep.err(where, "website must be https://… or null")
        if not (
            isinstance(o["contact_email"], str)
            and re.fullmatch(r"[^@\s]+@([a-z0-9-]+\.)*example\.vn", o["contact_email"])
        ):
            rep.err(where, f"contact_email must be an @example.vn address, got {o['contact_email']!r}")
        if o["webhook_url"] is not None:
            rep.err(where, "webhook_url must be null in demo data")
    kinds = Counter(o.get("kind") for o in orgs.values())
    if len(orgs) < MIN_ORGS:
        rep.err("organizations", f"{len(orgs)} organisations, need ≥ {MIN_ORGS}")
    if kinds["research_institute"] + kinds["university"] < MIN_INSTITUTES:
        rep.err(
            "organizations",
            f"only {kinds['research_institute'] + kinds['university']} institutes/universities",
        )
    if kinds["enterprise"] < MIN_ENTERPRISES:
        rep.err("organizations", f"only {kinds['enterprise']} enterprises")
    ops = [s for s, o in orgs.items() if o.get("kind") == "exchange_operator"]
    if ops != ["hcm-exchange"]:
        rep.err("organizations", f"expected exactly one exchange_operator 'hcm-exchange', got {ops}")
    rep.note(f"organizations: {len(orgs)} ({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))})")

    # ---------------- offers
    offers_rows = load_jsonl(data_dir / "offers.jsonl", rep)
    offers: dict[str, dict] = {}
    for i, o in enumerate(offers_rows, 1):
        where = f"offers.jsonl:{i} ({o.get('ref')})"
        if not check_fields(where, o, OFFER_FIELDS, rep):
            continue
        ref = o["ref"]
        if not (isinstance(ref, str) and re.fullmatch(r"off-\d{3,}", ref)):
            rep.err(where, f"bad ref {ref!r}")
        if ref in offers:
            rep.err(where, f"duplicate ref {ref}")
        offers[ref] = o
        check_common(where, o, orgs, rep)
        if o["org"] in orgs and orgs[o["org"]].get("kind") not in ("research_institute", "university"):
            rep.err(
                where,
                f"offer org {o['org']} is a {orgs[o['org']].get('kind')}, not a research institute/university",
            )
        if not (isinstance(o["trl"], int) and not isinstance(o["trl"], bool) and 1 <= o["trl"] <= 9):
            rep.err(where, f"trl must be an integer 1–9, got {o['trl']!r}")
        if o["ip_status"] not in IP_STATUSES:
            rep.err(where, f"unknown ip_status {o['ip_status']!r}")
        check_amounts(where, o["price_min"], o["price_max"], o["currency"], rep, "price")
    n_off = len(offers)
    if n_off < MIN_OFFERS:
        rep.err("offers", f"{n_off} offers, need ≥ {MIN_OFFERS}")
    sec = Counter(o.get("sector") for o in offers.values())
    for s in sorted(SECTORS):
        need = MIN_OFFERS_PER_PRIORITY_SECTOR if s in PRIORITY_SECTORS else MIN_OFFERS_PER_SECTOR
        if sec[s] < need:
            rep.err("offers", f"sector {s} has {sec[s]} offers, need ≥ {need}")
    check_share("offers", list(offers.values()), rep)
    st = Counter(o.get("status") for o in offers.values())
    if st["published"] < 0.9 * n_off:
        rep.err("offers", f"only {st['published']} published offers")
    rep.note(f"offers status: {dict(sorted(st.items()))}")

    # ---------------- needs
    needs_rows = load_jsonl(data_dir / "needs.jsonl", rep)
    needs: dict[str, dict] = {}
    for i, n in enumerate(needs_rows, 1):
        where = f"needs.jsonl:{i} ({n.get('ref')})"
        if not check_fields(where, n, NEED_FIELDS, rep):
            continue
        ref = n["ref"]
        if not (isinstance(ref, str) and re.fullmatch(r"need-\d{3,}", ref)):
            rep.err(where, f"bad ref {ref!r}")
        if ref in needs:
            rep.err(where, f"duplicate ref {ref}")
        needs[ref] = n
        check_common(where, n, orgs, rep)
        if n["org"] in orgs and orgs[n["org"]].get("kind") != "enterprise":
            rep.err(where, f"need org {n['org']} is a {orgs[n['org']].get('kind')}, not an enterprise")
        if not (
            isinstance(n["min_trl"], int) and not isinstance(n["min_trl"], bool) and 1 <= n["min_trl"] <= 9
        ):
            rep.err(where, f"min_trl must be an integer 1–9, got {n['min_trl']!r}")
        check_amounts(where, n["budget_min"], n["budget_max"], n["currency"], rep, "budget")
        if n["confidentiality"] not in CONFIDENTIALITY:
            rep.err(where, f"unknown confidentiality {n['confidentiality']!r}")
        if n["deadline"] is not None:
            try:
                d = date.fromisoformat(n["deadline"])
                if not 2027 <= d.year <= 2028 or len(n["deadline"]) != 10:
                    rep.err(where, f"deadline {n['deadline']} not YYYY-MM-DD in 2027–2028")
            except (TypeError, ValueError):
                rep.err(where, f"bad deadline {n['deadline']!r}")
    if len(needs) < MIN_NEEDS:
        rep.err("needs", f"{len(needs)} needs, need ≥ {MIN_NEEDS}")
    nsec = Counter(n.get("sector") for n in needs.values())
    missing = sorted(SECTORS - set(nsec))
    if missing:
        rep.err("needs", f"no needs in sectors {missing}")
    check_share("needs", list(needs.values()), rep)
    conf = Counter(n.get("confidentiality") for n in needs.values())
    if needs and not 0.08 <= conf["brokers_only"] / len(needs) <= 0.30:
        rep.err("needs", f"brokers_only share {conf['brokers_only']}/{len(needs)} far from ~1 in 6")
    rep.note(f"needs confidentiality: {dict(sorted(conf.items()))}")

    # ---------------- judgments
    jpath = data_dir / "judgments.tsv"
    judged: Counter = Counter()
    pairs: set[tuple[str, str]] = set()
    if not jpath.exists():
        rep.err("judgments.tsv", "file missing")
    else:
        lines = jpath.read_text(encoding="utf-8").splitlines()
        if not lines or lines[0] != "need_ref\toffer_ref\tgrade":
            rep.err("judgments.tsv:1", "header must be 'need_ref<TAB>offer_ref<TAB>grade'")
        grades = Counter()
        for i, line in enumerate(lines[1:], 2):
            where = f"judgments.tsv:{i}"
            parts = line.split("\t")
            if len(parts) != 3:
                rep.err(where, f"expected 3 tab-separated columns, got {len(parts)}")
                continue
            nref, oref, grade = parts
            if nref not in needs:
                rep.err(where, f"unknown need {nref}")
            if oref not in offers:
                rep.err(where, f"unknown offer {oref}")
            elif offers[oref].get("status") != "published":
                rep.err(
                    where, f"offer {oref} is {offers[oref].get('status')}, judged offers must be published"
                )
            if grade not in ("1", "2"):
                rep.err(where, f"grade must be 1 or 2, got {grade!r}")
            if (nref, oref) in pairs:
                rep.err(where, f"duplicate pair {nref} {oref}")
            pairs.add((nref, oref))
            judged[nref] += 1
            grades[grade] += 1
        unjudged = sorted(r for r in needs if judged[r] == 0)
        if len(unjudged) < MIN_NO_MATCH_NEEDS:
            rep.err(
                "judgments", f"only {len(unjudged)} needs without matches, expected ≥ {MIN_NO_MATCH_NEEDS}"
            )
        if len(unjudged) > 0.15 * max(len(needs), 1):
            rep.err("judgments", f"{len(unjudged)} needs have no judgments – too many")
        too_many = [r for r, c in judged.items() if c > 8]
        if too_many:
            rep.err("judgments", f"needs with more than 8 judged offers: {too_many}")
        rep.note(
            f"judgments: {sum(grades.values())} rows ({grades['2']} × grade 2, {grades['1']} × grade 1); "
            f"needs without matches: {', '.join(unjudged)}"
        )

    # ---------------- duplicate and translation links
    lpath = data_dir / "links.tsv"
    if not lpath.exists():
        rep.err("links.tsv", "file missing")
    else:
        lines = lpath.read_text(encoding="utf-8").splitlines()
        if not lines or lines[0] != "kind\tref_a\tref_b\tlink_type":
            rep.err("links.tsv:1", "header must be 'kind<TAB>ref_a<TAB>ref_b<TAB>link_type'")
        listings = {"offers": offers, "needs": needs}
        linked: set[tuple[str, str, str]] = set()
        types: Counter = Counter()
        for i, line in enumerate(lines[1:], 2):
            where = f"links.tsv:{i}"
            parts = line.split("\t")
            if len(parts) != 4:
                rep.err(where, f"expected 4 tab-separated columns, got {len(parts)}")
                continue
            kind, first, second, link_type = parts
            known = listings.get(kind)
            if known is None:
                rep.err(where, f"kind must be offers or needs, got {kind!r}")
                continue
            if first not in known or second not in known:
                rep.err(where, f"unknown {kind} ref in {first} {second}")
                continue
            if not first < second:
                rep.err(where, f"refs must be in order: {first} {second}")
            if (kind, first, second) in linked:
                rep.err(where, f"duplicate pair {first} {second}")
            linked.add((kind, first, second))
            same = known[first].get("language") == known[second].get("language")
            if link_type != ("duplicate" if same else "translation"):
                rep.err(where, f"{first} {second}: {link_type!r} but the languages say otherwise")
            if any(known[ref].get("status") != "published" for ref in (first, second)):
                rep.err(where, f"{first} {second}: linked listings must be published")
            types[link_type] += 1
        rep.note(f"links: {types['duplicate']} near-duplicate and {types['translation']} translation pairs")

    # ---------------- README
    readme = data_dir / "README.md"
    if not readme.exists():
        rep.err("README.md", "file missing")
    elif "fictional" not in readme.read_text(encoding="utf-8").lower():
        rep.err("README.md", "must state that the data set is fictional")

    if rep.errors:
        print(f"FAILED: {len(rep.errors)} problem(s)")
        for e in rep.errors:
            print("  -", e)
        return 1
    print("OK")
    for n in rep.notes:
        print("  ", n)
    print("   offers per sector:", ", ".join(f"{s} {sec[s]}" for s in sorted(sec)))
    print("   needs per sector: ", ", ".join(f"{s} {nsec[s]}" for s in sorted(nsec)))
    return 0


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    sys.exit(main(target))
