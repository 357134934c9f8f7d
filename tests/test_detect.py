"""Environment detection on the labelled set (57 verbatim Arena-Hard answers + 27 written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arena_kit.blocks import fenced_blocks
from arena_kit.extract import (
    block_kind,
    code_environment,
    detect_environment,
    extract,
    guess_language,
    install_commands,
    merge_web_page,
)
from arena_kit.schema import ENVIRONMENTS, LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "tests" / "fixtures" / "responses" / "labels.jsonl"
F = "```"


def _answers() -> dict[tuple[str, str], str]:
    found = {}
    for path in (ROOT / "data" / "arena-hard-v0.1").glob("*.jsonl"):
        if path.name == "question.jsonl":
            continue
        for line in path.read_text("utf-8").splitlines():
            row = json.loads(line)
            found[(row["model"], row["uid"])] = row["messages"][1]["content"]["answer"]
    return found


def _labelled() -> list[dict]:
    answers = _answers()
    rows = []
    for line in LABELS.read_text("utf-8").splitlines():
        row = json.loads(line)
        if row["source"] != "written":
            row["markdown"] = answers[(row["model"], row["uid"])]
        rows.append(row)
    return rows


def test_the_labelled_set_is_big_enough_and_covers_every_environment():
    rows = _labelled()
    third_party = [r for r in rows if r["source"] == "arena-hard-v0.1"]
    assert len(rows) >= 60
    assert len(third_party) >= 40
    assert {r["environment"] for r in rows} - {None} == set(ENVIRONMENTS)
    for row in rows:
        assert row["environment"] is None or row["environment"] in ENVIRONMENTS
        assert row["language"] is None or row["language"] in LANGUAGES


def test_detection_accuracy_on_the_labelled_set():
    rows = _labelled()
    misses = []
    for row in rows:
        got = detect_environment(row["markdown"])
        if got != (row["environment"], row["language"]):
            misses.append((row["id"], (row["environment"], row["language"]), got))
    accuracy = 1 - len(misses) / len(rows)
    # Measured 84/84 when written; a regression below 95 % must be looked at.
    assert accuracy >= 0.95, f"accuracy {accuracy:.1%}; misses: {misses}"
    third = [r for r in rows if r["source"] != "written"]
    third_misses = [m for m in misses if m[0].startswith("ah-")]
    assert len(third_misses) <= len(third) * 0.05, third_misses


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import streamlit as st\nst.title('x')", "streamlit"),
        ("import statistics as st\nprint(st.mean([1, 2]))", "python"),
        ("import gradio as ui\nui.Interface(fn=str, inputs='text', outputs='text')", "gradio"),
        ("def gr(x):\n    return x\nprint(gr(1))", "python"),
        ("from pygame.locals import *\nimport pygame as pg\npg.init()", "pygame"),
        ("import pandas as pd\nst = pd.Series([1])\nst.plot()", "python"),
    ],
)
def test_python_apps_are_recognised_by_their_imports_not_by_names(code, expected):
    assert code_environment(code, "python") == expected


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("graph TD\n  A --> B", "mermaid"),
        ("<!DOCTYPE html>\n<html><body><p>x</p></body></html>", "html"),
        ('package main\n\nimport "fmt"\n\nfunc main() { fmt.Println(1) }', "go"),
        ("public class Main {\n  public static void main(String[] a) {}\n}", "java"),
        ('fn main() {\n    println!("hi");\n}', "rust"),
        ("#include <stdio.h>\nint main(void) { return 0; }", "c"),
        ("#include <iostream>\nint main() { std::cout << 1; }", "cpp"),
        ("def f(x):\n    return x * 2\n\nprint(f(2))", "python"),
        ("const x: number = 3;\nconsole.log(x);", "typescript"),
        ("const x = [1, 2].map((v) => v * 2);\nconsole.log(x);", "javascript"),
        ("pip install streamlit pandas", "shell"),
        ("docker rmi <IMAGE_ID>", "shell"),
        ("const App = () => <Main />;", "javascript"),
        ("Received chunk: data1\nStream ended", None),
        ("['a@b.com', 'c@d.org']", None),
        ("# Title\n\n- one\n- two\n", "markdown"),
    ],
)
def test_untagged_blocks_are_read_by_content(code, language):
    assert guess_language(code) == language


def test_tagged_shell_scripts_stay_shell_even_with_comment_headings():
    block = fenced_blocks(f"{F}bash\n#!/bin/bash\n# Install\nsudo apt-get install -y x\n{F}\n")[0]
    assert block_kind(block) == "shell"


def test_main_code_is_the_longest_runnable_block_never_a_shell_block():
    long_shell = "\n".join(f"echo {i}" for i in range(40))
    answer = (
        f"{F}bash\n{long_shell}\n{F}\n\n{F}python\nprint(1)\n{F}\n\n"
        f"{F}python\nimport math\nprint(math.pi * 2)\n{F}\n"
    )
    found = extract(answer)
    assert found.environment == "python"
    assert found.code == "import math\nprint(math.pi * 2)"


def test_install_commands_come_from_shell_blocks():
    answer = (
        f"{F}bash\n$ pip install streamlit pandas\nnpm install react-icons\necho done\n{F}\n"
        f"{F}\nsudo apt-get install -y ffmpeg\n{F}\n{F}python\nimport os\n{F}\n"
    )
    assert install_commands(answer) == [
        "pip install streamlit pandas",
        "npm install react-icons",
        "sudo apt-get install -y ffmpeg",
    ]


def test_a_page_split_into_html_css_and_js_blocks_is_merged_into_one_document():
    answer = (
        f'{F}html\n<!DOCTYPE html>\n<html><head><link rel="stylesheet" href="styles.css">'
        f'</head><body><div id="x"></div><script src="script.js"></script></body></html>\n{F}\n'
        f"{F}css\n/* styles.css */\n#x {{ color: red; }}\n{F}\n"
        f"{F}javascript\n// script.js\ndocument.getElementById('x').textContent = 'hi';\n{F}\n"
    )
    found = extract(answer)
    assert found.environment == "html"
    assert 'href="styles.css"' not in found.code and "#x { color: red; }" in found.code
    assert 'src="script.js"' not in found.code
    assert found.code.index("<style>") < found.code.index("</head>")
    assert "textContent = 'hi'" in found.code


def test_html_fragments_are_wrapped_and_node_scripts_left_out():
    page = merge_web_page(["<div id='a'></div>"], ["div { margin: 0 }"], ["console.log(1)"])
    assert page.startswith("<!DOCTYPE html>") and "<div id='a'></div>" in page
    answer = (
        f"{F}html\n<div id='chat'></div>\n{F}\n"
        f"{F}javascript\nconst fs = require('fs');\nconsole.log(fs);\n{F}\n"
    )
    assert "require('fs')" not in extract(answer).code


def test_react_wins_over_the_page_that_hosts_it_and_vue_sfc_tagged_html_is_vue():
    react = (
        f'{F}html\n<div id="root"></div>\n{F}\n'
        f"{F}jsx\nimport React from 'react';\nexport default () => <p>hi</p>;\n{F}\n"
    )
    assert detect_environment(react) == ("react", "javascript")
    sfc = f"{F}html\n<template><p>{{{{ msg }}}}</p></template>\n<script setup>\n</script>\n{F}\n"
    assert detect_environment(sfc) == ("vue", "javascript")


def test_answers_with_nothing_runnable_have_no_environment():
    assert detect_environment("No code here, just prose.") == (None, None)
    assert detect_environment(f"{F}php\n<?php echo 1;\n{F}\n") == (None, None)
    assert detect_environment(f"{F}sql\nSELECT 1;\n{F}\n") == (None, None)


def test_a_multi_file_react_answer_starts_from_the_component_that_imports_the_others():
    answer = (
        f"{F}jsx\nimport {{ useState }} from 'react';\n\nconst Layout = ({{ children }}) => {{\n"
        "  const [open, setOpen] = useState(false);\n"
        '  return <div className="flex"><aside>menu</aside><main>{children}</main></div>;\n'
        f"}};\n\nexport default Layout;\n{F}\n\n"
        f"{F}jsx\nimport Layout from '../components/Layout';\n\n"
        f"const Home = () => <Layout><h1>Home</h1></Layout>;\n\nexport default Home;\n{F}\n"
    )
    found = extract(answer)
    assert found.environment == "react"
    assert found.code.startswith("import Layout from '../components/Layout'")
    assert list(found.files) == ["Layout.jsx"] and "const Layout" in found.files["Layout.jsx"]
