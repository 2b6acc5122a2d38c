"""Influence figures on MovieLens 100k u1: a shilling attack, its detection and mitigation; a niche group.

Run: ``.venv/bin/python benchmarks/influence.py [--data PATH] [--targets 4] [--threads 1]``.
Prints tables and exits non-zero when a target is missed. Every model is embrec's default dot
model with the default training settings (``ModelConfig()``, ``TrainConfig()``), read at run time.

Attack: ``--targets`` items drawn (seeded) among the items with 5 to 19 ratings in u1.base; for
each, 3% average-attack profiles (5% filler) push it. Hit ratio@10 = share of the real users who
have not rated the target with it in their top 10. Targets (the issue's figures):

- the attack works: mean hit-ratio rise, attacked minus clean, >= 5 points;
- the headline mitigation (``--mitigation``, default ``drop_flagged``) cuts the mean rise by >= 75%;
- its u1.test RMSE is at most 1% above the clean model's, for every target;
- detection precision and recall on the injected profiles >= 0.9, for every target.

Other mitigations are reported beside it. Niche group: synthesised heavy users (``--niche-members``
of the users) who rate every ``--niche-genre`` film, 70% of them 5 stars and the rest 4; the
genre's share of the real users' top-10 slots without and with the group, for each mitigation.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from embrec.data.movielens import load_fold, load_movielens
from embrec.data.splits import Split
from embrec.influence.attacks import AttackSpec, inject_niche_group
from embrec.influence.mitigation import Mitigation, apply_mitigation
from embrec.influence.simulation import (
    AttackReport,
    Step,
    Variant,
    simulate_attack,
    simulate_niche,
    train_variant,
)
from embrec.models import ModelConfig
from embrec.training.config import TrainConfig

OTHER_MITIGATIONS = ("inverse_sqrt", "cap")


def main() -> int:
    args = _arguments()
    torch.set_num_threads(args.threads)  # one thread is fastest for these small batches on a shared CPU
    console = Console()
    start = time.perf_counter()

    def log(label: str) -> None:
        console.print(f"[dim]{time.perf_counter() - start:6.0f} s  training: {label}[/]")

    split = load_fold("u1", args.data, load_movielens(args.data))
    model_config, config = ModelConfig(), TrainConfig()
    headline = Mitigation.parse(args.mitigation)
    mitigations = [headline, *(Mitigation.parse(m) for m in OTHER_MITIGATIONS if m != args.mitigation)]
    clean = train_variant(apply_mitigation(split.train, Mitigation()), split.train, model_config, config)
    counts = split.train.item_counts()
    rng = np.random.default_rng(args.seed)
    targets = rng.choice(np.flatnonzero((counts >= 5) & (counts < 20)), args.targets, replace=False)
    reports = []
    for index, target in enumerate(targets):
        spec = AttackSpec("average", int(target), args.profiles, args.filler, seed=args.seed + index)
        reports.append(simulate_attack(split, spec, model_config, config, mitigations, 10, log, clean))
    console.print(_attack_table(reports, split.train.title, headline.name, config))
    console.print(_mitigation_table(reports))
    if args.niche_members > 0:
        console.print(_niche(split, args, model_config, config, log))
    failed = _targets(console, reports)
    console.print(f"total {time.perf_counter() - start:.0f} s")
    return 1 if failed else 0


def _niche(split: Split, args: argparse.Namespace, model_config: ModelConfig, config: TrainConfig, log: Step) -> Table:
    """The niche-group scenario's table."""
    table = split.train.item_table
    if table is None or "genres" not in table.columns:
        raise SystemExit("the data has no genres")
    in_genre = table["genres"].astype(str).str.split("|").apply(lambda g: args.niche_genre in g).to_numpy()
    items = np.flatnonzero(in_genre & (split.train.item_counts() > 0))
    group = inject_niche_group(split.train, items, args.niche_members, seed=args.seed)
    mitigations = [Mitigation.parse(m) for m in (*OTHER_MITIGATIONS, "drop_flagged")]
    niche = simulate_niche(split, group, model_config, config, mitigations, 10, log)
    return _niche_table(niche.shares, niche.rmse, args.niche_genre, len(group.members), len(items))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="MovieLens 100k folder or zip (default: EMBREC_DATA_DIR/cache)")
    parser.add_argument("--targets", type=int, default=4, help="number of target items (each costs 4 trainings)")
    parser.add_argument("--profiles", type=float, default=0.03, help="fake profiles, share of the users")
    parser.add_argument("--filler", type=float, default=0.05, help="filler items per profile, share of the catalog")
    parser.add_argument("--mitigation", default="drop_flagged", help="headline mitigation, e.g. drop_flagged+cap")
    parser.add_argument("--niche-genre", default="Horror")
    parser.add_argument("--niche-members", type=float, default=0.03, help="share of the users; 0 skips the scenario")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    return parser.parse_args()


