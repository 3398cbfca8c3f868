"""A local Open-Meteo for tests: real FlatBuffers answers (the format api.open-meteo.com sends), on 127.0.0.1.

Each value is ``OFFSET[path] + 10 + hour / 2`` (UTC hour), so a test can tell which API produced it.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import flatbuffers
import numpy as np
import pandas as pd
import pytest
from gridsage.tools.forecast._weather import ARCHIVE_URL_ENV, CACHE_DIR_ENV, WEATHER_URL_ENV
from openmeteo_sdk.Unit import Unit
from openmeteo_sdk.Variable import Variable

#: the server adds this to 10 + hour/2, so every value tells which API produced it
OFFSET = {"/v1/archive": 0.0, "/v1/forecast": 20.0}
BERLIN = (52.52, 13.405)


def expected(stamp: pd.Timestamp, path: str) -> float:
    return OFFSET[path] + 10 + stamp.hour / 2


def payload(first: date, last: date, path: str) -> bytes:
    """A size-prefixed WeatherApiResponse, as api.open-meteo.com sends it, for whole UTC days first .. last.

    The installed openmeteo_sdk ships readers only (its builder helpers exist in the .pyi stubs alone), so
    the tables are built slot by slot; slot n is the field at vtable offset 4 + 2n in the generated readers.
    """
    t0 = int(datetime.combine(first, datetime.min.time(), UTC).timestamp())
    t1 = int(datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC).timestamp())
    hours = np.arange(t0, t1, 3600)
    values = (OFFSET[path] + 10 + (hours // 3600 % 24) / 2).astype(np.float32)
    b = flatbuffers.Builder(1024)
    vector = b.CreateNumpyVector(values)
    b.StartObject(13)  # VariableWithValues
    b.PrependUint8Slot(0, Variable.temperature, 0)
    b.PrependUint8Slot(1, Unit.celsius, 0)
    b.PrependUOffsetTRelativeSlot(3, vector, 0)  # values: [float]
    b.PrependInt16Slot(5, 2, 0)  # altitude [m]
    variable = b.EndObject()
    b.StartVector(4, 1, 4)
    b.PrependUOffsetTRelative(variable)
    variables = b.EndVector()
    b.StartObject(4)  # VariablesWithTime
    b.PrependInt64Slot(0, t0, 0)  # time
    b.PrependInt64Slot(1, t1, 0)  # time_end
    b.PrependInt32Slot(2, 3600, 0)  # interval [s]
    b.PrependUOffsetTRelativeSlot(3, variables, 0)
    hourly = b.EndObject()
    b.StartObject(15)  # WeatherApiResponse
    b.PrependFloat32Slot(0, BERLIN[0], 0.0)
    b.PrependFloat32Slot(1, BERLIN[1], 0.0)
    b.PrependUOffsetTRelativeSlot(11, hourly, 0)  # hourly
    b.FinishSizePrefixed(b.EndObject())  # 4-byte little-endian length, then the message
    return bytes(b.Output())


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_DIR_ENV, str(folder))
    return folder


@pytest.fixture
def open_meteo(monkeypatch):
    """A local Open-Meteo: answers /v1/forecast and /v1/archive, records each request's path and query."""
    state = SimpleNamespace(requests=[], error=None)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlsplit(self.path)
            params = dict(parse_qsl(url.query))
            state.requests.append((url.path, params))
            if state.error:
                status, kind, body = 400, "application/json", json.dumps({"error": True, "reason": state.error}).encode()
            elif url.path in OFFSET:
                first, last = date.fromisoformat(params["start_date"]), date.fromisoformat(params["end_date"])
                status, kind, body = 200, "application/octet-stream", payload(first, last, url.path)
            else:
                status, kind, body = 404, "text/plain", b"not found"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv(WEATHER_URL_ENV, f"{base}/v1/forecast")
    monkeypatch.setenv(ARCHIVE_URL_ENV, f"{base}/v1/archive")
    yield state
    server.shutdown()
    server.server_close()
    thread.join()
