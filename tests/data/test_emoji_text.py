import numpy as np
import pytest

from hf_replearn.data.emoji_text import (
    ANNOTATIONS,
    EMOJI_TEST,
    EmojiTextCollator,
    held_out_split,
    load_emoji_text,
    parse_annotations,
    parse_emoji_test,
)
from hf_replearn.errors import UserError

EMOJI_TEST_SNIPPET = """\
# group: Smileys & Emotion
# subgroup: face-smiling
1F600                                                  ; fully-qualified     # 😀 E1.0 grinning face
263A FE0F                                              ; fully-qualified     # ☺️ E0.6 smiling face
263A                                                   ; unqualified         # ☺ E0.6 smiling face
# group: People & Body
# subgroup: hand-fingers-open
1F44B                                                  ; fully-qualified     # 👋 E0.6 waving hand
1F44B 1F3FB                                            ; fully-qualified     # 👋🏻 E1.0 waving hand: light skin tone
# group: Component
# subgroup: skin-tone
1F3FB                                                  ; component           # 🏻 E1.0 light skin tone
1F9B0                                                  ; fully-qualified     # 🦰 E11.0 red hair
# group: Flags
# subgroup: country-flag
1F1E9 1F1EA                                            ; fully-qualified     # 🇩🇪 E2.0 flag: Germany
"""

ANNOTATIONS_SNIPPET = """<?xml version="1.0" encoding="UTF-8" ?>
<ldml><annotations>
  <annotation cp="😀">face | grin | grinning face</annotation>
  <annotation cp="😀" type="tts">grinning face</annotation>
  <annotation cp="☺">face | outlined | relaxed | smile | smiling face</annotation>
  <annotation cp="👋">hand | wave | waving</annotation>
</annotations></ldml>
"""


@pytest.fixture
def files(tmp_path):
    test, ann = tmp_path / "emoji-test.txt", tmp_path / "en.xml"
    test.write_text(EMOJI_TEST_SNIPPET, encoding="utf-8")
    ann.write_text(ANNOTATIONS_SNIPPET, encoding="utf-8")
    return test, ann


def test_parse_emoji_test_keeps_fully_qualified_outside_component(files):
    rows = parse_emoji_test(files[0])
    assert rows == [
        ("😀", "grinning face", "Smileys & Emotion", "face-smiling"),
        ("☺\ufe0f", "smiling face", "Smileys & Emotion", "face-smiling"),
        ("👋", "waving hand", "People & Body", "hand-fingers-open"),
        ("👋🏻", "waving hand: light skin tone", "People & Body", "hand-fingers-open"),
        ("🇩🇪", "flag: Germany", "Flags", "country-flag"),
    ]


def test_parse_annotations_skips_tts_and_splits_keywords(files):
    assert parse_annotations(files[1]) == {
        "😀": ("face", "grin", "grinning face"),
        "☺": ("face", "outlined", "relaxed", "smile", "smiling face"),
        "👋": ("hand", "wave", "waving"),
    }


def test_load_matches_keywords_without_selector_and_skin_tone(files):
    entries = load_emoji_text(skin_tones=True, emoji_test=files[0], annotations=files[1])
    by_name = {e.name: e for e in entries}
    assert by_name["smiling face"].keywords[-1] == "smiling face"  # found without U+FE0F
    assert by_name["waving hand: light skin tone"].keywords == ("hand", "wave", "waving")  # its base's
    assert by_name["flag: Germany"].keywords == ()
    assert by_name["waving hand: light skin tone"].base == "👋"
    assert by_name["grinning face"].caption() == "an emoji of grinning face: face, grin, grinning face"
    assert by_name["flag: Germany"].caption() == "an emoji of flag: Germany"
    assert [e.name for e in load_emoji_text(emoji_test=files[0], annotations=files[1])] == [
        "grinning face", "smiling face", "waving hand", "flag: Germany"]  # fmt: skip


