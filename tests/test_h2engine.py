"""h2 as our engine runs it: HPACK with a memory must say exactly what hpack says.

The encoder and decoder of ``_h2engine`` remember header blocks while their
dynamic table is unchanged. These tests hold them to hpack's own encoder and
decoder, block for block, over sequences that repeat lists, change the
table (new fields, evictions, size updates) and repeat again, and pin what
is remembered.
"""

from __future__ import annotations

import hpack
from hpack import HeaderTuple, NeverIndexedHeaderTuple
from hypothesis import given, settings
from hypothesis import strategies as st

from actorhttp._transports._h2engine import (
    MEMORY_BLOCKS,
    MEMORY_BYTES,
    Recall,
    _Decoder,
    _Encoder,
    _size,
    new_engine,
)

Fields = list[tuple[bytes, bytes]]

# Few names and values, so that lists repeat and fields come back from the table.
_FIELD = st.tuples(
    st.sampled_from([b"content-type", b"x-a", b"x-b", b"date", b"cache-control"]),
    st.sampled_from([b"", b"1", b"text/plain", b"v" * 300, b"no-store"]),
)


def _status(fields: Fields) -> Fields:
    return [(b":status", b"200"), *fields]


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["encode", "resize"]), st.lists(_FIELD, max_size=6)),
        max_size=40,
    ),
    repeat=st.integers(min_value=1, max_value=3),
)
def test_the_encoder_makes_hpacks_blocks_and_a_decoder_reads_them_back(
    steps: list[tuple[str, Fields]], repeat: int
) -> None:
    ours, reference, peer = _Encoder(), hpack.Encoder(), hpack.Decoder()
    for index, (step, fields) in enumerate(steps):
        if step == "resize":
            size = 256 if index % 2 else 4096
            ours.header_table_size = reference.header_table_size = size
            continue
        for _ in range(repeat):  # the same list again: remembered, unless the table changed
            block = ours.encode(_status(fields))
            assert block == reference.encode(_status(fields))
            assert peer.decode(block, raw=True) == _status(fields)


@settings(max_examples=60, deadline=None)
@given(
    lists=st.lists(st.lists(_FIELD, max_size=6), max_size=30),
    repeat=st.integers(min_value=1, max_value=3),
)
def test_the_decoder_reads_what_hpack_reads(lists: list[Fields], repeat: int) -> None:
    encoder, ours, reference = hpack.Encoder(), _Decoder(), hpack.Decoder()
    for fields in lists:
        block = encoder.encode(_status(fields))
        for _ in range(repeat):
            assert ours.decode(block, raw=True) == reference.decode(block, raw=True)


def test_the_same_block_reads_differently_once_the_table_changed() -> None:
    # 0xbe: "the field at index 62", the newest entry of the dynamic table.
    encoder, decoder = hpack.Encoder(), _Decoder()
    decoder.decode(encoder.encode([(b"x-a", b"1")]), raw=True)
    assert decoder.decode(b"\xbe", raw=True) == [(b"x-a", b"1")]
    assert decoder.decode(b"\xbe", raw=True) == [(b"x-a", b"1")]  # remembered
    decoder.decode(encoder.encode([(b"x-b", b"2")]), raw=True)  # a new newest entry
    assert decoder.decode(b"\xbe", raw=True) == [(b"x-b", b"2")]


def test_recall_keeps_a_value_only_for_a_key_that_comes_back_and_a_few_at_most() -> None:
    recall: Recall[int, str] = Recall(size=2)
    assert not recall.again(1)  # first miss: noted, nothing kept
    assert recall.again(1)
    recall.keep(1, "one")
    assert recall.get(1) == "one"
    for key in (2, 3, 4):  # keys that never repeat: noted (at most 2), never kept
        assert not recall.again(key)
    assert len(recall._once) <= 2
    for key in (5, 6, 7):
        recall.keep(key, str(key))
    assert len(recall._values) <= 2
    recall.forget()
    assert recall.get(7) is None


