"""Environment detection: the labelled sets and one test per detection rule.

``tests/fixtures/responses/labels.jsonl`` is the first labelled set (84 answers);
``tests/fixtures/detect_labelled.jsonl`` the grown one (built by ``benchmarks/bench_detect.py
--build``), split 50/50 with a fixed seed into a half rules were tuned on and a held-out half;
``tests/fixtures/detect_labelled_2.jsonl`` a second batch of new answers (``--build-2``),
labelled before the rules of its round were written and split the same way with its own seed.
Both are tuning data now (both halves). ``tests/fixtures/detect_labelled_3.jsonl``
(``--build-3``) is the untouched set of issue 13's goal: answers to questions neither batch
holds, labelled by reading before this round's rules, all held out, measured once.
"""

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
GROWN = ROOT / "tests" / "fixtures" / "detect_labelled.jsonl"
SECOND = ROOT / "tests" / "fixtures" / "detect_labelled_2.jsonl"
THIRD = ROOT / "tests" / "fixtures" / "detect_labelled_3.jsonl"
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


# ---------------------------------------------------------------------------------------------
# The grown labelled set and its held-out half.


def _grown() -> list[dict]:
    return [json.loads(line) for line in GROWN.read_text("utf-8").splitlines()]


def _misses(rows: list[dict]) -> list[tuple[str, tuple, tuple]]:
    found = []
    for row in rows:
        got = detect_environment(row["text"])
        if got != (row["environment"], row["language"]):
            found.append((row["id"], (row["environment"], row["language"]), got))
    return found


def test_the_grown_set_is_split_in_halves_and_marks_what_is_derived():
    rows = _grown()
    assert len(rows) >= 150 and len({r["id"] for r in rows}) == len(rows)
    halves = {name: [r for r in rows if r["split"] == name] for name in ("tune", "holdout")}
    assert abs(len(halves["tune"]) - len(halves["holdout"])) <= len(rows) * 0.05
    for half in halves.values():
        assert {r["fences"] for r in half} == {"tagged", "bare"}
        assert {r["origin"] for r in half} == {"real", "written", "derived"}
    # A derived case lives in its original's half: no half holds a variant of the other's answer.
    split_of = {r["group"]: r["split"] for r in rows if r["origin"] != "derived"}
    for row in rows:
        assert row["split"] == split_of[row["group"]]
        assert (row["origin"] == "derived") == row["source"].startswith("derived")
        assert row["environment"] is None or row["environment"] in ENVIRONMENTS
        assert row["language"] is None or row["language"] in LANGUAGES


# Cases whose derivation dropped what their label rests on: a PERN answer cut inside its Express
# server loses the React client after it, so what is left is a server; the case keeps the
# original's `react` (derived cases keep their original's label).
LABEL_LOST_IN_THE_CUT = frozenset(
    {
        "b2-ah-4a-3a818305~cut",
        "b2-ah-4b-3a818305~cut",
        "b2-ah-4a-3a818305~cut+tag-stripped",
        "b2-ah-4b-3a818305~cut+tag-stripped",
    }
)


def test_batches_one_and_two_are_read_right_as_tuning_data():
    # Both halves of both batches are tuning data since batch 3 was written: every case is
    # read right but the four above (726 cases: 722 right).
    misses = _misses(_grown() + _second())
    assert {miss[0] for miss in misses} <= LABEL_LOST_IN_THE_CUT, misses
    for miss in misses:
        assert miss[1:] == (("react", "javascript"), ("server", "javascript"))


# ---------------------------------------------------------------------------------------------
# The second batch: new answers, labelled before this round's rules, split by question.


def _second() -> list[dict]:
    return [json.loads(line) for line in SECOND.read_text("utf-8").splitlines()]


