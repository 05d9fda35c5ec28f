"""A bAbI-style question-answering generator (Weston et al. 2015), offline and seeded.

The official bAbI files and their Lua generator cannot be fetched here (``papers/a3.md`` §5.2), so
this module re-creates 15 of the 20 tasks from their published semantics (world: 4 actors, 6
locations, 3 objects; stories of statements interleaved with questions; each question's memory is
the story so far, at most 50 statements as in MemN2N). It is written from the task descriptions,
not translated from the Lua code; sentences follow the official phrasing closely, but the
distributions (story lengths, question frequency) are ours, so absolute accuracies are not
comparable with the paper's .826 -- only relative changes under approximation are.

Tasks: 1 single supporting fact, 2 two supporting facts, 3 three supporting facts, 4 two-argument
relations, 6 yes/no questions, 7 counting, 8 lists/sets, 9 simple negation, 10 indefinite
knowledge, 11 basic coreference, 12 conjunction, 13 compound coreference, 15 basic deduction,
16 basic induction, 20 agent's motivations.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

__all__ = ["Example", "TASKS", "TASK_NAMES", "generate_task", "tokenize", "MAX_MEMORY"]

MAX_MEMORY = 50  # MemN2N keeps the 50 most recent statements
ACTORS = ["John", "Mary", "Sandra", "Daniel"]
LOCATIONS = ["bedroom", "kitchen", "garden", "hallway", "bathroom", "office"]
OBJECTS = ["football", "apple", "milk"]
MOVE = ["went to", "journeyed to", "travelled to", "moved to"]
GRAB = ["picked up", "got", "grabbed", "took"]
DROP = ["dropped", "discarded", "put down", "left"]
NUMBERS = ["none", "one", "two", "three"]


@dataclass(frozen=True)
class Example:
    task: int
    story: tuple[str, ...]  # statements before the question (most recent last), <= MAX_MEMORY
    question: str
    answer: str  # one token (lists are joined with commas, as in bAbI task 8)


def tokenize(sentence: str) -> list[str]:
    return sentence.lower().replace(".", " ").replace("?", " ").split()


Event = tuple[str, str | None]  # (sentence, answer) -- answer None for a statement


class _World:
    """Actor locations and object holders, updated by the statements a task emits."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.where: dict[str, str] = {}
        self.holder: dict[str, str] = {}  # object -> actor
        self.obj_at: dict[str, str] = {}  # object -> location (dropped or carried)
        self.obj_hist: dict[str, list[str]] = {o: [] for o in OBJECTS}

    def pick(self, xs):
        return xs[int(self.rng.integers(len(xs)))]

    def _place(self, obj: str, loc: str) -> None:
        self.obj_at[obj] = loc
        if not self.obj_hist[obj] or self.obj_hist[obj][-1] != loc:
            self.obj_hist[obj].append(loc)

    def move(self, actor: str) -> str:
        loc = self.pick([l for l in LOCATIONS if l != self.where.get(actor)])
        self.where[actor] = loc
        for o, a in self.holder.items():
            if a == actor:
                self._place(o, loc)
        return f"{actor} {self.pick(MOVE)} the {loc}."

    def act(self, allow_objects: bool) -> str:
        actor = self.pick(ACTORS)
        if allow_objects and actor in self.where and self.rng.random() < 0.5:
            held = [o for o, a in self.holder.items() if a == actor]
            free = [o for o in OBJECTS if o not in self.holder]
            if held and (not free or self.rng.random() < 0.4):
                o = self.pick(held)
                del self.holder[o]
                self._place(o, self.where[actor])
                return f"{actor} {self.pick(DROP)} the {o}."
            if free:
                o = self.pick(free)
                self.holder[o] = actor
                self._place(o, self.where[actor])
                return f"{actor} {self.pick(GRAB)} the {o}."
        return self.move(actor)


def _interleave(rng, step: Callable[[], str], ask: Callable[[], Event | None], n_q: int, gap=(1, 4)) -> Iterator[Event]:
    asked = 0
    for _ in range(400):
        if asked == n_q:
            return
        for _ in range(int(rng.integers(gap[0], gap[1] + 1))):
            yield step(), None
        q = ask()
        if q is not None:
            asked += 1
            yield q


def _t1(rng):
    w = _World(rng)
    def ask():
        a = w.pick(ACTORS)
        return (f"Where is {a}?", w.where[a]) if a in w.where else None
    return _interleave(rng, lambda: w.move(w.pick(ACTORS)), ask, 5, (1, 3))


def _object_world(rng, question):
    w = _World(rng)
    return _interleave(rng, lambda: w.act(True), lambda: question(w), 5, (2, 6))


