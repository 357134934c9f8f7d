"""Environment detection: accuracy on the labelled set, and speed (figures for the README).

    .venv/bin/python benchmarks/bench_detect.py           # the figures
    .venv/bin/python benchmarks/bench_detect.py --build   # rewrite the labelled set
    .venv/bin/python benchmarks/bench_detect.py --show-holdout   # list held-out misses too

1. Accuracy of ``detect_environment`` on ``tests/fixtures/detect_labelled.jsonl``, on each half
   of its seeded 50/50 split (``tune``: the half rules may be tuned on; ``holdout``: never used
   for tuning) and, within each half, on answers whose main block has a fence tag and on those
   with a bare fence; every miss is listed.
2. Throughput of ``extract`` over all 1,500 bundled Arena-Hard answers (answers per second),
   and the distribution of the environments it finds there.

The labelled set is built by :func:`build_labelled` (``--build``) from hand labels only: the 84
rows of ``tests/fixtures/responses/labels.jsonl``, the real answers listed in :data:`NEW_REAL`
(labelled by reading them, before any rule change), two real bare fences from AutoCodeArena
prompts, the cases in :data:`WRITTEN`, and cases derived from all of these (a fence tag
stripped, the answer cut mid-statement, prose glued into an unclosed fence, a stray closing
fence), which keep their original's label. The detector is never consulted to label a case.
"""

from __future__ import annotations

import collections
import json
import random
import re
import sys
import time
from pathlib import Path

from arena_kit.blocks import block_language, fenced_blocks
from arena_kit.extract import detect_environment, extract

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "tests" / "fixtures" / "detect_labelled.jsonl"
OLD_LABELS = ROOT / "tests" / "fixtures" / "responses" / "labels.jsonl"
SEED = 13
F = "```"

_MODELS = {"4a": "gpt-4-0314", "4b": "gpt-4-0613", "35": "gpt-3.5-turbo-0125"}

