"""Runs a Python program inside the sandbox (this file runs there, not in arena-kit).

It separates syntax errors from runtime errors (exit code 97 with the compiler's message),
forces a non-interactive matplotlib backend, saves every matplotlib figure when ``show()``
is called and at exit, and saves plotly figures shown with ``fig.show()``; the files land in
the work directory, where the host collects them as artifacts.

Only the standard library is used, and nothing is imported that the program does not import.
"""

import atexit
import os
import sys

BUILD_ERROR_EXIT = 97
_LAUNCHER = os.path.abspath(__file__)
_saved: set = set()
_counter = {"figure": 0, "plotly": 0}


def _save_matplotlib_figures():
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return
    for number in pyplot.get_fignums():
        figure = pyplot.figure(number)
        key = (id(figure), len(figure.axes))
        if key in _saved:
            continue
        _saved.add(key)
        _counter["figure"] += 1
        try:
            figure.savefig(f"figure_{_counter['figure']}.png", dpi=100)
        except Exception as error:  # a broken figure must not hide the program's own result
            sys.stderr.write(f"arena-kit: could not save figure {number}: {error}\n")


def _patch_pyplot(pyplot):
    original = pyplot.show

    def show(*args, **kwargs):
        _save_matplotlib_figures()
        try:
            return original(*args, **kwargs)
        except Exception:
            return None

    pyplot.show = show
    # Registered after matplotlib's own exit handler (which closes every figure), so it runs
    # first: figures never shown are saved too.
    atexit.register(_save_matplotlib_figures)


def _patch_plotly_io(plotly_io):
    def show(fig, *args, **kwargs):
        _counter["plotly"] += 1
        to_json = getattr(fig, "to_json", None)
        text = to_json() if to_json else plotly_io.to_json(fig)
        with open(f"plotly_{_counter['plotly']}.plotly.json", "w") as handle:
            handle.write(text)

    plotly_io.show = show
    try:
        import plotly.basedatatypes as base

        base.BaseFigure.show = lambda self, *a, **k: show(self)
    except Exception:
        pass


_PATCHES = {"matplotlib.pyplot": _patch_pyplot, "plotly.io": _patch_plotly_io}


class _PatchAfterImport:
    """A meta-path finder that patches a few modules right after they are loaded."""

    def find_spec(self, name, path, target=None):
        if name not in _PATCHES:
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original_exec = loader.exec_module

        def exec_module(module):
            original_exec(module)
            _PATCHES[name](module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _excepthook(kind, value, traceback):
    # Hide this launcher's own frames: the traceback starts at the program.
    while traceback is not None and traceback.tb_frame.f_code.co_filename == _LAUNCHER:
        traceback = traceback.tb_next
    # The default hook prints the exception's own __traceback__, not its third argument.
    sys.__excepthook__(kind, value.with_traceback(traceback), traceback)


def main():
    if sys.argv[1] == "--wait":
        # A warm sandbox: started ahead, it waits until its code is in place.
        sys.stdin.readline()
        # That pipe is the host's control channel: the program gets an empty, closed stdin.
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        del sys.argv[1]
    path = sys.argv[1]
    with open(path, "rb") as handle:
        source = handle.read()
    try:
        code = compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        import traceback

        sys.stderr.write("".join(traceback.format_exception_only(type(error), error)))
        sys.stderr.flush()
        os._exit(BUILD_ERROR_EXIT)
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.meta_path.insert(0, _PatchAfterImport())
    sys.excepthook = _excepthook
    sys.argv = [path]
    sys.path[0] = os.path.dirname(os.path.abspath(path))
    import types

    # A fresh __main__: the program sees none of this launcher's names.
    program = types.ModuleType("__main__")
    program.__dict__.update({"__file__": path, "__cached__": None, "__builtins__": __builtins__})
    sys.modules["__main__"] = program
    namespace = program.__dict__
    exec(code, namespace)


if __name__ == "__main__":
    main()
