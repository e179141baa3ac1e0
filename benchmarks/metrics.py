"""Metrics: our bot's sync burst with METRICS=on and with METRICS=off; what the metrics cost."""

from __future__ import annotations

from benchmarks.common.bots import our_bot, with_env
from benchmarks.common.bursts import run_link_burst
from benchmarks.common.figures import median_figures
from benchmarks.common.scenario import Run, against_minimal, progress, sync_burst
from benchmarks.common.tables import round_spread, verdict

NAME = "metrics"
HELP = "our bot with METRICS on and off"

#: Metrics may cost at most this much CPU per upload over the same bot without them.
METRICS_TARGET = 1.05
#: Our bot in the sync burst, over the minimal bot (as `sync` holds it).
CPU_TARGET = 1.2


async def run_round(run: Run, round_: int) -> None:
    args = run.args
    for switch in ("off", "on") if round_ % 2 == 0 else ("on", "off"):
        progress(run, round_, f"ours, metrics {switch}")
        spec = with_env(our_bot(), METRICS=switch)
        run.figures[f"metrics/{switch}"].append(await run_link_burst(spec, args.n, args.delay, args.warmup))
    await sync_burst(run, round_, "minimal")


def report(run: Run) -> str:
    args = run.args
    on, off = median_figures(run.figures["metrics/on"]), median_figures(run.figures["metrics/off"])
    ratio = on.cpu_per_upload_ms / off.cpu_per_upload_ms if off.cpu_per_upload_ms else float("inf")
    return "\n".join(
        [
            f"metrics: {args.n} x /upload url:, MusicAPI delay {args.delay:g} s, our bot with METRICS=on and "
            f"off{run.rounds_note}",
            "",
            f"{'':<36}{'on':>10}{'off':>10}{'on/off':>11}   target",
            f"{'CPU per upload (ms)':<36}{on.cpu_per_upload_ms:>10.2f}{off.cpu_per_upload_ms:>10.2f}"
            f"{ratio:>10.2f}x   {verdict(ratio, METRICS_TARGET)}"
            f"{round_spread(run.figures['metrics/on'], run.figures['metrics/off'], 'cpu_per_upload_ms')}",
            f"{'peak memory VmHWM (MiB)':<36}{on.peak_mib:>10.1f}{off.peak_mib:>10.1f}"
            f"{on.peak_mib / off.peak_mib:>10.2f}x",
            f"{'first response p99 (ms)':<36}{on.first_response_p99_ms:>10.1f}{off.first_response_p99_ms:>10.1f}",
            "",
            against_minimal(run, "METRICS=on", on.cpu_per_upload_ms, CPU_TARGET),
            against_minimal(run, "METRICS=off", off.cpu_per_upload_ms, CPU_TARGET),
        ]
    )
