"""Reading UTF-8 text, the sorted vocabulary, encode/decode, and the bundled corpus."""

import numpy as np
import pytest
from charrnn.data import Vocabulary, default_corpus_path, load_corpus, read_text

TEXT = "Ångström ß 你好, Ångström!"


def test_round_trip_non_ascii():
    vocab = Vocabulary.from_text(TEXT)
    encoded = vocab.encode(TEXT)
    assert encoded.dtype == np.int32
    assert encoded.shape == (len(TEXT),)
    assert vocab.decode(encoded) == TEXT
    assert vocab.decode(encoded.tolist()) == TEXT
    assert vocab.K == len(vocab) == len(set(TEXT))


def test_vocabulary_is_sorted_and_indices_are_ranks():
    vocab = Vocabulary.from_text("hello")
    assert vocab.chars == ["e", "h", "l", "o"]
    np.testing.assert_array_equal(vocab.encode("hello"), [1, 0, 2, 2, 3], err_msg="encode")
    non_ascii = Vocabulary.from_text(TEXT)
    assert non_ascii.chars == sorted(set(TEXT))
    assert all(a < b for a, b in zip(non_ascii.chars, non_ascii.chars[1:]))
    # Same text in a different order of first appearance gives the same vocabulary.
    assert Vocabulary.from_text("olleh") == vocab
    assert Vocabulary(vocab.chars) == vocab


def test_encode_unknown_character_names_it():
    vocab = Vocabulary.from_text("abc")
    with pytest.raises(ValueError, match=r"'z'.*position 2"):
        vocab.encode("abz")
    with pytest.raises(ValueError, match="'你'"):
        vocab.encode("a你")
    assert vocab.encode("").shape == (0,)


def test_decode_out_of_range():
    vocab = Vocabulary.from_text("abc")
    assert vocab.decode([2, 0, 1]) == "cab"
    with pytest.raises(IndexError, match="3"):
        vocab.decode([0, 3])
    with pytest.raises(IndexError, match="-1"):
        vocab.decode(np.array([-1]))


def test_vocabulary_constructor_validates():
    with pytest.raises(ValueError):
        Vocabulary(["b", "a"])
    with pytest.raises(ValueError):
        Vocabulary(["a", "a"])
    with pytest.raises(ValueError):
        Vocabulary(["ab"])
    with pytest.raises(ValueError):
        Vocabulary([])
    with pytest.raises(ValueError):
        Vocabulary.from_text("")


def test_read_text_counts_code_points(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(TEXT.encode("utf-8"))
    assert read_text(path) == TEXT
    assert len(read_text(str(path))) == len(TEXT) < len(TEXT.encode("utf-8"))


def test_read_text_reads_line_ends_as_lf_unless_asked_to_keep_them(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes("\ufeffa\r\nb\rc\n".encode("utf-8"))
    assert read_text(path) == "a\nb\nc\n"  # as editors show it: LF, no byte-order mark
    assert read_text(path, newline="keep") == "\ufeffa\r\nb\rc\n"
    with pytest.raises(ValueError, match="newline"):
        read_text(path, newline="crlf")
    bom_only = tmp_path / "bom.txt"
    bom_only.write_bytes("\ufeff".encode("utf-8"))
    with pytest.raises(ValueError, match="byte-order mark"):
        read_text(bom_only)


def test_read_text_missing_file(tmp_path):
    path = tmp_path / "nope.txt"
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_text(path)


def test_read_text_directory(tmp_path):
    with pytest.raises((IsADirectoryError, ValueError), match="directory"):
        read_text(tmp_path)


def test_read_text_empty(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        read_text(path)


def test_read_text_not_utf8(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("line one\ncaf\u00e9\n".encode("latin-1"))  # é is the single byte 0xe9
    with pytest.raises(ValueError, match=r"not UTF-8.*0xe9.*byte offset 12.*line 2"):
        read_text(path)


def test_default_corpus():
    path = default_corpus_path()
    assert path.is_file()
    assert path.name == "shakespeare.txt"
    text, vocab, encoded = load_corpus()
    assert len(text) == 1_036_467
    assert vocab.K == 76
    assert encoded.dtype == np.int32
    assert encoded.shape == (1_036_467,)
    assert int(encoded.min()) == 0 and int(encoded.max()) == 75
    assert vocab.decode(encoded[:1000]) == text[:1000]
    assert vocab.decode(encoded[-1000:]) == text[-1000:]


def test_load_corpus_from_path(tmp_path):
    path = tmp_path / "small.txt"
    path.write_text("abracadabra", encoding="utf-8")
    text, vocab, encoded = load_corpus(path)
    assert text == "abracadabra"
    assert vocab.chars == ["a", "b", "c", "d", "r"]
    np.testing.assert_array_equal(encoded, [0, 1, 4, 0, 2, 0, 3, 0, 1, 4, 0], err_msg="encoded")