def test_the_second_batch_is_new_answers_split_by_question():
    rows, first = _second(), _grown()
    originals = [r for r in rows if r["origin"] == "real"]
    assert len(originals) >= 80 and len({r["id"] for r in rows}) == len(rows)
    assert all(r["id"].startswith("b2-") for r in rows)
    assert all(r["origin"] in ("real", "derived") for r in rows)
    # No question of the first set comes back: not even another model's answer to it.
    first_questions = {r["source"].rsplit("/", 1)[-1] for r in first if r["origin"] == "real"}
    assert not first_questions & {r["source"].rsplit("/", 1)[-1] for r in originals}
    halves = {name: [r for r in rows if r["split"] == name] for name in ("tune", "holdout")}
    assert abs(len(halves["tune"]) - len(halves["holdout"])) <= len(rows) * 0.05
    for half in halves.values():
        assert {r["fences"] for r in half} == {"tagged", "bare"}
    split_of: dict[str, str] = {}
    for row in rows:  # one question, one half: its answers and their variants together
        assert split_of.setdefault(row["group"], row["split"]) == row["split"]
        assert (row["origin"] == "derived") == row["source"].startswith("derived")
        assert row["environment"] is None or row["environment"] in ENVIRONMENTS
        assert row["language"] is None or row["language"] in LANGUAGES


# ---------------------------------------------------------------------------------------------
# The third batch: the untouched set. Answers to questions neither batch 1 nor batch 2 holds,
# labelled by reading before this round's rules; no tune half; measured once, at the end.


def _third() -> list[dict]:
    return [json.loads(line) for line in THIRD.read_text("utf-8").splitlines()]


def _fenced(rows: list[dict], fences: str) -> list[dict]:
    return [r for r in rows if r["fences"] == fences]


def test_the_third_batch_is_new_questions_all_held_out():
    rows = _third()
    originals = [r for r in rows if r["origin"] == "real"]
    assert len(originals) >= 100 and len({r["id"] for r in rows}) == len(rows)
    assert all(r["id"].startswith("b3-") and r["split"] == "holdout" for r in rows)
    assert {r["origin"] for r in rows} == {"real", "derived"}
    assert {r["fences"] for r in rows} == {"tagged", "bare"}
    # No question of batch 1 or 2 comes back, not even another model's answer to it.
    earlier = {
        r["source"].rsplit("/", 1)[-1] for r in _grown() + _second() if r["origin"] == "real"
    }
    assert not earlier & {r["source"].rsplit("/", 1)[-1] for r in originals}
    label_of = {r["id"]: (r["environment"], r["language"]) for r in originals}
    for row in rows:
        assert row["environment"] is None or row["environment"] in ENVIRONMENTS
        assert row["language"] is None or row["language"] in LANGUAGES
        if row["origin"] == "derived":  # a variant keeps its original's label and question
            original = row["source"].rsplit(" ", 1)[-1]
            assert row["id"].startswith(original + "~")
            assert (row["environment"], row["language"]) == label_of[original]


def test_the_third_batch_meets_the_tagged_goal():
    assert _misses(_fenced(_third(), "tagged")) == []


def test_the_third_batch_meets_the_bare_goal():
    bare = _fenced(_third(), "bare")
    assert len(_misses(bare)) <= len(bare) * 0.03


# ---------------------------------------------------------------------------------------------
# One test per rule, each with a bare fence and a tagged one (the tagged one cut off, unclosed).


def _bare_and_tagged(code: str, tag: str) -> list[str]:
    return [f"Here it is:\n\n{F}\n{code}\n{F}\n", f"Here it is:\n\n{F}{tag}\n{code}"]


_PY_TRUNCATED = (
    "import os\nimport json\nfrom pathlib import Path\n\n\ndef load(path):\n"
    "    with open(path) as handle:\n        return json.load(hand"
)
_PY_CLASS_TRUNCATED = (
    "from dataclasses import dataclass\n\n@dataclass\nclass Point:\n    x: float\n"
    "    y: float\n\n    def norm(self):\n        return (self.x ** 2 + self.y"
)


@pytest.mark.parametrize("code", [_PY_TRUNCATED, _PY_CLASS_TRUNCATED])
def test_python_cut_mid_statement_is_python_though_the_js_import_hint_matches(code):
    for answer in _bare_and_tagged(code, "python"):
        assert detect_environment(answer) == ("python", "python")
    assert guess_language(code) == "python"


def test_javascript_modules_are_still_javascript():
    code = "import { readFile } from 'fs/promises';\n\nconst text = await readFile('a.txt');\n"
    assert guess_language(code) == "javascript"
    cut = "import x from './x.js';\nexport default function f() {\n"
    assert guess_language(cut) == "javascript"


_FLASK = (
    "from flask import Flask, render_template_string\n\napp = Flask(__name__)\n\n"
    'PAGE = """<!DOCTYPE html>\n<html><body><h1>{{ title }}</h1></body></html>"""\n\n\n'
    "@app.route('/')\ndef index():\n    return render_template_string(PAGE, title='Hi')\n"
)


