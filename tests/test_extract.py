"""Dependency detection: imports → packages to install."""

from __future__ import annotations

from arena_kit.extract import (
    distribution_for,
    is_stdlib,
    js_dependencies,
    js_imports,
    python_dependencies,
    python_imports,
)


def test_python_imports_in_order_without_duplicates():
    code = (
        "import os, sys\nimport numpy as np\nfrom sklearn.linear_model import Ridge\n"
        "from . import sibling\nimport numpy.linalg\n"
        "def f():\n    import cv2\n"
    )
    assert python_imports(code) == ["os", "sys", "numpy", "sklearn", "cv2"]


def test_python_dependencies_drop_the_standard_library_and_map_names():
    code = (
        "import json, pathlib, collections.abc\nimport cv2\nimport sklearn\nfrom PIL import Image\n"
        "from bs4 import BeautifulSoup\nimport yaml\nimport pandas as pd\nimport streamlit as st\n"
    )
    assert python_dependencies(code) == [
        "opencv-python", "scikit-learn", "pillow", "beautifulsoup4", "pyyaml", "pandas",
        "streamlit",
    ]  # fmt: skip


def test_code_that_does_not_parse_is_still_scanned():
    code = "import requests\nfrom flask import Flask\nprint('unclosed\n"
    assert python_imports(code) == ["requests", "flask"]


def test_distribution_names():
    assert distribution_for("cv2") == "opencv-python"
    assert distribution_for("PIL.Image") == "pillow"
    assert distribution_for("my_package") == "my-package"
    assert is_stdlib("asyncio.tasks") and not is_stdlib("numpy")


def test_js_imports_and_dependencies():
    code = (
        "import React, { useState } from 'react';\nimport * as d3 from \"d3\";\n"
        "import './styles.css';\nconst fs = require('fs');\nconst _ = require('lodash/fp');\n"
        "import { z } from '@scope/pkg/sub';\nconst m = await import('node:path');\n"
        "export { x } from 'three';\n"
    )
    assert js_imports(code) == [
        "react", "d3", "./styles.css", "fs", "lodash/fp", "@scope/pkg/sub", "node:path", "three",
    ]  # fmt: skip
    assert js_dependencies(code) == ["react", "d3", "lodash", "@scope/pkg", "three"]
