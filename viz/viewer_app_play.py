"""The viewer's play button: a server-side timer that steps the output time.

One step at a time: the next step is taken only ``period`` seconds after the previous one's
pictures were made (the re-draw runs inside the step), so a slow render slows the playback
instead of piling up frames. At the last output time it stops, or with ``loop`` starts over.
"""

from __future__ import annotations

import asyncio

#: Seconds between two output times while playing (after the previous picture is made).
PLAY_PERIOD = 0.6


def next_index(index: int, n_times: int, loop: bool) -> int | None:
    """The output time after ``index`` (0 after the last with ``loop``); None: stop there."""
    if index + 1 < n_times:
        return index + 1
    return 0 if loop and n_times > 1 else None


class Player:
    """Steps the trame state's ``time_index`` while its ``playing`` is true."""

    def __init__(self, state, n_times: int, *, period: float = PLAY_PERIOD):
        self.state = state
        self.n_times = n_times
        self.period = period
        self._task: asyncio.Task | None = None

    def toggle(self) -> None:
        """Play from the current time (from the start when at the last), or pause."""
        state = self.state
        state.playing = not state.playing
        if not state.playing:
            return
        if int(state.time_index) >= self.n_times - 1 and not state.loop:
            state.time_index = 0
        if self._task is None or self._task.done():  # never two timers at once
            self._task = asyncio.get_event_loop().create_task(self._run())

    async def _run(self) -> None:
        state = self.state
        while True:
            await asyncio.sleep(self.period)
            with state:  # leaving the block re-draws the views before the next sleep
                if not state.playing:
                    return
                step = next_index(int(state.time_index), self.n_times, bool(state.loop))
                if step is None:
                    state.playing = False
                    return
                state.time_index = step
