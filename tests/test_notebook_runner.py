"""A notebook run as `arena-kit report` runs it: steps and the kernel's bars shown, no noise."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import nbformat

from arena_kit.notebook_runner import step_titles

_KERNEL = {"name": "python3", "language": "python", "display_name": "Python 3"}


def _notebook(path: Path) -> Path:
    notebook = nbformat.v4.new_notebook(
        metadata={"kernelspec": _KERNEL, "language_info": {"name": "python"}}
    )
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# A small notebook"),
        nbformat.v4.new_code_cell("runs = 3", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_markdown_cell("## Run the `code`\n\nSome text."),
        nbformat.v4.new_code_cell(
            "import time\nfrom tqdm.auto import tqdm\n"
            "for _ in tqdm(range(runs), desc='sandbox', unit='run'):\n    time.sleep(0.2)"
        ),
        nbformat.v4.new_markdown_cell("## Where the kernel listens"),
        nbformat.v4.new_code_cell(
            "from ipykernel.connect import get_connection_info\nprint(get_connection_info())"
        ),
    ]
    nbformat.write(notebook, str(path))
    return path


def test_step_titles_follow_the_markdown_headings(tmp_path):
    cells = nbformat.read(str(_notebook(tmp_path / "n.ipynb")), as_version=4).cells
    assert step_titles(cells) == [
        None, "A small notebook", None, "Run the code", None, "Where the kernel listens",
    ]  # fmt: skip
    empty, plain = {"cell_type": "code", "source": ""}, {"cell_type": "code", "source": "x"}
    assert step_titles([empty, plain]) == [None, "set-up"]


def _in_a_terminal(code: str, cwd: Path) -> str:
    """Run ``code`` with stdout and stderr on a terminal of 120 columns; what it showed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-c", code], cwd=cwd, stdin=subprocess.DEVNULL, stdout=follower,
        stderr=follower,
    )  # fmt: skip
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert process.wait(timeout=120) == 0, shown.decode(errors="replace")[-3000:]
    return shown.decode("utf-8", errors="replace")


def test_a_run_shows_its_steps_and_the_kernels_progress_bars_and_no_warning(tmp_path):
    source = _notebook(tmp_path / "small.ipynb")
    code = (
        "from pathlib import Path\nfrom arena_kit.notebook_runner import execute_notebook\n"
        f"execute_notebook(Path({str(source)!r}), Path({str(tmp_path / 'out.ipynb')!r}), "
        f"parameters={{'runs': 8}}, cwd=Path({str(tmp_path)!r}))\n"
    )
    shown = _in_a_terminal(code, tmp_path)
    lines = [line for line in shown.replace("\x1b[A", "\r").split("\r") if line.strip()]
    steps = [line.strip() for line in lines if line.startswith("small: step")]
    assert "small: step 3/4, Run the code" in steps, steps
    assert steps[-1] == "small: step 4/4, Where the kernel listens", steps
    assert not any("4/4, Run" in step for step in steps), steps
    mirrored = [line.strip() for line in lines if line.strip().startswith("sandbox:")]
    assert mirrored and all("/8" in line for line in mirrored), mirrored
    assert any("run/s]" in line or "s/run]" in line for line in mirrored), mirrored
    assert any("8/8" in line for line in mirrored), mirrored
    assert "without encryption" not in shown and "WARNING" not in shown
    executed = json.loads((tmp_path / "out.ipynb").read_text())
    connection = json.loads("".join(executed["cells"][-1]["outputs"][0]["text"]).replace("'", '"'))
    assert connection["transport"] == "ipc"
    sockets = Path(connection["ip"]).parent
    assert not sockets.exists(), "the kernel's socket folder is removed with the run"


def test_the_kernel_process_stderr_is_shown_after_the_notebook_less_the_shutdown_line(
    tmp_path, capsys
):
    from arena_kit.notebook_runner import execute_notebook

    notebook = nbformat.v4.new_notebook(
        metadata={"kernelspec": _KERNEL, "language_info": {"name": "python"}}
    )
    notebook.cells = [
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(  # the kernel process's own file 2, not the cell's stderr
            "import os\n"
            "os.write(2, b'[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel.\\n')\n"
            "os.write(2, b'a library complaining on file 2\\n')\n"
            "print('in the notebook')"
        ),
    ]
    nbformat.write(notebook, str(tmp_path / "n.ipynb"))
    execute_notebook(
        tmp_path / "n.ipynb", tmp_path / "out.ipynb", parameters={"x": 2}, cwd=tmp_path,
        progress=False,
    )  # fmt: skip
    err = capsys.readouterr().err
    assert "a library complaining on file 2" in err
    assert "KeyboardInterrupt" not in err and "in the notebook" not in err
