"""The text a model reads: one form for the treebank's sentences in training and evaluation and for what users type.

SST's text is Penn-Treebank tokenized: words, punctuation and clitics are separate tokens (``is n't``, ``whale
's``, ``( great )``, ```` moving ''``). People type natural English (``isn't``, ``(great)``). A model that learnt
``is n't`` meets ``isn't`` as other tokens, so the course puts every text into one form before tokenizing it,
whoever wrote it (:func:`model_text`):

- ``natural`` (the default): the treebank's tokens rejoined as English is written (:func:`natural_text`); what a
  user types is already in this form, and passes unchanged apart from stray spaces.
- ``treebank``: the release's tokens as they are; what a user types is split as the treebank splits
  (:func:`treebank_text`). Runs made before the choice existed read text this way.

Both functions are idempotent, and a treebank sentence and its natural spelling give the same model input in
either form.
"""

from __future__ import annotations

import re

__all__ = ["TEXT_FORMS", "TEXT_FORM_ATTRIBUTE", "natural_text", "treebank_text", "model_text", "text_form_of"]

TEXT_FORMS = ("natural", "treebank")
#: The model config attribute that records the form a saved model reads (``config.json``).
TEXT_FORM_ATTRIBUTE = "sst5_text_form"

_CLITIC = r"n't|'(?:s|re|ve|m|ll|d)"
# A space the treebank put before closing punctuation and clitics, or after opening brackets, is not written.
_SPACE_BEFORE = re.compile(rf" (?=[.,!?;:%)\]}}]|(?:{_CLITIC})\b)", re.IGNORECASE)
_SPACE_AFTER = re.compile(r"(?<=[(\[{$#]) ")
_SPLIT_CLITIC = re.compile(rf"(?<=\w)(?=(?:{_CLITIC})\b)", re.IGNORECASE)
# Punctuation the treebank splits off: a comma outside numbers (1,000 stays), a full stop only at the end of the
# sentence (abbreviations such as Ms. keep theirs), and the rest everywhere.
_SPLIT_PUNCTUATION = re.compile(r"""(\.\.\.|(?<!\d),|,(?!\d)|\.(?=["')\]}]*$)|[!?;:%()\[\]{}"$#])""")


def _pair_quotes(text: str) -> str:
    """Glue each lone straight double quote to what it encloses: an opening one to the next word, a closing one
    to the previous word (the treebank's `` and '' both read as ``"``, so the count of quotes so far decides)."""
    words, inside, glue_next = [], False, False
    for word in text.split(" "):
        if word == '"':
            if inside and words:
                words[-1] += word
            else:
                glue_next = not inside
            inside = not inside
            continue
        inside ^= word.count('"') % 2 == 1
        if glue_next:
            word, glue_next = '"' + word, False
        words.append(word)
    return " ".join(words + (['"'] if glue_next else []))


def natural_text(text: str) -> str:
    """``text`` as English is written: the treebank's spaces before punctuation and clitics and inside brackets
    and quotes removed (``is n't`` → ``isn't``, ``( great )`` → ``(great)``); natural text passes unchanged."""
    joined = " ".join(text.split())
    return _pair_quotes(_SPACE_AFTER.sub("", _SPACE_BEFORE.sub("", joined)))


def treebank_text(text: str) -> str:
    """``text`` split as the treebank splits it: clitics and punctuation become tokens of their own (``isn't`` →
    ``is n't``, ``(great)`` → ``( great )``); treebank text passes unchanged."""
    split = _SPLIT_PUNCTUATION.sub(r" \1 ", _SPLIT_CLITIC.sub(" ", text))
    return " ".join(split.split())


def model_text(text: str, form: str) -> str:
    """``text`` in the form a run's model reads (:data:`TEXT_FORMS`).

    Raises
    ------
    ValueError
        ``form`` is not one of :data:`TEXT_FORMS`.
    """
    if form == "natural":
        return natural_text(text)
    if form == "treebank":
        return treebank_text(text)
    raise ValueError(f"text form {form!r} is not one of: {', '.join(TEXT_FORMS)}")


def text_form_of(model) -> str:
    """The text form ``model`` was trained on, as its saved config records it; ``treebank`` for a model saved
    before the course recorded it (it was trained on the release's tokens)."""
    return getattr(model.config, TEXT_FORM_ATTRIBUTE, None) or "treebank"