def test_a_block_is_remembered_on_its_second_making_and_never_past_the_bound() -> None:
    encoder = _Encoder()
    fields = [(b":status", b"200"), (b"x-a", b"1")]
    for _ in range(3):  # indexed the first time: the table changed, nothing kept
        encoder.encode(fields)
    assert encoder._blocks.get(tuple(fields)) is not None
    big = [(b":status", b"200"), *[(b"x-big", b"v" * (MEMORY_BYTES // 3))] * 3]  # one entry
    for _ in range(4):
        encoder.encode(big)
    assert encoder._blocks.get(tuple(big)) is None
    decoder = _Decoder()
    block = b"\x88\x00\x03x-n\x011"  # :status 200 and x-n: 1 without indexing
    for _ in range(2):
        decoder.decode(block, raw=True)
    assert decoder._lists.get(block) == ((b":status", b"200"), (b"x-n", b"1"))


def test_a_new_engine_has_our_hpack_and_settings_queued() -> None:
    conn = new_engine(max_concurrent_streams=7, header_list=5000, window=1 << 20)
    assert isinstance(conn.encoder, _Encoder)
    assert isinstance(conn.decoder, _Decoder)
    assert conn.decoder.max_header_list_size == 5000
    assert conn.local_settings.max_concurrent_streams == 7
    assert conn.data_to_send()  # the SETTINGS and the connection's WINDOW_UPDATE


def test_a_field_never_to_be_indexed_is_never_answered_by_a_remembered_block() -> None:
    # NeverIndexedHeaderTuple equals the plain pair, but its block differs (RFC 7541 7.1.3).
    plain = [(b":status", b"200"), (b"authorization", b"secret")]
    never = [(b":status", b"200"), NeverIndexedHeaderTuple(b"authorization", b"secret")]
    for first, then in ((plain, never), (never, plain)):
        ours, reference = _Encoder(), hpack.Encoder()
        for _ in range(3):
            assert ours.encode(first) == reference.encode(first)
        for _ in range(2):
            assert ours.encode(then) == reference.encode(then)


def test_hpacks_other_ways_of_asking_get_hpacks_blocks_and_lists() -> None:
    ours, reference = _Encoder(), hpack.Encoder()
    fields = [(b":status", b"200"), (b"x-n", b"1")]
    for _ in range(3):
        assert ours.encode(fields) == reference.encode(fields)
    assert ours.encode(fields, huffman=False) == reference.encode(fields, huffman=False)
    as_dict: dict[bytes | str, bytes | str] = {":status": "200", "x-n": "2"}
    assert ours.encode(as_dict) == reference.encode(as_dict)
    decoder, hpacks = _Decoder(), hpack.Decoder()
    block = b"\x88\x00\x03x-n\x011"
    for _ in range(3):
        assert decoder.decode(block, raw=True) == hpacks.decode(block, raw=True)
    assert decoder.decode(block) == hpacks.decode(block)
    assert hpacks.decode(block) == [HeaderTuple(":status", "200"), HeaderTuple("x-n", "1")]


def test_what_a_connection_remembers_stays_within_its_bound_whatever_the_client_sends() -> None:
    decoder = _Decoder()
    for index in range(200):  # each block twice, the largest that may be remembered and past it
        name = b"x-%d" % index
        value = b"v" * (MEMORY_BYTES - 40 + index % 3 * 20)
        block = b"\x00" + bytes([len(name)]) + name + hpack.hpack.encode_integer(len(value), 7)
        block += value
        for _ in range(2):
            decoder.decode(block, raw=True)
    kept = decoder._lists
    assert len(kept._once) <= MEMORY_BLOCKS
    assert len(kept._values) <= MEMORY_BLOCKS
    assert all(len(block) <= MEMORY_BYTES for block in (*kept._once, *kept._values))
    assert all(_size(fields) <= MEMORY_BYTES for fields in kept._values.values())
