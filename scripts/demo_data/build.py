"""Build the fictional demo data set from the hand-written sources in src/.

    .venv/bin/python scripts/demo_data/build.py

Reads src/organizations.txt, src/offers_*.txt and src/needs_*.txt (a simple
record format, see the header comments of those files), assigns public refs
(off-001…, need-001…) in file order and writes organizations.jsonl,
offers.jsonl, needs.jsonl, judgments.tsv, links.tsv, README.md and src/key_map.tsv.
Every listing text is hand-written; this script only parses and numbers them.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from core.taxonomy import VND_PER_USD, Sector

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"

OFFER_FILES = [
    "offers_ai_fintech.txt",
    "offers_edu_3d_robotics.txt",
    "offers_agri_env_bio.txt",
    "offers_mat_energy_ict.txt",
    "offers_food_mech_ele_con.txt",
]
NEED_FILES = ["needs_1.txt", "needs_2.txt"]

SECTORS = [sector.value for sector in Sector]


def fail(msg: str) -> None:
    sys.exit(f"build.py: {msg}")


def parse_amounts(text: str) -> tuple[int | None, int | None, str]:
    amounts, cur = text.rsplit(" ", 1)
    if amounts.strip() == "-":
        return None, None, cur
    lo, hi = amounts.split("-")
    return int(lo), int(hi), cur


def parse_records(path: Path) -> list[dict]:
    """Records start with '@ ' header lines; T:/K:/D:/M:/X: fields follow."""
    records: list[dict] = []
    cur: dict | None = None
    field = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.rstrip()
        if line.startswith("#") and cur is None:
            continue
        if line.startswith("# ") and field != "D":
            continue
        if line.startswith("@ "):
            cur = {"header": [p.strip() for p in line[2:].split("|")], "file": path.name}
            records.append(cur)
            field = None
            continue
        if cur is None:
            continue
        m = re.match(r"^([TKDMX]): ?(.*)$", line)
        if m:
            field = m.group(1)
            cur[field] = m.group(2).strip()
        elif line.strip() == "":
            field = None
        elif field == "D":
            cur["D"] += " " + line.strip()
        else:
            fail(f"{path.name}: stray line {line!r}")
    return records


def parse_tags(text: str | None) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = defaultdict(list)
    if not text:
        return tags
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" in part:
            k, v = part.split("=", 1)
            tags[k.strip()].append(v.strip())
        else:
            tags[part].append("")
    return tags


def word_count(text: str) -> int:
    return len(text.split())


def main() -> None:
    # ---------------- organizations
    orgs = []
    for line in (SRC / "organizations.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        slug, kind, region, website, email, name = [p.strip() for p in line.split("|")]
        orgs.append(
            {
                "slug": slug,
                "name": name,
                "kind": kind,
                "region": region,
                "website": None if website == "-" else website,
                "contact_email": email,
                "webhook_url": None,
            }
        )
    org_by_slug = {o["slug"]: o for o in orgs}

    # ---------------- offers
    offers, offer_meta = [], {}
    for fname in OFFER_FILES:
        for rec in parse_records(SRC / fname):
            h = rec["header"]
            if len(h) != 10:
                fail(f"{fname}: bad offer header {h}")
            key, org, lang, sector, trl, ip, tt, price, region, status = h
            pmin, pmax, cur = parse_amounts(price)
            ref = f"off-{len(offers) + 1:03d}"
            if key in offer_meta:
                fail(f"duplicate offer key {key}")
            offer = {
                "ref": ref,
                "org": org,
                "title": rec["T"],
                "description": rec["D"],
                "sector": sector,
                "keywords": [k.strip() for k in rec["K"].split(";") if k.strip()],
                "trl": int(trl),
                "ip_status": ip,
                "transfer_types": tt.split(","),
                "price_min": pmin,
                "price_max": pmax,
                "currency": cur,
                "region": region,
                "language": lang,
                "status": status,
            }
            offers.append(offer)
            offer_meta[key] = {"offer": offer, "tags": parse_tags(rec.get("X"))}
    key_of_offer = {m["offer"]["ref"]: k for k, m in offer_meta.items()}

    # ---------------- needs
    needs, need_meta, judgments = [], {}, []
    for fname in NEED_FILES:
        for rec in parse_records(SRC / fname):
            h = rec["header"]
            if len(h) != 11:
                fail(f"{fname}: bad need header {h}")
            key, org, lang, sector, min_trl, tt, budget, deadline, region, conf, status = h
            bmin, bmax, cur = parse_amounts(budget)
            ref = f"need-{len(needs) + 1:03d}"
            need = {
                "ref": ref,
                "org": org,
                "title": rec["T"],
                "description": rec["D"],
                "sector": sector,
                "keywords": [k.strip() for k in rec["K"].split(";") if k.strip()],
                "min_trl": int(min_trl),
                "budget_min": bmin,
                "budget_max": bmax,
                "currency": cur,
                "deadline": None if deadline == "-" else deadline,
                "region": region,
                "language": lang,
                "transfer_types": tt.split(","),
                "confidentiality": conf,
                "status": status,
            }
            needs.append(need)
            matches = []
            if rec["M"].strip() != "none":
                for item in rec["M"].split(","):
                    okey, grade = item.strip().rsplit(":", 1)
                    if okey not in offer_meta:
                        fail(f"{key}: unknown offer key {okey}")
                    matches.append((okey, int(grade)))
                    judgments.append((ref, offer_meta[okey]["offer"]["ref"], int(grade)))
            need_meta[key] = {"need": need, "matches": matches, "tags": parse_tags(rec.get("X"))}

    # ---------------- sanity checks while building (check.py re-validates outputs)
    for o in offers:
        wc = word_count(o["description"])
        if not 40 <= wc <= 250:
            fail(f"{o['ref']} ({key_of_offer[o['ref']]}): description has {wc} words")
        if org_by_slug[o["org"]]["kind"] not in ("research_institute", "university"):
            fail(f"{o['ref']}: org {o['org']} is not a research institute/university")
        if not 3 <= len(o["keywords"]) <= 8:
            fail(f"{o['ref']}: {len(o['keywords'])} keywords")
    for n in needs:
        wc = word_count(n["description"])
        if not 40 <= wc <= 250:
            fail(f"{n['ref']}: description has {wc} words")
        if org_by_slug[n["org"]]["kind"] != "enterprise":
            fail(f"{n['ref']}: org {n['org']} is not an enterprise")
    for key, m in offer_meta.items():
        for tag in ("pair", "dup"):
            for other in m["tags"].get(tag, []):
                if other not in offer_meta:
                    fail(f"{key}: {tag} partner {other} unknown")
    for key, m in need_meta.items():
        for okey, _ in m["matches"]:
            if offer_meta[okey]["offer"]["status"] != "published":
                fail(f"{key}: judged offer {okey} is not published")

    # ---------------- write outputs
    def dump(name: str, rows: list[dict]) -> None:
        with open(HERE / name, "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")

    dump("organizations.jsonl", orgs)
    dump("offers.jsonl", offers)
    dump("needs.jsonl", needs)
    with open(HERE / "judgments.tsv", "w", encoding="utf-8") as fh:
        fh.write("need_ref\toffer_ref\tgrade\n")
        for need_ref, offer_ref, grade in judgments:
            fh.write(f"{need_ref}\t{offer_ref}\t{grade}\n")
    with open(SRC / "key_map.tsv", "w", encoding="utf-8") as fh:
        fh.write("ref\tkey\n")
        for k, m in offer_meta.items():
            fh.write(f"{m['offer']['ref']}\t{k}\n")
        for k, m in need_meta.items():
            fh.write(f"{m['need']['ref']}\t{k}\n")

    write_links(offer_meta)
    write_readme(orgs, offers, needs, judgments, offer_meta, need_meta)
    print(f"organizations={len(orgs)} offers={len(offers)} needs={len(needs)} judgments={len(judgments)}")


def write_links(offer_meta: dict) -> None:
    """links.tsv: every pair of offers describing one technology, from the dup= and pair= tags.

    Tagged listings form clusters (a Vietnamese offer, its English version and a re-post of either);
    every two members of a cluster are linked: a duplicate when they share a language, a translation
    when they do not.
    """
    parent = {key: key for key in offer_meta}

    def root(key: str) -> str:
        while parent[key] != key:
            key = parent[key]
        return key

    for key, m in offer_meta.items():
        for tag in ("pair", "dup"):
            for other in m["tags"].get(tag, []):
                parent[root(other)] = root(key)
    clusters: dict[str, list[dict]] = defaultdict(list)
    for key, m in offer_meta.items():
        clusters[root(key)].append(m["offer"])
    rows = []
    for members in clusters.values():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                first, second = sorted((a["ref"], b["ref"]))
                link = "duplicate" if a["language"] == b["language"] else "translation"
                rows.append((first, second, link))
    with open(HERE / "links.tsv", "w", encoding="utf-8") as fh:
        fh.write("kind\tref_a\tref_b\tlink_type\n")
        for first, second, link in sorted(rows):
            fh.write(f"offers\t{first}\t{second}\t{link}\n")


def to_vnd(amount: int | None, cur: str) -> int | None:
    if amount is None:
        return None
    return amount if cur == "VND" else amount * VND_PER_USD


def write_readme(orgs, offers, needs, judgments, offer_meta, need_meta) -> None:
    R = lambda key: offer_meta[key]["offer"]["ref"]  # noqa: E731
    lines: list[str] = []
    add = lines.append

    # counts
    off_sec = Counter((o["sector"], o["language"]) for o in offers)
    need_sec = Counter((n["sector"], n["language"]) for n in needs)
    kinds = Counter(o["kind"] for o in orgs)
    regions = Counter(o["region"] for o in orgs)
    off_lang = Counter(o["language"] for o in offers)
    need_lang = Counter(n["language"] for n in needs)
    off_status = Counter(o["status"] for o in offers)
    need_status = Counter(n["status"] for n in needs)
    need_conf = Counter(n["confidentiality"] for n in needs)
    grades = Counter(g for _, _, g in judgments)

    # tricky cases
    dup_pairs, seen = [], set()
    for k, m in offer_meta.items():
        for other in m["tags"].get("dup", []):
            pair = tuple(sorted((k, other)))
            if pair not in seen:
                seen.add(pair)
                dup_pairs.append(pair)
    bi_pairs, seen = [], set()
    for k, m in offer_meta.items():
        for other in m["tags"].get("pair", []):
            pair = tuple(sorted((k, other), key=lambda x: offer_meta[x]["offer"]["language"] != "vi"))
            if frozenset(pair) not in seen:
                seen.add(frozenset(pair))
                bi_pairs.append(pair)
    clashes = defaultdict(list)
    for k, m in offer_meta.items():
        for c in m["tags"].get("clash", []):
            clashes[c].append(k)
    nodia = [k for k, m in offer_meta.items() if "nodia" in m["tags"]]

    nomatch = [k for k, m in need_meta.items() if not m["matches"]]
    cross, nearmiss, budget_below = [], [], []
    for k, m in need_meta.items():
        n = m["need"]
        best = [okey for okey, g in m["matches"] if g == 2]
        if not best:
            continue
        if all(offer_meta[o]["offer"]["language"] != n["language"] for o in best):
            cross.append(k)
        best_trl = max(offer_meta[o]["offer"]["trl"] for o in best)
        if best_trl == n["min_trl"] - 1:
            nearmiss.append((k, best_trl))
        bmax = to_vnd(n["budget_max"], n["currency"])
        if bmax is not None:
            over = [
                o
                for o in best
                if offer_meta[o]["offer"]["price_min"] is not None
                and to_vnd(offer_meta[o]["offer"]["price_min"], offer_meta[o]["offer"]["currency"]) > bmax
            ]
            if over:
                budget_below.append((k, over))

    def nref(key: str) -> str:
        return need_meta[key]["need"]["ref"]

    def title(key: str, meta=offer_meta, field="offer") -> str:
        return meta[key][field]["title"]

    add("# Demo data set – HCMC technology exchange matching engine")
    add("")
    add("> **Fictional data.** Every organisation contact, listing, figure, result and judgment in this")
    add("> folder was written for this project as demo/test data. Some real institution names (e.g.")
    add("> *Trường Đại học Bách khoa – ĐHQG-HCM*, *Viện Sinh học Nhiệt đới*) are used for realism, but the")
    add("> technologies, prices, pilots and people attributed to them are invented; organisations marked")
    add(
        '> "(hư cấu)" and all enterprises are invented too. E-mail addresses use `example.vn`. No text was copied'
    )
    add("> from real listings. Do not present this data as real offers or needs.")
    add("")
    add("## Files")
    add("")
    add("| file | content |")
    add("|---|---|")
    add(
        f"| `organizations.jsonl` | {len(orgs)} organisations: "
        + ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()))
        + " |"
    )
    add(f"| `offers.jsonl` | {len(offers)} technology offers by universities / research institutes |")
    add(f"| `needs.jsonl` | {len(needs)} enterprise needs (problem statements) |")
    add(
        f"| `judgments.tsv` | {len(judgments)} graded need→offer pairs ({grades[2]} × grade 2, {grades[1]} × grade 1) |"
    )
    add(
        "| `links.tsv` | pairs of offers describing one technology (near-duplicates and translations), from "
        "the pairs listed below and their combinations |"
    )
    add("| `check.py` | validator: `.venv/bin/python scripts/demo_data/check.py` |")
    add("| `build.py`, `src/` | hand-written sources and the script that numbers them into the files above |")
    add("")
    add(
        "The listing texts are hand-written in `src/*.txt` (one record per listing, with a short mnemonic key);"
    )
    add(
        "`build.py` parses them, assigns refs in file order and regenerates the JSONL/TSV files and this README."
    )
    add("`src/key_map.tsv` maps refs to the mnemonic keys. Edit `src/`, then run `build.py` and `check.py`.")
    add("")
    add("## Counts")
    add("")
    add(
        f"Offers: {len(offers)} ({off_lang['vi']} vi / {off_lang['en']} en); status "
        + ", ".join(f"{v} {k}" for k, v in sorted(off_status.items()))
        + "."
    )
    add(
        f"Needs: {len(needs)} ({need_lang['vi']} vi / {need_lang['en']} en); status "
        + ", ".join(f"{v} {k}" for k, v in sorted(need_status.items()))
        + "; confidentiality "
        + ", ".join(f"{v} {k}" for k, v in sorted(need_conf.items()))
        + "."
    )
    add("Organisations by region: " + ", ".join(f"{k} {v}" for k, v in regions.most_common()) + ".")
    add("")
    add("| sector | offers vi | offers en | offers total | needs vi | needs en | needs total |")
    add("|---|---:|---:|---:|---:|---:|---:|")
    for s in SECTORS:
        ov, oe, nv, ne = off_sec[(s, "vi")], off_sec[(s, "en")], need_sec[(s, "vi")], need_sec[(s, "en")]
        add(f"| {s} | {ov} | {oe} | {ov + oe} | {nv} | {ne} | {nv + ne} |")
    add(
        f"| **total** | {off_lang['vi']} | {off_lang['en']} | {len(offers)} | {need_lang['vi']} | {need_lang['en']} | {len(needs)} |"
    )
    add("")
    add("## Deliberately tricky cases")
    add("")
    add(f"### Near-duplicate offers ({len(dup_pairs)} pairs)")
    add("")
    add("The same technology listed twice, by the same or by a different institute, with small wording,")
    add("price or keyword differences (a de-duplication test). Both listings of a pair are published and")
    add("both are judged relevant wherever the technology fits.")
    add("")
    for a, b in dup_pairs:
        oa, ob = offer_meta[a]["offer"], offer_meta[b]["offer"]
        same = "same org" if oa["org"] == ob["org"] else "different orgs"
        add(f"- {oa['ref']} ({oa['org']}) ≈ {ob['ref']} ({ob['org']}), {same}: {oa['title']}")
    add("")
    add(f"### Technologies listed in both languages ({len(bi_pairs)} pairs)")
    add("")
    add("A Vietnamese offer and its English version, published as separate offers (mostly by the same org).")
    add("")
    for a, b in bi_pairs:
        add(f"- {R(a)} (vi) ↔ {R(b)} (en): {title(b)}")
    add("")
    add("### Shared vocabulary, different problems")
    add("")
    clash_text = {
        "cam-bien": '"cảm biến" / sensor: shrimp-pond water quality vs river monitoring vs air quality vs livestock gas vs bridge structural health vs an IoT platform',
        "vision": "machine vision: fabric defect inspection vs grain/coffee colour sorting",
        "drone": "drones: crop spraying vs PV thermography vs facade crack inspection",
        "pipe": "water pipes: in-pipe camera robot vs pressure-based leak localisation (related but different problems)",
        "scoring": '"scoring": credit scoring vs essay scoring',
        "speech": "speech recognition: Vietnamese call-centre transcription vs children's English pronunciation",
        "traceability": "traceability/ledger: farm diary & QR traceability vs electronic warehouse receipts for lending",
        "vibration": "vibration: ML predictive maintenance vs simple condition-monitoring kit (these two do overlap in use)",
        "cashew": "cashew: cashew-apple beverage processing vs cashew-nut shelling machine",
    }
    for c, keys in clashes.items():
        add(f"- {clash_text.get(c, c)}: " + ", ".join(R(k) for k in keys))
    add("")
    add("### Vietnamese written without diacritics")
    add("")
    for k in nodia:
        add(f"- {R(k)}: {title(k)}")
    add("")
    add("### Needs with no good offer (no rows in judgments.tsv)")
    add("")
    for k in nomatch:
        add(f"- {nref(k)}: {need_meta[k]['need']['title']}")
    add("")
    add("### Needs whose best offers are all in the other language")
    add("")
    for k in cross:
        n = need_meta[k]["need"]
        best = [offer_meta[o]["offer"]["ref"] for o, g in need_meta[k]["matches"] if g == 2]
        add(f"- {n['ref']} ({n['language']}) → {', '.join(best)}")
    add("")
    add("### Near-miss on TRL (best offer is one level below the need's min_trl)")
    add("")
    for k, trl in nearmiss:
        n = need_meta[k]["need"]
        best = [offer_meta[o]["offer"]["ref"] for o, g in need_meta[k]["matches"] if g == 2]
        add(f"- {n['ref']} requires TRL ≥ {n['min_trl']}; best offer(s) {', '.join(best)} at TRL {trl}")
    add("")
    add(f"### Budget below the offer price (compared at {VND_PER_USD:,} VND/USD)")
    add("")
    for k, over in budget_below:
        n = need_meta[k]["need"]
        parts = []
        for o in over:
            of = offer_meta[o]["offer"]
            parts.append(f"{of['ref']} from {of['price_min']:,} {of['currency']}")
        add(f"- {n['ref']}: budget up to {n['budget_max']:,} {n['currency']}; " + "; ".join(parts))
    add("")
    add("### Drafts and archived listings")
    add("")
    for st in ("draft", "archived"):
        add(f"- offers {st}: " + ", ".join(o["ref"] for o in offers if o["status"] == st))
    add("- needs draft: " + ", ".join(n["ref"] for n in needs if n["status"] == "draft"))
    add("")
    add("## How the judgments were made")
    add("")
    add("Offers and needs were written together, sector by sector, so that most needs have one or more")
    add("real matches. Each need was then judged against the whole offer set the way a broker would:")
    add("")
    add("- **grade 2** – the offer solves the stated problem (same technology and application context);")
    add("  a broker would definitely introduce the two parties. Both listings of a near-duplicate pair and")
    add("  both language versions of a bilingual pair get the same grade.")
    add("- **grade 1** – worth a look: the offer covers part of the problem, or an adjacent technology that")
    add("  could be adapted (e.g. a ship-bridge simulator for a crane-simulator need, a drone crack survey")
    add("  for a bridge-monitoring need, a biomass boiler retrofit for a factory energy need).")
    add("- Pairs not listed are not relevant (grade 0), including offers that merely share vocabulary.")
    add("- Grades reflect technical/problem fit only. TRL near-misses and budgets below the asking price are")
    add("  **not** down-graded – they are listed above so that ranking and filtering can be evaluated")
    add("  separately. Transfer types and regions were not used for grading either.")
    add("- Cross-language matches are judged exactly like same-language ones.")
    add("- Draft and archived offers are never judged relevant (an engine should not surface them);")
    add("  draft needs are judged normally.")
    add("- The needs with no good offer have no rows; any result for them is a false positive.")
    add("")
    (HERE / "README.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
