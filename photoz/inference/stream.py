"""A CNN's predictions for many batches of rows with the network on the critical path only.

`stream_predictions(net, images, batches, summarise)` runs three stages in threads
(photoz.inference.pipeline): reading a batch's stamps from the (memmapped) images into one float32
array and normalising them (arcsinh, `net.normalise`), the network (`net.logits`,
photoz.inference.fast), and `summarise(index, logits)` (the head's
z_phot, z_err and PDF: softmax, point estimate, moments). While the network works on batch i, batch
i + 1 is read and batch i - 1 summarised; on a GPU the logits are not waited for until the
summarising stage copies them to the host, so no stage but that one waits for the device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import numpy as np
import torch

from photoz.inference.fast import Batched
from photoz.inference.pipeline import pipelined

T = TypeVar("T")


def read_rows(images: np.ndarray, index: np.ndarray) -> np.ndarray:
    """images[index] as a new contiguous float32 array: one sequential read (and one copy) for a
    run of consecutive rows, else a read in ascending row order put back in `index`'s order."""
    index = np.asarray(index)
    if len(index) and index[-1] - index[0] == len(index) - 1 and np.all(np.diff(index) == 1):
        return np.array(images[index[0] : index[-1] + 1], dtype=np.float32)
    order = np.argsort(index, kind="stable")
    out = np.empty((len(index), *images.shape[1:]), np.float32)
    out[order] = images[index[order]]
    return out


def stream_predictions(
    net: Batched, images: np.ndarray, batches: Iterable[np.ndarray], summarise: Callable[[np.ndarray, torch.Tensor], T]
) -> Iterator[T]:
    """summarise(index, logits of images[index]) for each index array of `batches`, in order."""
    stages = [
        lambda index: (index, net.normalise(read_rows(images, index))),
        lambda item: (item[0], net.logits(item[1])),
        lambda item: summarise(*item),
    ]
    return pipelined(batches, stages)
