"""The baseline the one-shot target is measured against: the obvious script.

It loads sentence-transformers and a FAISS flat index of the seeds' paragraphs
(prepared once by ``bench/oneshot.py``), embeds the question and prints the best
paragraph. Usage: python bench/naive_baseline.py DIR QUESTION
"""

import json
import sys
from pathlib import Path

import faiss
from sentence_transformers import SentenceTransformer

from assistant.embeddings import model_dir

folder, question = Path(sys.argv[1]), sys.argv[2]
model = SentenceTransformer(str(model_dir()), device="cpu")
index = faiss.read_index(str(folder / "naive.faiss"))
paragraphs = json.loads((folder / "naive.json").read_text())
vector = model.encode([question], normalize_embeddings=True)
scores, rows = index.search(vector, 3)
for score, row in zip(scores[0], rows[0], strict=True):
    print(f"{score:.3f}  {paragraphs[row]}")
