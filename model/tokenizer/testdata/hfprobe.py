#!/usr/bin/env python3
"""Writes hf_encode.jsonl and hf_decode.jsonl: what transformers 5.17.0
(tokenizers 0.23.2) returns for the inputs hfcorpus.py writes.

    python3 hfprobe.py TOKENIZER_DIR corpus.jsonl decode_ids.jsonl

TOKENIZER_DIR is shared/tokenizer. Each text is encoded by AutoTokenizer
from three folders: tokenizer.json with spiece.model (the target, `ids`),
legacy/tokenizer.json alone (`ids_legacy` when it differs) and
spiece.model alone (`ids_spm` when it differs: float32 scores break some
ties the other way). `decoded` is decode(ids, skip_special_tokens=True).
"""
import json
import os
import shutil
import sys
import tempfile

from transformers import AutoTokenizer

src, corpus, decode_ids = sys.argv[1:4]
configs = ['tokenizer_config.json', 'special_tokens_map.json']


def folder(files):
    d = tempfile.mkdtemp()
    for name, dst in files:
        shutil.copy(os.path.join(src, name), os.path.join(d, dst))
    return d


target = AutoTokenizer.from_pretrained(folder([(f, f) for f in configs + ['tokenizer.json', 'spiece.model']]))
legacy = AutoTokenizer.from_pretrained(folder([(f, f) for f in configs] + [('legacy/tokenizer.json', 'tokenizer.json')]))
spm = AutoTokenizer.from_pretrained(folder([(f, f) for f in configs + ['spiece.model']]))

with open('hf_encode.jsonl', 'w') as out:
    for line in open(corpus):
        text = json.loads(line)
        rec = {'text': text, 'ids': target.encode(text)}
        for key, tok in [('ids_spm', spm), ('ids_legacy', legacy)]:
            ids = tok.encode(text)
            if ids != rec['ids']:
                rec[key] = ids
        rec['decoded'] = target.decode(rec['ids'], skip_special_tokens=True)
        out.write(json.dumps(rec, ensure_ascii=False) + '\n')
with open('hf_decode.jsonl', 'w') as out:
    for line in open(decode_ids):
        ids = json.loads(line)
        out.write(json.dumps({'ids': ids, 'decoded': target.decode(ids, skip_special_tokens=True)}, ensure_ascii=False) + '\n')
