"""Keyboard shortcuts for a labeling session: a tiny anywidget that listens for key presses
(and for the clicks and keys counted inside the panels' live pages and apps).

Core ipywidgets has no key events. This widget registers a ``keydown`` listener on
``window`` in the *capture* phase, which runs before JupyterLab's own shortcut handler
(Lumino listens on ``document``, also in the capture phase, and the capture phase goes
window → document → …). A key is taken only when the focus is inside the session's widget
and not in a text field, so typing a reason or editing code still works, and pressing ``1``
in the session never turns a notebook cell into a heading.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

__all__ = ["KeyListener", "KEYS"]

KEYS: dict[str, str] = {
    "1": "A",
    "2": "B",
    "3": "tie",
    "4": "both_bad",
    "s": "skip",
    "u": "undo",
}
"""Key → action."""

_ESM = """
const KEYS = new Set(["1", "2", "3", "4", "s", "u"]);

function editable(node) {
  if (!node || node.nodeType !== 1) return false;
  if (node.isContentEditable) return true;
  return ["INPUT", "TEXTAREA", "SELECT"].includes(node.tagName);
}

function render({ model, el }) {
  el.classList.add("arena-keys");
  el.tabIndex = 0;
  el.setAttribute("role", "region");
  el.setAttribute("aria-label", "labeling keyboard shortcuts");
  const label = () => {
    el.textContent = model.get("enabled") ? model.get("hint") : "Keys off";
  };
  label();
  model.on("change:enabled", label);
  model.on("change:hint", label);
  const root = () => el.closest(".arena-session") || el.parentElement;
  const onKey = (event) => {
    if (!model.get("enabled") || event.repeat) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = (event.key || "").toLowerCase();
    if (!KEYS.has(key)) return;
    const r = root();
    if (!r || !r.isConnected) return;
    const target = event.target;
    const active = document.activeElement;
    if (!(r.contains(target) || r.contains(active))) return;
    if (editable(target) || editable(active)) return;
    // A game being played takes its keys (arena_kit.web.pygame_live marks its canvas).
    const playing = (node) =>
      !!(node && node.closest && node.closest("[data-arena-captures-keys]"));
    if (playing(target) || playing(active)) return;
    event.preventDefault();
    event.stopPropagation();
    event.stopImmediatePropagation();
    model.send({ type: "key", key });
  };
  window.addEventListener("keydown", onKey, true);
  const onClick = (event) => {
    const t = event.target;
    if (editable(t) || (t && t.closest && t.closest("button"))) return;
    el.focus({ preventScroll: true });
  };
  const r = root();
  if (r) r.addEventListener("click", onClick);
  // A new battle: keys go to the session again, and both panels start at their top.
  model.on("change:focus_token", () => {
    el.focus({ preventScroll: true });
    const session = root();
    if (session) session.querySelectorAll(".arena-panel").forEach((p) => { p.scrollTop = 0; });
  });
  // Clicks and keys inside a panel's live page or app, posted by the script arena-kit puts
  // in it (see arena_kit.web.display.INTERACTION_SCRIPT): counted for the side it shows in.
  const onMessage = (event) => {
    const data = event.data;
    if (!data || typeof data.arenaInteraction !== "string") return;
    const session = root();
    if (!session) return;
    for (const frame of session.querySelectorAll("iframe")) {
      if (frame.contentWindow !== event.source) continue;
      const panel = frame.closest(".arena-panel-A, .arena-panel-B");
      if (panel) {
        const screen = panel.classList.contains("arena-panel-A") ? "A" : "B";
        model.send({ type: "interaction", screen, kind: data.arenaInteraction });
      }
      return;
    }
  };
  window.addEventListener("message", onMessage);
  return () => {
    window.removeEventListener("keydown", onKey, true);
    window.removeEventListener("message", onMessage);
    if (r) r.removeEventListener("click", onClick);
  };
}

export default { render };
"""


class KeyListener(anywidget.AnyWidget):
    """Sends ``1``–``4``, ``s`` and ``u`` presses inside its session to ``on_key`` handlers."""

    _esm = _ESM
    enabled = traitlets.Bool(True).tag(sync=True)
    hint = traitlets.Unicode(
        "Keys: 1 A better · 2 B better · 3 tie · 4 both bad · s skip · u undo (click here first)"
    ).tag(sync=True)
    """The line the widget shows (a session without undo leaves ``u`` out)."""
    focus_token = traitlets.Int(0).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._handlers: list[Callable[[str], None]] = []
        self._interaction_handlers: list[Callable[[str, str], None]] = []
        self.on_msg(self._message)

    def on_key(self, handler: Callable[[str], None]) -> None:
        """Call ``handler(key)`` for every key press taken."""
        self._handlers.append(handler)

    def on_interaction(self, handler: Callable[[str, str], None]) -> None:
        """Call ``handler(screen, kind)`` for every click or key press (``kind``) inside a
        panel's live page or app (``screen``: ``"A"`` or ``"B"``)."""
        self._interaction_handlers.append(handler)

    def focus(self) -> None:
        """Move the keyboard focus to the listener (so keys work without a click)."""
        self.focus_token += 1

    def _message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "interaction":
            screen, kind = str(content.get("screen", "")), str(content.get("kind", ""))
            if screen in ("A", "B") and kind in ("click", "key"):
                for interaction in list(self._interaction_handlers):
                    interaction(screen, kind)
            return
        if isinstance(content, dict) and content.get("type") == "key":
            key = str(content.get("key", "")).lower()
            if key in KEYS:
                for handler in list(self._handlers):
                    handler(key)