@pytest.mark.parametrize(
    ("code", "environment"),
    [
        (_FLASK, "server"),
        (
            _FLASK[: _FLASK.index("@app")] + "@app.route('/')\ndef index():\n    return render_te",
            "server",
        ),
        ("PAGE = '<html><body><p>hello</p></body></html>'\nprint(len(PAGE))", "python"),
    ],
)
def test_python_holding_a_page_in_a_string_is_python_not_html(code, environment):
    # A Flask app holding its page is a web server (the `server` environment), never a page.
    for answer in _bare_and_tagged(code, "python"):
        assert detect_environment(answer) == (environment, "python")
    page = "<!DOCTYPE html>\n<html><body><script>const x = 1;</script></body></html>"
    assert guess_language(page) == "html"


_RUST_TRUNCATED = (
    "use std::collections::HashMap;\n\nstruct Cache {\n    items: HashMap<String, u32>,\n}\n\n"
    "impl Cache {\n    fn get(&mut self, key: &str) -> Option<u32> {\n"
    '        match key {\n            "" => None,\n            _ => {\n'
    "                let mut hits = self.items.iter().filter(|(k, _)| k.starts_with(ke"
)


def test_rust_cut_before_main_is_rust():
    for answer in _bare_and_tagged(_RUST_TRUNCATED, "rust"):
        assert detect_environment(answer) == ("rust", "rust")
    # JavaScript with `let` and arrows is not Rust.
    assert guess_language("let total = 0;\nconst add = (x) => { total += x; };\n") == "javascript"


_JSDOC = (
    "/**\n * Clamp a value.\n * @param {number} value - the value\n"
    " * @returns {number} the clamped value\n */"
)


def test_a_jsdoc_fragment_is_javascript():
    for answer in _bare_and_tagged(_JSDOC, "javascript"):
        assert detect_environment(answer) == ("javascript", "javascript")
    assert guess_language("/* just a comment */") is None


_JSX_TS = (
    "import React from 'react';\n\ninterface Props {\n  name: string;\n}\n\n"
    "export default function Hello({ name }: Props) {\n  return <p>Hello {name}</p>;\n}\n"
)


def test_a_jsx_block_holding_typescript_is_bundled_as_tsx():
    found = extract(f"{F}jsx\n{_JSX_TS}{F}\n")
    # The React bundler names the entry .tsx when the language is TypeScript.
    assert (found.environment, found.language) == ("react", "typescript")
    assert block_kind(found.blocks[0]) == "typescript"
    assert detect_environment(f"{F}\n{_JSX_TS}{F}\n") == ("react", "typescript")
    plain = "import React from 'react';\nexport default () => <p>hi</p>;\n"
    assert detect_environment(f"{F}jsx\n{plain}{F}\n") == ("react", "javascript")


def test_c_without_includes_is_c_and_cpp_is_told_by_what_c_lacks():
    function = "void show(int *values, int n) {\n    for (int i = 0; i < n; i++)\n"
    function += '        printf("%d\\n", values[i]);\n}'
    for answer in _bare_and_tagged(function, "c"):
        assert detect_environment(answer) == ("c", "c")
    scoped = '#include <HighFive/H5File.hpp>\n\nint main() {\n    HighFive::File f("a.h5");\n}'
    assert guess_language(scoped) == "cpp"


def test_xml_and_router_configuration_are_not_web_code():
    layout = (
        '<androidx.constraintlayout.widget.ConstraintLayout\n    android:id="@+id/root">\n'
        "</androidx.constraintlayout.widget.ConstraintLayout>"
    )
    assert guess_language(layout) is None
    assert guess_language("interface GigabitEthernet0/0/0/0\n ipv4 address 10.0.1.40/27") is None


def test_markdown_with_a_heading_and_inline_markup():
    assert guess_language("# Project title\n\nSome *intro* text.") == "markdown"


# Rules of the second round (tuned on the tune halves: their misses, and variants of their
# answers cut, stripped of tags or run on into prose).


def test_a_flask_socketio_app_is_a_web_server():
    code = (
        "from flask import Flask\nfrom flask_socketio import SocketIO\n\napp = Flask(__name__)\n"
        "socketio = SocketIO(app)\n\n@socketio.on('message')\ndef handle(data):\n"
        "    socketio.emit('reply', data)\n"
    )
    for answer in _bare_and_tagged(code.replace("from flask import Flask\n", ""), "python"):
        assert detect_environment(answer) == ("server", "python")


