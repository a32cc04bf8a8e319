"""Other staff's event streams: ``python -m benchmarks.ws_streams URL TOKENS_FILE`` opens one
``GET /api/v1/staff/events`` (SSE, httpx streaming) per token, prints ``{"ready": n}`` when all answered 200,
counts the events they receive, and prints ``{"events": n, "errors": k}`` when stdin closes."""
from __future__ import annotations

import asyncio
import json
import sys


async def main(url: str, tokens: list[str]) -> None:
    import httpx

    counts = {"events": 0, "errors": 0, "open": 0}
    opened = asyncio.Event()
    limits = httpx.Limits(max_connections=len(tokens) + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(60, read=None), limits=limits) as client:

        async def one(token: str) -> None:
            try:
                async with client.stream("GET", "/api/v1/staff/events",
                                         headers={"Authorization": f"Bearer {token}",
                                                  "Accept": "text/event-stream"}) as r:
                    if r.status_code != 200:
                        counts["errors"] += 1
                        return
                    counts["open"] += 1
                    if counts["open"] == len(tokens):
                        opened.set()
                    async for line in r.aiter_lines():
                        if line.startswith("id:"):
                            counts["events"] += 1
            except (httpx.HTTPError, asyncio.CancelledError):
                counts["errors"] += 1

        tasks = [asyncio.create_task(one(t)) for t in tokens]
        try:
            await asyncio.wait_for(opened.wait(), timeout=120)
        except TimeoutError:
            pass
        print(json.dumps({"ready": counts["open"], "errors": counts["errors"]}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        print(json.dumps({"events": counts["events"], "errors": counts["errors"], "open": counts["open"]}),
              flush=True)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    with open(sys.argv[2]) as f:
        toks = [line.strip() for line in f if line.strip()]
    asyncio.run(main(sys.argv[1], toks))
