#!/usr/bin/env python3
"""Writes N deterministic synthetic segment pairs (hypothesis, reference) for the mt metrics
benchmark: sentences of 5-45 words drawn from a mixed vocabulary (English-like words,
punctuation glued to words, numbers, accented Latin, Greek, Cyrillic, CJK), hypotheses are
noisy edits of the references (substitutions, deletions, insertions, block moves)."""
import random
import sys

def main():
    count, hyp_path, ref_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    rnd = random.Random(20240601)
    common = ("the of and to in a is that for it as was with be by on not he i this are or his from at which "
              "but have an they you were her she there been one all we their has would when if so no will more "
              "can who its time only new some could these two may first then do any like my now over such our "
              "man even most made after also did many before must through back years where much your way well "
              "down should because each just those people how too little state good very make world still own "
              "see men work long get here between both life being under never day same another know while last").split()
    extra = ("naïve café Straße élan Ærø ΣΟΦΙΑ Σίσυφος Москва мир 中国 人民 東京 3.14 1,000 2-3 1990s U.S. e.g. "
             "don't it's O'Neil x/y a+b €5 $10 100%").split()
    punct = [",", ".", "!", "?", ";", ":", ")", "\""]
    vocab = common * 4 + extra
    def sentence():
        words = [rnd.choice(vocab) for _ in range(rnd.randint(5, 45))]
        return " ".join(w + rnd.choice(punct) if rnd.random() < 0.08 else w for w in words).capitalize()
    def noisy(reference):
        words = reference.split(" ")
        for _ in range(rnd.randint(0, 8)):
            i = rnd.randrange(len(words))
            op = rnd.random()
            if op < 0.35:
                words[i] = rnd.choice(vocab)
            elif op < 0.55 and len(words) > 1:
                del words[i]
            elif op < 0.75:
                words.insert(i, rnd.choice(vocab))
            elif len(words) > 4:
                j = rnd.randrange(len(words) - 1)
                block = words[j:j + rnd.randint(1, 3)]
                del words[j:j + len(block)]
                t = rnd.randrange(len(words) + 1)
                words[t:t] = block
        return " ".join(words)
    with open(hyp_path, "w", encoding="utf-8") as hyp, open(ref_path, "w", encoding="utf-8") as ref:
        for _ in range(count):
            reference = sentence()
            ref.write(reference + "\n")
            hyp.write(noisy(reference) + "\n")

if __name__ == "__main__":
    main()
