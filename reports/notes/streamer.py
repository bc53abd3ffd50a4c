"""Sending the notes to the room while they are written: pieces batched by time, in order."""

from __future__ import annotations

import time

from realtime import events as realtime
from reports import events
from reports.models import Report

# Streamed pieces are sent at most this often, so a fast model does not flood the room.
DELTA_INTERVAL_SECONDS = 0.05


class Streamer:
    """The ``on_delta`` callback of a streaming writer: keeps the text so far and publishes it in batches."""

    def __init__(self, report: Report):
        self.report = report
        self.pending = ""
        self.sent_at = 0.0
        self.text = ""
        self.count = 0

    def __call__(self, piece: str, replace: bool) -> None:
        if replace:
            self.flush()
            self.text = piece
            self._send(piece, replace=True)
            return
        self.text += piece
        self.pending += piece
        if time.monotonic() - self.sent_at >= DELTA_INTERVAL_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self._send(self.pending, replace=False)
            self.pending = ""

    def _send(self, delta: str, *, replace: bool) -> None:
        self.count += 1
        self.sent_at = time.monotonic()
        # At once, not on commit: the pieces are the point of streaming, and nothing is rolled back.
        realtime.publish(self.report.room_id, events.notes_delta(self.report, delta=delta, replace=replace))
