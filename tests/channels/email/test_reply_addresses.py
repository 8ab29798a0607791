"""Signed per-conversation reply addresses."""

from __future__ import annotations

from frontdesk.channels.email.addresses import base_address, conversation_from_address, reply_address


def test_a_reply_address_names_its_conversation_for_its_tenant_only():
    address = reply_address("support@shop.example", tenant_id=7, number=1234)

    assert address.startswith("support+c1234-") and address.endswith("@shop.example")
    assert conversation_from_address(address, tenant_id=7) == 1234
    assert conversation_from_address(address.upper(), tenant_id=7) == 1234
    assert conversation_from_address(address, tenant_id=8) is None


def test_a_guessed_number_without_the_signature_is_not_followed():
    forged = reply_address("support@shop.example", tenant_id=7, number=1234).replace("c1234", "c1235")

    assert conversation_from_address(forged, tenant_id=7) is None
    assert conversation_from_address("support+c1235@shop.example", tenant_id=7) is None
    assert conversation_from_address("support@shop.example", tenant_id=7) is None


def test_the_base_address_drops_any_tag():
    assert base_address("Support+c12-abcdef@Shop.Example") == "support@shop.example"
    assert reply_address("support+old@shop.example", 1, 5).startswith("support+c5-")
