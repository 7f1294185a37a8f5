"""One text form from training to the demo: a treebank sentence and its natural spelling reach the model alike."""

import numpy as np
import pytest

from sst5.models import load_classifier
from sst5.predict import predict_proba
from sst5.text import TEXT_FORM_ATTRIBUTE, TEXT_FORMS, model_text, natural_text, treebank_text

# (the treebank's tokens, as a person writes them)
PAIRS = [
    ("is n't", "isn't"),
    ("( great )", "(great)"),
    ("the whale 's tale", "the whale's tale"),
    ("ca n't stop , wo n't stop .", "can't stop, won't stop."),
    ('" moving " and fun', '"moving" and fun'),
    ("it costs $ 5 , or 2.5 %", "it costs $5, or 2.5%"),
    ("I 'm here ; you 're not !", "I'm here; you're not!"),
    ("a 1,000-foot drop ...", "a 1,000-foot drop..."),
]


@pytest.mark.parametrize("form", TEXT_FORMS)
def test_both_spellings_give_the_same_text_in_either_form(form):
    for treebank, natural in PAIRS:
        assert model_text(treebank, form) == model_text(natural, form), (treebank, natural, form)
    assert [natural_text(t) for t, _ in PAIRS] == [n for _, n in PAIRS]
    assert [treebank_text(n) for _, n in PAIRS] == [t for t, _ in PAIRS]


def test_every_sentence_keeps_its_natural_form_and_nearly_all_return_to_the_treebanks(sst_sentences):
    texts = [text for split in sst_sentences.values() for text in split["text"]]
    natural = [natural_text(text) for text in texts]
    assert all(natural_text(text) == text for text in natural)  # idempotent
    back = np.mean([treebank_text(n) == " ".join(t.split()) for n, t in zip(natural, texts, strict=True)])
    assert back > 0.99  # the rest: single quotes (' angels of light . ') and "a T." at a sentence's end
    assert np.mean([n != t for n, t in zip(natural, texts, strict=True)]) > 0.9  # the forms do differ
    with pytest.raises(ValueError, match="not one of: natural, treebank"):
        model_text("fine", "raw")


@pytest.mark.parametrize("form", TEXT_FORMS)
def test_the_model_reads_what_users_type_as_it_read_the_treebank(tiny_model_dir, form):
    model, tokenizer = load_classifier(str(tiny_model_dir), seed=0)
    setattr(model.config, TEXT_FORM_ATTRIBUTE, form)  # as save_run records it
    treebank, natural = zip(*PAIRS, strict=True)
    np.testing.assert_array_equal(predict_proba(model, tokenizer, list(treebank), progress=False),
                                  predict_proba(model, tokenizer, list(natural), progress=False))
