"""Batches through a chain of stages, each in its own thread, so reading, the network and the
summaries of consecutive batches overlap.

    for out in pipelined(batches, [read, network, summarise]):   # out = summarise(network(read(batch)))
        write(out)

Each stage runs in one thread and sees the batches in order; at most `depth` batches wait between
two stages, so memory stays at a few batches whatever the number of batches. What the stages do
(numpy copies from a memmap, ONNX Runtime or PyTorch kernels, numpy reductions, file writes)
releases the GIL, so the threads run in parallel. An exception in any stage stops the chain and is
raised in the consumer; a consumer that stops early (an error, a closed generator) stops the threads.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

_POLL_S = 0.1  # how often a blocked thread checks whether the consumer has gone
_DONE = object()


class _Failed:
    """An exception travelling down the chain in place of a batch."""

    def __init__(self, err: BaseException) -> None:
        self.err = err


def _put(q: queue.Queue, item: object, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue, stop: threading.Event) -> object:
    while not stop.is_set():
        try:
            return q.get(timeout=_POLL_S)
        except queue.Empty:
            continue
    return _DONE


def _feed(items: Iterable[Any], out: queue.Queue, stop: threading.Event) -> None:
    try:
        for item in items:
            if not _put(out, item, stop):
                return
    except BaseException as err:  # noqa: BLE001 - handed to the consumer
        _put(out, _Failed(err), stop)
        return
    _put(out, _DONE, stop)


def _work(fn: Callable[[Any], Any], inp: queue.Queue, out: queue.Queue, stop: threading.Event) -> None:
    while True:
        item = _get(inp, stop)
        if item is _DONE or isinstance(item, _Failed):
            _put(out, item, stop)
            return
        try:
            result = fn(item)
        except BaseException as err:  # noqa: BLE001 - handed to the consumer
            _put(out, _Failed(err), stop)
            return
        if not _put(out, result, stop):
            return


def pipelined(items: Iterable[Any], stages: Sequence[Callable[[Any], Any]], depth: int = 2) -> Iterator[Any]:
    """stages[-1](... stages[0](item)) for each of `items`, in order; items are drawn in a thread
    and each stage runs in a thread of its own."""
    stop = threading.Event()
    queues = [queue.Queue(depth) for _ in range(len(stages) + 1)]
    threads = [threading.Thread(target=_feed, args=(items, queues[0], stop), daemon=True, name="photoz-feed")]
    for i, fn in enumerate(stages):
        threads.append(threading.Thread(target=_work, args=(fn, queues[i], queues[i + 1], stop), daemon=True, name=f"photoz-stage{i}"))
    for thread in threads:
        thread.start()
    try:
        while True:
            item = queues[-1].get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.err
            yield item
    finally:
        stop.set()
        for thread in threads:
            thread.join()