_PY_ONE_IMPORT_CUT = "import numpy as np\n\nrates = np.zeros(3)\ntotal = np.sum(ra"


def test_python_cut_after_one_import_is_not_a_javascript_module():
    for answer in _bare_and_tagged(_PY_ONE_IMPORT_CUT, "python"):
        assert detect_environment(answer) == ("python", "python")
    for module in ("import React, {\n  useState,\n} from 'react';", "import * as d3 from 'd3';",
                   "import './styles.css';", "import type { Props } from './types';"):  # fmt: skip
        assert guess_language(module) in ("javascript", "typescript")


def test_a_mermaid_keyword_used_as_a_name_is_code():
    code = "graph = {'A': ['B', 'C'], 'B': []}\n\nfor node in graph:\n    print(node)\n"
    for answer in _bare_and_tagged(code, "python"):
        assert detect_environment(answer) == ("python", "python")
    assert guess_language("graph TD\n  A --> B") == "mermaid"
    assert guess_language('pie title Pets\n  "Dogs" : 3') == "mermaid"


def test_go_cut_before_its_first_func_is_go():
    code = 'package main\n\nimport (\n    "fmt"\n    "strings"\n)\n\nvar names = []string{"a"'
    for answer in _bare_and_tagged(code, "go"):
        assert detect_environment(answer) == ("go", "go")
    channel = "package main\n\nfunc main() {\n\tch := make(chan int, 1)\n\tch <- 5\n}"
    assert guess_language(channel) == "go"  # a channel send is not R's `<-`


_SFC_CUT = (
    '<template>\n  <div class="menu">\n    <button @click="toggle">Menu</button>\n'
    '    <ul v-show="open">\n      <li :key="item" class="item">One</li>\n    </ul>\n  </di'
)


def test_a_vue_template_cut_before_its_script_is_vue():
    for answer in _bare_and_tagged(_SFC_CUT, "html"):
        assert detect_environment(answer) == ("vue", "javascript")
    page = '<div class="menu">\n  <button onclick="go()">Go</button>\n</div>'
    assert detect_environment(f"{F}\n{page}\n{F}\n") == ("html", "html")


def test_an_svg_cut_before_its_closing_tag_is_a_page():
    code = '<svg viewBox="0 0 100 100" width="200">\n  <circle cx="50" cy="50" r="40"/>\n  <rect x'
    for answer in _bare_and_tagged(code, "svg"):
        assert detect_environment(answer) == ("html", "html")


def test_code_run_on_into_prose_is_read_before_the_prose():
    function = "void show(int *values, int n) {\n    for (int i = 0; i < n; i++)\n"
    function += '        printf("%d\\n", values[i]);\n}'
    prose = (
        "This function prints every value on its own line.\n\n"
        "Replace the values with your own data and call the function from main."
    )
    for answer in _bare_and_tagged(f"{function}\n{prose}", "c"):
        assert detect_environment(answer) == ("c", "c")
    snippet = "last = record.items[-1].id"
    bare = f"{F}\n{snippet}\nHere the last item of the list is read by its index."
    assert detect_environment(bare) == ("python", "python")


