"""Negation examples built from SST-2 train itself.

GLUE's SST-2 train has only 7 phrases containing "not bad"; a model trained on it learns "bad" and never learns what
"not" does to it. This builds short negated frames around the polar adjectives of train ("not {adj}", "it 's not
{adj} at all", "the service was n't {adj}", ...) labelled with the adjective's flipped label. Adjectives are the
single-word train phrases that also follow an intensifier ("very", "so", "too", ...) somewhere in train: a cheap,
deterministic stand-in for a part-of-speech tagger. Seeded, no data outside train.
"""
import random
import re

INTENSIFIERS = {"very", "so", "too", "really", "quite", "pretty", "extremely", "most", "more", "less"}
TEMPLATES = [
    "not {a}", "not {a} at all", "not very {a}", "it 's not {a}", "it is not {a}", "it was n't {a}",
    "this is not {a}", "the {n} was not {a}", "the {n} is n't {a}", "the {n} was n't {a} at all",
    "i did n't find it {a}", "never {a}", "not {a} , not at all", "it 's not that {a}",
]
NOUNS = ["movie", "film", "food", "service", "product", "story", "book", "hotel", "phone", "acting", "app", "plot"]
WORD = re.compile(r"^[a-z]+$")


def negation_examples(train: list[tuple[int, str]], per_word: int, seed: int) -> list[tuple[int, str]]:
    rng = random.Random(seed)
    single = {}
    for label, text in train:
        words = text.split()
        if len(words) == 1 and WORD.match(words[0]):
            single[words[0]] = label
    after_intensifier = set()
    for _, text in train:
        words = text.split()
        for prev, word in zip(words, words[1:]):
            if prev in INTENSIFIERS:
                after_intensifier.add(word)
    adjectives = sorted(w for w in single if w in after_intensifier and len(w) > 2)
    examples = []
    for adjective in adjectives:
        for template in rng.sample(TEMPLATES, per_word):
            text = template.format(a=adjective, n=rng.choice(NOUNS))
            examples.append((1 - single[adjective], text))
    return examples


if __name__ == "__main__":
    from build_tokenizer import read_tsv
    rows = list(read_tsv("../../shared/data/sst2/train.tsv"))
    ex = negation_examples(rows, 3, 1)
    print(len(ex), ex[:12])
