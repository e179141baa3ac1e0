"""Stores: our bot's sync burst (--n) and callback burst (--callback-n) on SQLite and on PostgreSQL (a
server of the run's own, a fresh database for each bot run), the PostgreSQL server's CPU beside the
bot's, as ratios PostgreSQL/SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path

from benchmarks.common.bots import our_bot, with_env
from benchmarks.common.bursts import run_callback_burst, run_link_burst
from benchmarks.common.figures import median_callback_figures, median_figures
from benchmarks.common.postgres import server_cpu
from benchmarks.common.scenario import Run, against_minimal, progress, sync_burst
from benchmarks.common.tables import callback_rows, comparison, sync_rows

NAME = "stores"
HELP = "our bot in sync and callback mode on PostgreSQL beside SQLite (starts a PostgreSQL server)"
STORES = ("sqlite", "postgresql")


async def run_round(run: Run, round_: int) -> None:
    """Our bot's sync burst and callback burst, each on SQLite and on PostgreSQL; who goes first
    alternates between rounds. With --profile DIR, the profiles go to DIR/sqlite/ and DIR/postgresql/."""
    args, server = run.args, run.postgres()
    for store in STORES if round_ % 2 == 0 else STORES[::-1]:
        profile: Path | None = args.profile / store if args.profile else None
        if profile is not None:
            await asyncio.to_thread(profile.mkdir, parents=True, exist_ok=True)
        env = {"DATABASE_URL": await server.new_database()} if store == "postgresql" else {}
        side = server_cpu(server) if store == "postgresql" else None
        progress(run, round_, f"ours on {store}, sync")
        spec = with_env(our_bot(), **env)
        figures = await run_link_burst(spec, args.n, args.delay, args.warmup, profile, side_cpu=side)
        run.figures[f"stores/{store}/sync"].append(figures)
        env = {"DATABASE_URL": await server.new_database()} if store == "postgresql" else {}
        progress(run, round_, f"ours on {store}, callback")
        callback = await run_callback_burst(args.callback_n, args.warmup, profile, env=env, side_cpu=side)
        run.figures[f"stores/{store}/callback"].append(callback)
    await sync_burst(run, round_, "minimal")


def report(run: Run) -> str:
    args = run.args
    heads = ("SQLite", "PostgreSQL", "PG/SQLite")
    sync = {store: median_figures(run.figures[f"stores/{store}/sync"]) for store in STORES}
    callback = {store: median_callback_figures(run.figures[f"stores/{store}/callback"]) for store in STORES}
    return "\n\n".join(
        [
            comparison(
                f"stores, sync mode: {args.n} x /upload url: from {args.n} distinct members, MusicAPI delay "
                f"{args.delay:g} s{run.rounds_note}",
                heads,
                sync_rows(sync["sqlite"], sync["postgresql"], "bot"),
            ),
            comparison(
                f"stores, callback mode: {args.callback_n} uploads, then all {args.callback_n} callbacks at "
                f"once{run.rounds_note}",
                heads,
                callback_rows(callback["sqlite"], callback["postgresql"], "bot"),
            ),
            "\n".join(
                against_minimal(
                    run, f"{store}, {mode}, bot{' + server' if store == 'postgresql' else ''}", cpu
                )
                for store in STORES
                for mode, cpu in (
                    ("sync", sync[store].cpu_per_upload_ms + sync[store].server_cpu_per_upload_ms),
                    (
                        "callback",
                        callback[store].cpu_per_upload_ms + callback[store].server_cpu_per_upload_ms,
                    ),
                )
            ),
            "\n".join(
                f"{store}, {mode}: {figures.detail}"
                for store in STORES
                for mode, figures in (("sync", sync[store]), ("callback", callback[store]))
            ),
            "The bot's CPU is its own process (SQLite's worker thread included); the PostgreSQL server's is "
            "the postmaster and its backends (/proc), beside it.",
        ]
    )
