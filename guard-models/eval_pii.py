"""Precision, recall and F1 of the ``pii`` check per structured type, on labelled synthetic text.

Data (generated with a fixed seed, see ``guard-models/data/pii_eval.md`` for sources and licences):
- sentence templates of presidio-evaluator==0.3.2 (MIT; ``presidio_evaluator/data_generator/
  raw_data/templates.txt``) that hold an e-mail, phone, card, IBAN, SSN or IP placeholder, plus
  templates written here for types the package has few of;
- values from Faker==40.54.0 (MIT) in several locales, in the formats presidio-evaluator's
  ``PhoneNumberProviderNew`` lists, and printed the ways people write them (cards in groups,
  IBANs with spaces, SSNs with and without dashes, compressed IPv6);
- hard negatives written here: Luhn-invalid card numbers, IBANs failing mod-97, order and
  tracking numbers, dates, times, versions, ISBNs, amounts, MAC addresses, UUIDs.

Two splits come from different seeds: ``dev`` (for looking at errors) and ``test`` (reported).
Spans are character offsets; a prediction counts when its span and type equal the label's
("exact"), and separately when it overlaps a label of the same type ("overlap").

    .venv/bin/python guard-models/eval_pii.py --generate   # write guard-models/data/pii_*.jsonl
    .venv/bin/python guard-models/eval_pii.py              # evaluate the committed test split
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT / "libs"))

TYPES = ("email", "phone", "payment_card", "iban", "us_ssn", "ip_address")
PLACEHOLDERS = {
    "email": "email",
    "phone_number": "phone",
    "credit_card_number": "payment_card",
    "iban": "iban",
    "ssn": "us_ssn",
    "ip_address": "ip_address",
}
LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL")
# presidio-evaluator's PhoneNumberProviderNew formats ("#" is a digit).
PRESIDIO_PHONE_FORMATS = (
    "##########", "###-###-####", "###-#######", "07700 ### ###", "07700 ######", "07700######",
    "(07700) ### ###", "(07700) ######", "(07700)######", "+447700 ### ###", "+447700 ######",
    "+447700######", "+91##########", "0##########", "+41 2# ### ## ##", "+41 (0)7# ### ## ##",
    "+46 (0)8 ### ### ##", "+46 (0)## ## ## ##", "+46 (0)### ### ##", "(###)###-####",
    "###.###.####", "###-###-####x###", "###-###-####x####", "(###)###-####x###",
    "###.###.####x####", "+1-###-###-####", "001-###-###-####", "+1-###-###-####x###",
)  # fmt: skip
# Formats of the examples and other common international ones.
OWN_PHONE_FORMATS = (
    "+44 20 #### ####", "(2##) ###-####", "030 #######", "+49 30 ######", "555-01##",
    "+33 1 ## ## ## ##", "+33 (0)6 ## ## ## ##", "+81 3-####-####", "+61 2 #### ####",
    "+1 (###) ###-####", "+34 9## ### ###", "+39 06 #### ####", "+31 20 ### ####",
)  # fmt: skip
OWN_TEMPLATES = {
    "email": [
        "Send the invoice to {{email}} by Friday.",
        "Contact: {{email}}",
        "cc {{email}}, {{email}}",
        "My address is {{email}}; please don't share it.",
        "<{{email}}> wrote: the build is green.",
    ],
    "phone": [
        "Call me on {{phone_number}} after six.",
        "You can reach the front desk at {{phone_number}}.",
        "Tel. {{phone_number}} / Fax {{phone_number}}",
        "My number changed to {{phone_number}}, save it please.",
        "WhatsApp: {{phone_number}}",
    ],
    "payment_card": [
        "Card number: {{credit_card_number}}, expiry 09/27, CVV 123.",
        "Charge {{credit_card_number}} for the order 20481.",
        "pay with {{credit_card_number}} please",
    ],
    "iban": [
        "Please wire the deposit to {{iban}} (BIC on the invoice).",
        "IBAN: {{iban}}",
        "Refund to my account {{iban}} instead of the card.",
        "The supplier's IBAN changed to {{iban}} as of March.",
        "Kontoverbindung {{iban}}, Verwendungszweck Rechnung 2024-118.",
    ],
    "us_ssn": [
        "SSN: {{ssn}}",
        "My social security number is {{ssn}}.",
        "Applicant SSN {{ssn}}, DOB 04/12/1986.",
        "Please verify ssn {{ssn}} against the W-2.",
        "Social Security No. {{ssn}}",
    ],
    "ip_address": [
        "The server at {{ip_address}} refuses connections.",
        "Whitelist {{ip_address}} in the firewall.",
        "Login from {{ip_address}} at 12:30:45 UTC was blocked.",
        "ping {{ip_address}}",
        "Requests from {{ip_address}} and {{ip_address}} time out.",
    ],
}
HARD_NEGATIVES = (
    "Order #{order} shipped on {date}; tracking {tracking}.",
    "Card {bad_card} was declined (invalid number).",
    "Invoice {order}, total ${amount}, due {date}.",
    "Upgrade from version {version} to {version2} before {date}.",
    "ISBN {isbn} is out of print.",
    "The meeting is at {time} on {date}.",
    "Account reference {tracking} was closed in {year}.",
    "Transfer to {bad_iban} failed: invalid IBAN.",
    "MAC address {mac} is on the deny list.",
    "Request id {uuid} took {ms} ms.",
    "We sold {amount} units in {year} and {year2}.",
    "Set the ratio to 16:9 and the timeout to {time}.",
    "Part number {order}-{ms} is back in stock.",
    "Coordinates 48.8584, 2.2945 mark the tower.",
    "The range is {ms}-{amount} and the score {order}.",
    "Population {amount} ({year} census), area {ms} km2.",
    "Build {version}.{ms} passed {order} tests.",
    "std::vector<int> v; v.reserve({ms});",
    "Serial no. {tracking}, lot {order}.",
)


def _faker_modules(cache: Path):
    from data._wheels import unpacked

    sys.path.insert(0, str(unpacked("faker", "40.54.0", cache)))
    presidio = unpacked("presidio-evaluator", "0.3.2", cache)
    from faker import Faker

    templates_file = presidio / "presidio_evaluator/data_generator/raw_data/templates.txt"
    return Faker, templates_file.read_text(encoding="utf-8").splitlines()


def generate(cache: Path, seed: int, per_type: int, negatives: int) -> list[dict]:
    """Labelled records: ``text``, ``spans`` [{start, end, label}], ``source``."""
    faker_class, template_lines = _faker_modules(cache)
    rng = random.Random(seed)
    fakers = {locale: faker_class(locale) for locale in LOCALES}
    for i, fake in enumerate(fakers.values()):
        fake.seed_instance(seed * 100 + i)
    templates = {t: list(OWN_TEMPLATES[t]) for t in TYPES}
    for line in template_lines:
        line = line.strip().replace("\\n", "\n")
        for placeholder, kind in PLACEHOLDERS.items():
            if "{{" + placeholder + "}}" in line:
                templates[kind].append(line)
    records = []
    for kind in TYPES:
        for _ in range(per_type):
            template = rng.choice(templates[kind])
            records.append(
                _fill(template, fakers, rng)
                | {
                    "source": "presidio-template"
                    if template not in OWN_TEMPLATES[kind]
                    else "own-template"
                }
            )
    for _ in range(negatives):
        records.append(_negative(rng, fakers["en_US"]))
    rng.shuffle(records)
    return records


def _fill(template: str, fakers: dict, rng: random.Random) -> dict:
    text, spans, position = "", [], 0
    while (start := template.find("{{", position)) != -1:
        end = template.index("}}", start)
        name = template[start + 2 : end]
        text += template[position:start]
        value = _value(name, fakers, rng)
        if name in PLACEHOLDERS:
            spans.append(
                {"start": len(text), "end": len(text) + len(value), "label": PLACEHOLDERS[name]}
            )
        text += value
        position = end + 2
    return {"text": text + template[position:], "spans": spans}


def _value(name: str, fakers: dict, rng: random.Random) -> str:
    fake = fakers[rng.choice(LOCALES)]
    us = fakers["en_US"]
    if name == "email":
        return rng.choice([fake.email, fake.free_email, fake.company_email])()
    if name == "phone_number":
        choice = rng.random()
        if choice < 0.4:
            return fake.phone_number()
        formats = PRESIDIO_PHONE_FORMATS if choice < 0.8 else OWN_PHONE_FORMATS
        return "".join(str(rng.randint(0, 9)) if c == "#" else c for c in rng.choice(formats))
    if name == "credit_card_number":
        return _card_format(us.credit_card_number(), rng)
    if name == "iban":
        iban = fake.iban()
        return (
            " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
            if rng.random() < 0.5
            else iban
        )
    if name == "ssn":
        ssn = us.ssn()
        return ssn.replace("-", "") if rng.random() < 0.3 else ssn
    if name == "ip_address":
        return us.ipv4() if rng.random() < 0.7 else us.ipv6()
    if name in ("person", "name", "name_female", "name_male"):
        return fake.name()
    if name == "address":
        return us.address().replace("\n", ", ")
    if name in ("date_time", "date_of_birth"):  # fixed bounds: Faker's default ends today
        return str(us.date_time_between(datetime(1940, 1, 1), datetime(2025, 1, 1)))
    if name == "year":
        return str(rng.randint(1950, 2025))
    provider = getattr(us, name, None)
    return str(provider()) if callable(provider) else us.word()


def _card_format(number: str, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.4:
        return number
    separator = " " if style < 0.75 else "-"
    if len(number) == 15:  # American Express prints 4-6-5
        return separator.join((number[:4], number[4:10], number[10:]))
    return separator.join(number[i : i + 4] for i in range(0, len(number), 4))


def _negative(rng: random.Random, fake) -> dict:
    digits = lambda n: "".join(str(rng.randint(0, 9)) for _ in range(n))  # noqa: E731
    card = fake.credit_card_number()
    bad_card = card[:-1] + str((int(card[-1]) + rng.randint(1, 9)) % 10)
    iban = fake.iban()
    bad_iban = (
        iban[:-1] + str((int(iban[-1]) + rng.randint(1, 9)) % 10)
        if iban[-1].isdigit()
        else iban[:2] + "00" + iban[4:]
    )
    fields = {
        "order": digits(rng.choice([6, 8, 9, 10])),
        "tracking": digits(rng.choice([10, 12, 16, 20])),
        "date": rng.choice(
            [
                f"{rng.randint(2000, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(2000, 2030)}",
                f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(2000, 2030)}",
            ]
        ),
        "amount": rng.choice(
            [
                f"{rng.randint(1, 999)},{digits(3)},{digits(3)}",
                digits(rng.randint(3, 7)),
                f"{rng.randint(1, 9999)}.{digits(2)}",
            ]
        ),
        "version": f"{rng.randint(0, 20)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}",
        "version2": f"{rng.randint(0, 20)}.{rng.randint(0, 30)}",
        "isbn": rng.choice(
            [
                f"978-{rng.randint(0, 9)}-{digits(2)}-{digits(6)}-{rng.randint(0, 9)}",
                f"{rng.randint(0, 9)}-{digits(3)}-{digits(5)}-{rng.randint(0, 9)}",
            ]
        ),
        "time": f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
        "bad_card": _card_format(bad_card, rng),
        "bad_iban": bad_iban,
        "mac": ":".join(f"{rng.randint(0, 255):02X}" for _ in range(6)),
        "uuid": fake.uuid4(),
        "ms": str(rng.randint(1, 999)),
        "year": str(rng.randint(1990, 2030)),
        "year2": str(rng.randint(1990, 2030)),
    }
    return {
        "text": rng.choice(HARD_NEGATIVES).format(**fields),
        "spans": [],
        "source": "hard-negative",
    }


def evaluate(records: list[dict]) -> dict:
    from llmops_guards.pii import find_pii

    exact = {t: Counter() for t in TYPES}
    overlap = {t: Counter() for t in TYPES}
    errors: list[dict] = []
    started = time.perf_counter()
    for record in records:
        text = record["text"]
        gold = {(s["start"], s["end"], s["label"]) for s in record["spans"]}
        predicted = {(m.start, m.end, m.category.removeprefix("pii.")) for m in find_pii(text)}
        for kind in TYPES:
            g = {s for s in gold if s[2] == kind}
            p = {s for s in predicted if s[2] == kind}
            exact[kind].update(tp=len(g & p), fp=len(p - g), fn=len(g - p))
            hits = lambda a, b: [x for x in a if any(x[0] < y[1] and y[0] < x[1] for y in b)]  # noqa: E731
            overlap[kind].update(
                tp=len(hits(g, p)), fn=len(g) - len(hits(g, p)), fp=len(p) - len(hits(p, g))
            )
        if gold != predicted:
            errors.append(
                {
                    "text": text,
                    "missed": sorted(gold - predicted),
                    "extra": sorted(predicted - gold),
                }
            )
    elapsed = time.perf_counter() - started
    return {
        "records": len(records),
        "ms_per_record": 1000 * elapsed / max(1, len(records)),
        "exact": {t: _prf(c) for t, c in exact.items()},
        "overlap": {t: _prf(c) for t, c in overlap.items()},
        "errors": errors,
    }


def _prf(c: Counter) -> dict:
    precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
    recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "support": c["tp"] + c["fn"],
        "tp": c["tp"],
        "fp": c["fp"],
        "fn": c["fn"],
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    default_cache = Path(
        os.environ.get("LLMOPS_GUARD_DATA", Path.home() / ".cache" / "llmops-guard-data")
    )
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--generate", action="store_true", help="write the dev and test splits first")
    p.add_argument("--cache", type=Path, default=default_cache, help="where wheels are unpacked")
    p.add_argument("--seed", type=int, default=8, help="dev split seed; the test split uses seed+1")
    p.add_argument("--per-type", type=int, default=300, help="positive records per type")
    p.add_argument("--negatives", type=int, default=600, help="hard-negative records")
    p.add_argument("--split", choices=("dev", "test"), default="test")
    p.add_argument("--data", type=Path, default=HERE / "data")
    p.add_argument("--errors", type=int, default=10, help="errors to print")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.generate:
        for offset, split in enumerate(("dev", "test")):
            records = generate(args.cache, args.seed + offset, args.per_type, args.negatives)
            path = args.data / f"pii_{split}.jsonl"
            with path.open("w", encoding="utf-8") as out:
                for record in records:
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
            print(f"wrote {len(records)} records to {path}")
    path = args.data / f"pii_{args.split}.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    result = evaluate(records)
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "errors"}, indent=2))
        return
    print(f"{path.name}: {result['records']} records, {result['ms_per_record']:.3f} ms each")
    print(f"{'type':14s} {'support':>7s} {'P':>6s} {'R':>6s} {'F1':>6s}   overlap F1")
    for kind in TYPES:
        e, o = result["exact"][kind], result["overlap"][kind]
        print(
            f"{kind:14s} {e['support']:7d} {e['precision']:6.3f} {e['recall']:6.3f} {e['f1']:6.3f}   {o['f1']:.3f}"
        )
    for error in result["errors"][: args.errors]:
        print(json.dumps(error, ensure_ascii=False))


if __name__ == "__main__":
    main()
