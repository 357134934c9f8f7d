"""The words put to an LLM judge: two styles, code-only or with execution, any number of turns.

``reward`` (BigCodeReward): answer A, B, tie or both_bad as JSON. ``arena`` (AutoCodeArena):
one of the five ``[[A>>B]]`` … ``[[B>>A]]`` labels, with the original's per-category priorities.
Both show **every turn** of each conversation (older answers shortened first) — the original
showed only the last — and, with execution, each side's status, truncated stdout/stderr and
the screenshot (sent as an image to vision judges).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .battles import BattleInput, is_missing

__all__ = [
    "JudgePrompt",
    "render_battle",
    "REWARD_SYSTEM_PROMPT",
    "ARENA_SYSTEM_PROMPT",
    "CATEGORY_PRIORITIES",
]

REWARD_SYSTEM_PROMPT = """\
You are an impartial expert judge of code written by two AI assistants for the same user. \
Read the whole conversation with each assistant; judge the final result of each: does the code \
do what the user asked, is it correct and complete, does it run, and is the result (interface, \
output) good? {execution_note}
Do not let the order in which the assistants are shown, the length of their answers or their \
names influence you.

Answer with ONE JSON object and nothing after it:
{{"reasoning": "<two or three sentences>", "winner": "A" | "B" | "tie" | "both_bad"}}
Use "tie" when both are about equally good and "both_bad" when neither solves the task."""

ARENA_SYSTEM_PROMPT = """\
You are an impartial expert judge comparing two AI assistants' solutions to the same coding \
task. {priorities} {execution_note}
Think about correctness and completeness first, then the priorities above. Do not let the \
order in which the solutions are shown, or their length, influence you.

