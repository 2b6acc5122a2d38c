"""``embrec rollout status|propose|compare|approve|rollback``: a careful rollout from the command line.

Each command edits the registry's state file; a running ``embrec serve`` of the registry picks
the change up within a second.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from embrec.artifacts.model_dir import MANIFEST, load
from embrec.cli.common import DataOpt, FoldOpt, JsonOpt, KOpt, console, friendly_errors, print_json
from embrec.data.movielens import load_fold
from embrec.serving import rollout
from embrec.serving.model_registry import ModelRegistry, RegistryState
from embrec.serving.ratings_store import RatingsStore

rollout_app = typer.Typer(name="rollout", help="Compare, approve and roll back model versions.", no_args_is_help=True)

RegistryArg = Annotated[Path, typer.Argument(help="The registry folder.")]
WhoOpt = Annotated[str | None, typer.Option("--who", help="Who takes the step (default: the login name).")]


@rollout_app.command()
@friendly_errors
def status(registry: RegistryArg, json_out: JsonOpt = False) -> None:
    """The active version, the candidate and its share, and the log of steps."""
    _show(ModelRegistry.open(registry), json_out)


@rollout_app.command()
@friendly_errors
def propose(
    registry: RegistryArg,
    version: Annotated[str, typer.Argument(help="A version of the registry, or a model directory to add.")],
    name: Annotated[str | None, typer.Option("--name", help="Version name for an added directory.")] = None,
    who: WhoOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Make a version the candidate (it serves nobody until approved)."""
    reg = ModelRegistry.open(registry)
    if (Path(version) / MANIFEST).is_file():
        version = reg.add(version, name)
    rollout.propose(reg, version, who or getpass.getuser())
    _show(reg, json_out)


@rollout_app.command()
@friendly_errors
def approve(
    registry: RegistryArg,
    share: Annotated[float, typer.Option("--share", help="Share of users for the candidate; 1 promotes it.")],
    who: WhoOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Serve the candidate to a share of users (stable by user id); --share 1 makes it active."""
    reg = ModelRegistry.open(registry)
    rollout.approve(reg, share, who or getpass.getuser())
    _show(reg, json_out)


@rollout_app.command()
@friendly_errors
def rollback(registry: RegistryArg, who: WhoOpt = None, json_out: JsonOpt = False) -> None:
    """Withdraw the candidate, or go back to the version active before the last promotion."""
    reg = ModelRegistry.open(registry)
    rollout.rollback(reg, who or getpass.getuser())
    _show(reg, json_out)


@rollout_app.command()
@friendly_errors
def compare(
    registry: RegistryArg,
    data: DataOpt = None,
    fold: FoldOpt = "u1",
    store: Annotated[str | None, typer.Option("--store", help="Ratings store whose users come first.")] = None,
    k: KOpt = 10,
    json_out: JsonOpt = False,
) -> None:
    """The candidate against the active model: held-out RMSE and NDCG@k, list overlap, popularity shift."""
    reg = ModelRegistry.open(registry)
    state = reg.state()
    if state.active is None or state.candidate is None:
        raise ValueError("there is no candidate to compare; run `embrec rollout propose` first")
    active, candidate = load(reg.path(state.active)), load(reg.path(state.candidate))
    live = [r.user for r in RatingsStore(store).ratings()] if store else []
    users = list(dict.fromkeys([*live, *active.user_ids.ids]))
    report = rollout.compare(active, candidate, users, load_fold(fold, data).test, k)
    if json_out:
        print_json(report | {"active": state.active, "candidate": state.candidate})
        return
    console.print(_comparison_table(report, state, k))
    changed = Table(title="users whose lists change most")
    for column in ("user", "overlap", "enters", "leaves"):
        changed.add_column(column)
    for row in report["lists"]["most_changed"]:
        enters, leaves = "; ".join(row["added"][:3]), "; ".join(row["removed"][:3])
        changed.add_row(row["user"], f"{row['overlap']:.1f}", enters, leaves)
    console.print(changed)


def _comparison_table(report: dict[str, Any], state: RegistryState, k: int) -> Table:
    table = Table(title=f"candidate {state.candidate} vs active {state.active}")
    for column in ("", "active", "candidate"):
        table.add_column(column, justify="right")
    held = report["held_out"]
    for key in ("rmse", f"ndcg@{k}"):
        table.add_row(f"held-out {key}", _num(held["active"][key]), _num(held["candidate"][key]))
    lists = report["lists"]
    popularity = (_num(lists.get("popularity_active")), _num(lists.get("popularity_candidate")))
    table.add_row("mean popularity of lists", *popularity)
    table.add_row(f"overlap@{k} of lists", "", _num(lists[f"overlap@{k}"]))
    table.add_row("users compared", "", str(lists["users"]))
    return table


def _num(value: object) -> str:
    return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def _show(registry: ModelRegistry, json_out: bool) -> None:
    state = registry.state()
    if json_out:
        print_json(state.to_json() | {"versions": registry.versions()})
        return
    share = f" serving {state.share:.0%} of users" if state.candidate else ""
    console.print(f"active [bold]{state.active}[/]; candidate [bold]{state.candidate or '-'}[/]{share}")
    console.print(f"versions: {', '.join(registry.versions()) or '-'}")
    for entry in state.log[-10:]:
        console.print(f"  {entry.when}  {entry.action:<8} {entry.version:<10} share {entry.share:.0%}  by {entry.who}")