@pytest.mark.parametrize(
    ("code", "tag"),
    [
        ("<?php\n$name = $_GET['name'];\n?>\n<html><body><?php echo $name; ?></body></html>",
         "php"),
        ("namespace App\\Models;\n\nuse Illuminate\\Support\\Str;\n\nclass User\n{\n"
         "    public function slug($name)\n    {\n        return Str::slug($name);\n    }\n}",
         "php"),
        ("using System;\n\nclass Program\n{\n    static void Main()\n    {\n"
         "        var x = 5;\n        Console.WriteLine(x);\n    }\n}", "csharp"),
        ("import android.os.Bundle\n\nclass Main : Activity() {\n"
         "    override fun onCreate(state: Bundle?) {\n        val x = 1\n    }\n}", "kotlin"),
        ("square :: Int -> Int\nsquare x = x * x\n\nmain :: IO ()\nmain = do\n"
         "    let n = 3\n    print (square n)", "haskell"),
        ("df <- read.csv('data.csv')\nsummary(df)", "r"),
        ("def greet(name)\n  puts \"Hello #{name}\"\nend", "ruby"),
        ("<script>\n  import { notes } from './store.js';\n</script>\n\n"
         "{#each $notes as note}\n  <li>{note}</li>\n{/each}", "svelte"),
        ("import SwiftUI\n\nstruct ContentView: View {\n    var body: some View {\n"
         "        Text(\"Hi\")\n    }\n}", "swift"),
        ("pragma solidity ^0.8.0;\n\ncontract Token {\n    function mint() public {}\n}",
         "solidity"),
        ('[package]\nname = "app"\nversion = "0.1.0"', "toml"),
        ('<Grid>\n    <Button Content="OK" />\n</Grid>', "xml"),
        ("Sum: 15\nAverage: 3.0", "text"),
    ],
)  # fmt: skip
def test_languages_nothing_here_runs_are_not_taken_for_one_that_runs(code, tag):
    for answer in _bare_and_tagged(code, tag):
        assert detect_environment(answer) == (None, None)
    assert guess_language("x: int = 5\nprint(x)") == "python"


def test_a_shell_function_is_shell_not_javascript():
    code = (
        'function create_config() {\n  local name="$1"\n  echo "{\\"name\\": \\"$name\\"}" '
        "> config.json\n}"
    )
    assert guess_language(code) == "shell"
    for answer in _bare_and_tagged(code, "bash"):
        assert detect_environment(answer) == (None, None)
    assert guess_language("export default Util;") == "javascript"
    assert guess_language("export PATH=$PATH:/opt/bin") == "shell"


@pytest.mark.parametrize(
    ("code", "tag", "expected"),
    [
        ("module.exports = {\n  theme: { extend: {} },\n  plugins: [],\n};", "javascript",
         ("javascript", "javascript")),
        ('console.log("hello");', "javascript", ("javascript", "javascript")),
        ("#define SIZE 16\n#define SQUARE(x) ((x) * (x))", "c", ("c", "c")),
    ],
)  # fmt: skip
def test_statements_that_also_parse_as_python_are_read_by_their_language(code, tag, expected):
    for answer in _bare_and_tagged(code, tag):
        assert detect_environment(answer) == expected
    assert guess_language('MODULE_LICENSE("GPL");\nMODULE_AUTHOR("Me");') != "python"


# Rules of the third round, tuned on batches 1 and 2 (all of both: tuning data by then) and on
# tag-stripped variants of unlabelled answers to questions batch 3 does not hold.


_MODAL = (
    '<div class="modal" id="edit">\n  <form id="editForm">\n'
    '    <input name="title" minlength="1" maxlength="100" />\n  </form>\n</div>\n'
    "<script>\n  var modal = document.getElementById('edit');\n"
    "  modal.addEventListener('show', function () { console.log('open'); });\n</script>"
)


def test_a_markup_fragment_with_its_script_is_a_page_not_javascript():
    for answer in _bare_and_tagged(_MODAL, "html"):
        assert detect_environment(answer) == ("html", "html")
    jsx = '<ul className="list">\n  {items.map((item) => <Item key={item} />)}\n</ul>'
    assert guess_language(jsx) == "javascript"  # JSX outside any <script> is not a page


_RUST_CLOSURES = (
    "use std::sync::Arc;\n\nlet data = Arc::new(vec![1, 2, 3]);\n\n"
    "// the closure owns its own handle, so it can be called again\nlet reader = {\n"
    "    let data = Arc::clone(&data);\n    move || data.len()\n};\n\nreader();\nreader();\n"
)


def test_rust_closures_with_let_are_rust_not_javascript():
    for answer in _bare_and_tagged(_RUST_CLOSURES, "rust"):
        assert detect_environment(answer) == ("rust", "rust")
    snippet = "let add = |a, b| a + b;\nlet label = add(1, 2).to_string();\nadd(3, 4);"
    assert guess_language(snippet) == "rust"
    assert guess_language('let who = name || "anon";\nconsole.log(who);') == "javascript"


_JAVA_CATCH = (
    "Future<?> future = executor.submit(task);\ntry {\n    future.get();\n"
    "} catch (InterruptedException | ExecutionException e) {\n"
    "    Thread.currentThread().interrupt();\n}"
)
_JAVA_DECLARATIONS = (
    'String host = "localhost";\nInteger port = 8080;\n'
    'URL url = new URL("http://" + host + ":" + port);\n'
)