def _t2(rng):
    def ask(w):
        o = w.pick(OBJECTS)
        return (f"Where is the {o}?", w.obj_at[o]) if o in w.obj_at else None
    return _object_world(rng, ask)


def _t3(rng):
    def ask(w):
        o = w.pick(OBJECTS)
        h = w.obj_hist[o]
        return (f"Where was the {o} before the {h[-1]}?", h[-2]) if len(h) >= 2 else None
    return _object_world(rng, ask)


def _t7(rng):
    def ask(w):
        a = w.pick(ACTORS)
        return (f"How many objects is {a} carrying?", NUMBERS[sum(1 for h in w.holder.values() if h == a)])
    return _object_world(rng, ask)


def _t8(rng):
    def ask(w):
        a = w.pick(ACTORS)
        held = sorted(o for o, h in w.holder.items() if h == a)
        return (f"What is {a} carrying?", ",".join(held) if held else "nothing")
    return _object_world(rng, ask)


def _t4(rng):
    dirs = {"north": "south", "south": "north", "east": "west", "west": "east"}
    d = str(rng.choice(list(dirs)))
    a, b, c = (str(x) for x in rng.choice(LOCATIONS, size=3, replace=False))
    facts = [(f"The {a} is {d} of the {b}.", None), (f"The {b} is {d} of the {c}.", None)]
    if rng.random() < 0.5:
        x, y = (a, b) if rng.random() < 0.5 else (b, c)
        q = (f"What is {d} of the {y}?", x) if rng.random() < 0.5 else (f"What is the {x} {d} of?", y)
    else:
        x, y = (a, b) if rng.random() < 0.5 else (b, c)
        q = (f"What is {dirs[d]} of the {x}?", y) if rng.random() < 0.5 else (f"What is the {y} {dirs[d]} of?", x)
    return iter(facts + [q])


def _t6(rng):
    w = _World(rng)
    def ask():
        a = w.pick(ACTORS)
        if a not in w.where:
            return None
        loc = w.where[a] if rng.random() < 0.5 else w.pick(LOCATIONS)
        return f"Is {a} in the {loc}?", "yes" if loc == w.where[a] else "no"
    return _interleave(rng, lambda: w.move(w.pick(ACTORS)), ask, 5, (1, 3))


def _t9(rng):
    state: dict[str, tuple[str, bool]] = {}
    def step():
        a, loc = str(rng.choice(ACTORS)), str(rng.choice(LOCATIONS))
        if rng.random() < 0.6:
            state[a] = (loc, True)
            return f"{a} {rng.choice(MOVE + ['is in'])} the {loc}."
        state[a] = (loc, False)
        return f"{a} is {rng.choice(['not', 'no longer'])} in the {loc}."
    def ask():
        a = str(rng.choice(ACTORS))
        if a not in state:
            return None
        loc, pos = state[a]
        if pos and rng.random() < 0.5:
            loc = str(rng.choice([l for l in LOCATIONS if l != loc]))
            return f"Is {a} in the {loc}?", "no"
        return f"Is {a} in the {loc}?", "yes" if pos else "no"
    return _interleave(rng, step, ask, 5, (1, 3))


def _t10(rng):
    state: dict[str, set[str]] = {}
    def step():
        a = str(rng.choice(ACTORS))
        if rng.random() < 0.5:
            x, y = rng.choice(LOCATIONS, size=2, replace=False)
            state[a] = {str(x), str(y)}
            return f"{a} is either in the {x} or the {y}."
        loc = str(rng.choice(LOCATIONS))
        state[a] = {loc}
        return f"{a} {rng.choice(MOVE)} the {loc}."
    def ask():
        a = str(rng.choice(ACTORS))
        if a not in state:
            return None
        locs = state[a]
        loc = str(rng.choice(sorted(locs))) if rng.random() < 0.6 else str(rng.choice(LOCATIONS))
        ans = "no" if loc not in locs else ("yes" if len(locs) == 1 else "maybe")
        return f"Is {a} in the {loc}?", ans
    return _interleave(rng, step, ask, 5, (1, 3))