# Real Arena-Hard answers added to the set: (model key, uid prefix, environment, language, note).
# Labelled by reading each answer: the environment a person would pick to run and see it.
NEW_REAL: list[tuple[str, str, str | None, str | None, str]] = [
    ("4a", "204003c0", "python", "python", "quadratic solver"),
    ("4a", "5733129d", "python", "python", "tuple comprehension"),
    ("35", "cb04ca39", "python", "python", "sulley fuzzer + untagged blocks"),
    ("4b", "68ab3fd2", "python", "python", "pandas_ta snippet"),
    ("4a", "805a15f8", "python", "python", "bs4 scraper after a bash block"),
    ("4a", "595fc95f", "python", "python", "classes, two python blocks"),
    ("35", "3f6cb811", "python", "python", "function"),
    ("4b", "3bcc4c4c", "python", "python", "shutil script"),
    ("4b", "e82a46f0", "python", "python", "sqlite snippet, no imports"),
    ("4a", "ac6ec3fd", "python", "python", "torch module class"),
    ("4b", "20c9d951", "python", "python", "four python blocks"),
    ("4a", "11c4fbf7", "python", "python", "django models"),
    ("4a", "9cb276c0", "python", "python", "click script between bash blocks"),
    ("4b", "50507224", "python", "python", "two python blocks"),
    ("35", "7e1605ae", "python", "python", "python + untagged output"),
    ("35", "df95f4c8", "python", "python", "tabula"),
    ("4b", "14f36f0c", "python", "python", "one-line odoo snippet"),
    ("4a", "06991f6d", "python", "python", "django models, two blocks"),
    ("35", "89fde41f", "python", "python", "PySide6 window"),
    # A web server: `server` since that environment exists (issue 13; was "python").
    ("4a", "0394b670", "server", "python", "Flask app with an HTML template in a string"),
    ("4b", "40b8576c", "python", "python", "classes"),
    ("4a", "7cef8719", "python", "python", "xgboost/shap after a bash block"),
    ("35", "02b50e3f", "python", "python", "math function"),
    ("4b", "da561170", "python", "python", "matplotlib simulation"),
    ("35", "cd40f4fe", "python", "python", "subprocess tool"),
    ("35", "815c0824", "javascript", "javascript", "strategy pattern"),
    ("4a", "4daa7766", "javascript", "javascript", "function"),
    ("4b", "e9157e4e", "javascript", "javascript", "three js blocks"),
    ("4b", "9db47b05", "javascript", "javascript", "two js blocks"),
    ("4b", "5741eb06", "javascript", "javascript", "DOM one-liner function"),
    ("4a", "479edf88", "javascript", "javascript", "XMLHttpRequest promise"),
    ("4a", "19ee332c", "react", "javascript", "Next.js sidebar JSX tagged javascript"),
    ("4b", "3bed08b5", "javascript", "javascript", "Object.entries"),
    ("4a", "69a536cc", "javascript", "javascript", "discord.js bot with json/bash blocks"),
    ("4b", "f776a95f", "javascript", "javascript", "fetch + blob"),
    ("4b", "f7965ac0", "typescript", "typescript", "neuron class"),
    ("35", "31615ee9", "typescript", "typescript", "typeof type"),
    ("35", "f7965ac0", "typescript", "typescript", "RNN class"),
    ("35", "d1ef27d9", "typescript", "typescript", "TCP header class"),
    ("35", "dbc2b076", "rust", "rust", "match function"),
    ("35", "ba33e4f1", "rust", "rust", "sieve"),
    ("4a", "ba33e4f1", "rust", "rust", "lazy_static + toml block"),
    ("35", "02e11c26", "rust", "rust", "clap CLI with toml and bash"),
    ("4b", "02e11c26", "rust", "rust", "std::env CLI"),
    ("4b", "e53db29f", "rust", "rust", "enum + fn"),
    ("4b", "752135a0", "rust", "rust", "closure snippets"),
    ("4b", "166a57d6", "rust", "rust", "yt-dlp runner"),
    ("35", "6462f12c", "c", "c", "function, no includes"),
    ("4b", "2b9b6441", "c", "c", "function, no includes"),
    ("4a", "2b9b6441", "c", "c", "function + includes"),
    ("35", "face6a55", "c", "c", "competitive programming"),
    ("4b", "51b92fc6", "c", "c", "JNI C after a kotlin block"),
    ("4b", "a3977c9d", "cpp", "cpp", "printf one-liner tagged cpp"),
    ("35", "dc7f0ea6", "cpp", "cpp", "socket server"),
    ("35", "b43c0765", "cpp", "cpp", "competitive programming"),
    ("35", "6a00d2da", "cpp", "cpp", "HighFive"),
    ("35", "ab91064a", "java", "java", "fabric8 client after an xml block"),
    ("4b", "65f00d6f", "java", "java", "generic method"),
    ("4b", "0fa52d2e", "java", "java", "class with AtomicInteger"),
    ("4b", "1cc39070", "java", "java", "try/catch snippet"),
    ("4a", "76144101", "html", "html", "an SVG tagged html"),
    ("35", "76144101", "html", "html", "an SVG tagged html"),
    ("35", "d1c34e0c", "html", "html", "bootstrap modal fragment"),
    ("4a", "2a005aea", "vue", "javascript", "Vue SFC tagged html, with js and bash blocks"),
    ("4a", "3d3e0087", "html", "html", "HTML document + CSS"),
    ("4b", "bc75023e", None, None, "PHP"),
    ("35", "9c7bcb48", None, None, "PHP (Laravel)"),
    ("35", "09c4dfae", None, None, "SQL"),
    ("4a", "27e3cd1e", None, None, "SQL"),
    ("4b", "9d0bd5c6", None, None, "C#"),
    ("35", "c5da0906", None, None, "R"),
    ("4b", "b4b1c3f7", None, None, "Scheme"),
    ("4b", "61e3d168", None, None, "Kotlin"),
]

# Bare fences written by real users in AutoCodeArena prompts (uid prefix, env, language, note).
PROMPT_REAL = [
    ("ef4f6c68", "python", "python", "a Python function in a bare fence"),
    ("12349617", "python", "python", "Python list assignments in a bare fence"),
]

_FLASK = """from flask import Flask, render_template_string

app = Flask(__name__)

PAGE = '''
<!DOCTYPE html>
<html>
<head><title>Counter</title></head>
<body>
  <h1>Visits: {{ count }}</h1>
  <script>document.title = 'Counter';</script>
</body>
</html>
'''

count = 0


@app.route("/")
def index():
    global count
    count += 1
    return render_template_string(PAGE, count=count)


if __name__ == "__main__":
    app.run(debug=True)
"""

_PAGE = """import http.server

PAGE = '<html><body><h1>Hello</h1><p>Served by Python.</p></body></html>'


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(PAGE.encode())


http.server.HTTPServer(("", 8000), Handler).serve_forever()
"""

_PY_CUT = """import os
import json
from collections import defaultdict

def load_scores(path):
    scores = defaultdict(list)
    with open(path) as handle:
        for line in handle:
            row = json.loads(line)
            scores[row["name"]].append(row["score"])
    return scores

def best(scores):
    return max(scores.items(), key=lambda item: sum(item[1]) / len(item[1"""

