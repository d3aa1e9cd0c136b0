"""SST-2 text forms and the BERT tokenizer, in plain Python.

SST-2 is PTB-tokenized and lower-cased ("does n't", "-lrb-"). Users write natural text ("doesn't", "(").
The BERT pre-tokenizer splits both forms identically except for negated contractions
("does n't" -> does n ' t, "doesn't" -> doesn ' t), so training sees both forms.
"""
import re
import unicodedata

PTB_BRACKETS = {"-lrb-": "(", "-rrb-": ")", "-lsb-": "[", "-rsb-": "]", "-lcb-": "{", "-rcb-": "}"}
IRREGULAR_NEGATIONS = {"ca n't": "can't", "wo n't": "won't", "sha n't": "shan't", "ai n't": "ain't"}


def detokenize_sst(text: str) -> str:
    """PTB-tokenized SST text -> the way people write it."""
    for ptb, plain in PTB_BRACKETS.items():
        text = text.replace(ptb, plain)
    for ptb, plain in IRREGULAR_NEGATIONS.items():
        text = text.replace(ptb, plain)
    text = re.sub(r" n't\b", "n't", text)
    text = re.sub(r" '(s|re|ve|ll|d|m)\b", r"'\1", text)
    text = text.replace("`` ", '"').replace(" ''", '"')
    text = re.sub(r" ([,.!?;:%)\]}])", r"\1", text)
    text = re.sub(r"([(\[{$]) ", r"\1", text)
    return text.strip()


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_control(ch: str) -> bool:
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch) in ("Cc", "Cf")


def _is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def bert_normalize(text: str) -> str:
    """Mirror of tokenizers' BertNormalizer(clean_text, handle_chinese_chars, strip_accents=lowercase, lowercase)."""
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        if _is_whitespace(ch):
            out.append(" ")
        elif _is_cjk(cp):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    text = unicodedata.normalize("NFD", "".join(out))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return text.lower()


def bert_pre_tokenize(text: str) -> list[str]:
    """Mirror of BertPreTokenizer: split on whitespace, isolate every punctuation character."""
    words: list[str] = []
    for chunk in text.split():
        current = ""
        for ch in chunk:
            if _is_punctuation(ch):
                if current:
                    words.append(current)
                    current = ""
                words.append(ch)
            else:
                current += ch
        if current:
            words.append(current)
    return words


class WordPiece:
    def __init__(self, vocab: dict[str, int], unk_token: str = "[UNK]", max_chars: int = 100):
        self.vocab = vocab
        self.unk_id = vocab[unk_token]
        self.max_chars = max_chars
        self._cache: dict[str, list[int]] = {}

    def word_ids(self, word: str) -> list[int]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        ids: list[int] = []
        if len(word) > self.max_chars:
            ids = [self.unk_id]
        else:
            start = 0
            while start < len(word):
                end = len(word)
                found = None
                while start < end:
                    piece = word[start:end] if start == 0 else "##" + word[start:end]
                    if piece in self.vocab:
                        found = self.vocab[piece]
                        break
                    end -= 1
                if found is None:
                    ids = [self.unk_id]
                    break
                ids.append(found)
                start = end
        self._cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for word in bert_pre_tokenize(bert_normalize(text)):
            ids.extend(self.word_ids(word))
        return ids