def _rise(report: AttackReport, variant: Variant) -> float:
    return variant.reach.hit_ratio - report.before.reach.hit_ratio


def _attack_table(reports: list[AttackReport], title: object, headline: str, config: TrainConfig) -> Table:
    table = Table(title=f"average attack, 3% profiles, 5% filler; hit ratio@10 among real users (defaults: "
                  f"{config.optimizer}, lr {config.lr}, wd {config.weight_decay}, {config.epochs} epochs)")  # fmt: skip
    for column in ("target", "ratings", "HR clean", "HR attacked", f"HR {headline}", "cut", "precision", "recall"):
        table.add_column(column, justify="right")
    for report in reports:
        mitigated = report.mitigated[0]
        rise = _rise(report, report.after)
        cut = 1 - _rise(report, mitigated) / rise if rise > 0 else float("nan")
        table.add_row(
            str(title(report.spec.target))[:40], str(report.target_ratings), f"{report.before.reach.hit_ratio:.3f}",
            f"{report.after.reach.hit_ratio:.3f}", f"{mitigated.reach.hit_ratio:.3f}", f"{cut:.0%}",
            f"{report.precision:.3f}", f"{report.recall:.3f}",
        )  # fmt: skip
    return table


def _mitigation_table(reports: list[AttackReport]) -> Table:
    table = Table(title="every variant, mean over the targets (RMSE and NDCG@10 on u1.test)")
    for column in ("variant", "HR@10", "rise (points)", "median target rank", "RMSE", "NDCG@10", "dropped"):
        table.add_column(column, justify="right")
    rows: list[list[Variant]] = [[r.before for r in reports], [r.after for r in reports]]
    rows += [[r.mitigated[m] for r in reports] for m in range(len(reports[0].mitigated))]
    for variants in rows:
        rises = [_rise(r, v) for r, v in zip(reports, variants, strict=True)]
        dropped = [v.dropped for v in variants if v.dropped is not None]
        table.add_row(
            variants[0].name.replace(f"{reports[0].spec.kind} attack", "attack"),
            f"{statistics.mean(v.reach.hit_ratio for v in variants):.3f}", f"{100 * statistics.mean(rises):+.1f}",
            f"{statistics.mean(v.reach.median_rank for v in variants):.0f}",
            f"{statistics.mean(v.rmse for v in variants):.4f}",
            f"{statistics.mean(v.ndcg or 0.0 for v in variants):.4f}",
            f"{statistics.mean(dropped):.1f}" if dropped else "-",
        )  # fmt: skip
    return table


def _niche_table(shares: dict[str, dict[str, float]], rmse: dict[str, dict[str, float]], genre: str, members: int,
                 items: int) -> Table:  # fmt: skip
    table = Table(title=f"niche group: {members} users rating all {items} {genre} films highly; "
                  f"{genre} share of real users' top-10 slots")  # fmt: skip
    for column in ("mitigation", "without group", "with group", "rise (points)", "RMSE without", "RMSE with"):
        table.add_column(column, justify="right")
    for name, row in shares.items():
        table.add_row(
            name, f"{row['without group']:.3f}", f"{row['with group']:.3f}",
            f"{100 * (row['with group'] - row['without group']):+.1f}",
            f"{rmse[name]['without group']:.4f}", f"{rmse[name]['with group']:.4f}",
        )  # fmt: skip
    return table


def _targets(console: Console, reports: list[AttackReport]) -> int:
    rise = statistics.mean(_rise(r, r.after) for r in reports)
    mitigated_rise = statistics.mean(_rise(r, r.mitigated[0]) for r in reports)
    checks = [
        ("attack: mean hit-ratio rise (points)", 100 * rise, ">=", 5.0),
        ("mitigation: share of the rise cut", 1 - mitigated_rise / rise if rise > 0 else 0.0, ">=", 0.75),
        ("mitigation: worst RMSE change vs clean", max(r.mitigated[0].rmse / r.before.rmse - 1 for r in reports), "<=",
         0.01),
        ("detection: worst precision", min(r.precision for r in reports), ">=", 0.9),
        ("detection: worst recall", min(r.recall for r in reports), ">=", 0.9),
    ]  # fmt: skip
    table = Table(title="targets")
    for column in ("figure", "measured", "target", "ok"):
        table.add_column(column)
    failed = 0
    for name, value, op, bound in checks:
        ok = value >= bound if op == ">=" else value <= bound
        failed += not ok
        table.add_row(name, f"{value:.4f}", f"{op} {bound}", "yes" if ok else "[red]NO[/]")
    console.print(table)
    return failed


if __name__ == "__main__":
    sys.exit(main())
