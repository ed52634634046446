"""Terminal views of SPF: the include/redirect tree with its lookup counts, and one evaluation."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text
from rich.tree import Tree

STATUS_NOTE = {
    "none": "no SPF record",
    "nxdomain": "does not exist",
    "multiple": "several SPF records",
    "invalid": "does not parse",
    "temperror": "lookup failed",
    "loop": "loop",
    "too_deep": "too deep",
}
RESULT_STYLE = {
    "pass": "bold green",
    "fail": "bold red",
    "softfail": "bold yellow",
    "neutral": "yellow",
    "none": "yellow",
    "permerror": "bold red",
    "temperror": "bold magenta",
}


def _label(node: dict[str, Any]) -> Text:
    head = Text(node["via"] or node["domain"], style="bold")
    if node["via"]:
        head.append(f"  → {node['domain']}", style="dim")
    cost = node["total_lookups"] + (1 if node["via"] else 0)
    head.append(f"   {cost} lookup{'s' if cost != 1 else ''}", style="cyan")
    if node["status"] != "ok":
        head.append(f"   {STATUS_NOTE.get(node['status'], node['status'])}", style="bold red")
    if node["record"]:
        head.append(f"\n{node['record']}", style="green")
    if node["networks"]:
        shown = ", ".join(node["networks"][:8]) + (f" … (+{len(node['networks']) - 8})" if len(node["networks"]) > 8 else "")
        head.append(f"\nauthorizes: {shown}", style="dim")
    for void in node["void_lookups"]:
        head.append(f"\nvoid: {void}", style="yellow")
    for term in node["unresolved"]:
        head.append(f"\n{term}: depends on the sender (macros)", style="dim")
    return head


def _add(tree: Tree, node: dict[str, Any]) -> None:
    branch = tree.add(_label(node))
    for child in node["children"]:
        _add(branch, child)


def render_tree(data: dict[str, Any], console: Console) -> None:
    tree = Tree(_label(data))
    for child in data["children"]:
        _add(tree, child)
    console.print(tree)
    lookups, voids = data["total_lookups"], _count_voids(data)
    console.print(
        Text.assemble(
            ("DNS lookups counted by receivers: ", "bold"),
            (f"{lookups}/10", "bold red" if lookups > 10 else "bold green"),
            ("   void lookups: ", "bold"),
            (f"{voids}/2", "bold red" if voids > 2 else "bold green"),
        )
    )


def _count_voids(node: dict[str, Any]) -> int:
    return len(node["void_lookups"]) + sum(_count_voids(c) for c in node["children"])


def render_evaluation(data: dict[str, Any], console: Console) -> None:
    result = data["result"]
    console.print(Text.assemble(("SPF result: ", "bold"), (result, RESULT_STYLE.get(result, "bold"))))
    if data["mechanism"]:
        where = f" (in the record of {data['mechanism_domain']})" if data["mechanism_domain"] else ""
        console.print(f"Decided by: {data['mechanism']}{where}")
    if data["reason"]:
        console.print(f"Reason: {data['reason']}")
    if data["explanation"] and data["explanation"] != "DEFAULT":
        console.print(f"Explanation published by the domain: {data['explanation']}")
    console.print(Text(f"Receiver's words: {data['receiver_says']}", style="dim"))
    console.print(f"DNS-querying terms evaluated: {data['lookups']}/10, void lookups: {data['void_lookups']}/2")