Finish with exactly one verdict label on its own line:
[[A>>B]] A is significantly better, [[A>B]] A is slightly better, [[A=B]] about the same, \
[[B>A]] B is slightly better, [[B>>A]] B is significantly better."""

CATEGORY_PRIORITIES: dict[str, str] = {
    "web_design": "For web design, weigh the user interface and user experience most.",
    "game_development": "For games, weigh the interface and the correctness of the game logic.",
    "creative_coding": "For creative coding, weigh novelty and the quality of the result.",
    "problem_solving": "For problem solving, weigh correctness and efficiency.",
    "scientific_computing": (
        "For scientific computing, weigh correctness, efficiency and the visualisation."
    ),
    "diagram_creation": "For diagrams, weigh clarity and faithfulness to the request.",
}

_WITH_EXECUTION = (
    "You also see what happened when each assistant's code was run in a sandbox (status, "
    "output, errors{images}); use it as evidence, but code that did not run may still be the "
    "better answer when the failure is the sandbox's."
)
_CODE_ONLY = "You see only the code and text, not its execution."


@dataclass(frozen=True)
class JudgePrompt:
    """A rendered request: system prompt, user text and images, in the order shown."""

    system: str
    text: str
    images: list[str] = field(default_factory=list)

    def messages(self) -> list[dict[str, Any]]:
        """Chat messages for the request (images as data-URL parts after the text)."""
        from ..models import user_message

        return [
            {"role": "system", "content": self.system},
            user_message(self.text, self.images),
        ]


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    return f"{text[:head]}\n… [{len(text) - limit} characters cut] …\n{text[-tail:]}"


def _conversation(
    messages: Sequence[Mapping[str, Any]], label: str, last_limit: int, earlier_limit: int
) -> str:
    turns = [m for m in messages if m.get("role") in ("user", "assistant")]
    last_answer = max((i for i, m in enumerate(turns) if m.get("role") == "assistant"), default=-1)
    parts = []
    user_turn = 0
    for index, message in enumerate(turns):
        content = message.get("content")
        if not isinstance(content, str):
            content = " ".join(p.get("text", "") for p in content or [] if isinstance(p, Mapping))
        if message["role"] == "user":
            user_turn += 1
            parts.append(f"[User, turn {user_turn}]\n{_shorten(content, earlier_limit)}")
        else:
            limit = last_limit if index == last_answer else earlier_limit
            parts.append(f"[Assistant {label}, turn {user_turn}]\n{_shorten(content, limit)}")
    return "\n\n".join(parts)


def _execution_text(
    execution: Mapping[str, Any] | None, label: str, output_limit: int, image_number: int | None
) -> str:
    if execution is None:
        return (
            f"Execution of {label}'s code: no run (no runnable code was found or it was not run)."
        )
    lines = [
        f"Execution of {label}'s code: environment {execution.get('environment')}, "
        f"status {execution.get('status')}"
        + (
            f" — {message}"
            if isinstance(message := execution.get("message"), str) and message
            else ""
        )
    ]
    if not is_missing(execution.get("exit_code")):
        lines.append(f"exit code: {execution['exit_code']}")
    for stream in ("stdout", "stderr"):
        value = execution.get(stream) or ""
        if isinstance(value, str) and value.strip():  # NaN/NA cells are not text
            lines.append(f"{stream} (first {output_limit} characters):\n{value[:output_limit]}")
        else:
            lines.append(f"{stream}: (empty)")
    build_log = execution.get("build_log")
    if isinstance(build_log, str) and build_log.strip() and execution.get("status") != "ok":
        # Compile and bundle errors live here, not in stderr.
        lines.append(f"build log (last {output_limit} characters):\n{build_log[-output_limit:]}")
    if image_number is not None:
        lines.append(f"screenshot: image {image_number} below")
    elif isinstance(execution.get("screenshot"), str):
        lines.append("screenshot: taken, not shown to this judge")
    return "\n".join(lines)


def render_battle(
    battle: BattleInput,
    *,
    swapped: bool = False,
    style: str = "reward",
    executions: Mapping[str, Mapping[str, Any]] | None = None,
    vision: bool = False,
    output_limit: int = 1000,
    last_answer_limit: int = 12000,
    earlier_limit: int = 3000,
) -> JudgePrompt:
    """The judge request for one game of a battle.

    Parameters
    ----------
    battle
        The battle.
    swapped
        Show ``model_b`` as assistant A (the position-swap game).
    style
        ``"reward"`` (JSON A/B/tie/both_bad) or ``"arena"`` (``[[A>B]]`` labels).
    executions
        ``execution_id -> execution row``; ``None`` renders the code-only prompt.
    vision
        Attach each side's screenshot (when its file exists) as an image.
    output_limit
        Characters of stdout and of stderr shown per side (the original's 1,000).
    last_answer_limit, earlier_limit
        Characters kept of the final answer and of each earlier message.
    """
    if style not in ("reward", "arena"):
        raise ValueError(f"style must be 'reward' or 'arena' (got {style!r})")
    shown = [
        (battle.messages_b, battle.execution_id_b),
        (battle.messages_a, battle.execution_id_a),
    ]
    if not swapped:
        shown.reverse()
    images: list[str] = []
    sections = [f"# The user's task\n{_shorten(battle.instruction, earlier_limit)}"]
    for label, (messages, execution_id) in zip(("A", "B"), shown, strict=True):
        sections.append(
            f"# Conversation with assistant {label}\n"
            + _conversation(messages, label, last_answer_limit, earlier_limit)
        )
        if executions is not None:
            execution = executions.get(execution_id) if execution_id else None
            number = None
            screenshot = execution.get("screenshot") if execution else None
            if vision and isinstance(screenshot, str) and Path(screenshot).is_file():
                images.append(screenshot)
                number = len(images)
            sections.append(_execution_text(execution, f"assistant {label}", output_limit, number))
    if executions is None:
        note = _CODE_ONLY
    else:
        note = _WITH_EXECUTION.format(images=", screenshots" if vision else "")
    if style == "reward":
        system = REWARD_SYSTEM_PROMPT.format(execution_note=note)
    else:
        priorities = CATEGORY_PRIORITIES.get(battle.category or "", "")
        system = ARENA_SYSTEM_PROMPT.format(priorities=priorities, execution_note=note)
    return JudgePrompt(system=system, text="\n\n".join(sections), images=images)
