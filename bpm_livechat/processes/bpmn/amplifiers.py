"""Deploy-time refusal of obvious token amplifiers: parallel splits that multiply tokens past
the engine's caps before any step could stop them.

Two shapes are refused, naming the gateway:
- a parallel (or inclusive) split two or more of whose branches lead back to it without
  passing anything that waits (a user task, a receive task, a catching event): each round
  doubles the tokens, a "fork bomb";
- splits in a row whose fan-outs multiply to more live tokens than the engine allows
  (`MAX_LIVE_TASKS`), such as three ten-way splits.
Anything subtler is left to the runtime caps and the step's wall-clock budget.
"""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from bpm_livechat.processes.bpmn.report import DeployReport
from bpm_livechat.processes.bpmn.xml import BPMN_NS, line_of

MAX_LIVE_TASKS = 200  # the engine's default cap on live tasks in one instance
SPLITS = ("parallelGateway", "inclusiveGateway")
WAITS = ("userTask", "receiveTask", "intermediateCatchEvent", "eventBasedGateway", "manualTask")
_FLOW = f"{{{BPMN_NS}}}sequenceFlow"


class _Graph:
    """The sequence flows of one process or subprocess level: element id -> targets."""

    def __init__(self, container: etree._Element) -> None:
        self.nodes: dict[str, etree._Element] = {}
        self.targets: dict[str, list[str]] = {}
        self.sources: dict[str, list[str]] = {}
        for child in container:
            if not isinstance(child.tag, str) or etree.QName(child).namespace != BPMN_NS:
                continue
            if child.tag == _FLOW:
                source, target = child.get("sourceRef") or "", child.get("targetRef") or ""
                self.targets.setdefault(source, []).append(target)
                self.sources.setdefault(target, []).append(source)
            elif child.get("id"):
                self.nodes[child.get("id") or ""] = child

    def kind(self, node_id: str) -> str:
        node = self.nodes.get(node_id)
        return etree.QName(node).localname if node is not None else ""

    def is_split(self, node_id: str) -> bool:
        return self.kind(node_id) in SPLITS and len(self.targets.get(node_id, [])) > 1

    def reaches_without_waiting(self, start: str, goal: str) -> bool:
        """True when tokens leaving along `start` can come back to `goal` with nothing waiting."""
        seen: set[str] = set()
        pending = [start]
        while pending:
            node_id = pending.pop()
            if node_id == goal:
                return True
            if node_id in seen or self.kind(node_id) in WAITS:
                continue
            seen.add(node_id)
            pending.extend(self.targets.get(node_id, []))
        return False


def check_amplifiers(report: DeployReport, process: etree._Element) -> None:
    """Report every obvious token amplifier in `process` and its subprocesses, by gateway."""
    for container in _levels(process):
        graph = _Graph(container)
        looping = _fork_bombs(graph)
        for gateway in looping:
            node = graph.nodes[gateway]
            report.error(
                gateway,
                line_of(node),
                f"parallel gateway {gateway!r} sends tokens back to itself along "
                f"{looping[gateway]} branches without waiting, multiplying them every round "
                "(a runaway process): make the loop pass a user task or an event, or use an "
                "exclusive gateway",
            )
        for gateway, tokens in _fan_outs(graph, set(looping)).items():
            node = graph.nodes[gateway]
            report.error(
                gateway,
                line_of(node),
                f"parallel gateway {gateway!r} creates {tokens} tokens at once (the splits "
                f"before it multiply), more than the {MAX_LIVE_TASKS} live tasks an instance "
                "may have",
            )


def _levels(process: etree._Element) -> Iterable[etree._Element]:
    """The process and every (embedded) subprocess in it: each has its own flows."""
    yield process
    yield from process.iter(f"{{{BPMN_NS}}}subProcess", f"{{{BPMN_NS}}}transaction")


def _fork_bombs(graph: _Graph) -> dict[str, int]:
    """Splits with two or more branches that return to them without waiting, and how many."""
    found: dict[str, int] = {}
    for node_id in graph.nodes:
        if not graph.is_split(node_id):
            continue
        back = sum(
            1 for target in graph.targets[node_id] if graph.reaches_without_waiting(target, node_id)
        )
        if back >= 2:
            found[node_id] = back
    return found


def _fan_outs(graph: _Graph, skip: set[str]) -> dict[str, int]:
    """Splits that create more tokens at once than the cap, counting along acyclic paths."""
    passing: dict[str, int] = {}
    visiting: set[str] = set()
    ceiling = 10 * MAX_LIVE_TASKS

    def tokens(node_id: str) -> int:
        """How many tokens pass `node_id` in one run: a merge adds its inputs, a join keeps
        the fewest (it waits for one on each), a split sends its count down every branch."""
        if node_id in passing:
            return passing[node_id]
        if node_id in visiting:
            return 0  # a loop back: rounds are the fork-bomb check's business
        visiting.add(node_id)
        sources = graph.sources.get(node_id, [])
        counts = [tokens(source) for source in sources]
        if not counts:
            count = 1
        elif graph.kind(node_id) in SPLITS and len(sources) > 1:
            count = min(counts)
        else:
            count = sum(counts)
        visiting.discard(node_id)
        passing[node_id] = min(count, ceiling)
        return passing[node_id]

    over: dict[str, int] = {}
    for node_id in graph.nodes:
        if node_id in skip or not graph.is_split(node_id):
            continue
        created = tokens(node_id) * len(graph.targets[node_id])
        if created > MAX_LIVE_TASKS:
            over[node_id] = created
    return over
