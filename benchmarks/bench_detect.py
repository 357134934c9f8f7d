"""Environment detection: accuracy on the labelled set, and speed (figures for the README).

    .venv/bin/python benchmarks/bench_detect.py

1. Accuracy of ``detect_environment`` on ``tests/fixtures/responses/labels.jsonl`` (84 answers,
   57 of them verbatim Arena-Hard answers labelled by hand before the detector was written),
   overall, on the third-party part, and per environment; every miss is listed.
2. Throughput of ``extract`` over all 1,500 bundled Arena-Hard answers (answers per second),
   and the distribution of the environments it finds there.
"""

from __future__ import annotations

import collections
import json
import time
from pathlib import Path

from arena_kit.extract import detect_environment, extract

ROOT = Path(__file__).resolve().parents[1]


def _answers() -> dict[tuple[str, str], str]:
    found = {}
    for path in sorted((ROOT / "data" / "arena-hard-v0.1").glob("*.jsonl")):
        if path.name == "question.jsonl":
            continue
        for line in path.read_text("utf-8").splitlines():
            row = json.loads(line)
            found[(row["model"], row["uid"])] = row["messages"][1]["content"]["answer"]
    return found


def main() -> None:
    answers = _answers()
    rows = [json.loads(line) for line in (ROOT / "tests/fixtures/responses/labels.jsonl").open()]
    per_env: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    misses = []
    third = [0, 0]
    for row in rows:
        text = row.get("markdown") or answers[(row["model"], row["uid"])]
        got = detect_environment(text)
        want = (row["environment"], row["language"])
        good = got == want
        key = str(row["environment"])
        per_env[key][0] += good
        per_env[key][1] += 1
        if row["source"] != "written":
            third[0] += good
            third[1] += 1
        if not good:
            misses.append((row["id"], want, got))
    total = sum(v[0] for v in per_env.values())
    print(f"accuracy (environment and language): {total}/{len(rows)} = {total / len(rows):.1%}")
    print(f"  verbatim Arena-Hard answers: {third[0]}/{third[1]} = {third[0] / third[1]:.1%}")
    for env, (good, count) in sorted(per_env.items()):
        print(f"  {env:<12} {good}/{count}")
    for miss in misses:
        print("  miss:", miss)
    texts = list(answers.values())
    started = time.perf_counter()
    found = collections.Counter(extract(text).environment for text in texts)
    elapsed = time.perf_counter() - started
    print(f"\nextract() over {len(texts)} Arena-Hard answers: {elapsed:.2f} s "
          f"({len(texts) / elapsed:.0f} answers/s)")  # fmt: skip
    print("environments found:", dict(found.most_common()))


if __name__ == "__main__":
    main()
