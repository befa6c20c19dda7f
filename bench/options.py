"""The command line every bench starts from: its description and the database it fills."""

import argparse
from pathlib import Path

DROPPED = "dropped and recreated"
REUSED = "dropped and recreated unless --reuse finds it filled"


def bench_parser(
    doc: str, default_url: str, url_help: str | None = None, *, whole_doc: bool = False
) -> argparse.ArgumentParser:
    """A parser described by the bench's docstring (its first paragraph unless ``whole_doc``),
    with the ``--database-url`` option."""
    if whole_doc:
        parser = argparse.ArgumentParser(
            description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
        )
    else:
        parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--database-url", default=default_url, help=url_help)
    return parser


def integers(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def add_runs(parser: argparse.ArgumentParser, runs_help: str | None = None) -> None:
    """``--runs`` timed runs per side, after ``--warmup`` untimed ones."""
    parser.add_argument("--runs", type=int, default=20, help=runs_help)
    parser.add_argument("--warmup", type=int, default=3)


def add_json(parser: argparse.ArgumentParser, text: str = "also write the figures here") -> None:
    parser.add_argument("--json", type=Path, default=None, help=text)
