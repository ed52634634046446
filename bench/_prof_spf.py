import asyncio, cProfile, pstats, sys, time, tempfile
from pathlib import Path
sys.path.insert(0, "bench"); sys.path.insert(0, "src")
from nsd import isolate_network, serve_zones
from zones import domain_name, write_zones
import spf as B
from maildoctor.dns.live import LiveResolver, Nameserver
from maildoctor.dns.tracing import TracingResolver
isolate_network(sys.argv)
pairs = B.make_pairs(20000, 1000)
with tempfile.TemporaryDirectory() as tmp:
    write_zones(Path(tmp) / "z", 1000)
    server = serve_zones(Path(tmp) / "z", domain_name(0))
    live = LiveResolver([Nameserver(server.host, server.port)], timeout=2.0)
    async def go():
        return await B.evaluate_all(pairs, lambda: TracingResolver(live), 100)
    try:
        if "prof" in sys.argv:
            import uvloop; cProfile.run("uvloop.run(go())", "/tmp/rb/spfprof")
        else:
            import uvloop; el, res, _ = (uvloop.run(go()) if "uv" in sys.argv else asyncio.run(go())); print("evals/s", len(pairs) / el, res, "retries", live.retries)
    finally:
        server.stop()
if "prof" in sys.argv:
    pstats.Stats("/tmp/rb/spfprof").sort_stats("tottime").print_stats(25)
