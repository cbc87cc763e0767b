"""The skeleton: a link is issued on ask_employer and its page answers."""

from __future__ import annotations


def test_an_open_link_is_found_by_its_token_and_a_tampered_one_is_not(sent, client):
    from crm.links import service as links

    assert links.find(sent.token) is not None
    assert links.find(sent.token[:-1] + ("A" if sent.token[-1] != "A" else "B")) is None
    assert sent.link.token_hash == links.hash_token(sent.token)
    assert sent.token not in (sent.link.nonce, sent.link.token_hash)
