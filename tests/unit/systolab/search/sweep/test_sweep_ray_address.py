"""A Ray address where nothing answers fails within the connect timeout, naming the address
(``ray.init`` alone retries for minutes); a malformed one is refused before any wait."""

from __future__ import annotations

import socket
import time

import pytest

from hwsim.errors import SystolabError
from systolab.search.sweep.executors import make_executor


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_an_address_where_nothing_listens_fails_at_once_naming_it(scheme: str) -> None:
    address = f"{scheme}127.0.0.1:{_free_port()}"
    t0 = time.perf_counter()
    with pytest.raises(SystolabError, match=rf"the Ray cluster at --address '{address}' does "
                                            r"not answer within 2 s \(Connection refused\)"):
        make_executor("ray", b"", 1, address, connect_timeout=2.0)
    assert time.perf_counter() - t0 < 2.0


@pytest.mark.parametrize("address", ["head", "head:port", "ray://head:0", "head:99999"])
def test_a_malformed_address_is_refused(address: str) -> None:
    with pytest.raises(SystolabError, match="--address must be host:port, ray://host:port or auto"):
        make_executor("ray", b"", 1, address)
