"""Reference vectors for the embed-local tests, made by the models' own runtimes.

fp32: sentence-transformers (PyTorch) on the all-MiniLM-L6-v2 directory.
int8: onnxruntime on the int8 model.onnx, with the same tokenizer (Rust
`tokenizers`), truncation, mean pooling and normalisation sentence-transformers
applies. Run once by hand when the texts change (it needs torch, which CI does
not install):

    pip install sentence-transformers onnxruntime tokenizers
    python scripts/make-reference.py <minilm-dir> <int8-model.onnx> > test/fixtures/reference.json
"""
import json
import sys

import numpy as np
import onnxruntime
from sentence_transformers import SentenceTransformer
from tokenizers import Tokenizer

TEXTS = [
    "The cat sat on the mat.",
    "Crème brûlée at the café in Zürich, naïve façade",
    "Flight to 東京 booked 🎉✈️ — see you soon 😀",
    "",
    "   ",
    "Dr. Patel moved the appointment to Tuesday at 3pm.",
    "我们明天在北京见面，讨论项目进度。",
    " ".join(["long input that must be truncated at the model's maximum sequence length"] * 60),
    "x" * 3000,
]

model_dir, int8_path = sys.argv[1], sys.argv[2]
st = SentenceTransformer(model_dir, device="cpu")
fp32 = st.encode(TEXTS, batch_size=4, normalize_embeddings=False, convert_to_numpy=True)

tokenizer = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
tokenizer.enable_truncation(max_length=st.max_seq_length)
session = onnxruntime.InferenceSession(int8_path, providers=["CPUExecutionProvider"])
int8 = []
for text in TEXTS:
    enc = tokenizer.encode(text)
    ids = np.array([enc.ids], dtype=np.int64)
    mask = np.array([enc.attention_mask], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    feeds = {i.name: feeds[i.name] for i in session.get_inputs()}
    hidden = session.run(None, feeds)[0][0]
    m = mask[0][:, None].astype(np.float32)
    v = (hidden * m).sum(0) / np.clip(m.sum(), 1e-9, None)
    int8.append(v / max(np.linalg.norm(v), 1e-12))

json.dump(
    {
        "maxLength": st.max_seq_length,
        "texts": TEXTS,
        "fp32": [[round(float(x), 7) for x in v] for v in fp32],
        "int8": [[round(float(x), 7) for x in v] for v in int8],
    },
    sys.stdout,
)
