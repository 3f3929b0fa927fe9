"""Mailchimp's size limits: what a member may carry is bounded before it is sent, and each cut is reported."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from opus1_mailchimp.limits import EMAIL_MAX_CHARS, MERGE_FIELD_MAX_BYTES, TAG_MAX_CHARS, bound_member, cut_text


def test_a_50_mb_first_name_is_cut_to_mailchimps_255_bytes_and_reported():
    bounded = bound_member("ana@posteo.de", {"FNAME": "A" * 50_000_000, "LNAME": "Lopez"}, frozenset({"opus1"}))
    assert bounded.merge_fields == {"FNAME": "A" * 255, "LNAME": "Lopez"} and bounded.refused is None
    assert bounded.notes == ("FNAME cut to 255 bytes (it had 50,000,000 characters; Mailchimp keeps at most 255 "
                             "bytes)",)


def test_values_within_the_limits_are_sent_as_they_are():
    fields, tags = {"FNAME": "Zoë", "LNAME": "Ng", "PHONE": "+1 555 0100"}, frozenset({"opus1", "Program: Piano"})
    bounded = bound_member("zoe@posteo.de", fields, tags)
    assert (bounded.merge_fields, bounded.tags, bounded.notes, bounded.refused) == (fields, tags, (), None)


def test_a_multibyte_name_is_cut_at_a_character_boundary():
    assert cut_text("é" * 200, MERGE_FIELD_MAX_BYTES) == "é" * 127  # 254 bytes; a 128th would need 256


def test_four_byte_characters_fit_up_to_the_byte_limit_and_no_further():
    assert cut_text("😀" * 63, MERGE_FIELD_MAX_BYTES) == "😀" * 63  # 252 bytes
    assert cut_text("😀" * 64, MERGE_FIELD_MAX_BYTES) == "😀" * 63  # 256 bytes: the last one does not fit
    assert cut_text("a" * 255, MERGE_FIELD_MAX_BYTES) == "a" * 255 and cut_text("a" * 256, 255) == "a" * 255


def test_a_tag_over_100_characters_is_left_out_not_cut_and_reported():
    long = "Program: " + "P" * 200
    bounded = bound_member("ana@posteo.de", {}, frozenset({"opus1", long}))
    assert bounded.tags == frozenset({"opus1"}) and len(bounded.notes) == 1 and "209 characters" in bounded.notes[0]


def test_an_address_longer_than_an_address_can_be_refuses_the_contact():
    bounded = bound_member("a" * 250 + "@posteo.de", {"FNAME": "Ana"}, frozenset({"opus1"}))
    assert bounded.refused and str(EMAIL_MAX_CHARS) in bounded.refused and bounded.merge_fields == {}


@given(st.text(max_size=600))
def test_a_cut_value_fits_mailchimp_and_is_a_prefix_of_the_value(value):
    cut = cut_text(value, MERGE_FIELD_MAX_BYTES)
    assert len(cut.encode("utf-8", "surrogatepass")) <= MERGE_FIELD_MAX_BYTES
    assert value.startswith(cut)
    if len(value.encode("utf-8", "surrogatepass")) <= MERGE_FIELD_MAX_BYTES:
        assert cut == value


@given(st.dictionaries(st.sampled_from(["FNAME", "LNAME", "PHONE"]), st.text(max_size=400)),
       st.frozensets(st.text(min_size=1, max_size=150), max_size=5))
def test_every_bounded_member_is_within_every_limit_and_says_what_changed(fields, tags):
    bounded = bound_member("ana@posteo.de", fields, tags)
    assert all(len(v.encode("utf-8", "surrogatepass")) <= MERGE_FIELD_MAX_BYTES for v in bounded.merge_fields.values())
    assert all(len(t) <= TAG_MAX_CHARS for t in bounded.tags) and bounded.tags <= tags
    changed = sum(bounded.merge_fields[k] != v for k, v in fields.items()) + len(tags - bounded.tags)
    assert len(bounded.notes) == changed
