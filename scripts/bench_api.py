"""Latency of search and match requests at the demo size, against a plain read in the same run.

    python -m scripts.bench_api [--requests 200]

Runs the real application in process (demo data, configured encoder) behind FastAPI's test
client, warms every endpoint up, then times each request; prints median, p95 and p99 in ms
and the ratio of each median to that of reading one offer.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import get_settings
from models.base import make_engine, make_session_factory, transaction
from models.migrate import upgrade
from scripts.demo import load_demo

QUERIES = [
    "xử lý nước thải dệt nhuộm",
    "xu ly nuoc thai",
    "drone crop spraying",
    "phát hiện lỗi vải",
    "battery recycling",
    "trí tuệ nhân tạo cho y tế",
    "3D printed dental implants",
    "cảm biến độ mặn",
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        settings = get_settings().model_copy(
            update={"data_dir": Path(scratch), "database_url": None, "background_workers": False}
        )
        engine = make_engine(settings.sqlalchemy_url)
        upgrade(engine)
        with transaction(make_session_factory(engine)) as session:
            load_demo(session=session)
        engine.dispose()
        with TestClient(create_app(settings)) as client:
            broker = {"Authorization": "Bearer tm_demo_broker"}
            endpoints = {
                "GET /offers/{id} (baseline)": lambda i: client.get(
                    f"/api/v1/offers/{1 + i % 150}", headers=broker
                ),
                "GET /search/offers?q=": lambda i: client.get(
                    "/api/v1/search/offers", params={"q": QUERIES[i % len(QUERIES)]}
                ),
                "GET /needs/{id}/matches": lambda i: client.get(
                    f"/api/v1/needs/{1 + i % 60}/matches", headers=broker
                ),
                "GET /offers/{id}/matches": lambda i: client.get(
                    f"/api/v1/offers/{1 + i % 150}/matches", headers=broker
                ),
            }
            timings: dict[str, list[float]] = {}
            for name, call in endpoints.items():
                for i in range(len(QUERIES) * 2):  # warm-up: caches, lazy imports, first encodes
                    call(i)
                samples = []
                for i in range(args.requests):
                    started = time.perf_counter()
                    response = call(i)
                    samples.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.text
                timings[name] = samples
    baseline = statistics.median(next(iter(timings.values())))
    print(f"{'endpoint':30} {'median ms':>10} {'p95 ms':>8} {'p99 ms':>8} {'× baseline':>11}")
    for name, samples in timings.items():
        median = statistics.median(samples)
        print(
            f"{name:30} {median:10.1f} {percentile(samples, 0.95):8.1f} {percentile(samples, 0.99):8.1f} "
            f"{median / baseline:11.1f}"
        )


if __name__ == "__main__":
    main()