@pytest.mark.parametrize("code", [_JAVA_CATCH, _JAVA_DECLARATIONS])
def test_java_snippets_with_no_class_around_them_are_java(code):
    for answer in _bare_and_tagged(code, "java"):
        assert detect_environment(answer) == ("java", "java")
    assert guess_language("try {\n  run();\n} catch (err) {\n  console.error(err);\n}") == (
        "javascript"
    )


def test_cpp_is_told_by_its_scope_operator_and_template_types():
    scoped = (
        'HighFive::File file("data.h5", HighFive::File::ReadOnly);\n'
        'std::vector<double> values;\nfile.getDataSet("values").read(values);\n'
    )
    for answer in _bare_and_tagged(scoped, "cpp"):
        assert detect_environment(answer) == ("cpp", "cpp")
    assert guess_language('li::before {\n  content: "-";\n}') != "cpp"  # CSS, not C++
    assert guess_language("typedef unsigned long u64;\ntypedef int count_t;") == "c"
    assert guess_language("typedef ap_fixed<16, 8> data_t;") == "cpp"


def test_c_looking_code_in_an_answer_whose_other_code_is_cpp_is_cpp():
    types = "typedef ap_fixed<16, 8> data_t;\ntypedef ap_fixed<32, 16> acc_t;"
    layer = (
        "void dense(data_t in[16], data_t w[16], data_t *out) {\n    acc_t sum = 0;\n"
        "    for (int i = 0; i < 16; i++) {\n        sum += in[i] * w[i];\n    }\n"
        "    *out = sum;\n}"
    )
    answer = f"The types:\n\n{F}\n{types}\n{F}\n\nThe layer:\n\n{F}\n{layer}\n{F}\n"
    assert detect_environment(answer) == ("cpp", "cpp")
    # A tag is the author's word: a block tagged c stays C beside a C++ one.
    tagged = f"{F}cpp\n{types}\n{F}\n\n{F}c\n{layer}\n{F}\n"
    assert detect_environment(tagged) == ("c", "c")


def test_settings_lines_are_configuration_not_python():
    php = f"{F}php\n<?php\n$channel = new Channel(5);\n$channel->push(1);\n{F}\n"
    answer = f"Enable it in php.ini:\n\n{F}\nextension=swoole.so\n{F}\n\nThen:\n\n{php}"
    assert detect_environment(answer) == (None, None)
    assert guess_language('API_KEY="abc123"\nDEBUG=true\n# local only') is None
    assert guess_language("x = 5\nprint(x)") == "python"
    assert guess_language("total=sum(values)") == "python"  # a call is code, not a setting


@pytest.mark.parametrize(
    ("code", "tag"),
    [
        ('install.packages("spdep")\nlibrary(spdep)', "r"),
        ("class Pool\n{\n    private $size;\n\n    public function __construct($size)\n    {\n"
         "        $this->size = $size;\n    }\n}", "php"),
        ("$app->get('/users', function ($request, $response) {\n    return $response;\n});",
         "php"),
        ('<menu xmlns:android="http://schemas.android.com/apk/res/android">\n'
         '    <item android:id="@+id/settings" android:title="Settings" />\n</menu>', "xml"),
    ],
)  # fmt: skip
def test_more_languages_nothing_here_runs_stay_unrun(code, tag):
    for answer in _bare_and_tagged(code, tag):
        assert detect_environment(answer) == (None, None)


def test_python_cut_inside_a_triple_quoted_string_is_python():
    code = 'prompt = f"""Summarise the message below in one line.\n\n{message}\n\nAnswer in'
    for answer in _bare_and_tagged(code, "python"):
        assert detect_environment(answer) == ("python", "python")
    assert guess_language('const s = "a";\nconsole.log(s);') == "javascript"


def test_statements_that_declare_nothing_with_line_comments_are_javascript():
    expression = "w = 400;\nh = 300; // the layer's height\nr = 20;\n[w / 2, h / 2 + r];"
    for answer in _bare_and_tagged(expression, "javascript"):
        assert detect_environment(answer) == ("javascript", "javascript")
    assert guess_language("int x = 0;\nx = x + 1; // count\ny = x;") != "javascript"
    assert guess_language("x = 0;\ny = x + 1; % MATLAB\nplot(x, y);") != "javascript"
