"""h2 set up as a server's HTTP/2 engine: how :mod:`._h2conn` runs the ``h2`` library.

Everything HTTP/2 (framing, HPACK, flow control, stream states) is h2's.
This module only chooses how it runs, with h2's own seams (its configuration,
its frame buffer, its HPACK encoder and decoder, which are hpack's):

* :func:`new_engine`: h2's server connection with our SETTINGS in force at
  once (concurrent streams, the header list limit), a connection window
  for request bodies, and the GOAWAY of a protocol error left to us (to say
  why in its debug data).
* A header block bounded in bytes while its frames arrive
  (:class:`_BoundedFrames`: CONTINUATION floods, CVE-2024-27316).
* Header checks ours (``_h2head``), not h2's: its inbound and outbound
  validation and normalisation are off.
* HPACK with a memory (:class:`_Encoder`, :class:`_Decoder`): a header
  block is a function of its header list and the dynamic table, so while
  the table does not change, the same list encodes to the same block and
  the same block decodes to the same list (RFC 7541 2.3). Each remembers
  the last few it produced while its table stayed as it was; a change of
  the table forgets them. A client that repeats a request (same path, same
  fields, as a poller, a health check or a load generator does), or a
  resource answered with the same fields again, then costs a dictionary
  lookup instead of hpack's field-by-field work (a third of h2's CPU for
  a small request). A block is remembered the second time it is made or
  read (:class:`Recall`: blocks that never repeat, as a browser's requests
  for different resources, cost a set lookup more); blocks that change the
  table never are, and what is remembered is bounded (:data:`MEMORY_BLOCKS`,
  :data:`MEMORY_BYTES`).

No I/O.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, Final, Generic, TypeVar

import h2.config
import h2.connection
import h2.exceptions
import h2.settings
import hpack
from h2.errors import ErrorCodes
from h2.frame_buffer import FrameBuffer
from hpack.table import HeaderTable
from hyperframe.frame import ContinuationFrame, Frame, HeadersFrame

__all__ = ["MEMORY_BLOCKS", "MEMORY_BYTES", "HeaderBlockTooLarge", "Recall", "new_engine"]

MEMORY_BLOCKS: Final = 4
"""Header blocks the encoder, and the decoder, each remember at most (per connection); as
many more are noted as seen once."""
MEMORY_BYTES: Final = 4096
"""The largest block, and header list (HPACK's size: names, values and 32 bytes a field),
remembered."""


class HeaderBlockTooLarge(h2.exceptions.DenialOfServiceError):
    """A header block's frames add up past the limit before it is complete."""


class _BoundedFrames(FrameBuffer):
    """h2's frame buffer, refusing a header block (HEADERS + CONTINUATIONs) past ``limit`` bytes.

    h2 itself bounds a block to 64 frames, but each may be as large as the
    frame size allows: 1 MiB held for a block that may never end. This
    checks each frame as it joins the block, so at most ``limit`` bytes are held.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(server=True)
        self._limit = limit
        self._block = 0

    def _update_header_buffer(self, f: Frame | None) -> Frame | None:
        if isinstance(f, HeadersFrame):
            self._block = len(f.data)
        elif isinstance(f, ContinuationFrame):
            self._block += len(f.data)
        if self._block > self._limit:
            raise HeaderBlockTooLarge(f"header block over {self._limit} bytes")
        return super()._update_header_buffer(f)


class _H2(h2.connection.H2Connection):
    """h2's connection, leaving the GOAWAY for a protocol error to us (to say why in it)."""

    def _terminate_connection(self, error_code: ErrorCodes) -> None:
        # h2 calls this as it raises the ProtocolError; H2Connection.receive_data
        # sends the GOAWAY itself, with the error's message as its debug data.
        pass


class _Config(h2.config.H2Configuration):
    """h2's configuration with its switches as plain attributes.

    h2 reads them on every frame it handles; its own class makes each a
    validating descriptor, a Python call per read. These class attributes
    shadow the descriptors, so ``H2Configuration.__init__`` stores the
    values in the instance and a read is a dictionary lookup.
    """

    client_side = False
    header_encoding = None
    validate_outbound_headers = False
    normalize_outbound_headers = False
    split_outbound_cookies = False
    validate_inbound_headers = False
    normalize_inbound_headers = False


_CONFIG = _Config(
    client_side=False,
    header_encoding=None,
    # Checked in our own one pass over the fields (_h2head): h2's chain of
    # generators cost a fifth of a request, and refused a malformed request with a
    # GOAWAY for the whole connection where RFC 9113 8.1.1 asks for a stream error.
    validate_inbound_headers=False,
    normalize_inbound_headers=False,
    # Ours are built by _framing and checked where they are set (no CR/LF, names
    # lowercased by _h2conn, no connection-specific fields): no second pass per response.
    validate_outbound_headers=False,
    normalize_outbound_headers=False,
)


class _Table(HeaderTable):
    """hpack's dynamic table, counting its changes: an unchanged table is told in O(1)."""

    def __init__(self) -> None:
        super().__init__()
        self.changes = 0

    def add(self, name: bytes, value: bytes) -> None:
        self.changes += 1
        super().add(name, value)

    @property
    def maxsize(self) -> int:
        return self._maxsize

    @maxsize.setter
    def maxsize(self, newmax: int) -> None:
        self.changes += 1
        HeaderTable.maxsize.fset(self, newmax)  # type: ignore[attr-defined]


def _size(headers: Iterable[tuple[bytes, bytes]]) -> int:
    return sum(len(name) + len(value) + 32 for name, value in headers)


_PLAIN: Final = {tuple}
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recall(Generic[K, V]):
    """A few values by key, remembered only for a key that comes back.

    A key is remembered on its second miss: keys that never repeat cost a
    set lookup each and hold no value. At most ``size`` keys seen once, and
    ``size`` values, are kept; either, full, is forgotten at once, and
    :meth:`forget` drops all (the state the values depend on changed).
    """

    __slots__ = ("_once", "_size", "_values")

    def __init__(self, size: int = MEMORY_BLOCKS) -> None:
        self._size = size
        self._once: set[K] = set()
        self._values: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        """The value remembered for ``key``, or None."""
        return self._values.get(key)

    def again(self, key: K) -> bool:
        """Whether ``key``, just missed, was missed before: then :meth:`keep` its value."""
        once = self._once
        if key in once:
            return True
        if len(once) >= self._size:
            once.clear()
        once.add(key)
        return False

    def keep(self, key: K, value: V) -> None:
        """Remember ``value`` for ``key``."""
        values = self._values
        if len(values) >= self._size:
            values.clear()
        values[key] = value

    def forget(self) -> None:
        """Drop every key and value."""
        self._once.clear()
        self._values.clear()


class _Encoder(hpack.Encoder):
    """hpack's encoder, remembering blocks it made while its table stayed unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.header_table = _Table()
        self._blocks: Recall[tuple[Any, ...], bytes] = Recall()
        self._changes = 0  # the table's changes when the remembered blocks were made

    def encode(self, headers: Any, huffman: bool = True) -> bytes:
        """The block for ``headers`` (name, value pairs, pseudo-fields first), as hpack makes it."""
        if not huffman or isinstance(headers, dict):
            return super().encode(headers, huffman)  # not ours to make: hpack's own way
        table: Any = self.header_table
        changes = table.changes
        if changes != self._changes:
            self._blocks.forget()
            self._changes = changes
        fields = tuple(headers)
        # hpack's HeaderTuple says whether a field may be indexed, and equals the
        # plain pair: only a list of plain pairs is told by its value alone.
        if {*map(type, fields)} != _PLAIN:
            return super().encode(fields, huffman)
        block = self._blocks.get(fields)
        if block is not None:
            return block
        resized = table.resized  # the block then starts with the size update: once only
        block = super().encode(fields, huffman)
        # Only a block that left the table as it was is the same block next time.
        if (
            not resized
            and table.changes == changes
            and len(block) <= MEMORY_BYTES
            and _size(fields) <= MEMORY_BYTES
            and self._blocks.again(fields)
        ):
            self._blocks.keep(fields, block)
        return block


class _Decoder(hpack.Decoder):
    """hpack's decoder, remembering lists it read while its table and limits stayed as they were."""

    def __init__(self) -> None:
        super().__init__()
        self.header_table = _Table()
        self._lists: Recall[bytes, tuple[Any, ...]] = Recall()
        self._state = (0, self.max_header_list_size, self.max_allowed_table_size)

    def decode(self, data: bytes, raw: bool = False) -> Any:
        """The header list in ``data``, as hpack reads it (``raw``: bytes, as h2 asks)."""
        table: Any = self.header_table
        state = (table.changes, self.max_header_list_size, self.max_allowed_table_size)
        if state != self._state:
            self._lists.forget()
            self._state = state
        if not raw or type(data) is not bytes:
            return super().decode(data, raw)  # not as h2 asks: hpack's own way
        found = self._lists.get(data)
        if found is not None:
            return list(found)  # h2 keeps what it gets: a list of its own
        headers = super().decode(data, raw)
        # Decoded within the limits, the table unchanged: the same block reads the same.
        if (
            table.changes == state[0]
            and len(data) <= MEMORY_BYTES
            and self._lists.again(data)
            and _size(headers) <= MEMORY_BYTES
        ):
            self._lists.keep(data, tuple(headers))
        return headers


def new_engine(max_concurrent_streams: int, header_list: int, window: int) -> _H2:
    """h2's server connection, its SETTINGS queued: our limits and a ``window`` for bodies.

    ``header_list``: the largest decoded header list (HPACK's size), also the
    largest header block held while its frames arrive; in force at once, not
    only once the client acknowledges our SETTINGS. ``window``: request body
    bytes the client may have in flight over all its streams.
    """
    conn = _H2(_CONFIG)
    conn.encoder = _Encoder()
    conn.decoder = _Decoder()
    conn.local_settings = h2.settings.Settings(
        client=False,
        initial_values={
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: max_concurrent_streams,
            h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: header_list,
        },
    )
    conn.decoder.max_header_list_size = header_list
    conn.incoming_buffer = _BoundedFrames(header_list)
    conn.initiate_connection()
    extra = window - 65535
    if extra > 0:
        conn.increment_flow_control_window(extra)
    return conn