_PY_CLASS_CUT = """from dataclasses import dataclass
import math

@dataclass
class Vector:
    x: float
    y: float

    def length(self):
        return math.hypot(self.x, self.y)

    def normalised(self):
        size = self.length()
        return Vector(self.x / size, self.y / si"""

_RUST_CUT = """use std::collections::HashMap;
use std::io::{self, Read};

struct Counter {
    words: HashMap<String, usize>,
}

impl Counter {
    fn new() -> Self {
        Counter { words: HashMap::new() }
    }

    fn add(&mut self, text: &str) {
        for word in text.split_whitespace() {
            let mut entry = self.words.entry(word.to_lowercase()).or_ins"""

_JSDOC = """/**
 * Returns the sum of two numbers.
 *
 * @param {number} a - The first number.
 * @param {number} b - The second number.
 * @returns {number} The sum of a and b.
 */"""

_JSDOC_CUT = """/**
 * Debounce a function.
 * @param {Function} fn - the function to call
 * @param {number} wait - milliseconds to wait
 * @returns {Function}
 */
function debounce(fn, wait) {
  let timer;
  return function (...args) {
    clearTimeout(tim"""

_JSX_TS = """import React, { useState } from 'react';

interface CounterProps {
  start: number;
  label?: string;
}

const Counter: React.FC<CounterProps> = ({ start, label = 'Count' }) => {
  const [value, setValue] = useState<number>(start);
  return (
    <button onClick={() => setValue(value + 1)}>
      {label}: {value}
    </button>
  );
};

export default Counter;
"""

# Written cases for what the real answers lack (id, markdown, environment, language, note).
WRITTEN: list[tuple[str, str, str | None, str | None, str]] = [
    (
        "w2-flask-template",
        f"A Flask app:\n\n{F}python\n{_FLASK}{F}\n",
        "server",
        "python",
        "Flask app holding an HTML page in a string",
    ),
    (
        "w2-page-string",
        f"{F}\n{_PAGE}{F}\n",
        "server",
        "python",
        "PAGE = '<html>...' served by http.server, bare fence",
    ),
    (
        "w2-py-cut",
        f"Here is the script:\n\n{F}\n{_PY_CUT}",
        "python",
        "python",
        "Python cut mid-statement, bare fence",
    ),
    (
        "w2-py-class-cut",
        f"{F}python\n{_PY_CLASS_CUT}",
        "python",
        "python",
        "Python class cut mid-statement",
    ),
    ("w2-rust-cut", f"{F}rust\n{_RUST_CUT}", "rust", "rust", "Rust cut mid-statement"),
    (
        "w2-jsdoc",
        f"Document it like this:\n\n{F}\n{_JSDOC}\n{F}\n",
        "javascript",
        "javascript",
        "a JSDoc comment only, bare fence",
    ),
    (
        "w2-jsdoc-cut",
        f"{F}javascript\n{_JSDOC_CUT}",
        "javascript",
        "javascript",
        "JSDoc + function cut mid-statement",
    ),
    (
        "w2-jsx-ts",
        f"{F}jsx\n{_JSX_TS}{F}\n",
        "react",
        "typescript",
        "a jsx-tagged block holding TypeScript",
    ),
]

# Originals whose language only the fence tag tells (C in a cpp block): no bare derivation.
_TAG_DECIDES = {"ah-4a-4b0cf137", "ah-4a-70dccc6c", "ah-4b-a3977c9d"}

_OPENER = re.compile(r"^( {0,3}(?:`{3,}|~{3,}))[ \t]*[^`\s][^`\n]*$", re.M)
_PROSE = "This prints the result; change the values above to try other inputs."


def _arena_answers() -> dict[tuple[str, str], str]:
    found = {}
    for path in sorted((ROOT / "data" / "arena-hard-v0.1").glob("*.jsonl")):
        if path.name == "question.jsonl":
            continue
        for line in path.read_text("utf-8").splitlines():
            row = json.loads(line)
            found[(row["model"], row["uid"])] = row["messages"][1]["content"]["answer"]
    return found


def _by_prefix(found: dict[tuple[str, str], str], model: str, prefix: str) -> tuple[str, str]:
    matches = [key for key in found if key[0] == model and key[1].startswith(prefix)]
    assert len(matches) == 1, (model, prefix, matches)
    return matches[0]


