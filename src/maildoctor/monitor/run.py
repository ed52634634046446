"""Running the monitor: its database (the same as serve's), the resolver, the cycles, the HTTP
status and metrics, and the socketmap for Postfix; stopped cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from maildoctor.dns.spec import ResolverSpec
from maildoctor.monitor.config import MonitorConfig
from maildoctor.monitor.looks import LocalLooks, Looks
from maildoctor.monitor.service import Monitor
from maildoctor.monitor.socketmap import serve_socketmap
from maildoctor.monitor.web import create_monitor_app
from maildoctor.store.database import Store
from maildoctor.store.monitor import MonitorStore
from maildoctor.target import parse_host_port


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling (it would re-raise SIGTERM once stopped, ending the
    process before the rest is shut down in order): its owner stops it with everything else."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def monitor_store(config: MonitorConfig) -> MonitorStore:
    Path(config.data).mkdir(parents=True, exist_ok=True)
    return MonitorStore(Store(config.db or config.data).engine)


@dataclass
class RunningMonitor:
    monitor: Monitor
    web: uvicorn.Server
    tasks: list[asyncio.Task[None]]
    socketmap: asyncio.base_events.Server | None
    stop: asyncio.Event

    async def close(self) -> None:
        self.stop.set()
        self.web.should_exit = True
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.socketmap is not None:
            self.socketmap.close()
        if self.monitor.looks is not None:
            await self.monitor.looks.close()


async def start_monitor(config: MonitorConfig, store: MonitorStore) -> RunningMonitor:
    """The watch, its HTTP side and its socketmap, running in this event loop (alone, or in serve)."""
    spec = ResolverSpec(config.nameservers, config.zones, config.timeout)
    looks: Looks
    if config.dask:
        from maildoctor.monitor.cluster import DaskLooks  # only a monitor on a cluster loads Dask

        looks = await DaskLooks.connect(config.dask, spec)
    else:
        looks = LocalLooks(spec.build())
    monitor = Monitor(config, store, looks=looks)
    host, port = parse_host_port(config.listen, 8026)
    web = QuietServer(
        uvicorn.Config(create_monitor_app(monitor), host=host, port=port, log_level="warning", lifespan="off", access_log=False)
    )
    socketmap = None
    if config.socketmap:
        map_host, map_port = parse_host_port(config.socketmap, 8027)
        socketmap = await serve_socketmap(map_host, map_port, list(config.pools), monitor.relay_for)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(monitor.run(stop)), asyncio.create_task(web.serve())]
    print(
        f"maildoctor monitor: {len(config.watched_ips())} IPs, {len(config.domains)} domains every {config.interval:g} s;"
        f" status and /metrics on http://{config.listen}/"
        + (f"; socketmap for Postfix on {config.socketmap}" if socketmap else "")
        + (f"; checks on the Dask cluster {config.dask}" if config.dask else ""),
        flush=True,
    )
    return RunningMonitor(monitor, web, tasks, socketmap, stop)


async def run_monitor(config: MonitorConfig) -> None:
    """The monitor alone, until SIGTERM or SIGINT."""
    running = await start_monitor(config, monitor_store(config))
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    await running.close()
