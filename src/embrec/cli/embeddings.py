"""``embrec embeddings``: a side feature's entity embeddings and each category's nearest neighbours."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from embrec.artifacts.model_dir import load
from embrec.cli.common import JsonOpt, console, friendly_errors, print_json
from embrec.interpret.entity_embeddings import feature_embedding, nearest_categories


@friendly_errors
def embeddings(
    model_dir: Annotated[Path, typer.Argument(help="Directory of a widedeep model.")],
    feature: Annotated[str, typer.Option("--feature", help="A side feature of the model, e.g. occupation.")],
    k: Annotated[int, typer.Option("-k", "--k", help="Neighbours per category.")] = 3,
    save: Annotated[Path | None, typer.Option("--save", help="Write the table (CSV; .json for JSON).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Each category's nearest neighbours by cosine of the learned vectors (which occupations sit close)."""
    table = feature_embedding(load(model_dir), feature)
    neighbours = nearest_categories(table, k)
    if save is not None:
        if save.suffix == ".json":
            save.write_text(json.dumps(table.to_json()) + "\n", encoding="utf-8")
        else:
            frame = pd.DataFrame(table.vectors, columns=[f"d{j}" for j in range(table.vectors.shape[1])])
            frame.insert(0, feature, table.labels)
            frame.to_csv(save, index=False)
    if json_out:
        print_json(
            {"feature": feature, "dim": int(table.vectors.shape[1]), "neighbours": [n.to_json() for n in neighbours]}
        )
        return
    out = Table(
        title=f"{feature}: nearest categories by cosine of the entity embeddings ({table.vectors.shape[1]} dims)"
    )
    out.add_column(feature)
    out.add_column("nearest (cosine)")
    for entry in neighbours:
        out.add_row(entry.category, ", ".join(f"{c} ({s:.2f})" for c, s in entry.nearest))
    console.print(out)
    if save is not None:
        console.print(f"saved {len(table.labels)} vectors to {save}")