def _fences(markdown: str) -> str:
    """``tagged`` when the answer's longest block carries a fence tag, else ``bare``."""
    blocks = fenced_blocks(markdown)
    if not blocks:
        return "bare"
    return "tagged" if max(blocks, key=lambda b: len(b.code)).tag else "bare"


def strip_tags(markdown: str) -> str:
    """The answer with every fence tag removed (```python → ```)."""
    return _OPENER.sub(r"\1", markdown)


def _main_span(markdown: str, language: str | None = None) -> tuple[int, int] | None:
    """Line range (first code line, line after the last) of the main block.

    The main block is the longest block tagged in the labelled ``language`` (an SFC tagged
    ``html`` counts for Vue), else the longest block: a derivation must change the labelled
    code, not a configuration file beside it.
    """
    blocks = fenced_blocks(markdown)
    if not blocks:
        return None
    accepted = {language, "html"} if language == "javascript" else {language}
    labelled = [b for b in blocks if b.tag and block_language(b) in accepted]
    main = max(labelled or blocks, key=lambda b: len(b.code))
    first = main.start_line  # 0-based index of the first code line
    return first, first + (main.code.count("\n") + 1 if main.code else 0)


def cut_mid_statement(markdown: str, language: str | None = None) -> str | None:
    """The answer stopped 60 % into its main block, in the middle of a line (no closing fence)."""
    span = _main_span(markdown, language)
    if span is None or span[1] - span[0] < 8:
        return None
    lines = markdown.splitlines()
    at = span[0] + int((span[1] - span[0]) * 0.6)
    while at < span[1] and len(lines[at].strip()) < 6:
        at += 1  # cut inside a real line, not a blank one
    if at >= span[1]:
        return None
    head = lines[at][: len(lines[at]) // 2 + 1]
    return "\n".join([*lines[:at], head])


def glue_prose(markdown: str, language: str | None = None) -> str | None:
    """The main block's closing fence dropped: the prose after it runs on inside the fence."""
    span = _main_span(markdown, language)
    lines = markdown.splitlines()
    if span is None or span[1] >= len(lines):
        return None
    rest = lines[span[1] + 1 :]
    return "\n".join([*lines[: span[1]], _PROSE, *rest])


def stray_fence(markdown: str, language: str | None = None) -> str | None:
    """A second closing fence after the main block (it opens an unclosed bare block)."""
    span = _main_span(markdown, language)
    lines = markdown.splitlines()
    if span is None or span[1] >= len(lines):
        return None
    return "\n".join([*lines[: span[1] + 1], lines[span[1]].strip(), _PROSE, *lines[span[1] + 1 :]])


# Rows of the first labelled set written after this set was split: left out here, so that
# rebuilding gives the committed split (a new original would reshuffle every family).
ADDED_AFTER_SPLIT = frozenset({"w-server-flask", "w-server-express"})


def _originals() -> list[dict]:
    """Every hand-labelled answer, real or written, with its text."""
    answers = _arena_answers()
    rows = []
    for line in OLD_LABELS.read_text("utf-8").splitlines():
        old = json.loads(line)
        if old["id"] in ADDED_AFTER_SPLIT:
            continue
        if old["source"] == "written":
            text, origin, source = old["markdown"], "written", "written (labels.jsonl)"
        else:
            text, origin = answers[(old["model"], old["uid"])], "real"
            source = f"arena-hard-v0.1/{old['model']}/{old['uid']}"
        rows.append(dict(id=old["id"], text=text, environment=old["environment"],
                         language=old["language"], origin=origin, source=source,
                         note=old.get("note", "")))  # fmt: skip
    for key, prefix, env, lang, note in NEW_REAL:
        model, uid = _by_prefix(answers, _MODELS[key], prefix)
        rows.append(dict(id=f"ah-{key}-{prefix}", text=answers[(model, uid)], environment=env,
                         language=lang, origin="real", source=f"arena-hard-v0.1/{model}/{uid}",
                         note=note))  # fmt: skip
    prompts = [json.loads(line) for line in (ROOT / "data/autocodearena-v0/prompts.jsonl").open()]
    for prefix, env, lang, note in PROMPT_REAL:
        (prompt,) = [p for p in prompts if p["uid"].startswith(prefix)]
        rows.append(dict(id=f"aca-{prefix}", text=prompt["instruction"], environment=env,
                         language=lang, origin="real",
                         source=f"autocodearena-v0/{prompt['uid']}", note=note))  # fmt: skip
    for case_id, text, env, lang, note in WRITTEN:
        rows.append(dict(id=case_id, text=text, environment=env, language=lang, origin="written",
                         source="written (bench_detect.WRITTEN)", note=note))  # fmt: skip
    return rows


def _derived(row: dict, rng: random.Random) -> list[dict]:
    """Cases derived from one original; each keeps the original's label."""
    made = []
    ways: list[tuple[str, str | None]] = []
    if row["environment"] is not None:
        if row["id"] not in _TAG_DECIDES and _fences(row["text"]) == "tagged":
            ways.append(("tag-stripped", strip_tags(row["text"])))
        if rng.random() < 0.5:
            cut = cut_mid_statement(row["text"], row["language"])
            if cut is not None:
                ways.append(("cut", cut))
                if row["id"] not in _TAG_DECIDES and _fences(cut) == "tagged":
                    ways.append(("cut+tag-stripped", strip_tags(cut)))
        if rng.random() < 0.2:
            ways.append(("prose-glued", glue_prose(row["text"], row["language"])))
        if rng.random() < 0.15:
            ways.append(("stray-fence", stray_fence(row["text"], row["language"])))
    for how, text in ways:
        if text is None or text == row["text"]:
            continue
        made.append(dict(id=f"{row['id']}~{how}", text=text, environment=row["environment"],
                         language=row["language"], origin="derived",
                         source=f"derived ({how}) from {row['id']}", note=row["note"]))  # fmt: skip
    return made


def build_labelled() -> list[dict]:
    """The labelled set: originals and derived cases, split 50/50 (seeded) by original.

    A derived case goes to its original's half, so no half holds a variant of an answer
    the other half holds.
    """
    rng = random.Random(SEED)
    groups = []
    for row in _originals():
        row["group"] = row["id"]
        family = [row, *_derived(row, rng)]
        for case in family:
            case["group"] = row["id"]
            # A glued or stray fence does not change whether the main code was tagged.
            glued = case["id"].endswith(("~prose-glued", "~stray-fence"))
            case["fences"] = _fences(row["text"] if glued else case["text"])
        groups.append(family)
    rng.shuffle(groups)
    halves: dict[str, list[dict]] = {"tune": [], "holdout": []}
    for family in groups:
        half = min(halves, key=lambda name: (len(halves[name]), name))
        for case in family:
            case["split"] = half
        halves[half] += family
    order = ("id", "split", "environment", "language", "fences", "origin", "source", "group",
             "note", "text")  # fmt: skip
    return [{key: case[key] for key in order} for case in halves["tune"] + halves["holdout"]]


def load_labelled(path: Path = LABELLED) -> list[dict]:
    """The committed labelled set, one dict a case."""
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def accuracy(rows: list[dict]) -> tuple[int, int, list[tuple[str, tuple, tuple]]]:
    """(right, total, misses) of ``detect_environment`` on ``rows``."""
    misses = []
    for row in rows:
        got = detect_environment(row["text"])
        want = (row["environment"], row["language"])
        if got != want:
            misses.append((row["id"], want, got))
    return len(rows) - len(misses), len(rows), misses


def _report(rows: list[dict], show_holdout: bool) -> None:
    for half in ("tune", "holdout"):
        for fences in ("tagged", "bare"):
            part = [r for r in rows if r["split"] == half and r["fences"] == fences]
            good, total, misses = accuracy(part)
            print(f"{half:<8} {fences:<7} {good}/{total} = {good / max(total, 1):.1%}")
            # The held-out misses stay hidden unless asked: rules are tuned on the other half.
            for miss in misses if half == "tune" or show_holdout else []:
                print("    miss:", miss)
    good, total, _ = accuracy(rows)
    print(f"all      {good}/{total} = {good / total:.1%}")


def _throughput() -> None:
    texts = list(_arena_answers().values())
    started = time.perf_counter()
    found = collections.Counter(extract(text).environment for text in texts)
    elapsed = time.perf_counter() - started
    print(f"\nextract() over {len(texts)} Arena-Hard answers: {elapsed:.2f} s "
          f"({len(texts) / elapsed:.0f} answers/s)")  # fmt: skip
    print("environments found:", dict(found.most_common()))


def main() -> None:
    if "--build" in sys.argv:
        rows = build_labelled()
        LABELLED.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        counts = collections.Counter((r["split"], r["fences"], r["origin"]) for r in rows)
        print(f"wrote {len(rows)} cases to {LABELLED.relative_to(ROOT)}: {dict(counts)}")
        return
    rows = load_labelled()
    print(f"labelled set: {len(rows)} cases ({LABELLED.relative_to(ROOT)})")
    _report(rows, show_holdout="--show-holdout" in sys.argv)
    _throughput()


if __name__ == "__main__":
    main()
