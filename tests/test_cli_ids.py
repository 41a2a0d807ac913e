"""Reading IDs from bytes: the block-at-a-time fast path reads exactly what token by token does.

Whatever the tokens (digits, zeros, leading zeros, 19 digits and more, junk), ``Tokens``
gives the same IDs as ``positive_int`` on each token, and a bad token raises ``BadID``
naming its line after every good ID before it, in the same read or an earlier one.
"""

from __future__ import annotations

import io

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("click", reason="the command line needs the cli extra")

from smmpanel._cli.errors import BadID
from smmpanel._cli.ids import IDs, Tokens
from smmpanel._validate import MAX_ID, positive_int

TOKENS = st.one_of(
    st.integers(1, 10**6).map(str),
    st.integers(1, MAX_ID).map(str),
    st.sampled_from(["0", "00", "007", "9223372036854775807", "9223372036854775808"]),
    st.sampled_from(["0000000000000000000000001", "12345678901234567890"]),
)
SEPARATORS = st.sampled_from([" ", "\n", ",", "\r\n", "\t", ", ", "\n\n"])


@given(st.lists(st.tuples(TOKENS, SEPARATORS), max_size=40), st.integers(1, 64))
def test_tokens_read_as_positive_int_reads_each(pairs: list[tuple[str, str]], cut: int) -> None:
    text = "".join(token + sep for token, sep in pairs).encode()
    expected: list[int] = []
    bad_line = None
    line = 1
    for token, sep in pairs:
        value = positive_int(token)
        if value is None:
            bad_line = line
            break
        expected.append(value)
        line += sep.count("\n")
    tokens = Tokens("stdin", "an order ID")
    got: list[int] = []
    with pytest.raises(BadID) if bad_line else _nothing() as raised:
        for start in range(0, len(text), cut):
            got.extend(tokens.feed(text[start : start + cut]))
        got.extend(tokens.end())
    assert got == expected
    if bad_line is not None:
        assert f"stdin, line {bad_line}: " in str(raised.value)


class _nothing:
    value: BaseException

    def __enter__(self) -> _nothing:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def test_ids_before_a_bad_one_in_the_same_read_still_come_through() -> None:
    """One read holds good IDs, then junk: the good ones are yielded, then BadID."""
    source = IDs((), (("stdin", io.BytesIO(b"1\n2\n2\n3\nfour\n5\n")),))
    got: list[int] = []

    async def main() -> None:
        async for number in source:
            got.append(number)

    with pytest.raises(BadID, match="line 5"):
        anyio.run(main)
    assert got == [1, 2, 3]
