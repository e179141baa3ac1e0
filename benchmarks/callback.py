"""Callback mode: --callback-n uploads that each wait for MusicAPI's callback, then all the callbacks at
once, each on its own connection. Its CPU per upload is held against the minimal bot's in the sync
burst of the same run (the minimal bot has no callback mode: this is the price of an upload either
way), and every clip_id must reach Discord within CALLBACK_LATENCY_TARGET of its callback."""

from __future__ import annotations

from benchmarks.common.bursts import run_callback_burst
from benchmarks.common.figures import CALLBACK_LATENCY_TARGET, CallbackFigures, median_callback_figures
from benchmarks.common.scenario import Run, progress, sync_burst, sync_medians
from benchmarks.common.tables import thread_row_specs, verdict

NAME = "callback"
HELP = "our bot in callback mode, beside both bots' sync burst"

#: An upload in callback mode costs at most this much CPU over one of the minimal bot in sync mode.
CALLBACK_CPU_TARGET = 1.3


async def run_round(run: Run, round_: int) -> None:
    for which in ("minimal", "ours"):
        await sync_burst(run, round_, which)
    progress(run, round_, "ours, callback mode")
    args = run.args
    run.figures["callback"].append(await run_callback_burst(args.callback_n, args.warmup, args.profile))


def report(run: Run) -> str:
    cb: CallbackFigures = median_callback_figures(run.figures["callback"])
    sync, minimal = sync_medians(run, "ours"), sync_medians(run, "minimal")
    late = (
        f"<= {CALLBACK_LATENCY_TARGET:g} s {'ok' if cb.latency_max_s <= CALLBACK_LATENCY_TARGET else 'OVER'}"
    )

    def row(label: str, value: float, fmt: str, note: str = "") -> str:
        return f"{label:<40}{value:>10{fmt}}{note}"

    def beside(
        label: str, value: float, ours: float, base: float, fmt: str, target: float | None = None
    ) -> str:
        shown = f"{value / base:>10.2f}x" if base else f"{'-':>11}"
        goal = f"   {verdict(value / base, target)}" if target and base else ""
        return f"{label:<40}{value:>10{fmt}}{ours:>10{fmt}}{base:>10{fmt}}{shown}{goal}"

    args = run.args
    return "\n".join(
        [
            f"callback mode: {cb.n} x /upload url: from {cb.n} distinct members; once each waits for its "
            f"callback, all {cb.n} callbacks sent at once{run.rounds_note}",
            f"(sync: the sync burst of this run, {sync.n} uploads, MusicAPI delay {args.delay:g} s)",
            "",
            f"{'':<40}{'callback':>10}{'ours sync':>10}{'min sync':>10}{'cb/min':>11}   target",
            beside(
                "CPU per upload, whole scenario (ms)",
                cb.cpu_per_upload_ms,
                sync.cpu_per_upload_ms,
                minimal.cpu_per_upload_ms,
                ".2f",
                CALLBACK_CPU_TARGET,
            ),
            beside("peak memory VmHWM (MiB)", cb.peak_mib, sync.peak_mib, minimal.peak_mib, ".1f"),
            *(
                beside(label, getattr(cb, name), getattr(sync, name), getattr(minimal, name), fmt)
                for label, name, fmt in thread_row_specs()
            ),
            "",
            f"{'':<40}{'callback':>10}   target",
            row("callback -> clip_id edit p50 (s)", cb.latency_p50_s, ".3f"),
            row("callback -> clip_id edit p99 (s)", cb.latency_p99_s, ".3f"),
            row("callback -> clip_id edit max (s)", cb.latency_max_s, ".3f", f"   {late}"),
            f"{f'clip_ids within {CALLBACK_LATENCY_TARGET:g} s of callback':<40}{f'{cb.within_target}/{cb.n}':>10}",
            row("callback -> bot's HTTP reply p99 (ms)", cb.callback_reply_p99_ms, ".1f"),
            row("first callback -> last clip_id (s)", cb.all_delivered_s, ".3f"),
            "",
            row("CPU/upload, interactions phase (ms)", cb.interaction_cpu_per_upload_ms, ".2f"),
            row("CPU/upload, callbacks phase (ms)", cb.callback_cpu_per_upload_ms, ".2f"),
            row("first response p99 (ms)", cb.first_response_p99_ms, ".1f"),
            row("all uploads waiting for callback (s)", cb.processing_s, ".2f"),
            row("RSS before burst (MiB)", cb.rss_before_mib, ".1f"),
            row("RSS growth during burst (MiB)", cb.rss_growth_mib, ".1f"),
            "",
            cb.detail,
        ]
    )
