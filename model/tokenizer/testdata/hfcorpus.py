#!/usr/bin/env python3
"""Writes corpus.jsonl and decode_ids.jsonl, the inputs behind
hf_encode.jsonl and hf_decode.jsonl (see hfprobe.py for the outputs).

The texts stress what decides T5 ids: charsmap rules (single characters and
the multi-character rules shorter than 6 bytes, which Hugging Face applies
per grapheme cluster), combining marks, prepend and emoji clusters,
whitespace of every kind, special tokens written in the text, long runs
whose segmentations tie, and ordinary prose; then random strings.

Needs Python 3.11 and the `regex` module. Run from this directory:
    python3 hfcorpus.py ../../../../shared/tokenizer/legacy/tokenizer.json
(golden.jsonl is read from beside the legacy folder.)
"""
import base64
import json
import os
import random
import struct
import sys

import regex


def charsmap_rules(path):
    """[key, replacement] for every rule of the tokenizer.json's charsmap,
    in darts trie order."""
    b = base64.b64decode(json.load(open(path))['normalizer']['precompiled_charsmap'])
    size = struct.unpack('<I', b[:4])[0]
    units = struct.unpack('<%dI' % (size // 4), b[4:4 + size])
    blob = b[4 + size:]
    offset = lambda u: (u >> 10) << ((u & (1 << 9)) >> 6)
    rules = []

    def walk(pos, prefix):
        base = pos ^ offset(units[pos])
        for c in range(256):
            child = base ^ c
            if child >= len(units) or units[child] & ((1 << 31) | 0xFF) != c:
                continue
            key = prefix + bytes([c])
            if (units[child] >> 8) & 1:
                v = units[child ^ offset(units[child])] & ((1 << 31) - 1)
                rules.append([key.decode(), blob[v:blob.index(b'\0', v)].decode()])
            if c:
                walk(child, key)
    walk(0, b'')
    return rules


def property_code_points():
    """The first, last and middle code point of every range of the
    grapheme properties, to draw unusual characters from."""
    out = []
    for name in ['GCB=Control', 'GCB=Extend', 'GCB=ZWJ', 'GCB=Prepend', 'GCB=SpacingMark',
                 'GCB=Regional_Indicator', 'GCB=L', 'GCB=V', 'GCB=T', 'GCB=LV', 'GCB=LVT', 'GCB=CR', 'GCB=LF',
                 'Extended_Pictographic', 'InCB=Consonant', 'InCB=Linker', 'InCB=Extend']:
        r = regex.compile(r'\p{%s}' % name)
        start = None
        for cp in range(0x110001):
            ok = cp < 0x110000 and not 0xD800 <= cp <= 0xDFFF and r.match(chr(cp)) is not None
            if ok and start is None:
                start = cp
            elif not ok and start is not None:
                out += [start, cp - 1, (start + cp - 1) // 2]
                start = None
    return out


keys = charsmap_rules(sys.argv[1])
random.seed(20261124)
single = [k for k, v in keys if len(k) == 1]
shortmulti = [k for k, v in keys if len(k) > 1 and len(k.encode()) < 6]
firsts = sorted(set(k[0] for k in shortmulti))
words = """the of and to in is you that it he was for on are as with his they I at be this have from or one had by word but not
what all were we when your can said there use an each which she do how their if will up other about out many then them these so some
her would make like him into time has look two more write go see number no way could people my than first water been call who oil its
now find long down day did get come made may part grammar school yesterday wonderful translate English German French house quick brown
fox jumps lazy dog hello world don't can't won't it's café naïve résumé façade Zürich Ångström""".split()
punct = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
ws = [' ', '  ', '   ', '\t', '\n', '\n\n', '\r\n', '\r', '\u00a0', '\u3000', '\u2003', '\u200b', '\u200d', '\u200c', '\u2028', '\u2029',
      '\u0085', '\u000b', '\u000c', '\u001c', '\u001f', '\u180e', '\u2060', '\ufeff', '\u202f', '\u205f', '\u1680', '\u00ad']
marks = [chr(c) for c in range(0x300, 0x370)] + ['\u0483', '\u0591', '\u05b0', '\u064b', '\u0651', '\u093c', '\u094d', '\u0903', '\u0e31',
      '\u0e33', '\u20d0', '\u20e3', '\ufe0f', '\ufe0e', '\U0001F3FB', '\U0001F3FD', '\u200c', '\u200d', '\u1ab0', '\u0bcd', '\u0d4d',
      '\u302a', '\u3099', '\u309a', '\uff9e', '\uff9f', '\u0345', '\u0338', '\u0cc2', '\u09be', '\u0b57']
prepend = ['\u0600', '\u0605', '\u06dd', '\u070f', '\u08e2', '\U000110BD', '\u0d4e', '\U000111C2']
specials = ['<pad>', '</s>', '<unk>', '<extra_id_0>', '<extra_id_1>', '<extra_id_10>', '<extra_id_99>', '<extra_id_100>', '<extra_id_5',
      'extra_id_5>', '<s>', '<extra_id_1><extra_id_10>', '＜pad＞', '＜/s＞', '<PAD>', '</s >', '<<pad>>', '<extra_id_007>', '< pad >',
      '<extra_id_-1>', '</s></s>', '<unk><unk>']
scripts = ['東京', '日本語の文章', '한국어', '\u1100\u1161\u11a8', '\u1100\u1161', '\u110b\u1175', 'क्ष', 'क्क़\u0301', 'हिन्दी',
      'स्त्री', 'ক্ষ', 'สวัสดี', 'مَرْحَبًا', 'שָׁלוֹם', 'Ελληνικά ά', 'Привет й', 'ё', '😀', '👨\u200d👩\u200d👧', '👍🏽', '🇺🇸',
      '🇺🇸🇬', '❤️', '©️', '®\u200d©', '‼\u0301', '😀\u200d‼\u0301', '1️⃣', '\ufffd', '▁', '▁▁', 'a▁b', '\x00', '\x7f', 'ﬁ', 'Ⅻ',
      '㍿', '…', '½', '①', 'Ｈｅｌｌｏ', 'ｶﾞ', 'ｶ\uff9e', 'ℌ', '㎏', 'ǅ', 'Å', 'Ω', 'ﷺ', '﷽', '\u0600\u0661', 'ㄱ\u0301', '가\u0301',
      'ᄀ가\u0301', '\u0d4e\u0d15', 'ﬀ\u0301', 'Ａ\u0301', 'A\u0302\u0300', 'A\u0302\u0300\u0301', 'e\u0301\u0301', '\r\n\u0301',
      '\u0301abc', 'a\u200d\u0301', 'Ｑ\ufe0f']
def rchar():
    r = random.random()
    if r < 0.3: return random.choice(single)
    if r < 0.5: return random.choice(shortmulti)
    if r < 0.6: return random.choice(firsts)
    if r < 0.7: return chr(random.randint(0x20, 0x7e))
    if r < 0.8: return random.choice(marks)
    cp = random.randint(0, 0x2FFFF)
    while 0xD800 <= cp <= 0xDFFF: cp = random.randint(0, 0x2FFFF)
    return chr(cp)
def component():
    r = random.random()
    if r < 0.35: return random.choice(words)
    if r < 0.45: return random.choice(punct)
    if r < 0.55: return random.choice(specials)
    if r < 0.70: return random.choice(scripts)
    if r < 0.85: return ''.join(rchar() for _ in range(random.randint(1, 4)))
    if r < 0.95: return random.choice(firsts + single[:200]) + ''.join(random.choice(marks) for _ in range(random.randint(1, 3)))
    return random.choice(prepend) + random.choice(single + firsts + ['a', '1', ' '])
texts = []
for line in open(os.path.join(os.path.dirname(sys.argv[1]), '..', 'golden.jsonl')):
    texts.append(json.loads(line)['text'])
for _ in range(3000):
    n = random.randint(1, 10)
    parts = []
    for i in range(n):
        parts.append(component())
        parts.append(random.choice(ws) if random.random() < 0.6 else '')
    if random.random() < 0.3: parts.insert(0, random.choice(ws))
    texts.append(''.join(parts))
for _ in range(1500):
    base = random.choice(firsts + single + list('AaEeiOouy') + prepend + ['\r', '\n', '\u1100', '가', 'क', 'क़', '😀', '‼', '©'])
    s = base + ''.join(random.choice(marks + prepend + ['\u200d', '\u094d', 'क़', '‼', '😀']) for _ in range(random.randint(1, 4)))
    texts.append(random.choice(['', 'x', ' ', 'word ']) + s + random.choice(['', 'y', ' ', ' end']))
for ch in ['A', 'a', 'e', 'x', '.', '-', '_', '1', '0', '!', '?', 'ab', 'the ', '▁', 'ha', 'AB', 'Aa', 'é', '東', ' ', '<pad>', 'I', 'ss', 'ee']:
    for n in [1, 2, 3, 4, 5, 7, 8, 13, 50, 99, 100, 150, 299, 300, 301, 400, 1000]:
        texts.append(ch * n)
sent_words = words + ['3.14', '1,000', '2026-11-24', 'https://example.com/a?b=c', 'user@example.org', 'e.g.', 'U.S.A.', '(note)', '"quoted"',
      '“smart”', '—', '...', 'x^2', 'f(x)', '{json: 1}', '#hashtag', '@mention', '$100', '50%', 'C++', 'naïve', 'coöperate']
for _ in range(600):
    n = random.randint(3, 40)
    s = ' '.join(random.choice(sent_words) for _ in range(n))
    if random.random() < 0.5: s = s[0].upper() + s[1:] + random.choice(['.', '!', '?', ''])
    texts.append(s)
# a long paragraph like the editor benchmark
para = ' '.join(random.choice(sent_words) for _ in range(400))
texts.append(para)
ids = []
for _ in range(1500):
    n = random.randint(1, 16)
    l = []
    for _ in range(n):
        r = random.random()
        if r < 0.15: l.append(random.choice([0, 1, 2, 3]))
        elif r < 0.25: l.append(random.randint(32000, 32099))
        elif r < 0.35: l.append(random.randint(3, 100))
        else: l.append(random.randint(0, 32099))
    ids.append(l)
with open('decode_ids.jsonl', 'w') as f:
    for l in ids: f.write(json.dumps(l) + '\n')

# Random strings: characters drawn from ASCII, charsmap rules, the
# grapheme property classes, whitespace and pieces of special tokens.
random.seed(99)
short = [k for k, v in keys if len(k.encode()) < 6]
marks = property_code_points()


def rcp():
    r = random.random()
    if r < 0.25: return chr(random.randint(0x20, 0x7e))
    if r < 0.40: return random.choice(single)
    if r < 0.50: return random.choice(short)
    if r < 0.70: return chr(random.choice(marks))
    if r < 0.80: return random.choice([' ', '\t', '\n', '\r', '\u3000', '\u00a0', '\u200b', '\u2581', '<', '>', '/', 's', 'pad', 'unk', 'extra_id_', '1', '0'])
    cp = random.randint(0, 0x10FFFF) if random.random() < 0.3 else random.randint(0, 0xFFFF)
    while 0xD800 <= cp <= 0xDFFF: cp = random.randint(0, 0xFFFF)
    return chr(cp)


for _ in range(2000):
    texts.append(''.join(rcp() for _ in range(random.randint(1, 25))))
with open('corpus.jsonl', 'w') as f:
    for t in texts:
        f.write(json.dumps(t, ensure_ascii=False) + '\n')
print(len(texts), len(ids))
