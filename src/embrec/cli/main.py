"""The ``embrec`` command: one sub-command per module of this package."""

from __future__ import annotations

import typer

from embrec.cli.attack import attack
from embrec.cli.audit import audit
from embrec.cli.benchmark import benchmark
from embrec.cli.demo import demo
from embrec.cli.embeddings import embeddings
from embrec.cli.evaluate import cv, evaluate
from embrec.cli.explain import explain
from embrec.cli.info import info
from embrec.cli.map import taste_map_command
from embrec.cli.neighbours import users_for_item
from embrec.cli.onboard import onboard
from embrec.cli.recommend import recommend, similar
from embrec.cli.rollout import rollout_app
from embrec.cli.serve import retrain, serve
from embrec.cli.train import train
from embrec.cli.wd_sweep import wd_sweep

app = typer.Typer(
    name="embrec",
    help="Collaborative filtering with learned embeddings: train, evaluate, recommend, explain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for command in (train, evaluate, cv, recommend, similar, info, demo, serve, retrain, benchmark):
    app.command()(command)
app.command()(audit)
app.command()(attack)
app.command()(onboard)
app.command()(explain)
app.command()(embeddings)
app.command("map")(taste_map_command)
app.command()(users_for_item)
app.command()(wd_sweep)
app.add_typer(rollout_app)
