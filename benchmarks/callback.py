"""Callback mode: --callback-n uploads that each wait for MusicAPI's callback, then all the callbacks at
once, each on its own connection. Its CPU per upload is held against the minimal bot's in the sync
burst of the same run (the price of an upload either way), and shown beside the minimal bot's in
callback mode (a second request, MusicAPI's callback, and a second edit: the least callback mode costs);
every clip_id must reach Discord within CALLBACK_LATENCY_TARGET of its callback."""

from __future__ import annotations

from benchmarks.common.bots import loops_note
from benchmarks.common.bursts import run_callback_burst
from benchmarks.common.figures import CALLBACK_LATENCY_TARGET, CallbackFigures, median_callback_figures
from benchmarks.common.scenario import Run, progress, sync_burst, sync_medians
from benchmarks.common.tables import round_spread, thread_row_specs, verdict

NAME = "callback"
HELP = "our bot in callback mode, beside the minimal bot in callback mode and in the sync burst"

#: An upload in callback mode costs at most this much CPU over one of the minimal bot in sync mode.
CALLBACK_CPU_TARGET = 1.3


async def run_round(run: Run, round_: int) -> None:
    await sync_burst(run, round_, "minimal")
    args = run.args
    for minimal in (False, True) if round_ % 2 == 0 else (True, False):
        progress(run, round_, f"{'minimal' if minimal else 'ours'}, callback mode")
        figures = await run_callback_burst(args.callback_n, args.warmup, args.profile, minimal=minimal)
        run.figures["callback/minimal" if minimal else "callback"].append(figures)


def _ratio(value: float, base: float) -> str:
    return f"{value / base:>9.2f}x" if base else f"{'-':>10}"


def _beside(
    label: str,
    value: float,
    floor: float,
    base: float,
    fmt: str,
    target: float | None = None,
    rounds: str = "",
) -> str:
    """Our figure, the minimal bot's in callback mode and in the sync burst, the ratios, the target, and
    the ratio's range over the rounds (`round_spread`)."""
    goal = f"   {verdict(value / base, target)}{rounds}" if target and base else ""
    return (
        f"{label:<40}{value:>10{fmt}}{floor:>10{fmt}}{_ratio(value, floor)}{base:>10{fmt}}{_ratio(value, base)}"
        f"{goal}"
    )


def report(run: Run) -> str:
    cb: CallbackFigures = median_callback_figures(run.figures["callback"])
    least: CallbackFigures = median_callback_figures(run.figures["callback/minimal"])
    minimal = sync_medians(run, "minimal")
    late = (
        f"<= {CALLBACK_LATENCY_TARGET:g} s {'ok' if cb.latency_max_s <= CALLBACK_LATENCY_TARGET else 'OVER'}"
    )

    def row(label: str, value: float, floor: float, fmt: str, note: str = "") -> str:
        return f"{label:<40}{value:>10{fmt}}{floor:>10{fmt}}{note}"

    def both(label: str, name: str, fmt: str, target: float | None = None) -> str:
        value, floor = getattr(cb, name), getattr(least, name)
        base_name = name if hasattr(minimal, name) else "cpu_per_upload_ms"
        spread = (
            round_spread(run.figures["callback"], run.figures["sync/minimal"], name, base_name)
            if target
            else ""
        )
        return _beside(label, value, floor, getattr(minimal, base_name), fmt, target, spread)

    args = run.args
    return "\n".join(
        [
            f"callback mode: {cb.n} x /upload url: from {cb.n} distinct members; once each waits for its "
            f"callback, all {cb.n} callbacks sent at once{run.rounds_note}",
            "(ours: our bot in callback mode; min cb: the minimal bot in callback mode; min sync: the minimal "
            f"bot's sync burst of this run, {minimal.n} uploads, MusicAPI delay {args.delay:g} s)",
            loops_note(),
            "",
            f"{'':<40}{'ours':>10}{'min cb':>10}{'/min cb':>10}{'min sync':>10}{'/min sync':>10}   target",
            both("CPU per upload, whole scenario (ms)", "cpu_per_upload_ms", ".2f", CALLBACK_CPU_TARGET),
            both("CPU/upload, interactions phase (ms)", "interaction_cpu_per_upload_ms", ".2f"),
            both("CPU/upload, callbacks phase (ms)", "callback_cpu_per_upload_ms", ".2f"),
            both("peak memory VmHWM (MiB)", "peak_mib", ".1f"),
            both("first response p99 (ms)", "first_response_p99_ms", ".1f"),
            *(both(label, name, fmt) for label, name, fmt in thread_row_specs()),
            "",
            f"{'':<40}{'ours':>10}{'min cb':>10}   target",
            row("callback -> clip_id edit p50 (s)", cb.latency_p50_s, least.latency_p50_s, ".3f"),
            row("callback -> clip_id edit p99 (s)", cb.latency_p99_s, least.latency_p99_s, ".3f"),
            row(
                "callback -> clip_id edit max (s)", cb.latency_max_s, least.latency_max_s, ".3f", f"   {late}"
            ),
            f"{f'clip_ids within {CALLBACK_LATENCY_TARGET:g} s of callback':<40}{f'{cb.within_target}/{cb.n}':>10}",
            row(
                "callback -> bot's HTTP reply p99 (ms)",
                cb.callback_reply_p99_ms,
                least.callback_reply_p99_ms,
                ".1f",
            ),
            row("first callback -> last clip_id (s)", cb.all_delivered_s, least.all_delivered_s, ".3f"),
            row("all uploads waiting for callback (s)", cb.processing_s, least.processing_s, ".2f"),
            row("RSS before burst (MiB)", cb.rss_before_mib, least.rss_before_mib, ".1f"),
            row("RSS growth during burst (MiB)", cb.rss_growth_mib, least.rss_growth_mib, ".1f"),
            "",
            f"ours: {cb.detail}",
        ]
    )
