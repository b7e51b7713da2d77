"""A Goertzel filter bank for many channels at once, as one matrix product per call.

The signal of every channel is cut into blocks of ``block_size`` samples on a grid common to
all channels (block ``j`` covers samples ``j*B .. j*B+B-1`` of the stream). For each block
and each frequency ``f_k`` the bank returns the DFT coefficient

    X[b, k] = sqrt(2/B) * sum_m x[b*B + m] * exp(-i * w_k * m),   w_k = 2*pi*f_k/fs

as two float32 columns (real parts first, then imaginary parts), and the block energy
``sum_m x**2``. With this scaling a sine of amplitude A at exactly ``f_k`` that fills the
block gives ``|X|**2 = A**2 * B / 2``, the sine's energy in the block, so tone powers and
block energies compare directly.

The phase is block-local; referenced to absolute time, the coefficient of block ``b`` is
``X[b] * exp(-i*w_k*b*B)``. A steady sine at ``f_k + d`` therefore advances by
``exp(i*w_k*B) * exp(i*d*B)`` from one block to the next: the advance measures the
frequency offset ``d`` (see :func:`frequency_offset_hz`), and derotated blocks add up
coherently into the DFT of a longer window.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
C128 = npt.NDArray[np.complex128]


class BlockFramer:
    """Cuts (channels, n) chunks of any length into whole blocks, carrying the remainder.

    All channels advance together, so the remainder has the same length for all of them.
    ``push`` returns float32 frames of shape (channels * m, B), channel-major, ``m >= 0``,
    valid until the next ``push``.
    """

    def __init__(self, channels: int, block_size: int) -> None:
        self.block_size = block_size
        self.pending = np.zeros((channels, block_size), dtype=np.float32)
        self.fill = 0
        self.samples = 0  # samples pushed so far, per channel
        self._buffer = np.empty(0, dtype=np.float32)

    @property
    def channels(self) -> int:
        return int(self.pending.shape[0])

    @property
    def blocks(self) -> int:
        """Whole blocks produced so far (the index of the next block)."""
        return (self.samples - self.fill) // self.block_size

    def push(self, chunk: npt.NDArray[np.int16] | F32) -> tuple[F32, int]:
        """Frames for the whole blocks completed by ``chunk``, and their count per channel."""
        channels, n = chunk.shape
        size = self.block_size
        m = (self.fill + n) // size
        self.samples += n
        if m == 0:
            self.pending[:, self.fill : self.fill + n] = chunk
            self.fill += n
            return np.empty((0, size), dtype=np.float32), 0
        used = m * size - self.fill
        if self.fill == 0 and used == n:
            frames = self._whole(chunk)
        else:
            frames = self._scratch(channels * m * size).reshape(channels, m * size)
            frames[:, : self.fill] = self.pending[:, : self.fill]
            frames[:, self.fill :] = chunk[:, :used]
        rest = n - used
        self.pending[:, :rest] = chunk[:, used:]
        self.fill = rest
        return frames.reshape(channels * m, size), m

    def _whole(self, chunk: npt.NDArray[np.int16] | F32) -> F32:
        if chunk.dtype == np.float32 and chunk.flags.c_contiguous:
            return chunk  # type: ignore[return-value]
        frames = self._scratch(chunk.size).reshape(chunk.shape)
        frames[...] = chunk
        return frames

    def _scratch(self, size: int) -> F32:
        # reused from call to call: nothing keeps the frames once the call is over, and
        # touching fresh pages costs as much as the conversion itself
        if self._buffer.size < size:
            self._buffer = np.empty(size, dtype=np.float32)
        return self._buffer[:size]

    def clear(self, channels: npt.NDArray[np.intp]) -> None:
        """Forget the carried samples of ``channels`` (their slots start a new stream)."""
        self.pending[channels] = 0.0

    def resize(self, channels: int) -> None:
        pending = np.zeros((channels, self.block_size), dtype=np.float32)
        keep = min(channels, self.channels)
        pending[:keep] = self.pending[:keep]
        self.pending = pending


class FilterBank:
    """Block DFT coefficients at fixed frequencies, for all channels and blocks at once."""

    def __init__(self, frequencies_hz: Sequence[float], block_size: int, sample_rate: int):
        self.frequencies_hz = np.asarray(frequencies_hz, dtype=np.float64)
        self.block_size = block_size
        self.sample_rate = sample_rate
        self.omega = 2.0 * np.pi * self.frequencies_hz / sample_rate  # radians per sample
        angles = np.outer(np.arange(block_size), self.omega)
        scale = np.sqrt(2.0 / block_size)
        self.weights: F32 = np.concatenate(
            [np.cos(angles) * scale, -np.sin(angles) * scale], axis=1
        ).astype(np.float32)
        # block-to-block phase advance of a sine exactly at each frequency
        self.block_rotation: C128 = np.exp(1j * self.omega * block_size)

    @property
    def size(self) -> int:
        return int(self.frequencies_hz.size)

    def coefficients(self, frames: F32) -> F32:
        """(rows, 2K) float32: real parts of X for the K frequencies, then imaginary parts."""
        return frames @ self.weights

    @staticmethod
    def energies(frames: F32) -> F32:
        """(rows,) float32: the energy of each block."""
        energy: F32 = np.einsum("ij,ij->i", frames, frames)
        return energy

    def pair_weights(self) -> F32:
        """(4K, 2K) float32: two consecutive blocks' coefficients to their 2B-sample window's.

        The DFT of blocks ``b`` and ``b+1`` together, phase at the start of ``b``, is
        ``X[b] + exp(-i*w*B) * X[b+1]``; as a real matrix acting on the row
        ``[coefficients of b, coefficients of b+1]`` it is one small matrix product.
        """
        k = self.size
        cos, sin = np.cos(self.omega * self.block_size), np.sin(self.omega * self.block_size)
        weights = np.zeros((4 * k, 2 * k))
        index = np.arange(k)
        weights[index, index] = 1.0  # Re X[b]
        weights[k + index, k + index] = 1.0  # Im X[b]
        weights[2 * k + index, index] = cos  # Re(e^{-iwB} X[b+1]) = c Re + s Im
        weights[3 * k + index, index] = sin
        weights[2 * k + index, k + index] = -sin  # Im(e^{-iwB} X[b+1]) = c Im - s Re
        weights[3 * k + index, k + index] = cos
        return weights.astype(np.float32)

    def unmixing(
        self,
        first: npt.NDArray[np.intp],
        second: npt.NDArray[np.intp],
        omega: tuple[F64, F64] | None = None,
    ) -> F64:
        """(K, 4, 4) real matrices from two bins' coefficients to two sines' complex amplitudes.

        In one short block the bins of two sines leak into each other (and each sine's
        negative frequency into both). For sines ``x[m] = Re(a1 * exp(i*v1*m)) +
        Re(a2 * exp(i*v2*m))``, the coefficients ``(Re X1, Im X1, Re X2, Im X2)`` of bins
        ``first`` and ``second`` are a linear map of ``(Re a1, Im a1, Re a2, Im a2)``; this
        returns its inverse. ``omega`` gives the sines' frequencies (radians per sample),
        by default the bins' own.
        """
        v1, v2 = omega if omega is not None else (self.omega[first], self.omega[second])
        steps = np.arange(self.block_size, dtype=np.float64)
        angles = np.stack([v1, v1, v2, v2], axis=1)[:, :, None] * steps  # (K, 4, B)
        units = np.cos(angles + np.array([0.0, np.pi / 2, 0.0, np.pi / 2])[None, :, None])
        weights = self.weights.astype(np.float64)
        columns = np.stack([first, self.size + first, second, self.size + second], axis=1)
        picked = np.transpose(weights[:, columns], (1, 0, 2))  # (K, B, 4)
        mixing = np.transpose(units @ picked, (0, 2, 1))  # coefficient = mixing @ amplitude
        return np.linalg.inv(mixing)


def block_gain(offset_rad: F64 | float, block_size: int) -> F64:
    """Amplitude response of a B-sample block DFT to a sine ``offset_rad``/sample off its bin.

    ``|sum_m exp(i*d*m)| / B`` (the Dirichlet kernel); 1 at zero offset.
    """
    half = np.asarray(offset_rad, dtype=np.float64) / 2.0
    small = np.abs(half) < 1e-9
    ratio = np.sin(half * block_size) / (block_size * np.sin(np.where(small, 1.0, half)))
    return np.where(small, 1.0, np.abs(ratio))


def frequency_offset_hz(advance_rad: F64, block_size: int, sample_rate: int) -> F64:
    """Frequency offset from the derotated block-to-block phase advance (-pi .. pi)."""
    return advance_rad * sample_rate / (2.0 * np.pi * block_size)