def _coref(rng, conj: bool, compound: bool):
    where: dict[str, str] = {}
    last: list[str] = []
    def step():
        nonlocal last
        loc = str(rng.choice(LOCATIONS))
        pronoun_ok = bool(last) and rng.random() < 0.5 and (compound or len(last) == 1)
        if pronoun_ok and ((compound and len(last) == 2) or (not compound and len(last) == 1)):
            for a in last:
                where[a] = loc
            who = "they" if len(last) == 2 else ("he" if last[0] in ("John", "Daniel") else "she")
            return f"{rng.choice(['Then', 'After that', 'Afterwards'])} {who} {rng.choice(MOVE)} the {loc}."
        if conj or compound:
            a, b = (str(x) for x in rng.choice(ACTORS, size=2, replace=False))
            where[a] = where[b] = loc
            last = [a, b]
            return f"{a} and {b} {rng.choice(MOVE)} the {loc}."
        a = str(rng.choice(ACTORS))
        where[a] = loc
        last = [a]
        return f"{a} {rng.choice(MOVE)} the {loc}."
    def ask():
        a = str(rng.choice(ACTORS))
        return (f"Where is {a}?", where[a]) if a in where else None
    return _interleave(rng, step, ask, 5, (1, 3))


def _t15(rng):
    species = ["mouse", "sheep", "wolf", "cat"]
    plural = {"mouse": "Mice", "sheep": "Sheep", "wolf": "Wolves", "cat": "Cats"}
    names = ["Gertrude", "Winona", "Jessica", "Emily"]
    fear = {s: str(rng.choice([t for t in species if t != s])) for s in species}
    facts = [(f"{plural[s]} are afraid of {plural[fear[s]].lower()}.", None) for s in species]
    kind = {n: str(rng.choice(species)) for n in names}
    facts += [(f"{n} is a {kind[n]}.", None) for n in names]
    order = rng.permutation(len(facts))
    events = [facts[i] for i in order]
    for n in rng.choice(names, size=4, replace=False):
        events.append((f"What is {n} afraid of?", plural[fear[kind[str(n)]]].lower()))
    return iter(events)


def _t16(rng):
    animals = ["swan", "lion", "frog", "rhino"]
    colors = ["white", "yellow", "green", "gray"]
    names = ["Lily", "Bernhard", "Greg", "Julius", "Brian"]
    col = {a: str(rng.choice(colors)) for a in animals}
    kind = {n: str(rng.choice(animals)) for n in names}
    target = str(rng.choice(names))
    events = []
    for n in names:
        if n == target:
            continue
        events.append((f"{n} is a {kind[n]}.", None))
        events.append((f"{n} is {col[kind[n]]}.", None))
    if not any(kind[n] == kind[target] for n in names if n != target):
        other = str(rng.choice([n for n in names if n != target]))
        kind[target] = kind[other]
    events.append((f"{target} is a {kind[target]}.", None))
    events.append((f"What color is {target}?", col[kind[target]]))
    return iter(events)


def _t20(rng):
    goal = {"hungry": "kitchen", "thirsty": "kitchen", "bored": "garden", "tired": "bedroom"}
    events: list[Event] = []
    for a in rng.permutation(ACTORS):
        mood = str(rng.choice(list(goal)))
        events.append((f"{a} is {mood}.", None))
        if rng.random() < 0.5:
            events.append((f"Where will {a} go?", goal[mood]))
        else:
            events.append((f"{a} {rng.choice(MOVE)} the {goal[mood]}.", None))
            events.append((f"Why did {a} go to the {goal[mood]}?", mood))
    return iter(events)


TASKS: dict[int, Callable[[np.random.Generator], Iterator[Event]]] = {
    1: _t1, 2: _t2, 3: _t3, 4: _t4, 6: _t6, 7: _t7, 8: _t8, 9: _t9, 10: _t10,
    11: lambda r: _coref(r, False, False), 12: lambda r: _coref(r, True, False),
    13: lambda r: _coref(r, False, True), 15: _t15, 16: _t16, 20: _t20,
}
TASK_NAMES = {1: "single-supporting-fact", 2: "two-supporting-facts", 3: "three-supporting-facts",
              4: "two-arg-relations", 6: "yes-no-questions", 7: "counting", 8: "lists-sets",
              9: "simple-negation", 10: "indefinite-knowledge", 11: "basic-coreference",
              12: "conjunction", 13: "compound-coreference", 15: "basic-deduction",
              16: "basic-induction", 20: "agents-motivations"}


def generate_task(task: int, n_questions: int, seed: int) -> list[Example]:
    """``n_questions`` examples of one task, deterministic in (task, seed)."""
    if task not in TASKS:
        raise ValueError(f"task {task} is not implemented; choose one of {sorted(TASKS)}")
    if n_questions < 1:
        raise ValueError(f"n_questions must be >= 1, got {n_questions}")
    rng = np.random.default_rng([seed, task])
    out: list[Example] = []
    while len(out) < n_questions:
        story: list[str] = []
        for sentence, answer in TASKS[task](rng):
            if answer is None:
                story.append(sentence)
            else:
                out.append(Example(task, tuple(story[-MAX_MEMORY:]), sentence, answer))
                if len(out) == n_questions:
                    break
    return out