def test_missing_files_name_the_package(tmp_path, files):
    with pytest.raises(UserError, match="apt-get install unicode-cldr-core"):
        load_emoji_text(emoji_test=files[0], annotations=tmp_path / "none.xml")
    with pytest.raises(UserError, match="apt-get install unicode-data"):
        load_emoji_text(emoji_test=tmp_path / "none.txt", annotations=files[1])


def test_held_out_split_is_by_base_emoji_and_seeded(files):
    entries = load_emoji_text(skin_tones=True, emoji_test=files[0], annotations=files[1])
    for seed in range(10):
        train, test = held_out_split(entries, 0.25, seed)
        assert sorted([*train, *test]) == list(range(len(entries))) and len(test) >= 1
        assert not {entries[i].base for i in train} & {entries[i].base for i in test}  # variants travel together
    assert [a.tolist() for a in held_out_split(entries, 0.25, 3)] == [a.tolist() for a in held_out_split(entries, 0.25, 3)]


def test_collator_tokenizes_one_text_per_image(files):
    from hf_replearn.data.tokenizer_training import train_tokenizer
    from hf_replearn.data.emoji_text import training_texts

    entries = load_emoji_text(emoji_test=files[0], annotations=files[1])
    tok = train_tokenizer(training_texts(entries) * 3, vocab_size=100, min_frequency=1, model_max_length=16)
    collate = EmojiTextCollator(entries, tok, max_length=16, max_keywords=2, seed=0)
    rows = [{"pixel_values": np.full((3, 4, 4), 255, np.uint8), "index": i} for i in range(len(entries))]
    batch = collate(rows)
    assert batch["pixel_values"].shape == (4, 3, 4, 4) and float(batch["pixel_values"].max()) == 1.0
    assert batch["input_ids"].shape[0] == 4 and batch["attention_mask"].shape == batch["input_ids"].shape
    texts = [collate.text(entries[0]) for _ in range(50)]
    assert all(t.startswith(("an emoji of grinning face", "grinning face")) for t in texts)
    assert all(t.count(",") <= 1 for t in texts)  # at most max_keywords = 2 keywords


def test_category_captions_name_group_and_subgroup(files):
    entries = load_emoji_text(emoji_test=files[0], annotations=files[1])
    grinning = entries[0]
    assert grinning.categories == f"{grinning.group.lower().replace('&', 'and')}, {grinning.subgroup.replace('-', ' ')}"
    assert grinning.caption((), categories=True) == f"an emoji of grinning face, {grinning.categories}"
    always = EmojiTextCollator(entries, None, max_length=16, max_keywords=2, seed=0, category_captions=1.0)
    assert all(f"grinning face, {grinning.categories}" in always.text(grinning) for _ in range(50))
    never = EmojiTextCollator(entries, None, max_length=16, max_keywords=2, seed=0)  # the default: 0
    assert not any(grinning.categories in never.text(grinning) for _ in range(50))
    half = EmojiTextCollator(entries, None, max_length=16, max_keywords=2, seed=0, category_captions=0.5)
    share = np.mean([grinning.categories in half.text(grinning) for _ in range(400)])
    assert 0.4 < share < 0.6


@pytest.mark.skipif(not (EMOJI_TEST.is_file() and ANNOTATIONS.is_file()), reason="apt-get install unicode-data unicode-cldr-core")
def test_real_files():
    entries = load_emoji_text()
    assert len(entries) == len({e.emoji for e in entries}) > 1800
    assert len({e.group for e in entries}) == 9 and len({e.subgroup for e in entries}) > 90
    assert sum(bool(e.keywords) for e in entries) > 0.75 * len(entries)
    assert len(load_emoji_text(skin_tones=True)) > 3600
    grinning = next(e for e in entries if e.name == "grinning face")
    assert "grin" in grinning.keywords and grinning.subgroup == "face-smiling"
