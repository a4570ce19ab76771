"""``python -m bench``: measure the baselines and Rampart's outbox path, print one table.

The figures are interleaved: every pass runs each measurement once, and each figure is the
median of the passes with their min and max, so a burst of load from a neighbour on this
shared machine hits the baseline and the figure compared with it alike. Runs on uvloop, as
the services do, and ends with one ``TARGET`` line per target. Nothing asserts on time: the
exit code is 0 whether or not a target is met, and non-zero only when something fails.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import platform
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from bench._common import (
    Figure,
    Settings,
    delete_namespace,
    drop_schema,
    exit_code_of,
    parse_settings,
)
from bench.micro import step_costs
from bench.outbox import memory_bus_rate, outbox_rate, profile_outbox
from bench.raw import insert_rate, publish_rate
from bench.report import Row, table, target_lines
from rampart.core.store import apply_migrations, connect_pool, load_migrations

# a repetition that waited for a CPU longer than this was disturbed by other load
STARVED = 0.25


async def run(settings: Settings) -> None:
    """Every measurement, the table and the breakdowns; cleans up its schema and namespace."""
    began = time.perf_counter()
    print(
        f"rampart bench: n={settings.n:,} messages per repetition, median of {settings.repeat} "
        f"interleaved passes, {asyncio.get_event_loop_policy().__class__.__module__}, "
        f"batches of {settings.batch}, warm-up {settings.warmup:,}"
    )
    print(
        f"python {platform.python_version()} · aio-pika {metadata.version('aio-pika')} · "
        f"asyncpg {metadata.version('asyncpg')} · pydantic {metadata.version('pydantic')}"
    )
    print(f"namespace {settings.namespace} · schema {settings.schema}\n", flush=True)

    pool = await connect_pool(settings.database_url, min_size=2, max_size=4)
    try:
        await apply_migrations(
            pool,
            schema=settings.schema,
            migrations=load_migrations("rampart.core"),
            component="platform",
        )
        figures = {
            key: Figure(name, unit)
            for key, name, unit in [
                ("1", "raw aio-pika publish + confirm", "msg/s"),
                ("1a", "raw aio-pika publish → consume (context)", "msg/s"),
                ("2", "raw asyncpg executemany insert", "rows/s"),
                ("2a", "outbox enqueue (context)", "rows/s"),
                ("3", "outbox → RabbitBus → consumer", "msg/s"),
                ("3a", "outbox → RabbitBus, no consumer (context)", "msg/s"),
                ("3b", "outbox → RabbitBus → consumer process (context)", "msg/s"),
                ("4", "outbox → MemoryBus → consumer", "msg/s"),
                ("4a", "MemoryBus alone, no DB (context)", "msg/s"),
            ]
        }
        if not settings.process_consumer:
            del figures["3b"]
        size = 0
        for p in range(settings.repeat):
            one = dataclasses.replace(settings, repeat=1, warmup=settings.warmup if p == 0 else 0)
            started = time.perf_counter()
            published, size = await publish_rate(one)
            figures["1"].merge(published)
            figures["1a"].merge((await publish_rate(one, consume=True))[0])
            figures["2"].merge(await insert_rate(one, pool))
            enqueued = Figure("", "")
            figures["3"].merge(await outbox_rate(one, pool, "rabbitmq", enqueued))
            figures["2a"].merge(enqueued)
            figures["3a"].merge(await outbox_rate(one, pool, "rabbitmq", consumer="none"))
            if "3b" in figures:
                figures["3b"].merge(await outbox_rate(one, pool, "rabbitmq", consumer="process"))
            figures["4"].merge(await outbox_rate(one, pool, "memory"))
            figures["4a"].merge(await memory_bus_rate(one))
            print(
                f"pass {p + 1}/{settings.repeat} done in {time.perf_counter() - started:.1f}s",
                flush=True,
            )
        _report(figures, size)

        if settings.profile:
            for kind in ("rabbitmq", "memory"):
                print(f"\ncProfile of one outbox round on {kind} (top by own time):")
                print(await profile_outbox(settings, pool, kind))
    finally:
        await _clean_up(settings, pool)
    print(f"\ntotal {time.perf_counter() - began:.0f}s")


def _report(f: dict[str, Figure], size: int) -> None:
    rows = [
        Row("1", f["1"], is_baseline=True),
        Row("1a", f["1a"], baseline=("1", f["1"])),
        Row("2", f["2"], is_baseline=True),
        Row("2a", f["2a"], baseline=("2", f["2"])),
        Row("3", f["3"], baseline=("1", f["1"]), min_ratio=0.70),
        Row("3a", f["3a"], baseline=("1", f["1"])),
        *([Row("3b", f["3b"], baseline=("1", f["1"]))] if "3b" in f else []),
        Row("4", f["4"], baseline=("4a", f["4a"]), min_rate=50_000),
        Row("4a", f["4a"]),
    ]
    print()
    print(table(rows))
    print(f"\nenvelope body {size} bytes (EventIngested); ratios are median over median, same run")
    print(
        "like for like, consumer in the same event loop on both sides: "
        f"#3 / #1a = {f['3'].median / f['1a'].median:.2f}"
    )
    print("per pass (neighbouring measurements, less exposed to load swings):")
    pairs = [("3", "1"), ("3", "1a"), ("3a", "1"), ("3b", "1"), ("4", "4a")]
    for num, den in pairs:
        if num in f:
            ratios = ", ".join(
                f"{a / b:.2f}" for a, b in zip(f[num].rates, f[den].rates, strict=True)
            )
            print(f"  #{num} / #{den}: {ratios}")

    cores = os.cpu_count() or 1
    print(
        "\nwho was busy during the repetition nearest each median "
        f"(share of one core; {cores} in all):"
    )
    for row in rows:
        if row.figure.cpu is not None:
            print(f"  #{row.key:<3} {row.figure.cpu.describe()}")
    starved = [
        f"#{row.key}"
        for row in rows
        if row.figure.cpu is not None
        and row.figure.cpu.starved is not None
        and row.figure.cpu.starved > STARVED
    ]
    if starved:
        print(
            f"  ! {', '.join(starved)} waited for a CPU over {STARVED:.0%} of the time: other "
            "load on the machine distorted these figures and every ratio that uses them; "
            "run again when it is quieter"
        )
    print("\nthe relay's wall time per batch (one event loop: a consumer in it runs inside):")
    for key in ("3", "3a", "3b", "4"):
        for note in f[key].notes if key in f else []:
            print(f"  #{key:<3} {note}")

    print("\nper-message CPU cost of the steps on the path (µs, best of 3):")
    for step, us in step_costs():
        print(f"  {us:7.1f}  {step}")
    print()
    names = {
        "3": "outbox rabbitmq-consumer / raw-publish-confirm",
        "4": "outbox memorybus-consumer",
    }
    for line in target_lines(rows, names):
        print(line)


async def _clean_up(settings: Settings, pool: Any) -> None:
    """Drop the schema and delete the namespace; a failure here is reported, not raised."""
    steps = [
        (f"drop schema {settings.schema}", drop_schema(pool, settings.schema)),
        ("close the pool", pool.close()),
        (f"delete namespace {settings.namespace}", delete_namespace(settings)),
    ]
    for what, step in steps:
        try:
            await step
        except Exception as exc:
            print(f"clean-up: could not {what}: {exc!r}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench; 0 unless a measurement failed."""
    settings = parse_settings(argv)
    return exit_code_of(run(settings))


if __name__ == "__main__":
    sys.exit(main())
